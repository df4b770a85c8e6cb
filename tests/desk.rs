//! `agedrop team` against a real server: a member with a passphrase, the editor and
//! standard input, attachments written safely, the errors a member meets, purging,
//! hostile attachment names, offline bundles; and identities of every kind.

// The sealed cache that keeps `list` fast.
mod cache;
// Plugin (hardware) and OpenSSH identities.
mod identities;

use std::path::Path;
use std::process::Stdio;

use agedrop::crypto;
use agedrop::report::{Attachment, Event, EventBody};
use sha2::{Digest, Sha256};

use crate::util::*;

/// Bob, a second member whose identity is behind a passphrase ("correct horse").
fn with_bob(server: &TestServer) -> Desk {
    let (text, bob_recipient) = crypto::generate_identity("2026-01-01T00:00:00Z");
    let bob_file = server.dir.path().join("bob.age");
    // A low scrypt work factor keeps the test fast; the format is the one `agedrop
    // keygen --passphrase` and `age -p` write.
    std::fs::write(
        &bob_file,
        crypto::protect_identity(&text, "correct horse", Some(10)).unwrap(),
    )
    .unwrap();
    server.set_members(&[
        ("Alice Example", &server.member.line),
        ("Bob Builder", &bob_recipient),
    ]);
    Desk::new(server, &bob_file)
}

/// A report with a 200 kB attachment on a fresh server; its receipt code and id.
async fn one_report(server: &TestServer) -> (String, String, Vec<u8>) {
    let attachment = bytes_with_canary(200_000, "desk");
    let page = submit_form(
        server,
        &[
            ("title", "Desk workflow report".into()),
            ("description", "d".into()),
        ],
        &[("trace.bin".into(), attachment.clone())],
    )
    .await;
    let code = receipt_code(&page.text().await.unwrap());
    let list = Desk::new(server, &server.member.identity).json(&["list"]);
    let id = list[0]["id"].as_str().unwrap().to_string();
    (code, id, attachment)
}

