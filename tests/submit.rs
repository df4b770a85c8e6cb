//! A report goes in through the form: only ciphertext reaches the disk, and the team
//! decrypts every field and file on its own machine, also with `agedrop open` on a copy
//! of the data folder.

use agedrop::report::EventBody;
use agedrop::team::{Desk, Identities, LocalInbox, Pins, Seen};
use sha2::{Digest, Sha256};

use crate::util::*;

#[tokio::test]
async fn only_ciphertext_reaches_the_disk() {
    let mut server = TestServer::start();
    let canary = "CANARY7f3a9c";
    let fields = report_fields(canary);
    let file_name = format!("{canary}-filename.txt");
    // Large enough for many stream chunks, the canary in the middle of one.
    let big = bytes_with_canary(5 * 1024 * 1024, &format!("{canary}-attachment"));
    let page = submit_form(&server, &fields, &[(file_name.clone(), big)]).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let code = receipt_code(&html);
    assert!(html.contains("cannot be recovered"), "{html}");

    server.stop();
    let mut secrets: Vec<(String, String)> = fields
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect();
    secrets.push(("file name".into(), file_name));
    secrets.push(("attachment".into(), format!("{canary}-attachment")));
    secrets.push(("receipt code".into(), code.clone()));
    secrets.push(("receipt code without dashes".into(), code.replace('-', "")));
    secrets.push(("canary".into(), canary.into()));
    let files = files_under(&server.data());
    assert!(files.len() > 1, "{files:?}");
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        // The free-space reserve is the server's own zeros (searching 64 MiB for every
        // needle would take most of a minute).
        if path.file_name().is_some_and(|n| n == "reserve") {
            assert!(bytes.iter().all(|b| *b == 0), "the reserve file holds data");
            continue;
        }
        for (what, secret) in &secrets {
            assert!(
                !leaked(&bytes, secret.as_bytes()),
                "{what} found in {}",
                path.display()
            );
        }
    }
    assert!(!server.log_text().contains(canary));
}

#[tokio::test]
async fn the_team_decrypts_every_field_and_file() {
    let mut server = TestServer::start();
    let fields = report_fields("fields");
    let big = bytes_with_canary(300_000, "decrypted");
    let small = b"second file".to_vec();
    let files = [
        ("trace.bin".to_string(), big),
        ("notes.txt".to_string(), small),
    ];
    let page = submit_form(&server, &fields, &files).await;
    assert_eq!(page.status(), 200);
    server.stop();

    // The team member decrypts everything on their own machine.
    let identities = Identities::load(&server.member.identity).unwrap();
    let inbox = LocalInbox::open(&server.data()).unwrap();
    let desk = Desk::new(Box::new(inbox), identities, Seen::memory(), Pins::memory());
    let listed = desk.list(&[], false).await.unwrap();
    assert_eq!(listed.len(), 1);
    let thread = &desk.thread(listed[0].id).await.unwrap();
    assert!(matches!(
        thread.events[0].event.as_ref().unwrap().body,
        EventBody::Submitted(_)
    ));
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
        ("asset_other", &submission.asset_other),
        ("weakness", &submission.weakness),
        ("how_found", &submission.how_found),
        ("ai_how", &submission.ai_how),
    ];
    assert_eq!(fields.len(), got.len());
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
    for ((attachment, file), (name, bytes)) in attachments.iter().zip(&written).zip(&files) {
        assert_eq!(&attachment.name, name);
        assert_eq!(attachment.size, bytes.len() as u64);
        assert_eq!(attachment.media_type, "application/octet-stream");
        assert_eq!(attachment.sha256, hex::encode(Sha256::digest(bytes)));
        assert_eq!(&std::fs::read(&file.path).unwrap(), bytes, "{name}");
    }
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
    let open = |args: &[&str]| {
        std::process::Command::new(bin())
            .env("XDG_STATE_HOME", server.dir.path().join("state"))
            .arg("open")
            .arg("--data")
            .arg(server.data())
            .arg("--identity")
            .arg(&server.member.identity)
            .args(args)
            .output()
            .unwrap()
    };
    let run = |args: &[&str]| succeeded(open(args), args);
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
    let rfc3339 = |value: &serde_json::Value| {
        time::OffsetDateTime::parse(
            value.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    assert_eq!(listed[0]["next"]["promise"], "acknowledge");
    assert_eq!(
        rfc3339(&listed[0]["next"]["due"]) - rfc3339(&listed[0]["received"]),
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
    failed(
        open(&["attachments", &id, "--out", out.to_str().unwrap()]),
        "already exists; use --force to overwrite it",
    );
}

#[tokio::test]
async fn the_intake_fields_reach_the_team() {
    let server = TestServer::start_with(Options::programme(&[
        "[[programme.assets]]",
        "name = \"Example Shop\"",
    ]));
    let fields = vec![
        ("title", "SQL injection in search".to_string()),
        (
            "description",
            "The q parameter reaches the database.".into(),
        ),
        ("asset", "Example Shop".into()),
        ("weakness", "CWE 89".into()),
        (
            "severity_vector",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".into(),
        ),
        ("how_found", "Fuzzing the search form.".into()),
        ("ai_used", "no".into()),
    ];
    let page = submit_form(&server, &fields, &[]).await;
    assert_eq!(page.status(), 200);

    // `agedrop team` as a member runs it (not the library's `Desk`).
    let alice = crate::util::Desk::new(&server, &server.member.identity);
    let id = alice.json(&["list"])[0]["id"].as_str().unwrap().to_string();
    let shown = alice.json(&["show", &id]);
    let s = &shown["events"][0]["event"]["body"]["submitted"];
    assert_eq!(s["asset"], "Example Shop", "{s}");
    assert_eq!(s["weakness"], "CWE-89");
    assert_eq!(
        s["severity_vector"],
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    );
    assert_eq!(s["severity_score"], "9.3 critical (CVSS v4.0, CVSS-B)");
    assert_eq!(s["how_found"], "Fuzzing the search form.");
    assert_eq!(s["ai_used"], false);
    assert_eq!(s["confirmed_one_finding"], true);
    assert_eq!(s["confirmed_within_rules"], true);
    // What was not given is not there at all.
    assert!(
        s.get("asset_other").is_none() && s.get("ai_how").is_none(),
        "{s}"
    );

    let text = alice.run(&["show", &id]);
    for lines in [
        "Affected asset:\nExample Shop\n",
        "Weakness:\nCWE-89\n",
        "Severity estimate (CVSS):\nCVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N\n",
        "Severity estimate (score):\n9.3 critical (CVSS v4.0, CVSS-B)\n",
        "How it was found:\nFuzzing the search form.\n",
        "AI tools used:\nno\n",
        "Confirmed:\none finding; tested within the programme's rules\n",
    ] {
        assert!(text.contains(lines), "{lines}:\n{text}");
    }
}
