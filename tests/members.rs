//! Members come and go: a new member is granted the old reports without anything being
//! re-encrypted (`joining`), a removed member gets nothing new, a report stored before
//! files had keys of their own still opens and can be granted, an interrupted grant is
//! finished by running it again, and a compromised server can neither forge a grant nor
//! swap a granted event (`compromised`).

// A member who joins later: nothing before a grant, everything after, at the cost of
// kilobytes.
mod joining;
// Grants against a server that lies.
mod compromised;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agedrop::crypto::{self, Sealed};
use agedrop::team::{Identities, TeamClient};
use sha2::{Digest, Sha256};

use crate::hostile::{Answer, Hostile};
use crate::util::*;

/// Bytes the server's data folder holds (the free-space reserve file aside).
pub(crate) fn data_bytes(dir: &Path) -> u64 {
    files_under(dir)
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "reserve"))
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// The reporter's thread page with the session's own values taken out.
/// The reporter's page, without what changes by the minute (the CSRF token, the
/// countdowns of the promises and the embargo).
pub(crate) async fn reporter_view(server: &TestServer, code: &str) -> String {
    let (_, status, page) = login(server, code).await;
    assert_eq!(status, 200, "{page}");
    let mut page = page.replace(&csrf(&page), "CSRF");
    for (start, end) in [
        ("<span id=\"countdown\">", "</span>"),
        ("<ul class=\"promises\" id=\"promises\">", "</ul>"),
    ] {
        let from = page.find(start).expect("a countdown on the page") + start.len();
        let to = page[from..].find(end).unwrap() + from;
        page.replace_range(from..to, "…");
    }
    page
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every event of `show --json` that is a grant.
pub(crate) fn grants(shown: &serde_json::Value) -> Vec<&serde_json::Value> {
    shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["body"]["grant"].is_object())
        .collect()
}

/// A server with Alice (its own member) and Bob; Bob's identity.
pub(crate) fn with_bob(server: &TestServer) -> Member {
    let bob = keygen(server.dir.path(), "bob");
    server.set_members(&[
        ("Alice Example", &server.member.line),
        ("Bob Example", &bob.line),
    ]);
    bob
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
    assert_eq!(listed[0]["status"], "valid");
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
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("no such report"), "{refused}");
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
