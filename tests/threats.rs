//! The threat model, played by the attacker: a compromised server (a hostile double in
//! front of a real one, or the real one with an edited keys file) against real desk
//! processes. It must learn nothing old (no decryption oracle, no relayed logins), get
//! nothing new sealed to it (the pinned roster, the bound reporter key), and forge no
//! member's words.

use std::sync::Arc;

use agedrop::api;
use agedrop::crypto::{self, Sealed};
use agedrop::report::{Event, EventBody};
use agedrop::team::Identities;

// Words in a member's name that the member did not write.
mod forgeries;

use crate::hostile::{Answer, Hostile, honest, stderr};
use crate::util::*;

/// The stored ciphertexts of a report: its `submitted` event and its first attachment.
async fn stored(server: &TestServer) -> (String, String) {
    let client = team_client(server).await;
    let id = client.reports().await.unwrap()[0].id;
    let report = client.report(id).await.unwrap();
    let desk = team_desk(server, &server.member.identity).await;
    let thread = desk.thread(id).await.unwrap();
    let blob = &thread.attachments()[0].blob;
    let attachment = client
        .download(id, blob.parse().unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    (report.events[0].sealed.clone(), api::encode(&attachment))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_challenge_is_never_a_decryption_oracle() {
    let server = TestServer::start();
    let canary = "ORACLECANARY77";
    let file = bytes_with_canary(2_000, canary);
    let page = submit_form(
        &server,
        &[
            ("title", format!("{canary}-title")),
            ("description", format!("{canary}-description")),
        ],
        &[("poc.bin".into(), file)],
    )
    .await;
    assert_eq!(page.status(), 200);
    let (event, attachment) = stored(&server).await;

    // The compromised server hands the desk a stored event, then an attachment, as its
    // "challenge", and waits for the plaintext to come back.
    for payload in [event, attachment] {
        let hook: crate::hostile::Hook = Arc::new(move |_, path, status, body| {
            if path == "/api/v1/login/challenge" && status == 200 {
                let mut challenge: serde_json::Value = serde_json::from_slice(&body).unwrap();
                challenge["sealed"] = payload.clone().into();
                return Answer::Bytes(200, serde_json::to_vec(&challenge).unwrap());
            }
            Answer::Bytes(status, body)
        });
        let hostile = Hostile::start(&server.url, hook).await;
        let said =
            Desk::at(&hostile.url, &server.member.identity).fails(&["list"], "may be compromised");
        assert!(said.contains("nothing was sent back"), "{said}");
        let seen = hostile.seen();
        assert!(
            seen.iter().all(|r| r.path != "/api/v1/login"),
            "an answer was sent"
        );
        for request in seen.iter() {
            assert!(
                !leaked(&request.body, canary.as_bytes()),
                "{} {} carried the plaintext",
                request.method,
                request.path
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_login_is_refused_by_the_desk() {
    let server = TestServer::start();
    // A relay that passes the member's login on to the real server under its own name
    // gets a challenge naming that server.
    let relay = Hostile::relay(&server.url).await;
    Desk::at(&relay.url, &server.member.identity).fails(&["list"], "not one for http://127.0.0.1");
    assert!(relay.seen().iter().all(|r| r.path != "/api/v1/login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_sends_only_the_hash_of_the_challenge() {
    let server = TestServer::start();
    submit_simple(&server, "Through a double").await;
    let honest = Hostile::start(&server.url, honest()).await;
    let list = Desk::at(&honest.url, &server.member.identity).run(&["list"]);
    assert!(list.contains("Through a double"), "{list}");
    let seen = honest.seen();
    let login = seen.iter().find(|r| r.path == "/api/v1/login").unwrap();
    let body: serde_json::Value = serde_json::from_slice(&login.body).unwrap();
    assert_eq!(body["answer"].as_str().unwrap().len(), 64, "{body}");
    assert!(!String::from_utf8_lossy(&login.body).contains("agedrop-login-v1"));
}

#[tokio::test]
async fn the_server_makes_challenges_only_for_its_own_names() {
    let app = TestApp::start();
    let request = api::ChallengeRequest {
        recipient: app.member.recipient.clone(),
    };
    let foreign = app
        .send(
            app.post("/api/v1/login/challenge")
                .header("host", "evil.example")
                .json(&request),
        )
        .await;
    assert_eq!(foreign.status, 400, "{}", foreign.body);
    assert!(foreign.body.contains("public_url"), "{}", foreign.body);
    let own = app
        .send(app.post("/api/v1/login/challenge").json(&request))
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
}

/// A report, a desk that has pinned the one-member roster, and then Mallory added to
/// the server's keys file (as a compromised server could). Alice's desk, the report's
/// id, Mallory, and the keys file as it was before.
async fn mallory_added(server: &TestServer) -> (Desk, String, Member, String) {
    submit_simple(server, "Pinned roster").await;
    let alice = Desk::new(server, &server.member.identity);
    let out = alice.command().arg("list").output().unwrap();
    let id = first_id(&succeeded(out, &["list"]));
    let mallory = keygen(server.dir.path(), "mallory");
    let keys = std::fs::read_to_string(server.keys_path()).unwrap();
    server.set_members(&[
        ("Alice Example", &server.member.line),
        ("Mallory", &mallory.line),
    ]);
    (alice, id, mallory, keys)
}

/// How many of a report's events open with `member`'s identity.
async fn opened_by(server: &TestServer, id: &str, member: &Member) -> usize {
    let report = team_client(server)
        .await
        .report(id.parse().unwrap())
        .await
        .unwrap();
    let identities = Identities::load(&member.identity).unwrap();
    report
        .events
        .iter()
        .filter(|e| {
            let sealed = Sealed::parse(api::decode(&e.sealed).unwrap()).unwrap();
            crypto::open(&identities.as_refs(), &sealed).is_ok()
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_read_pins_the_roster_and_says_so() {
    let server = TestServer::start();
    submit_simple(&server, "First read").await;
    let alice = Desk::new(&server, &server.member.identity);
    let out = alice.command().arg("list").output().unwrap();
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("pinned its team roster"),
        "{}",
        stderr(&out)
    );
    let again = alice.command().arg("list").output().unwrap();
    assert!(!stderr(&again).contains("pinned"), "{}", stderr(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_added_on_the_server_stops_every_sealed_write() {
    let server = TestServer::start();
    let (alice, id, mallory, _) = mallory_added(&server).await;
    for args in [
        vec!["reply", &id, "-m", "for the reporter"],
        vec!["status", &id, "triaged", "-m", "checked"],
        vec!["note", &id, "-m", "team only"],
    ] {
        let said = alice.fails(&args, "differs from the one you pinned");
        assert!(said.contains("+ added:   Mallory"), "{said}");
        assert!(said.contains("agedrop team trust"), "{said}");
    }
    // Nothing was sent, so nothing of the report opens with Mallory's identity.
    assert_eq!(opened_by(&server, &id, &mallory).await, 0);
    assert_eq!(
        team_client(&server)
            .await
            .report(id.parse().unwrap())
            .await
            .unwrap()
            .events
            .len(),
        1
    );
    // Reading still works, with a warning.
    let out = alice.command().arg("list").output().unwrap();
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("nothing will be sealed"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusting_a_change_needs_a_yes_and_then_seals_to_the_new_roster() {
    let server = TestServer::start();
    let (alice, id, mallory, _) = mallory_added(&server).await;
    let mut no_terminal = alice.command();
    no_terminal.arg("trust").stdin(std::process::Stdio::null());
    failed(no_terminal.output().unwrap(), "--yes");
    alice.fails(
        &["reply", &id, "-m", "x"],
        "differs from the one you pinned",
    );
    let trusted = alice.json(&["trust", "--yes"]);
    assert_eq!(trusted["change"]["added"][0]["name"], "Mallory");
    alice.run(&["reply", &id, "-m", "now Mallory reads this"]);
    assert_eq!(opened_by(&server, &id, &mallory).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_member_leaves_nothing_new_is_sealed_to_them() {
    let server = TestServer::start();
    let (alice, id, mallory, keys) = mallory_added(&server).await;
    alice.run(&["trust", "--yes"]);
    alice.run(&["reply", &id, "-m", "Mallory reads this"]);
    server.write_keys(&keys, "team keys file reloaded");
    // The desk stops again until told, then seals to her no more.
    alice.fails(&["reply", &id, "-m", "x"], "- removed: Mallory");
    alice.run(&["trust", "--yes"]);
    alice.run(&["reply", &id, "-m", "Mallory cannot read this"]);
    let report = team_client(&server)
        .await
        .report(id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(report.events.len(), 3);
    assert_eq!(opened_by(&server, &id, &mallory).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_pinned_from_the_operators_keys_file_trusts_nothing_on_first_use() {
    let server = TestServer::start();
    let id = {
        submit_simple(&server, "Pinned from the file").await;
        team_client(&server).await.reports().await.unwrap()[0]
            .id
            .to_string()
    };
    let fresh = Desk::new(&server, &server.member.identity);
    let pinned = fresh.json(&["trust", "--keys", server.keys_path().to_str().unwrap()]);
    assert_eq!(pinned["members"].as_array().unwrap().len(), 1, "{pinned}");
    let out = fresh.command().arg("list").output().unwrap();
    assert!(out.status.success());
    assert!(
        !stderr(&out).contains("pinned its team roster"),
        "{}",
        stderr(&out)
    );
    fresh.run(&["note", &id, "-m", "pinned from the keys file"]);
    // A server that then lists someone else is refused as before.
    let mallory = keygen(server.dir.path(), "mallory");
    server.set_members(&[
        ("Alice Example", &server.member.line),
        ("Mallory", &mallory.line),
    ]);
    fresh.fails(&["note", &id, "-m", "x"], "differs from the one you pinned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swapped_reporter_key_stops_a_reply() {
    let server = TestServer::start();
    submit_simple(&server, "Swapped reporter").await;
    let keys =
        crypto::TeamKeys::parse(&std::fs::read_to_string(server.keys_path()).unwrap()).unwrap();
    let attacker = age::x25519::Identity::generate().to_public().to_string();
    // A report the server forges in its entirety, naming the attacker's key: sealed to
    // the team (the server knows every public key), as the server writes reports.
    let forged = {
        let mut s = agedrop::report::Submission::default();
        s.title = "Swapped reporter".into();
        s.description = "details".into();
        s.reporter = attacker.clone();
        let event = Event::new(1, EventBody::Submitted(Box::new(s)));
        api::encode(keys.seal(None, &event.encode()).unwrap().as_bytes())
    };
    // 0: honest; 1: swap only the clear-text key; 2: also add the forged report after
    // the real one; 3: replace the real report with the forged one.
    let mode = Arc::new(std::sync::atomic::AtomicU8::new(0));
    let hook: crate::hostile::Hook = {
        let mode = mode.clone();
        let attacker = attacker.clone();
        Arc::new(move |method, path, status, body| {
            let is_report = method == "GET" && path.starts_with("/api/v1/reports/");
            let mode = mode.load(std::sync::atomic::Ordering::SeqCst);
            if !is_report || status != 200 || mode == 0 {
                return Answer::Bytes(status, body);
            }
            let mut report: serde_json::Value = serde_json::from_slice(&body).unwrap();
            report["report"]["reporter"] = attacker.clone().into();
            let events = report["events"].as_array_mut().unwrap();
            match mode {
                2 => {
                    let seq = events.len();
                    events.push(serde_json::json!({ "seq": seq, "sealed": forged }));
                }
                3 => events[0]["sealed"] = forged.clone().into(),
                _ => {}
            }
            Answer::Bytes(200, serde_json::to_vec(&report).unwrap())
        })
    };
    let hostile = Hostile::start(&server.url, hook).await;
    let alice = Desk::at(&hostile.url, &server.member.identity);
    // The desk sees the report once, honestly (and remembers its reporter key).
    let id = first_id(&alice.run(&["list"]));
    for (m, said) in [
        (1, "not the one sealed inside the report"),
        (2, "holds more than one report"),
        (3, "not the one this desk saw for it before"),
    ] {
        mode.store(m, std::sync::atomic::Ordering::SeqCst);
        for args in [
            vec!["reply", &id, "-m", "to whom?"],
            vec!["status", &id, "triaged"],
        ] {
            alice.fails(&args, said);
        }
    }
    assert!(
        hostile.seen().iter().all(|r| !r.path.ends_with("/events")),
        "an event was sent"
    );
    // A team-only note does not go to the reporter, so it is not stopped.
    alice.run(&["note", &id, "-m", "the server lies about the reporter"]);
}
