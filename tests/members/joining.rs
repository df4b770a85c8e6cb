//! A member who joins later reads nothing of the old reports until a member grants them,
//! then everything, through the server and a bundle, verified as its authors wrote it;
//! the grant costs kilobytes and changes nothing for the reporter.

use super::{data_bytes, grants, reporter_view, sha256_hex, with_bob};
use crate::util::*;

/// Carol joins a team (Alice and Bob) after a report came in and was answered: a reply
/// and a note by Alice, a status change by Bob.
struct Joined {
    alice: Desk,
    bob: Desk,
    carol: Member,
    carol_desk: Desk,
    id: String,
    code: String,
    /// The reporter's view before Carol joined.
    reporter_before: String,
}

async fn carol_joins(server: &TestServer, attachment: &[u8]) -> Joined {
    let bob = with_bob(server);
    let alice = Desk::new(server, &server.member.identity);
    let bob_desk = Desk::new(server, &bob.identity);
    let page = submit_form(
        server,
        &report_fields("grant"),
        &[("poc.bin".into(), attachment.to_vec())],
    )
    .await;
    assert_eq!(page.status(), 200);
    let code = receipt_code(&page.text().await.unwrap());
    let id = alice.json(&["list"])[0]["id"].as_str().unwrap().to_string();
    alice.run(&["reply", &id, "-m", "Thanks: we reproduced it."]);
    alice.run(&["note", &id, "-m", "Team only: the 2.4 branch."]);
    bob_desk.run(&["status", &id, "triaged"]);
    let reporter_before = reporter_view(server, &code).await;
    let carol = keygen(server.dir.path(), "carol");
    server.set_members(&[
        ("Alice Example", &server.member.line),
        ("Bob Example", &bob.line),
        ("Carol Example", &carol.line),
    ]);
    Joined {
        alice,
        bob: bob_desk,
        carol_desk: Desk::new(server, &carol.identity),
        carol,
        id,
        code,
        reporter_before,
    }
}

