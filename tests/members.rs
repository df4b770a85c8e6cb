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

use crate::desk::Desk;
use crate::hostile::{Answer, Hostile};
use crate::util::*;

/// Writes the keys file with these members (name, keys-file line) and waits until the
/// running server has reloaded it.
fn set_members(server: &TestServer, members: &[(&str, &str)]) {
    let before = server.log_text().matches("team keys file reloaded").count();
    let text: String = members
        .iter()
        .map(|(name, line)| format!("# {name}\n{line}\n"))
        .collect();
    std::fs::write(server.keys_path(), text).unwrap();
    server.signal("HUP");
    for _ in 0..200 {
        if server.log_text().matches("team keys file reloaded").count() > before {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("the keys file was not reloaded:\n{}", server.log_text());
}

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
    set_members(
        server,
        &[
            ("Alice Example", &server.member.line),
            ("Bob Example", &bob.line),
        ],
    );
    bob
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_joins_later_is_granted_the_old_reports_without_re_encryption() {
    let server = TestServer::start_with(Options::limits(&["max_file_mib = 64"]));
    let alice = server.member.line.clone();
    let bob = with_bob(&server);
    let alice_desk = Desk::new(&server, &server.member.identity);
    let bob_desk = Desk::new(&server, &bob.identity);

    // A report with a 20 MiB attachment; the team answers it.
    let big = bytes_with_canary(20 << 20, "grant-canary");
    let page = submit_form(
        &server,
        &report_fields("grant"),
        &[("poc.bin".into(), big.clone())],
    )
    .await;
    assert_eq!(page.status(), 200);
    let code = receipt_code(&page.text().await.unwrap());
    let id = alice_desk.json(&["list"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    alice_desk.run(&["reply", &id, "-m", "Thanks: we reproduced it."]);
    alice_desk.run(&["note", &id, "-m", "Team only: the 2.4 branch."]);
    bob_desk.run(&["status", &id, "triaged"]);
    let reporter_before = reporter_view(&server, &code).await;

    // Carol joins. Before a grant she can read nothing of the report.
    let carol = keygen(server.dir.path(), "carol");
    set_members(
        &server,
        &[
            ("Alice Example", &alice),
            ("Bob Example", &bob.line),
            ("Carol Example", &carol.line),
        ],
    );
    let carol_desk = Desk::new(&server, &carol.identity);
    let listed = carol_desk.json(&["list"]);
    assert_eq!(listed[0]["title"], "(not sealed to this identity)");
    // Nothing readable: the status is unknown (null), not "received".
    assert!(listed[0]["status"].is_null(), "{}", listed[0]);
    let shown = carol_desk.json(&["show", &id]);
    assert!(
        shown["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["state"] == "not-sealed-to-you"),
        "{shown}"
    );
    let empty = server.dir.path().join("carol-before");
    let written = carol_desk.json(&["attachments", &id, "--out", empty.to_str().unwrap()]);
    assert_eq!(written.as_array().unwrap().len(), 0);

    // Alice's desk seals nothing to a roster it has not pinned: not even a grant.
    let refused = alice_desk
        .command()
        .args(["grant", "carol", "--all"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("agedrop team trust"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    alice_desk.run(&["trust", "--yes"]);

    let before = data_bytes(&server.data());
    let summary = alice_desk.json(&["grant", "carol", "--all"]);
    let after = data_bytes(&server.data());
    assert_eq!(summary["member"], "Carol Example", "{summary}");
    assert_eq!(summary["granted"], 1, "{summary}");
    assert_eq!(summary["already_granted"], 0, "{summary}");
    // The report, its attachment, the reply, the note, the status.
    assert_eq!(summary["events"], 5, "{summary}");
    assert_eq!(summary["attachments"], 0, "{summary}");
    let added = summary["bytes_added"].as_u64().unwrap();
    assert!(added < 8 * 1024, "{summary}");
    // Kilobytes, not the attachment's 20 MiB again.
    let grown = after.saturating_sub(before);
    eprintln!("grant: {added} bytes of events; the data folder grew by {grown} bytes");
    assert!(grown < 512 * 1024, "the data folder grew by {grown} bytes");

    // Carol now reads everything, through the server...
    let listed = carol_desk.json(&["list"]);
    assert_eq!(listed[0]["title"], "grant-title");
    assert_eq!(listed[0]["status"], "triaged");
    assert_eq!(listed[0]["attachments"], 1);
    let shown = carol_desk.json(&["show", &id]);
    let events = shown["events"].as_array().unwrap();
    for e in events
        .iter()
        .filter(|e| e["event"]["body"]["grant"].is_null())
    {
        assert_eq!(e["state"], "opened", "{e}");
        assert_eq!(e["key_granted_by"], "Alice Example", "{e}");
    }
    let reply = events
        .iter()
        .find(|e| e["event"]["body"]["reply"].is_object())
        .unwrap();
    assert_eq!(reply["signed_by"], "Alice Example");
    assert_eq!(reply["verified"], true);
    assert!(
        events
            .iter()
            .any(|e| e["event"]["body"]["note"]["text"] == "Team only: the 2.4 branch.")
    );
    // The attachment's own key never reaches a script's output.
    let attachment = events
        .iter()
        .find(|e| e["event"]["body"]["attachment"].is_object())
        .unwrap();
    assert!(attachment["event"]["body"]["attachment"]["key"].is_null());
    let out = server.dir.path().join("carol-after");
    let written = carol_desk.json(&["attachments", &id, "--out", out.to_str().unwrap()]);
    let file = &written.as_array().unwrap()[0];
    let bytes = std::fs::read(file["path"].as_str().unwrap()).unwrap();
    assert_eq!(sha256_hex(&bytes), sha256_hex(&big));

    // ...the grant verifies as Alice's for every member...
    for (who, desk) in [("carol", &carol_desk), ("bob", &bob_desk)] {
        if who == "bob" {
            desk.run(&["trust", "--yes"]);
        }
        let shown = desk.json(&["show", &id]);
        let grant = grants(&shown);
        assert_eq!(grant.len(), 1, "{who}: {shown}");
        assert_eq!(grant[0]["verified"], true, "{who}");
        assert_eq!(grant[0]["signed_by"], "Alice Example", "{who}");
        assert_eq!(grant[0]["event"]["body"]["grant"]["to"], carol.recipient);
    }

    // ...and through a bundle.
    let bundle = export(&server, "granted");
    let offline = Desk::new(&server, &carol.identity);
    let bundle_arg = bundle.to_str().unwrap();
    let listed = offline.json(&["--bundle", bundle_arg, "list"]);
    assert_eq!(listed[0]["title"], "grant-title");
    let out = server.dir.path().join("carol-offline");
    let written = offline.json(&[
        "--bundle",
        bundle_arg,
        "attachments",
        &id,
        "--out",
        out.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(written[0]["path"].as_str().unwrap()).unwrap();
    assert_eq!(sha256_hex(&bytes), sha256_hex(&big));

    // The reporter sees exactly what they saw before, under the same receipt code.
    assert_eq!(reporter_view(&server, &code).await, reporter_before);

    // Running it again adds nothing.
    let again = alice_desk.json(&["grant", "carol", "--all"]);
    assert_eq!(again["granted"], 0, "{again}");
    assert_eq!(again["already_granted"], 1, "{again}");
    assert_eq!(grants(&alice_desk.json(&["show", &id])).len(), 1);
}

/// Opens every event of report `id` after position `from` with `identity`; how many
/// opened.
async fn openable(server: &TestServer, as_member: &Path, id: &str, identity: &Path) -> usize {
    let reader = Identities::load(as_member).unwrap();
    let client = TeamClient::login(&server.url, &reader).await.unwrap();
    let report = client.report(id.parse().unwrap()).await.unwrap();
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
    set_members(&server, &[("Alice Example", &alice)]);
    // His login is gone at once.
    let bob_ids = Identities::load(&bob.identity).unwrap();
    assert!(TeamClient::login(&server.url, &bob_ids).await.is_err());
    // Alice's desk still has him pinned: it seals nothing until she accepts the change.
    let refused = alice_desk
        .command()
        .args(["reply", &old, "-m", "not yet"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
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
    let refused = alice_desk
        .command()
        .args(["grant", &bob.recipient, "--all"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no member"));
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
    std::fs::write(
        server.keys_path(),
        format!("{keys}# Dave Example\n{}\n", dave.line),
    )
    .unwrap();
    server.signal("HUP");
    std::thread::sleep(std::time::Duration::from_millis(300));
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
    set_members(
        &server,
        &[("Alice Example", &alice), ("Carol Example", &carol.line)],
    );

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

/// A compromised server cannot hand out keys: a grant nobody in the pinned roster signed
/// (unsigned, or signed by a key of its own) opens nothing, even when it swaps in an
/// event its keys do open; and an event changed after a real grant stays closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compromised_server_can_neither_forge_a_grant_nor_swap_a_granted_event() {
    use agedrop::report::{Event, EventBody, Grant, GrantKeys, GrantedEvent, Submission};

    let server = TestServer::start();
    let alice = server.member.line.clone();
    submit_simple(&server, "the real report").await;
    let carol = keygen(server.dir.path(), "carol");
    set_members(
        &server,
        &[("Alice Example", &alice), ("Carol Example", &carol.line)],
    );
    let alice_desk = Desk::new(&server, &server.member.identity);
    let id = alice_desk.json(&["list"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    alice_desk.run(&["reply", &id, "-m", "A real reply"]);

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
    let grant = || {
        Event::new(
            2,
            EventBody::Grant(Grant {
                author: "Alice Example".into(),
                name: "Carol Example".into(),
                to: carol.recipient.clone(),
                events: vec![0],
                blobs: Vec::new(),
                keys: agedrop::api::encode(inner.as_bytes()),
            }),
        )
    };
    let stranger = crypto::SigningKey::generate().unwrap();
    let forged = [
        crypto::seal(&[carol_recipient.as_ref()], &grant().encode()).unwrap(),
        crypto::seal(
            &[carol_recipient.as_ref()],
            &grant().encode_signed(&id, &stranger),
        )
        .unwrap(),
    ];
    let rewrite = |body: &[u8], seq0: &Sealed, extra: &[Sealed]| -> Vec<u8> {
        let mut report: serde_json::Value = serde_json::from_slice(body).unwrap();
        let events = report["events"].as_array_mut().unwrap();
        events[0]["sealed"] = agedrop::api::encode(seq0.as_bytes()).into();
        for (seq, sealed) in (events.len()..).zip(extra) {
            let sealed = agedrop::api::encode(sealed.as_bytes());
            events.push(serde_json::json!({ "seq": seq, "sealed": sealed }));
        }
        serde_json::to_vec(&report).unwrap()
    };
    let path = format!("/api/v1/reports/{id}");
    let (fake_hook, forged_hook, path_hook) = (fake.clone(), forged.clone(), path.clone());
    let hostile = Hostile::start(
        &server.url,
        Arc::new(move |method, p, status, body| {
            if method == "GET" && p == path_hook && status == 200 {
                return Answer::Bytes(200, rewrite(&body, &fake_hook, &forged_hook));
            }
            Answer::Bytes(status, body)
        }),
    )
    .await;
    let carol_there = Desk::at(&hostile.url, &carol.identity);
    let shown = carol_there.json(&["show", &id]);
    let events = shown["events"].as_array().unwrap();
    assert_eq!(events[0]["state"], "not-sealed-to-you", "{shown}");
    assert!(!shown.to_string().contains("FAKE"), "{shown}");
    for forged in &events[events.len() - 2..] {
        assert_eq!(forged["verified"], false, "{forged}");
    }

    // A real grant from Alice; then the server swaps the granted report for another
    // ciphertext: Carol's desk refuses to use the key on other bytes, and says why.
    alice_desk.run(&["trust", "--yes"]);
    alice_desk.run(&["grant", "carol", &id]);
    let other = crypto::seal(&[&throwaway.to_public()], b"other bytes").unwrap();
    let path_hook = path.clone();
    let swapping = Hostile::start(
        &server.url,
        Arc::new(move |method, p, status, body| {
            if method == "GET" && p == path_hook && status == 200 {
                let mut report: serde_json::Value = serde_json::from_slice(&body).unwrap();
                report["events"][0]["sealed"] = agedrop::api::encode(other.as_bytes()).into();
                return Answer::Bytes(200, serde_json::to_vec(&report).unwrap());
            }
            Answer::Bytes(status, body)
        }),
    )
    .await;
    let shown = Desk::at(&swapping.url, &carol.identity).json(&["show", &id]);
    let first = &shown["events"][0];
    assert_eq!(first["state"], "not-sealed-to-you", "{shown}");
    assert!(
        first["verification"]
            .as_str()
            .unwrap()
            .contains("changed after the grant"),
        "{first}"
    );
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
    let id = client.reports().await.unwrap()[0].id;
    let team = crypto::parse_recipient(&server.member.recipient)
        .unwrap()
        .recipient;
    let sealed = crypto::seal(&[team.as_ref()], b"an event").unwrap();
    let events_now = || async { client.report(id).await.unwrap().events.len() };
    assert_eq!(events_now().await, 1);

    // One unknown report in the batch: nothing of it is stored.
    let unknown = "0123456789abcdef".parse().unwrap();
    let refused = client
        .append_batch(&[(id, sealed.clone()), (unknown, sealed.clone())])
        .await;
    assert!(refused.is_err());
    assert_eq!(events_now().await, 1);

    // A whole batch, the same report twice: in order.
    let seqs = client
        .append_batch(&[(id, sealed.clone()), (id, sealed.clone())])
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
    let too_many: Vec<(agedrop::store::ReportId, Sealed)> = (0..agedrop::api::BATCH_EVENTS + 1)
        .map(|_| (id, sealed.clone()))
        .collect();
    assert!(client.append_batch(&too_many).await.is_err());
    assert_eq!(events_now().await, 3);
    assert!(server.log_text().lines().all(|l| !l.contains("panicked")));
}
