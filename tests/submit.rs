use agedrop::report::EventBody;
use agedrop::team::{Desk, Identities, LocalInbox, Pins, Seen};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::util::*;

/// What a careless server might write of `canary`: the bytes, base64 (at each of the
/// three alignments, standard and URL-safe) and hex.
fn encodings(canary: &str) -> Vec<Vec<u8>> {
    let mut out = vec![canary.as_bytes().to_vec()];
    out.push(hex::encode(canary).into_bytes());
    out.push(hex::encode_upper(canary).into_bytes());
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ] {
        for shift in 0..3 {
            let mut padded = vec![0u8; shift];
            padded.extend_from_slice(canary.as_bytes());
            let encoded = engine.encode(&padded);
            // Skip the characters that mix in the padding bytes and the tail.
            let skip = if shift == 0 { 0 } else { 4 };
            let stable = &encoded.as_bytes()[skip..encoded.len() - 4];
            out.push(stable.to_vec());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

#[tokio::test]
async fn only_ciphertext_reaches_the_disk_and_the_team_decrypts_everything() {
    let mut server = TestServer::start();
    let canary = "CANARY7f3a9c";
    let fields = report_fields(canary);
    let file_name = format!("{canary}-filename.txt");
    let big = bytes_with_canary(5 * 1024 * 1024, &format!("{canary}-attachment"));
    let small = b"second file".to_vec();
    let page = submit_form(
        &server,
        &fields,
        &[
            (file_name.clone(), big.clone()),
            ("notes.txt".into(), small.clone()),
        ],
    )
    .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let code = receipt_code(&html);
    assert!(html.contains("cannot be recovered"), "{html}");

    server.stop();
    let files = files_under(&server.data());
    assert!(!files.is_empty());
    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, value) in &fields {
        for e in encodings(value) {
            needles.push((name.to_string(), e));
        }
    }
    for e in encodings(&file_name) {
        needles.push(("file name".into(), e));
    }
    for e in encodings(&format!("{canary}-attachment")) {
        needles.push(("attachment".into(), e));
    }
    for e in encodings(&code) {
        needles.push(("receipt code".into(), e));
    }
    for e in encodings(canary) {
        needles.push(("canary".into(), e));
    }
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        for (what, needle) in &needles {
            assert!(
                !contains(&bytes, needle),
                "{what} found in {} as {:?}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    assert!(!server.log_text().contains(canary));

    // The team member decrypts everything on their own machine.
    let identities = Identities::load(&server.member.identity).unwrap();
    let inbox = LocalInbox::open(&server.data()).unwrap();
    let desk = Desk::new(Box::new(inbox), identities, Seen::memory(), Pins::memory());
    let listed = desk.list(&[]).await.unwrap();
    assert_eq!(listed.len(), 1);
    let thread = &desk.thread(listed[0].id).await.unwrap();
    let submission = thread.submission().unwrap();
    let got = [
        ("title", &submission.title),
        ("product", &submission.product),
        ("versions", &submission.versions),
        ("description", &submission.description),
        ("steps", &submission.steps),
        ("expected", &submission.expected),
        ("actual", &submission.actual),
        ("impact", &submission.impact),
        ("contact", &submission.contact),
        ("credit_name", &submission.credit.name),
        ("credit_handle", &submission.credit.handle),
        ("credit_link", &submission.credit.link),
    ];
    for ((name, value), (got_name, got_value)) in fields.iter().zip(got) {
        assert_eq!(*name, got_name);
        assert_eq!(value, got_value, "field {name}");
    }
    assert!(!submission.credit.declined);
    let attachments = thread.attachments();
    assert_eq!(attachments.len(), 2);
    let out = tempfile::tempdir().unwrap();
    let written = desk
        .attachments(thread.id, out.path(), false, false)
        .await
        .unwrap();
    assert_eq!(written.len(), 2);
    for ((attachment, file), (name, bytes)) in attachments
        .iter()
        .zip(&written)
        .zip([(&file_name, &big), (&"notes.txt".to_string(), &small)])
    {
        assert_eq!(&attachment.name, name);
        assert_eq!(attachment.size, bytes.len() as u64);
        assert_eq!(attachment.media_type, "application/octet-stream");
        assert_eq!(attachment.sha256, hex::encode(Sha256::digest(bytes)));
        let plain = std::fs::read(&file.path).unwrap();
        assert_eq!(Sha256::digest(&plain), Sha256::digest(bytes));
    }
    assert!(matches!(
        thread.events[0].event.as_ref().unwrap().body,
        EventBody::Submitted(_)
    ));
}

#[tokio::test]
async fn open_command_lists_shows_and_writes_attachments() {
    let server = TestServer::start();
    let fields = vec![
        ("title", "Open command check".to_string()),
        ("description", "body text".to_string()),
        ("credit_none", "yes".to_string()),
    ];
    let files_ok = [("report.txt".to_string(), b"one".to_vec())];
    let page = submit_form(&server, &fields, &files_ok).await;
    assert_eq!(page.status(), 200);

    // The server is still running: `open` reads a private copy of the locked folder.
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin())
            .env("XDG_STATE_HOME", server.dir.path().join("state"))
            .arg("open")
            .arg("--data")
            .arg(server.data())
            .arg("--identity")
            .arg(&server.member.identity)
            .args(args)
            .output()
            .unwrap();
        succeeded(out, args)
    };
    let list = run(&["list"]);
    assert!(list.contains("Open command check"), "{list}");
    let id = first_id(&list);
    // Deadlines come from the operator's promises, or are not guessed at all.
    let listed: serde_json::Value = serde_json::from_str(&run(&["--json", "list"])).unwrap();
    assert!(listed[0]["acknowledge_by"].is_null(), "{listed}");
    let config = server.dir.path().join("promises.toml");
    let text = std::fs::read_to_string(server.dir.path().join("agedrop.toml")).unwrap();
    std::fs::write(
        &config,
        text.replace("[programme]\n", "[programme]\nacknowledge_hours = 5\n"),
    )
    .unwrap();
    let listed: serde_json::Value = serde_json::from_str(&run(&[
        "--config",
        config.to_str().unwrap(),
        "--json",
        "list",
    ]))
    .unwrap();
    let rfc3339 = |field: &str| {
        time::OffsetDateTime::parse(
            listed[0][field].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    assert_eq!(
        rfc3339("acknowledge_by") - rfc3339("received"),
        time::Duration::hours(5)
    );
    let shown = run(&["show", &id[..6]]);
    assert!(shown.contains("body text"), "{shown}");
    assert!(shown.contains("no credit"), "{shown}");
    let out = server.dir.path().join("out");
    let written = run(&["attachments", &id, "--out", out.to_str().unwrap()]);
    assert!(written.ends_with(" ok\n"), "{written}");
    let path = out.join("report.txt");
    assert_eq!(std::fs::read(&path).unwrap(), b"one");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Without --force nothing is overwritten.
    let again = std::process::Command::new(bin())
        .env("XDG_STATE_HOME", server.dir.path().join("state"))
        .arg("open")
        .arg("--data")
        .arg(server.data())
        .arg("--identity")
        .arg(&server.member.identity)
        .args(["attachments", &id, "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
}