impl Joined {
    /// Alice accepts the new roster and grants Carol every report; the summary.
    fn grant(&self) -> serde_json::Value {
        self.alice.run(&["trust", "--yes"]);
        self.alice.json(&["grant", "carol", "--all"])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_joins_later_reads_nothing_before_a_grant() {
    let server = TestServer::start();
    let joined = carol_joins(&server, b"proof").await;
    let carol = &joined.carol_desk;
    let listed = carol.json(&["list"]);
    assert_eq!(listed[0]["title"], "(not sealed to this identity)");
    // Nothing readable: the status is unknown (null), not "received".
    assert!(listed[0]["status"].is_null(), "{}", listed[0]);
    let shown = carol.json(&["show", &joined.id]);
    let events = shown["events"].as_array().unwrap();
    assert_eq!(events.len(), 5, "{shown}");
    assert!(
        events.iter().all(|e| e["state"] == "not-sealed-to-you"),
        "{shown}"
    );
    let out = server.dir.path().join("carol-before");
    let written = carol.json(&["attachments", &joined.id, "--out", out.to_str().unwrap()]);
    assert_eq!(written.as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_grants_nothing_to_a_member_it_has_not_pinned() {
    let server = TestServer::start();
    let joined = carol_joins(&server, b"proof").await;
    joined
        .alice
        .fails(&["grant", "carol", "--all"], "agedrop team trust");
    assert!(grants(&joined.alice.json(&["show", &joined.id])).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_adds_kilobytes_not_the_attachment_again() {
    let server = TestServer::start_with(Options::limits(&["max_file_mib = 64"]));
    let joined = carol_joins(&server, &bytes_with_canary(20 << 20, "grant-canary")).await;
    let before = data_bytes(&server.data());
    let summary = joined.grant();
    let after = data_bytes(&server.data());
    assert_eq!(summary["member"], "Carol Example", "{summary}");
    assert_eq!(summary["granted"], 1, "{summary}");
    assert_eq!(summary["already_granted"], 0, "{summary}");
    // The report, its attachment, the reply, the note, the status.
    assert_eq!(summary["events"], 5, "{summary}");
    // The attachment's own key travels in its event: no file is sealed again.
    assert_eq!(summary["attachments"], 0, "{summary}");
    let added = summary["bytes_added"].as_u64().unwrap();
    assert!(added < 8 * 1024, "{summary}");
    let grown = after.saturating_sub(before);
    eprintln!("grant: {added} bytes of events; the data folder grew by {grown} bytes");
    assert!(grown < 512 * 1024, "the data folder grew by {grown} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_member_reads_every_event_and_file_as_its_authors_wrote_them() {
    let server = TestServer::start();
    let poc = bytes_with_canary(100_000, "granted");
    let joined = carol_joins(&server, &poc).await;
    joined.grant();
    let (carol, id) = (&joined.carol_desk, &joined.id);
    let listed = carol.json(&["list"]);
    assert_eq!(listed[0]["title"], "grant-title");
    assert_eq!(listed[0]["status"], "valid");
    assert_eq!(listed[0]["attachments"], 1);
    let shown = carol.json(&["show", id]);
    let events = shown["events"].as_array().unwrap();
    for e in events
        .iter()
        .filter(|e| e["event"]["body"]["grant"].is_null())
    {
        assert_eq!(e["state"], "opened", "{e}");
        assert_eq!(e["key_granted_by"], "Alice Example", "{e}");
    }
    let body = |kind: &str| {
        events
            .iter()
            .find(|e| e["event"]["body"][kind].is_object())
            .unwrap_or_else(|| panic!("no {kind} in {shown}"))
    };
    assert_eq!(body("reply")["signed_by"], "Alice Example");
    assert_eq!(body("reply")["verified"], true);
    assert_eq!(body("status")["signed_by"], "Bob Example");
    assert_eq!(
        body("note")["event"]["body"]["note"]["text"],
        "Team only: the 2.4 branch."
    );
    // The attachment's own key never reaches a script's output.
    assert!(body("attachment")["event"]["body"]["attachment"]["key"].is_null());
    let out = server.dir.path().join("carol-after");
    let written = carol.json(&["attachments", id, "--out", out.to_str().unwrap()]);
    let bytes = std::fs::read(written[0]["path"].as_str().unwrap()).unwrap();
    assert_eq!(sha256_hex(&bytes), sha256_hex(&poc));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_verifies_as_its_granters_for_every_member() {
    let server = TestServer::start();
    let joined = carol_joins(&server, b"proof").await;
    joined.grant();
    joined.bob.run(&["trust", "--yes"]);
    for (who, desk) in [("carol", &joined.carol_desk), ("bob", &joined.bob)] {
        let shown = desk.json(&["show", &joined.id]);
        let grant = grants(&shown);
        assert_eq!(grant.len(), 1, "{who}: {shown}");
        assert_eq!(grant[0]["verified"], true, "{who}");
        assert_eq!(grant[0]["signed_by"], "Alice Example", "{who}");
        assert_eq!(
            grant[0]["event"]["body"]["grant"]["to"],
            joined.carol.recipient
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_member_reads_an_exported_bundle_too() {
    let server = TestServer::start();
    let poc = bytes_with_canary(100_000, "bundled");
    let joined = carol_joins(&server, &poc).await;
    joined.grant();
    let bundle = export(&server, "granted");
    let offline = Desk::new(&server, &joined.carol.identity);
    let bundle = bundle.to_str().unwrap();
    let listed = offline.json(&["--bundle", bundle, "list"]);
    assert_eq!(listed[0]["title"], "grant-title");
    let out = server.dir.path().join("carol-offline");
    let written = offline.json(&[
        "--bundle",
        bundle,
        "attachments",
        &joined.id,
        "--out",
        out.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(written[0]["path"].as_str().unwrap()).unwrap();
    assert_eq!(sha256_hex(&bytes), sha256_hex(&poc));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_changes_nothing_for_the_reporter_and_a_second_run_adds_nothing() {
    let server = TestServer::start();
    let joined = carol_joins(&server, b"proof").await;
    joined.grant();
    // The reporter sees exactly what they saw before, under the same receipt code.
    assert_eq!(
        reporter_view(&server, &joined.code).await,
        joined.reporter_before
    );
    let again = joined.alice.json(&["grant", "carol", "--all"]);
    assert_eq!(again["granted"], 0, "{again}");
    assert_eq!(again["already_granted"], 1, "{again}");
    assert_eq!(grants(&joined.alice.json(&["show", &joined.id])).len(), 1);
}
