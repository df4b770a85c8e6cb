//! Members come and go: a new member is granted the old reports (through the server and
//! a bundle) without anything being re-encrypted, a removed member gets nothing new, a
//! report stored before files had keys of their own still opens and can be granted, and
//! an interrupted grant is finished by running it again.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agedrop::crypto::{self, Sealed};
use agedrop::team::{Identities, TeamClient};
use sha2::{Digest, Sha256};

use crate::hostile::{Answer, Hostile};
use crate::util::*;

/// Bytes the server's data folder holds (the free-space reserve file aside).
fn data_bytes(dir: &Path) -> u64 {
    files_under(dir)
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "reserve"))
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// The reporter's thread page with the session's own values taken out.
async fn reporter_view(server: &TestServer, code: &str) -> String {
    let (_, status, page) = login(server, code).await;
    assert_eq!(status, 200, "{page}");
    page.replace(&csrf(&page), "CSRF")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every event of `show --json` that is a grant.
fn grants(shown: &serde_json::Value) -> Vec<&serde_json::Value> {
    shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["body"]["grant"].is_object())
        .collect()
}

/// A server with Alice (its own member) and Bob; Bob's identity.
fn with_bob(server: &TestServer) -> Member {
    let bob = keygen(server.dir.path(), "bob");
    server.set_members(&[
        ("Alice Example", &server.member.line),
        ("Bob Example", &bob.line),
    ]);
    bob
}

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
    assert_eq!(listed[0]["status"], "triaged");
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

