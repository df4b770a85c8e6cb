use std::time::Duration;

use agedrop::api;
use agedrop::crypto::{self, Receipt, Sealed};
use agedrop::report::{EventBody, Status};
use agedrop::store::{Store, StoreOptions};
use agedrop::team::{Desk, Identities, TeamClient};
use sha2::{Digest, Sha256};

use crate::util::*;

async fn team(server: &TestServer) -> (TeamClient, Identities) {
    let identities = Identities::load(&server.member.identity).unwrap();
    let client = TeamClient::login(&server.url, &identities).await.unwrap();
    (client, identities)
}

/// Alice's desk over the test server.
async fn alice(server: &TestServer) -> Desk {
    team_desk(server, &server.member.identity).await
}

/// Posts a follow-up from a logged-in reporter: the CSRF token first, then the rest.
async fn follow_up(
    server: &TestServer,
    reporter: &reqwest::Client,
    token: &str,
    message: &str,
    files: &[(String, Vec<u8>)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", token.to_string())
        .text("message", message.to_string());
    for (name, bytes) in files {
        form = form.part(
            "files",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.clone()),
        );
    }
    reporter
        .post(server.at("/thread"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn reporter_and_team_talk_sealed_both_ways() {
    let mut server = TestServer::start();
    let canary = "TALKCANARY51";
    let page = submit_form(
        &server,
        &[
            ("title", format!("{canary}-title")),
            ("description", "XSS in the search box".into()),
        ],
        &[(format!("{canary}-first.txt"), b"first file".to_vec())],
    )
    .await;
    let code = receipt_code(&page.text().await.unwrap());

    // The team logs in with its own identity, syncs, and reads the report locally.
    let (desk, _) = team(&server).await;
    assert_eq!(desk.name(), "Alice Example");
    let feed = desk.feed(0).await.unwrap();
    assert_eq!(feed.items.len(), 2);
    assert_eq!(desk.feed(feed.next).await.unwrap().items.len(), 0);
    let reports = desk.reports().await.unwrap();
    assert_eq!(reports.len(), 1);
    let id = reports[0].id;
    let team_desk = alice(&server).await;
    assert_eq!(team_desk.roster().unwrap().members().len(), 1);
    let thread = team_desk.thread(id).await.unwrap();
    assert_eq!(thread.title(), format!("{canary}-title"));

    // It replies, acknowledges, and keeps an internal note.
    team_desk
        .reply(
            id,
            &format!("{canary}-reply: <script>alert(1)</script> confirmed"),
        )
        .await
        .unwrap();
    team_desk
        .set_status(
            id,
            Status::Acknowledged,
            &format!("{canary}-status note <img src=x onerror=alert(1)>"),
            Some(time::macros::date!(2027 - 03 - 01)),
        )
        .await
        .unwrap();
    let note_seq = team_desk
        .note(id, &format!("{canary}-internal: assign to Bob"))
        .await
        .unwrap()
        .seq;

    // The reporter comes back with the receipt and sees both, escaped, and no note.
    let (reporter, status, page) = login(&server, &code).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"status\">acknowledged<"), "{page}");
    assert!(
        page.contains(&format!(
            "{canary}-reply: &#60;script&#62;alert(1)&#60;/script&#62; confirmed"
        )),
        "{page}"
    );
    assert!(
        page.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<img src=x"));
    assert!(
        page.contains("Alice Example (security team) replied"),
        "{page}"
    );
    assert!(page.contains("2027-03-01"));
    assert!(!page.contains("internal"), "{page}");
    assert!(!page.contains("assign to Bob"));

    // The reporter's key cannot open the note either.
    let (_, key) = Receipt::parse(&code).unwrap().derive().unwrap();
    let report = desk.report(id).await.unwrap();
    let note = report.events.iter().find(|e| e.seq == note_seq).unwrap();
    let note = Sealed::from_stored(api::decode(&note.sealed).unwrap());
    assert!(crypto::open_as_reporter(&key, &note).is_err());
    let visible = report
        .events
        .iter()
        .filter(|e| {
            let sealed = Sealed::from_stored(api::decode(&e.sealed).unwrap());
            crypto::open_as_reporter(&key, &sealed).is_ok()
        })
        .count();
    assert_eq!(visible, report.events.len() - 1);

    // The reporter answers with a message and a file.
    let token = csrf(&page);
    let second = bytes_with_canary(300_000, &format!("{canary}-bytes"));
    let answer = follow_up(
        &server,
        &reporter,
        &token,
        &format!("{canary}-message: it also works on /api"),
        &[(format!("{canary}-second.bin"), second.clone())],
    )
    .await;
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/thread?sent=1");
    let page = reporter
        .get(server.at("/thread?sent=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("{canary}-message: it also works on /api")));
    assert!(page.contains(&format!("{canary}-second.bin")));
    assert!(page.contains("Sent."));

    // The team reads them, and the file decrypts to the same bytes.
    let thread = team_desk.thread(id).await.unwrap();
    let mut saw_message = false;
    let mut saw_note = false;
    for event in thread.events.iter().filter_map(|e| e.event.as_ref()) {
        match &event.body {
            EventBody::Message(m) => {
                saw_message = m.text == format!("{canary}-message: it also works on /api")
            }
            EventBody::Note(n) => saw_note = n.author == "Alice Example",
            _ => {}
        }
    }
    assert!(saw_message && saw_note);
    assert_eq!(thread.status(), Status::Acknowledged);
    let attachments = thread.attachments();
    assert_eq!(attachments.len(), 2);
    let file = attachments[1];
    assert_eq!(file.name, format!("{canary}-second.bin"));
    assert_eq!(file.sha256, hex::encode(Sha256::digest(&second)));
    let out = tempfile::tempdir().unwrap();
    let written = team_desk
        .attachments(thread.id, out.path(), false, false)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&written[1].path).unwrap(), second);

    // Nothing of the conversation is readable on the server's disk.
    server.stop();
    for path in files_under(&server.data()) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            memchr::memmem::find(&bytes, canary.as_bytes()).is_none(),
            "plaintext in {}",
            path.display()
        );
    }
}

