//! Reporter and team talk under the receipt, against a real server: the team's words
//! reach the reporter escaped, its notes never do, the reporter's follow-ups reach the
//! team intact, and nothing of it is readable on disk; malformed events are refused; a
//! purge leaves nothing.

use agedrop::api;
use agedrop::crypto::{self, Receipt, Sealed};
use agedrop::report::{EventBody, Status};
use agedrop::store::{ReportId, Store, StoreOptions};
use sha2::{Digest, Sha256};

use crate::util::*;

/// A conversation played through once: a report with a file; the team's reply, status
/// change and internal note (with markup in them); the reporter's follow-up with a
/// second file. Every text carries `canary`.
struct Conversation {
    code: String,
    id: ReportId,
    note_seq: u32,
    /// The reporter's session, and the page it showed after the follow-up.
    reporter: reqwest::Client,
    page: String,
    /// The follow-up's file.
    second: Vec<u8>,
}

async fn converse(server: &TestServer, canary: &str) -> Conversation {
    let page = submit_form(
        server,
        &[
            ("title", format!("{canary}-title")),
            ("description", "XSS in the search box".into()),
        ],
        &[(format!("{canary}-first.txt"), b"first file".to_vec())],
    )
    .await;
    let code = receipt_code(&page.text().await.unwrap());
    let desk = team_desk(server, &server.member.identity).await;
    let id = team_client(server).await.reports().await.unwrap()[0].id;
    desk.reply(
        id,
        &format!("{canary}-reply: <script>alert(1)</script> confirmed"),
    )
    .await
    .unwrap();
    let note = format!("{canary}-status note <img src=x onerror=alert(1)>");
    desk.set_status(
        id,
        agedrop::team::NewStatus {
            status: Status::Valid,
            reason: None,
            note: &note,
            disclosure: agedrop::report::parse_instant("2027-03-01"),
            duplicate_of: None,
            advisory: "",
        },
    )
    .await
    .unwrap();
    let note_seq = desk
        .note(id, &format!("{canary}-internal: assign to Bob"))
        .await
        .unwrap()
        .seq;
    let (reporter, status, page) = login(server, &code).await;
    assert_eq!(status, 200, "{page}");
    let second = bytes_with_canary(300_000, &format!("{canary}-bytes"));
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf(&page))
        .text(
            "message",
            format!("{canary}-message: it also works on /api"),
        )
        .part(
            "files",
            reqwest::multipart::Part::bytes(second.clone())
                .file_name(format!("{canary}-second.bin")),
        );
    let answer = reporter
        .post(server.at("/thread"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/thread?sent=1");
    let (_, page) = fetch(reporter.get(server.at("/thread?sent=1"))).await;
    Conversation {
        code,
        id,
        note_seq,
        reporter,
        page,
        second,
    }
}

#[tokio::test]
async fn a_member_logs_in_and_reads_a_new_report() {
    let server = TestServer::start();
    submit_form(
        &server,
        &[("title", "New report".into()), ("description", "d".into())],
        &[("a.txt".into(), b"file".to_vec())],
    )
    .await;
    let client = team_client(&server).await;
    assert_eq!(client.name(), "Alice Example");
    // The report and its attachment, and nothing after them.
    let feed = client.feed(0).await.unwrap();
    assert_eq!(feed.items.len(), 2);
    assert_eq!(client.feed(feed.next).await.unwrap().items.len(), 0);
    let reports = client.reports().await.unwrap();
    assert_eq!(reports.len(), 1);
    let desk = team_desk(&server, &server.member.identity).await;
    assert_eq!(desk.roster().unwrap().members().len(), 1);
    let thread = desk.thread(reports[0].id).await.unwrap();
    assert_eq!(thread.title(), "New report");
    assert_eq!(thread.status(), Status::Received);
}

#[tokio::test]
async fn the_teams_reply_and_status_reach_the_reporter_escaped() {
    let server = TestServer::start();
    let talk = converse(&server, "ESCAPED51").await;
    let page = &talk.page;
    assert!(page.contains("id=\"status\">valid<"), "{page}");
    assert!(
        page.contains("ESCAPED51-reply: &#60;script&#62;alert(1)&#60;/script&#62; confirmed"),
        "{page}"
    );
    assert!(
        page.contains("ESCAPED51-status note &#60;img src=x onerror=alert(1)&#62;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<img src=x"));
    assert!(
        page.contains("Alice Example (security team) replied"),
        "{page}"
    );
    assert!(page.contains("2027-03-01"), "{page}");
}

#[tokio::test]
async fn an_internal_note_never_reaches_the_reporter() {
    let server = TestServer::start();
    let talk = converse(&server, "NOTE52").await;
    assert!(!talk.page.contains("NOTE52-internal"), "{}", talk.page);
    assert!(!talk.page.contains("assign to Bob"));
    // Not even the reporter's key opens it; it opens every other event.
    let (_, key) = Receipt::parse(&talk.code).unwrap().derive().unwrap();
    let report = team_client(&server).await.report(talk.id).await.unwrap();
    let opens = |seq: u32| {
        let event = report.events.iter().find(|e| e.seq == seq).unwrap();
        let sealed = Sealed::parse(api::decode(&event.sealed).unwrap()).unwrap();
        crypto::open_as_reporter(&key, &sealed).is_ok()
    };
    assert!(!opens(talk.note_seq));
    for event in report.events.iter().filter(|e| e.seq != talk.note_seq) {
        assert!(opens(event.seq), "event {}", event.seq);
    }
}

#[tokio::test]
async fn a_follow_up_and_its_file_reach_the_team_intact() {
    let server = TestServer::start();
    let talk = converse(&server, "FOLLOW53").await;
    assert!(talk.page.contains("Sent. Your message is encrypted"));
    assert!(
        talk.page
            .contains("FOLLOW53-message: it also works on /api")
    );
    assert!(talk.page.contains("FOLLOW53-second.bin"));
    let desk = team_desk(&server, &server.member.identity).await;
    let thread = desk.thread(talk.id).await.unwrap();
    let messages: Vec<&str> = thread
        .events
        .iter()
        .filter_map(|e| match &e.event.as_ref()?.body {
            EventBody::Message(m) => Some(m.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(messages, ["FOLLOW53-message: it also works on /api"]);
    assert_eq!(thread.status(), Status::Valid);
    let attachments = thread.attachments();
    assert_eq!(attachments.len(), 2);
    let file = attachments[1];
    assert_eq!(file.name, "FOLLOW53-second.bin");
    assert_eq!(file.sha256, hex::encode(Sha256::digest(&talk.second)));
    let out = tempfile::tempdir().unwrap();
    let written = desk
        .attachments(thread.id, out.path(), false, false)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&written[1].path).unwrap(), talk.second);
    // The reporter's session still reads the thread afterwards.
    let (status, _) = fetch(talk.reporter.get(server.at("/thread"))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn nothing_of_a_conversation_is_readable_on_disk() {
    let mut server = TestServer::start();
    let canary = "DISK54";
    converse(&server, canary).await;
    server.stop();
    // Both files are there to be searched.
    assert_eq!(files_under(&server.data().join("attachments")).len(), 2);
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
async fn malformed_events_are_refused_and_nothing_is_stored() {
    let server = TestServer::start_with(Options::limits(&["max_event_kib = 4"]));
    submit_simple(&server, "Events report").await;
    let client = team_client(&server).await;
    let id = client.reports().await.unwrap()[0].id;
    let team = crypto::parse_recipient(&server.member.recipient)
        .unwrap()
        .recipient;
    let big = crypto::seal(&[team.as_ref()], &vec![0u8; 8 * 1024]).unwrap();
    let small = crypto::seal(&[team.as_ref()], b"ok").unwrap();

    for (what, body, status) in [
        ("not age", b"hello, this is not age".to_vec(), 400),
        ("empty", Vec::new(), 400),
        ("truncated header", small.as_bytes()[..20].to_vec(), 400),
        ("oversized", big.as_bytes().to_vec(), 413),
    ] {
        let err = client
            .append(id, &Sealed::from_stored(body))
            .await
            .err()
            .unwrap_or_else(|| panic!("{what} was accepted"));
        assert!(
            err.to_string().contains(&format!("({status}")),
            "{what}: {err}"
        );
    }
    let err = client
        .append("0123456789abcdef".parse().unwrap(), &small)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("no such report"), "{err}");
    assert_eq!(client.report(id).await.unwrap().events.len(), 1);
    assert_eq!(client.append(id, &small).await.unwrap(), 1);

    // Without a token: the JSON shape of a refusal.
    let response = client_builder()
        .build()
        .unwrap()
        .post(server.at(&format!("/api/v1/reports/{id}/events")))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: api::ErrorResponse = response.json().await.unwrap();
    assert!(body.error.contains("token"), "{}", body.error);
}

#[tokio::test]
async fn a_purge_leaves_nothing_of_the_report_and_keeps_the_others() {
    let mut server = TestServer::start();
    let fields = |title: &str| vec![("title", title.to_string()), ("description", "d".into())];
    let page = submit_form(
        &server,
        &fields("To be purged"),
        &[("a.bin".into(), vec![1u8; 100_000])],
    )
    .await;
    let code = receipt_code(&page.text().await.unwrap());
    let page = submit_form(
        &server,
        &fields("To be kept"),
        &[("b.bin".into(), vec![2u8; 100_000])],
    )
    .await;
    let kept = receipt_code(&page.text().await.unwrap());
    let client = team_client(&server).await;
    let desk = team_desk(&server, &server.member.identity).await;
    let mut threads = Vec::new();
    for report in client.reports().await.unwrap() {
        threads.push(desk.thread(report.id).await.unwrap());
    }
    threads.sort_by_key(|t| t.title() != "To be purged");
    let [purged, other] = &threads[..] else {
        panic!("two reports")
    };
    let blob = |t: &agedrop::team::Thread| t.attachments()[0].blob.clone();
    let (id, purged_blob, kept_blob) = (purged.id, blob(purged), blob(other));
    desk.reply(id, "a reply").await.unwrap();
    client.purge(id).await.unwrap();

    let (status, page) = check(&server, &code).await;
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("No report matches this code"));
    assert_eq!(check(&server, &kept).await.0, 200);
    let err = client.report(id).await.err().unwrap().to_string();
    assert!(err.contains("no such report"), "{err}");
    assert_eq!(client.reports().await.unwrap().len(), 1);
    let feed = client.feed(0).await.unwrap();
    assert!(feed.items.iter().all(|i| i.report != id));

    server.stop();
    let attachments = server.data().join("attachments");
    assert!(!attachments.join(&purged_blob).exists(), "its file remains");
    assert!(attachments.join(&kept_blob).exists(), "another's file went");
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
    assert_eq!(files, 1, "only the kept report's file remains");
}