/// Opens every event of report `id` after position `from` with `identity`; how many
/// opened.
async fn openable(server: &TestServer, as_member: &Path, id: &str, identity: &Path) -> usize {
    let reader = Identities::load(as_member).unwrap();
    let client = TeamClient::login(&server.url, &reader).await.unwrap();
    let report = client.report(id).await.unwrap();
    let trying = Identities::load(identity).unwrap();
    report
        .events
        .iter()
        .filter(|e| {
            let sealed = Sealed::parse(agedrop::api::decode(&e.sealed).unwrap()).unwrap();
            crypto::open(&trying.as_refs(), &sealed).is_ok()
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_can_open_nothing_sealed_after_removal() {
    let server = TestServer::start();
    let alice = server.member.line.clone();
    let bob = with_bob(&server);
    let alice_desk = Desk::new(&server, &server.member.identity);
    let code = submit_simple(&server, "before removal").await;
    let old = alice_desk.json(&["list"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    alice_desk.run(&["reply", &old, "-m", "Bob can read this one."]);
    assert_eq!(
        openable(&server, &server.member.identity, &old, &bob.identity).await,
        2
    );

    // Bob leaves: his line goes, the server reloads.
    server.set_members(&[("Alice Example", &alice)]);
    // His login is gone at once.
    let bob_ids = Identities::load(&bob.identity).unwrap();
    assert!(TeamClient::login(&server.url, &bob_ids).await.is_err());
    // Alice's desk still has him pinned: it seals nothing until she accepts the change.
    alice_desk.fails(&["reply", &old, "-m", "not yet"], "- removed: Bob Example");
    alice_desk.run(&["trust", "--yes"]);
    alice_desk.run(&["reply", &old, "-m", "After Bob left."]);
    alice_desk.run(&["note", &old, "-m", "Team note after Bob left."]);
    // A reporter's follow-up, and a new report with a file.
    let (reporter, _, page) = login(&server, &code).await;
    let sent = reporter
        .post(server.at("/thread"))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf", csrf(&page))
                .text("message", "A follow-up after Bob left."),
        )
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_redirection(), "{}", sent.status());
    let page = submit_form(
        &server,
        &report_fields("after-removal"),
        &[("new.bin".into(), bytes_with_canary(100_000, "after"))],
    )
    .await;
    assert_eq!(page.status(), 200);
    let new = alice_desk
        .json(&["list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .find(|i| *i != old)
        .unwrap();

    // Bob's identity opens what was sealed before he left, and nothing after.
    let alice_id = &server.member.identity;
    assert_eq!(openable(&server, alice_id, &old, &bob.identity).await, 2);
    assert_eq!(openable(&server, alice_id, &old, alice_id).await, 5);
    assert_eq!(openable(&server, alice_id, &new, &bob.identity).await, 0);
    assert_eq!(openable(&server, alice_id, &new, alice_id).await, 2);
    // Nor can anyone grant him anything: he is in no pinned roster.
    alice_desk.fails(&["grant", &bob.recipient, "--all"], "no member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_stored_before_files_had_keys_still_opens_and_can_be_granted() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-data");
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    std::fs::create_dir_all(data.join("attachments")).unwrap();
    for entry in files_under(&fixture.join("data")) {
        let relative = entry.strip_prefix(fixture.join("data")).unwrap();
        std::fs::copy(&entry, data.join(relative)).unwrap();
    }
    for key in ["alice.key", "bob.key"] {
        let path = home.path().join(key);
        std::fs::copy(fixture.join(key), &path).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
    }
    let mut server = TestServer::start_with(Options {
        data: Some(data.clone()),
        ..Options::default()
    });
    // The team the fixture was written for, and Carol, who joined after.
    let carol = keygen(server.dir.path(), "carol");
    let old_keys = std::fs::read_to_string(fixture.join("keys.txt")).unwrap();
    std::fs::write(
        server.keys_path(),
        format!("{old_keys}# Carol Example\n{}\n", carol.line),
    )
    .unwrap();
    server.restart();
    let alice = Desk::new(&server, &home.path().join("alice.key"));

    let listed = alice.json(&["list"]);
    assert_eq!(listed[0]["title"], "SQL injection in /search (old format)");
    assert_eq!(listed[0]["status"], "triaged");
    let id = listed[0]["id"].as_str().unwrap().to_string();
    let out = home.path().join("alice-out");
    let written = alice.json(&["attachments", &id, "--out", out.to_str().unwrap()]);
    assert_eq!(
        written[0]["sha256"],
        "747cfd9865b30506f967af041cb76f547b28cf55c57eeed98e683155b31d0798"
    );
    let poc = std::fs::read(written[0]["path"].as_str().unwrap()).unwrap();
    assert_eq!(poc, b"GET /search?q=%27 OR 1=1 --\n".to_vec());
    // The reporter's receipt still opens their thread.
    let code = std::fs::read_to_string(fixture.join("receipt.txt")).unwrap();
    let page = reporter_view(&server, code.trim()).await;
    assert!(page.contains("Thanks, we can reproduce it."), "{page}");

    // Granted to Carol: the events, and the old attachment's key (its stream is sealed
    // to Alice, Bob and the reporter, not to a key of its own).
    let summary = alice.json(&["grant", "Carol Example", &id[..6]]);
    assert_eq!(summary["granted"], 1, "{summary}");
    assert_eq!(summary["events"], 5, "{summary}");
    assert_eq!(summary["attachments"], 1, "{summary}");
    let carol_desk = Desk::new(&server, &carol.identity);
    let shown = carol_desk.json(&["show", &id]);
    let events = shown["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .filter(|e| e["event"]["body"]["grant"].is_null())
            .all(|e| e["state"] == "opened" && e["key_granted_by"] == "Alice Example"),
        "{shown}"
    );
    let status = events
        .iter()
        .find(|e| e["event"]["body"]["status"].is_object())
        .unwrap();
    assert_eq!(status["signed_by"], "Bob Example");
    let out = home.path().join("carol-out");
    let written = carol_desk.json(&["attachments", &id, "--out", out.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(written[0]["path"].as_str().unwrap()).unwrap(),
        poc
    );
    // Carol can pass it on to a newer member in turn: her keys came from a grant.
    let dave = keygen(server.dir.path(), "dave");
    let keys = std::fs::read_to_string(server.keys_path()).unwrap();
    server.write_keys(
        &format!("{keys}# Dave Example\n{}\n", dave.line),
        "team keys file reloaded",
    );
    carol_desk.run(&["trust", "--yes"]);
    let summary = carol_desk.json(&["grant", "dave", "--all"]);
    assert_eq!(summary["granted"], 1, "{summary}");
    let out = home.path().join("dave-out");
    let written = Desk::new(&server, &dave.identity).json(&[
        "attachments",
        &id,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(written[0]["path"].as_str().unwrap()).unwrap(),
        poc
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_grant_run_again_grants_every_report_once() {
    let server = TestServer::start();
    let alice = server.member.line.clone();
    for n in 0..6 {
        submit_simple(&server, &format!("report {n}")).await;
    }
    let carol = keygen(server.dir.path(), "carol");
    server.set_members(&[("Alice Example", &alice), ("Carol Example", &carol.line)]);

    // Two reports a round. The connection breaks after the second round reached the
    // server: its answer is lost, and the run stops there.
    let appends = Arc::new(AtomicUsize::new(0));
    let counter = appends.clone();
    let hostile = Hostile::start(
        &server.url,
        Arc::new(move |method, path, status, body| {
            if method == "POST" && path.ends_with("/events") {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                if n >= 2 {
                    return Answer::Bytes(503, b"{\"error\":\"connection lost\"}".to_vec());
                }
            }
            Answer::Bytes(status, body)
        }),
    )
    .await;
    let broken = Desk::at(&hostile.url, &server.member.identity);
    let out = broken
        .command()
        .args(["grant", "carol", "--all", "--batch", "2"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(appends.load(Ordering::SeqCst), 2);

    let alice_desk = Desk::new(&server, &server.member.identity);
    let summary = alice_desk.json(&["grant", "carol", "--all"]);
    assert_eq!(summary["reports"], 6, "{summary}");
    assert_eq!(summary["already_granted"], 4, "{summary}");
    assert_eq!(summary["granted"], 2, "{summary}");
    let carol_desk = Desk::new(&server, &carol.identity);
    for report in alice_desk.json(&["list"]).as_array().unwrap() {
        let id = report["id"].as_str().unwrap();
        assert_eq!(grants(&alice_desk.json(&["show", id])).len(), 1, "{id}");
        assert!(
            report["title"].as_str().unwrap().starts_with("report "),
            "{report}"
        );
        assert!(
            carol_desk.json(&["show", id])["title"]
                .as_str()
                .unwrap()
                .starts_with("report ")
        );
    }
}

/// A report answered by Alice, on a server whose keys file now lists Carol too (whom
/// Alice's desk has not pinned yet). Alice's desk, Carol, the report's id.
async fn carol_added(server: &TestServer) -> (Desk, Member, String) {
    submit_simple(server, "the real report").await;
    let carol = keygen(server.dir.path(), "carol");
    server.set_members(&[
        ("Alice Example", &server.member.line),
        ("Carol Example", &carol.line),
    ]);
    let alice = Desk::new(server, &server.member.identity);
    let id = alice.json(&["list"])[0]["id"].as_str().unwrap().to_string();
    alice.run(&["reply", &id, "-m", "A real reply"]);
    (alice, carol, id)
}

/// A double in front of `server` that passes report `id` through `rewrite`.
async fn rewriting_report(
    server: &TestServer,
    id: &str,
    rewrite: impl Fn(&mut serde_json::Value) + Send + Sync + 'static,
) -> Hostile {
    let path = format!("/api/v1/reports/{id}");
    Hostile::start(
        &server.url,
        Arc::new(move |method, p, status, body| {
            if method == "GET" && p == path && status == 200 {
                let mut report: serde_json::Value = serde_json::from_slice(&body).unwrap();
                rewrite(&mut report);
                return Answer::Bytes(200, serde_json::to_vec(&report).unwrap());
            }
            Answer::Bytes(status, body)
        }),
    )
    .await
}

/// A compromised server cannot hand out keys: a grant nobody in the pinned roster signed
/// (unsigned, or signed by a key of its own) opens nothing, even when the server swaps
/// in a report its own key opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_nobody_in_the_roster_signed_opens_nothing() {
    use agedrop::report::{Event, EventBody, Grant, GrantKeys, GrantedEvent, Submission};

    let server = TestServer::start();
    let (_, carol, id) = carol_added(&server).await;
    // What the server crafts: a fake report under a key it holds, and grants of that key
    // to Carol, one unsigned and one signed by a key of its own.
    let throwaway = age::x25519::Identity::generate();
    let mut fake = Submission::default();
    fake.title = "FAKE: send your key to evil.example".into();
    let fake = crypto::seal(
        &[&throwaway.to_public()],
        &Event::new(1, EventBody::Submitted(Box::new(fake))).encode(),
    )
    .unwrap();
    let (_, fake_key) = crypto::open_keeping_key(&[&throwaway], &fake).unwrap();
    let carol_recipient = crypto::parse_recipient(&carol.recipient).unwrap().recipient;
    let keys = GrantKeys {
        events: vec![GrantedEvent {
            seq: 0,
            sealed_sha256: sha256_hex(fake.as_bytes()),
            key: fake_key.to_text().to_string(),
        }],
        blobs: Vec::new(),
    };
    let inner = crypto::seal(
        &[carol_recipient.as_ref()],
        &serde_json::to_vec(&keys).unwrap(),
    )
    .unwrap();
    let grant = Event::new(
        2,
        EventBody::Grant(Grant {
            author: "Alice Example".into(),
            name: "Carol Example".into(),
            to: carol.recipient.clone(),
            events: vec![0],
            blobs: Vec::new(),
            keys: agedrop::api::encode(inner.as_bytes()),
        }),
    );
    let stranger = crypto::SigningKey::generate().unwrap();
    let forged: Vec<String> = [grant.encode(), grant.encode_signed(&id, &stranger)]
        .iter()
        .map(|event| {
            let sealed = crypto::seal(&[carol_recipient.as_ref()], event).unwrap();
            agedrop::api::encode(sealed.as_bytes())
        })
        .collect();
    let fake = agedrop::api::encode(fake.as_bytes());
    let hostile = rewriting_report(&server, &id, move |report| {
        let events = report["events"].as_array_mut().unwrap();
        events[0]["sealed"] = fake.clone().into();
        for (seq, sealed) in (events.len()..).zip(&forged) {
            events.push(serde_json::json!({ "seq": seq, "sealed": sealed }));
        }
    })
    .await;
    let shown = Desk::at(&hostile.url, &carol.identity).json(&["show", &id]);
    let events = shown["events"].as_array().unwrap();
    assert_eq!(events[0]["state"], "not-sealed-to-you", "{shown}");
    assert!(!shown.to_string().contains("FAKE"), "{shown}");
    for forged in &events[events.len() - 2..] {
        assert_eq!(forged["verified"], false, "{forged}");
    }
}

/// After a real grant, the server swaps the granted event for other ciphertext: the
/// desk refuses to use the granted key on other bytes, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_changed_after_a_real_grant_stays_closed_and_says_why() {
    let server = TestServer::start();
    let (alice, carol, id) = carol_added(&server).await;
    alice.run(&["trust", "--yes"]);
    alice.run(&["grant", "carol", &id]);
    let throwaway = age::x25519::Identity::generate().to_public();
    let other = crypto::seal(&[&throwaway], b"other bytes").unwrap();
    let other = agedrop::api::encode(other.as_bytes());
    let swapping = rewriting_report(&server, &id, move |report| {
        report["events"][0]["sealed"] = other.clone().into();
    })
    .await;
    let shown = Desk::at(&swapping.url, &carol.identity).json(&["show", &id]);
    let first = &shown["events"][0];
    assert_eq!(first["state"], "not-sealed-to-you", "{shown}");
    let said = first["verification"].as_str().unwrap();
    assert!(said.contains("changed after the grant"), "{first}");
    // The honest server's copy opens with the grant, the reply verified as Alice's.
    let shown = Desk::new(&server, &carol.identity).json(&["show", &id]);
    assert_eq!(shown["events"][0]["state"], "opened", "{shown}");
    assert_eq!(shown["events"][1]["signed_by"], "Alice Example", "{shown}");
}

/// The batch endpoint stores all of a batch or nothing of it, and refuses junk cleanly.
#[tokio::test]
async fn a_batch_of_events_is_stored_whole_or_not_at_all() {
    let server = TestServer::start();
    submit_simple(&server, "batched").await;
    let ids = Identities::load(&server.member.identity).unwrap();
    let client = TeamClient::login(&server.url, &ids).await.unwrap();
    let id = client.reports().await.unwrap()[0].id.clone();
    let team = crypto::parse_recipient(&server.member.recipient)
        .unwrap()
        .recipient;
    let sealed = crypto::seal(&[team.as_ref()], b"an event").unwrap();
    let events_now = || async { client.report(&id).await.unwrap().events.len() };
    assert_eq!(events_now().await, 1);

    // One unknown report in the batch: nothing of it is stored.
    let unknown = "0123456789abcdef".to_string();
    let refused = client
        .append_batch(&[(id.clone(), sealed.clone()), (unknown, sealed.clone())])
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("no such report"), "{refused}");
    assert_eq!(events_now().await, 1);

    // A whole batch, the same report twice: in order.
    let seqs = client
        .append_batch(&[(id.clone(), sealed.clone()), (id.clone(), sealed.clone())])
        .await
        .unwrap();
    assert_eq!(seqs, vec![1, 2]);
    assert_eq!(events_now().await, 3);

    // Junk, through the raw API: clean JSON errors, nothing stored.
    let http = client_builder().build().unwrap();
    let no_token = http
        .post(server.at("/api/v1/events"))
        .json(&serde_json::json!({"events": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    let too_many: Vec<(String, Sealed)> = (0..agedrop::api::BATCH_EVENTS + 1)
        .map(|_| (id.clone(), sealed.clone()))
        .collect();
    let refused = client
        .append_batch(&too_many)
        .await
        .err()
        .unwrap()
        .to_string();
    let limit = format!("send between 1 and {} events", agedrop::api::BATCH_EVENTS);
    assert!(refused.contains(&limit), "{refused}");
    assert_eq!(events_now().await, 3);
    assert!(server.log_text().lines().all(|l| !l.contains("panicked")));
}