#[tokio::test]
async fn sessions_need_the_cookie_and_the_token_and_end() {
    let server = TestServer::start_with(Options::limits(&[
        "session_idle_seconds = 2",
        "session_max_seconds = 4",
    ]));
    let code = submit_simple(&server, "Session report").await;

    // The cookie: HttpOnly, SameSite=Strict, Path=/, not Secure on plain loopback HTTP.
    let c = client();
    let response = c
        .post(server.at("/check"))
        .form(&[("receipt", code.as_str())])
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("agedrop_session="), "{cookie}");
    for attribute in ["; HttpOnly", "; SameSite=Strict", "; Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"));
    assert!(
        !cookie.contains("Max-Age"),
        "a session cookie, gone with the browser"
    );

    // A post without this session's token is refused and stores nothing.
    let (reporter, _, page) = login(&server, &code).await;
    let before = page.matches("class=\"entry").count();
    for token in ["", "00", &"ab".repeat(32)] {
        let refused = follow_up(&server, &reporter, token, "forged", &[]).await;
        assert_eq!(refused.status(), 403);
    }
    let no_token = reporter
        .post(server.at("/thread"))
        .multipart(reqwest::multipart::Form::new().text("message", "forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let page = reporter
        .get(server.at("/thread"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("class=\"entry").count(), before);
    assert!(!page.contains("forged"));
    let refused = reporter
        .post(server.at("/logout"))
        .form(&[("csrf", "00")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    // Logging out ends it, also for anyone replaying the old cookie.
    let session = cookie.split(';').next().unwrap().to_string();
    let page = client()
        .get(server.at("/thread"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Session report"));
    let out = client()
        .post(server.at("/logout"))
        .header("cookie", &session)
        .form(&[("csrf", csrf(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let replay = client()
        .get(server.at("/thread"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    assert!(!replay.text().await.unwrap().contains("Session report"));
    // The other session of the same report is its own: still open.
    assert_eq!(
        reporter
            .get(server.at("/thread"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Left idle longer than session_idle_seconds, a session ends.
    let (reporter, status, _) = login(&server, &code).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(
        reporter
            .get(server.at("/thread"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // Kept busy, it still ends after session_max_seconds.
    let (reporter, _, _) = login(&server, &code).await;
    let started = std::time::Instant::now();
    loop {
        let status = reporter
            .get(server.at("/thread"))
            .send()
            .await
            .unwrap()
            .status();
        if status == 401 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "session outlived its maximum"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(3500));
}

#[tokio::test]
async fn forms_posted_from_another_site_are_refused() {
    let server = TestServer::start();
    let code = submit_simple(&server, "Cross-site check").await;
    let post = |headers: &[(&str, &str)]| {
        let mut request = client()
            .post(server.at("/check"))
            .form(&[("receipt", code.as_str())]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    // A hostile page posting its own receipt code into the victim's browser. `Origin:
    // null` (a sandboxed frame on any site) proves nothing without Fetch Metadata.
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site"), ("origin", "null")],
    ] {
        let response = post(&headers).await.unwrap();
        assert_eq!(response.status(), 403, "{headers:?}");
        assert!(response.headers().get("set-cookie").is_none());
    }
    // Our own pages (a browser says same-origin, with Origin: null as no-referrer
    // pages send it), an Origin naming this host, and clients that are not browsers.
    let host = server.url.trim_start_matches("http://").to_string();
    let origin = format!("http://{host}");
    for headers in [
        vec![("sec-fetch-site", "same-origin")],
        vec![("sec-fetch-site", "same-origin"), ("origin", "null")],
        vec![("sec-fetch-site", "none")],
        vec![("origin", origin.as_str())],
        vec![],
    ] {
        let response = post(&headers).await.unwrap();
        assert_eq!(response.status(), 303, "{headers:?}");
    }
    // A new report from another site is refused too.
    let response = client()
        .post(server.at("/submit"))
        .header("sec-fetch-site", "cross-site")
        .multipart(form(
            &[("title", "t".into()), ("description", "d".into())],
            &[],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

/// Asks for a challenge and answers it with `answer(sealed nonce)`; the raw response.
async fn raw_login(
    server: &TestServer,
    recipient: &str,
    answer: impl Fn(&Sealed) -> String,
) -> (u16, String) {
    let c = client();
    let challenge: api::Challenge = c
        .post(server.at("/api/v1/login/challenge"))
        .json(&api::ChallengeRequest {
            recipient: recipient.into(),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sealed = Sealed::from_stored(api::decode(&challenge.sealed).unwrap());
    let response = c
        .post(server.at("/api/v1/login"))
        .json(&api::LoginRequest {
            challenge_id: challenge.challenge_id,
            answer: Some(answer(&sealed)),
            signature: None,
        })
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn removed_members_are_locked_out_and_failures_look_alike() {
    let server = TestServer::start();
    let bob = keygen(server.dir.path(), "bob");
    std::fs::write(
        server.keys_path(),
        format!(
            "# Alice Example\n{}\n# Bob\n{}\n",
            server.member.recipient, bob.recipient
        ),
    )
    .unwrap();
    server.signal("HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let bob_ids = Identities::load(&bob.identity).unwrap();
    let bob_desk = TeamClient::login(&server.url, &bob_ids).await.unwrap();
    assert_eq!(bob_desk.name(), "Bob");
    assert!(bob_desk.reports().await.is_ok());

    // An unknown recipient and a wrong answer get the same answer.
    let stranger = keygen(server.dir.path(), "stranger");
    let stranger_ids = Identities::load(&stranger.identity).unwrap();
    let unknown = raw_login(&server, &stranger.recipient, |sealed| {
        hex::encode(crypto::challenge_answer(
            &crypto::open(&stranger_ids.as_refs(), sealed).unwrap(),
        ))
    })
    .await;
    let wrong = raw_login(&server, &bob.recipient, |_| hex::encode([7u8; 32])).await;
    let garbage = raw_login(&server, &bob.recipient, |_| "zz".into()).await;
    assert_eq!(unknown.0, 401);
    assert_eq!(unknown, wrong);
    assert_eq!(unknown, garbage);
    // And the right answer works.
    // Echoing the opened challenge is not an answer (a desk never sends it back).
    let echoed = raw_login(&server, &bob.recipient, |sealed| {
        hex::encode(&crypto::open(&bob_ids.as_refs(), sealed).unwrap()[..])
    })
    .await;
    assert_eq!(echoed, unknown);
    let right = raw_login(&server, &bob.recipient, |sealed| {
        hex::encode(crypto::challenge_answer(
            &crypto::open(&bob_ids.as_refs(), sealed).unwrap(),
        ))
    })
    .await;
    assert_eq!(right.0, 200);

    // Bob leaves the keys file: his token stops working and he cannot log in again.
    std::fs::write(
        server.keys_path(),
        format!("# Alice Example\n{}\n", server.member.recipient),
    )
    .unwrap();
    server.signal("HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = bob_desk.reports().await.err().unwrap().to_string();
    assert!(err.contains("no valid token"), "{err}");
    let err = TeamClient::login(&server.url, &bob_ids)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("login failed"), "{err}");
    let after = raw_login(&server, &bob.recipient, |sealed| {
        hex::encode(crypto::challenge_answer(
            &crypto::open(&bob_ids.as_refs(), sealed).unwrap(),
        ))
    })
    .await;
    assert_eq!(after, unknown);
    // Alice is unaffected.
    assert!(team(&server).await.0.reports().await.is_ok());
    // Editing the file is enough, even without SIGHUP: it is checked every few seconds.
    std::fs::write(
        server.keys_path(),
        format!(
            "# Alice Example\n{}\n# Bob\n{}\n",
            server.member.recipient, bob.recipient
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let bob_again = loop {
        if let Ok(desk) = TeamClient::login(&server.url, &bob_ids).await {
            break desk;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the edit was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    std::fs::write(
        server.keys_path(),
        format!("# Alice Example\n{}\n", server.member.recipient),
    )
    .unwrap();
    let started = std::time::Instant::now();
    while bob_again.reports().await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the removal was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A broken keys file is not installed: the old roster stays.
    std::fs::write(server.keys_path(), "garbage\n").unwrap();
    server.signal("HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(team(&server).await.0.reports().await.is_ok());
}

#[tokio::test]
async fn malformed_events_are_refused_and_nothing_is_stored() {
    let server = TestServer::start_with(Options::limits(&["max_event_kib = 4"]));
    submit_simple(&server, "Events report").await;
    let (desk, _) = team(&server).await;
    let id = desk.reports().await.unwrap()[0].id;
    let roster = desk.team().await.unwrap();
    let recipient = crypto::parse_recipient(&roster.members[0].recipient)
        .unwrap()
        .recipient;
    let big = crypto::seal(&[recipient.as_ref()], &vec![0u8; 8 * 1024]).unwrap();
    let small = crypto::seal(&[recipient.as_ref()], b"ok").unwrap();

    for (what, body, status) in [
        ("not age", b"hello, this is not age".to_vec(), 400),
        ("empty", Vec::new(), 400),
        ("truncated header", small.as_bytes()[..20].to_vec(), 400),
        ("oversized", big.as_bytes().to_vec(), 413),
    ] {
        let err = desk
            .append(id, &Sealed::from_stored(body))
            .await
            .err()
            .unwrap_or_else(|| panic!("{what} was accepted"));
        assert!(
            err.to_string().contains(&format!("({status}")),
            "{what}: {err}"
        );
    }
    // The JSON shape of the refusal.
    let token_client = client();
    let response = token_client
        .post(server.at(&format!("/api/v1/reports/{id}/events")))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: api::ErrorResponse = response.json().await.unwrap();
    assert!(!body.error.is_empty());

    assert_eq!(desk.report(id).await.unwrap().events.len(), 1);
    assert_eq!(desk.append(id, &small).await.unwrap(), 1);
    assert!(
        desk.append("0123456789abcdef".parse().unwrap(), &small)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn purge_removes_every_trace() {
    let mut server = TestServer::start();
    let fields = vec![
        ("title", "To be purged".to_string()),
        ("description", "d".into()),
    ];
    let page = submit_form(&server, &fields, &[("a.bin".into(), vec![1u8; 100_000])]).await;
    let code = receipt_code(&page.text().await.unwrap());
    let kept = submit_simple(&server, "To be kept").await;
    let (desk, _) = team(&server).await;
    let reports = desk.reports().await.unwrap();
    let team_desk = alice(&server).await;
    let mut id = None;
    for r in &reports {
        if team_desk.thread(r.id).await.unwrap().title() == "To be purged" {
            id = Some(r.id);
        }
    }
    let id = id.unwrap();
    team_desk.reply(id, "a reply").await.unwrap();
    desk.purge(id).await.unwrap();

    let (status, page) = check(&server, &code).await;
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("No report matches this code"));
    assert_eq!(check(&server, &kept).await.0, 200);
    assert!(desk.report(id).await.is_err());
    assert_eq!(desk.reports().await.unwrap().len(), 1);
    assert!(
        desk.feed(0)
            .await
            .unwrap()
            .items
            .iter()
            .all(|i| i.report != id)
    );

    server.stop();
    let store = Store::open(
        &server.data(),
        &StoreOptions {
            cache_bytes: 8 << 20,
            reserve_bytes: 0,
            sweep: false,
        },
    )
    .unwrap();
    let (records, files) = store.audit(id).unwrap();
    assert_eq!(records, 0, "records of the purged report remain");
    assert_eq!(files, 0, "attachment files of the purged report remain");
}