#[tokio::test]
async fn a_new_report_is_listed_unread_with_its_deadline() {
    let server = TestServer::start();
    one_report(&server).await;
    let list = Desk::new(&server, &server.member.identity).json(&["list"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["title"], "Desk workflow report");
    assert_eq!(list[0]["status"], "received");
    // The report and its attachment.
    assert_eq!(list[0]["unread"], 2);
    assert_eq!(list[0]["overdue"], false);
    let time = |value: &serde_json::Value| {
        time::OffsetDateTime::parse(
            value.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    // The server's promise: acknowledged within 72 hours by default.
    assert_eq!(list[0]["next"]["promise"], "acknowledge");
    assert_eq!(
        time(&list[0]["next"]["due"]) - time(&list[0]["received"]),
        time::Duration::hours(72)
    );
}

#[tokio::test]
async fn a_passphrase_protected_identity_asks_on_the_terminal_and_nowhere_else() {
    let server = TestServer::start();
    let bob = with_bob(&server);
    let (code, id, _) = one_report(&server).await;
    let alice = Desk::new(&server, &server.member.identity);
    alice.run(&["reply", &id[..6], "-m", "Thanks, Alice here."]);

    let shown = bob.run_in_terminal(&["show", &id], "correct horse\n");
    assert!(shown.contains("Passphrase for"), "{shown}");
    assert!(shown.contains("Reply from Alice Example"), "{shown}");
    assert!(shown.contains("Thanks, Alice here."));
    bob.run_in_terminal(
        &[
            "status",
            &id,
            "triaged",
            "-m",
            "Bob verified it.",
            "--disclosure",
            "2027-01-31",
        ],
        "correct horse\n",
    );
    // Without a terminal to ask on, it is refused clearly.
    let mut no_terminal = bob.command();
    no_terminal.arg("list").stdin(Stdio::null());
    failed(no_terminal.output().unwrap(), "no terminal");

    // Bob's words are his, for the team and for the reporter.
    let shown = alice.run(&["show", &id]);
    assert!(
        shown.contains("Status set to valid by Bob Builder"),
        "{shown}"
    );
    assert!(
        shown.contains("Planned disclosure: 2027-01-31 00:00 UTC"),
        "{shown}"
    );
    let (_, status, page) = login(&server, &code).await;
    assert_eq!(status, 200);
    assert!(page.contains("Bob Builder (security team) set the status"));
    assert!(page.contains("id=\"status\">valid<"), "{page}");
}

#[tokio::test]
async fn notes_come_from_standard_input_and_replies_from_the_editor() {
    let server = TestServer::start();
    let (code, id, _) = one_report(&server).await;
    let alice = Desk::new(&server, &server.member.identity);
    let out = run_with_input(
        alice.command().args(["note", &id, "--file", "-"]),
        b"Internal: ship in 2.5",
    );
    succeeded(out, &["note", "--file", "-"]);
    let editor = server.dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf 'Written in the editor.\\n# a comment line\\n' > \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let out = alice
        .command()
        .env("EDITOR", &editor)
        .args(["reply", &id])
        .output()
        .unwrap();
    succeeded(out, &["reply"]);
    let leftovers: Vec<_> = std::fs::read_dir(alice.home.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("agedrop-"))
        .collect();
    assert!(leftovers.is_empty(), "the editor's file was left behind");

    let shown = alice.run(&["show", &id]);
    assert!(shown.contains("Internal: ship in 2.5"), "{shown}");
    assert!(shown.contains("Written in the editor."), "{shown}");
    // The reporter reads the reply without its comment lines, and never the note.
    let (_, _, page) = login(&server, &code).await;
    assert!(page.contains("Alice Example (security team) replied"));
    assert!(page.contains("Written in the editor."));
    assert!(!page.contains("a comment line"));
    assert!(!page.contains("ship in 2.5"));
}

#[tokio::test]
async fn attachments_are_written_private_and_never_overwritten_without_force() {
    let server = TestServer::start();
    let (_, id, attachment) = one_report(&server).await;
    let alice = Desk::new(&server, &server.member.identity);
    let out_dir = server.dir.path().join("downloads");
    let out = out_dir.to_str().unwrap();
    let written = alice.json(&["attachments", &id, "--out", out]);
    let path = Path::new(written[0]["path"].as_str().unwrap());
    assert_eq!(path, out_dir.join("trace.bin"));
    assert_eq!(std::fs::read(path).unwrap(), attachment);
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions())
            & 0o777,
        0o600
    );
    std::fs::write(path, b"the member's own edits").unwrap();
    alice.fails(
        &["attachments", &id, "--out", out],
        "already exists; use --force to overwrite it",
    );
    assert_eq!(std::fs::read(path).unwrap(), b"the member's own edits");
    alice.run(&["attachments", &id, "--out", out, "--force"]);
    assert_eq!(std::fs::read(path).unwrap(), attachment);
}

#[tokio::test]
async fn a_member_is_told_what_is_wrong() {
    let server = TestServer::start();
    let (_, id, _) = one_report(&server).await;
    let alice = Desk::new(&server, &server.member.identity);
    alice.fails(&["show", "ffff"], "no report with id");
    let said = alice.fails(&["status", &id, "done"], "invalid value 'done'");
    assert!(
        said.contains("possible values: received, needs-more-information, valid"),
        "{said}"
    );
    alice.fails(&["status", &id, "closed"], "closing needs a reason");
}

#[tokio::test]
async fn a_purge_asks_first() {
    let server = TestServer::start();
    let (code, id, _) = one_report(&server).await;
    let alice = Desk::new(&server, &server.member.identity);
    let reports = || alice.json(&["list"]).as_array().unwrap().len();
    // Without a terminal it needs --yes.
    let mut no_terminal = alice.command();
    no_terminal.args(["purge", &id]).stdin(Stdio::null());
    failed(no_terminal.output().unwrap(), "--yes");
    assert_eq!(reports(), 1);
    // On a terminal it asks for the id; anything else keeps the report.
    let (ok, kept) = alice.try_in_terminal(&["purge", &id[..8]], "nope\n");
    assert!(!ok && kept.contains("not confirmed"), "{kept}");
    assert_eq!(reports(), 1);
    let gone = alice.run_in_terminal(&["purge", &id[..8]], &format!("{id}\n"));
    assert!(gone.contains("removed from the server"), "{gone}");
    assert_eq!(reports(), 0);
    assert_eq!(check(&server, &code).await.0, 404);
}

/// What a compromised server (or anyone holding the team's public keys) can add: an
/// attachment event under `name` that reuses the report's real file and its key, with
/// `sha256` as the file's checksum.
async fn add_attachment(server: &TestServer, id: &str, name: &str, sha256: Option<String>) {
    let id = id.parse().unwrap();
    let desk = team_desk(server, &server.member.identity).await;
    let thread = desk.thread(id).await.unwrap();
    let real = thread.attachments()[0];
    let event = Event::new(
        1,
        EventBody::Attachment(Attachment {
            name: name.into(),
            media_type: "text/plain".into(),
            size: real.size,
            sha256: sha256.unwrap_or_else(|| real.sha256.clone()),
            blob: real.blob.clone(),
            key: real.key.clone(),
        }),
    );
    let team = crypto::parse_recipient(&server.member.recipient)
        .unwrap()
        .recipient;
    let sealed = crypto::seal(&[team.as_ref()], &event.encode()).unwrap();
    team_client(server).await.append(id, &sealed).await.unwrap();
}

/// A report with one small attachment, "plain.txt"; its id.
async fn named_report(server: &TestServer) -> String {
    let page = submit_form(
        server,
        &[("title", "Names".into()), ("description", "d".into())],
        &[("plain.txt".into(), b"the bytes".to_vec())],
    )
    .await;
    assert_eq!(page.status(), 200);
    team_client(server).await.reports().await.unwrap()[0]
        .id
        .to_string()
}

#[tokio::test]
async fn hostile_attachment_names_stay_inside_the_folder() {
    let server = TestServer::start();
    let id = named_report(&server).await;
    let hostile = [
        "../../escaped.txt",
        "/etc/passwd",
        "nul\0byte.txt",
        "evil\u{202e}gpj.exe",
        ".hidden",
        "..",
        "dir/",
        "C:\\windows\\system32\\x.dll",
    ];
    for name in hostile {
        add_attachment(&server, &id, name, None).await;
    }

    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("inside").join("out");
    let alice = Desk::new(&server, &server.member.identity);
    let written = alice.json(&["attachments", &id, "--out", out.to_str().unwrap()]);
    let written = written.as_array().unwrap();
    assert_eq!(written.len(), hostile.len() + 1);
    let mut names = std::collections::HashSet::new();
    for file in written {
        let path = Path::new(file["path"].as_str().unwrap());
        assert_eq!(
            path.parent().unwrap(),
            out,
            "{path:?} is not directly inside"
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(!name.starts_with('.'), "{name:?} is hidden");
        assert!(!name.chars().any(agedrop::text::is_hidden), "{name:?}");
        assert_eq!(std::fs::read(path).unwrap(), b"the bytes");
        assert!(names.insert(name.to_string()), "{name} written twice");
    }
    // Nothing was written anywhere else.
    let mut everything = files_under(root.path());
    everything.retain(|p| p.parent() != Some(out.as_path()));
    assert!(everything.is_empty(), "{everything:?}");
}

#[tokio::test]
async fn a_file_that_does_not_match_its_checksum_is_an_error_and_is_removed() {
    let server = TestServer::start();
    let id = named_report(&server).await;
    let lie = hex::encode(Sha256::digest(b"something else"));
    add_attachment(&server, &id, "lie.txt", Some(lie)).await;
    let out = tempfile::tempdir().unwrap();
    let alice = Desk::new(&server, &server.member.identity);
    alice.fails(
        &["attachments", &id, "--out", out.path().to_str().unwrap()],
        "does not match",
    );
    assert!(!out.path().join("lie.txt").exists());
}

#[tokio::test]
async fn a_bundle_reads_the_same_as_the_server() {
    let server = TestServer::start();
    let alice = Desk::new(&server, &server.member.identity);
    for (title, file) in [("First bundled", "one.txt"), ("Second bundled", "two.bin")] {
        let page = submit_form(
            &server,
            &[("title", title.into()), ("description", "bundle me".into())],
            &[(file.into(), bytes_with_canary(50_000, title))],
        )
        .await;
        assert_eq!(page.status(), 200);
    }
    let id = alice.json(&["list"])[0]["id"].as_str().unwrap().to_string();
    alice.run(&["reply", &id, "-m", "Reply before the export"]);
    alice.run(&["note", &id, "-m", "A note before the export"]);

    // Exported while the server runs (its folder is locked: the export reads a copy).
    let bundle = export(&server, "inbox");
    let raw = std::fs::read(&bundle).unwrap();
    assert!(memchr::memmem::find(&raw, b"bundle me").is_none());
    assert!(memchr::memmem::find(&raw, b"Reply before the export").is_none());

    // The same questions, from a fresh desk each time, get the same answers.
    let online = Desk::new(&server, &server.member.identity);
    let offline = Desk::new(&server, &server.member.identity);
    let from_bundle = |args: &[&str]| {
        let mut all = vec!["--bundle", bundle.to_str().unwrap()];
        all.extend_from_slice(args);
        offline.run(&all)
    };
    assert_eq!(online.run(&["list"]), from_bundle(&["list"]));
    assert_eq!(
        online.run(&["list", "--json"]),
        from_bundle(&["list", "--json"])
    );
    assert_eq!(online.run(&["show", &id]), from_bundle(&["show", &id]));
    assert_eq!(
        online.run(&["show", &id, "--json"]),
        from_bundle(&["show", &id, "--json"])
    );
    let a = server.dir.path().join("from-server");
    let b = server.dir.path().join("from-bundle");
    let written_a = online.run(&["attachments", &id, "--out", a.to_str().unwrap()]);
    let written_b = from_bundle(&["attachments", &id, "--out", b.to_str().unwrap()]);
    assert_eq!(
        written_a.replace(a.to_str().unwrap(), "OUT"),
        written_b.replace(b.to_str().unwrap(), "OUT")
    );
    for file in std::fs::read_dir(&a).unwrap() {
        let file = file.unwrap();
        assert_eq!(
            std::fs::read(file.path()).unwrap(),
            std::fs::read(b.join(file.file_name())).unwrap()
        );
    }
    // Offline means read-only.
    offline.fails(
        &[
            "--bundle",
            bundle.to_str().unwrap(),
            "reply",
            &id,
            "-m",
            "x",
        ],
        "this works only against a server",
    );
}
