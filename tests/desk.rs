//! `agedrop team` against a real server: two members with different kinds of
//! identity, hostile attachment names, the editor, purging, and offline bundles.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use agedrop::crypto;
use agedrop::report::{Event, EventBody};
use agedrop::team::{Identities, TeamClient};
use sha2::{Digest, Sha256};

use crate::util::*;

/// A member's private corner: an identity and their own config and state folders.
pub(crate) struct Desk {
    identity: PathBuf,
    signing_key: Option<PathBuf>,
    pub(crate) home: tempfile::TempDir,
    server: String,
}

impl Desk {
    pub(crate) fn new(server: &TestServer, identity: &Path) -> Desk {
        Desk::at(&server.url, identity)
    }

    /// A desk that talks to `url` (a test double, say).
    pub(crate) fn at(url: &str, identity: &Path) -> Desk {
        Desk {
            identity: identity.to_path_buf(),
            signing_key: None,
            home: tempfile::tempdir().unwrap(),
            server: url.to_string(),
        }
    }

    /// The same member with a signing key file of their own.
    pub(crate) fn signing_with(mut self, file: &Path) -> Desk {
        self.signing_key = Some(file.to_path_buf());
        self
    }

    pub(crate) fn command(&self) -> Command {
        let mut c = Command::new(bin());
        c.env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_STATE_HOME", self.home.path().join("state"))
            .env("XDG_RUNTIME_DIR", self.home.path())
            .env("AGEDROP_SERVER", &self.server)
            .env("AGEDROP_IDENTITY", &self.identity)
            .env_remove("AGEDROP_SIGNING_KEY")
            .env_remove("EDITOR")
            .env_remove("VISUAL");
        if let Some(file) = &self.signing_key {
            c.env("AGEDROP_SIGNING_KEY", file);
        }
        c.arg("team");
        c
    }

    /// Runs `agedrop team ARGS`, expecting success; its standard output.
    pub(crate) fn run(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "agedrop team {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub(crate) fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.run(&all)).unwrap()
    }

    /// Runs in a pseudo-terminal (`script`) with `input` typed in (passphrases,
    /// confirmations), expecting success; what the terminal showed.
    fn run_in_terminal(&self, args: &[&str], input: &str) -> String {
        let (ok, shown) = self.try_in_terminal(args, input);
        assert!(ok, "in a terminal, {args:?} failed: {shown}");
        shown
    }

    /// As [`Desk::run_in_terminal`], but reports failure instead of asserting.
    fn try_in_terminal(&self, args: &[&str], input: &str) -> (bool, String) {
        let mut line = format!("{} team", bin());
        for arg in args {
            line.push_str(&format!(" '{}'", arg.replace('\'', "'\\''")));
        }
        let mut script = Command::new("script");
        if let Some(file) = &self.signing_key {
            script.env("AGEDROP_SIGNING_KEY", file);
        }
        let mut child = script
            .args(["-qec", &line, "/dev/null"])
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_STATE_HOME", self.home.path().join("state"))
            .env("AGEDROP_SERVER", &self.server)
            .env("AGEDROP_IDENTITY", &self.identity)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("`script` (util-linux) runs commands in a terminal");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out: Output = child.wait_with_output().unwrap();
        let shown = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
        (out.status.success(), shown)
    }
}

/// Alice with a plain identity file, Bob with a passphrase-protected one.
fn two_members(server: &TestServer) -> (Desk, Desk) {
    let (text, bob_recipient) = crypto::generate_identity("2026-01-01T00:00:00Z");
    let bob_file = server.dir.path().join("bob.age");
    // A low scrypt work factor keeps the test fast; the format is the one `agedrop
    // keygen --passphrase` and `age -p` write.
    std::fs::write(
        &bob_file,
        crypto::protect_identity(&text, "correct horse", Some(10)).unwrap(),
    )
    .unwrap();
    std::fs::write(
        server.keys_path(),
        format!(
            "# Alice Example\n{}\n\n# Bob Builder\n{bob_recipient}\n",
            server.member.line
        ),
    )
    .unwrap();
    server.signal("HUP");
    std::thread::sleep(std::time::Duration::from_millis(300));
    (
        Desk::new(server, &server.member.identity),
        Desk::new(server, &bob_file),
    )
}

#[tokio::test]
async fn two_members_run_the_desk_and_sign_their_words() {
    let server = TestServer::start();
    let (alice, bob) = two_members(&server);
    let attachment = bytes_with_canary(200_000, "desk");
    let page = submit_form(
        &server,
        &[
            ("title", "Desk workflow report".into()),
            ("description", "d".into()),
        ],
        &[("trace.bin".into(), attachment.clone())],
    )
    .await;
    let code = receipt_code(&page.text().await.unwrap());

    let list = alice.json(&["list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["status"], "received");
    assert_eq!(list[0]["unread"], 2);
    assert_eq!(list[0]["overdue"], false);
    assert!(list[0]["acknowledge_by"].is_string());

    alice.run(&["reply", &id[..6], "-m", "Thanks, Alice here."]);

    // Bob's identity is behind a passphrase, asked for on the terminal.
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
    // Without a terminal to ask on, the protected identity is refused clearly.
    let mut refused = bob.command();
    refused.args(["list"]).stdin(Stdio::null());
    let out = refused.output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no terminal"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let shown = alice.run(&["show", &id]);
    assert!(
        shown.contains("Status set to triaged by Bob Builder"),
        "{shown}"
    );
    assert!(shown.contains("Disclosure date: 2027-01-31"));

    // A note from standard input, and a reply written in $EDITOR.
    let mut note = alice.command();
    let mut child = note
        .args(["note", &id, "--file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Internal: ship in 2.5")
        .unwrap();
    assert!(child.wait().unwrap().success());
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leftovers: Vec<_> = std::fs::read_dir(alice.home.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("agedrop-"))
        .collect();
    assert!(leftovers.is_empty(), "the editor's file was left behind");

    // The reporter sees the replies and the status with who wrote them, not the note.
    let (_, status, page) = login(&server, &code).await;
    assert_eq!(status, 200);
    assert!(page.contains("Alice Example (security team) replied"));
    assert!(page.contains("Written in the editor."));
    assert!(!page.contains("a comment line"));
    assert!(page.contains("Bob Builder (security team) set the status"));
    assert!(page.contains("id=\"status\">triaged<"));
    assert!(!page.contains("ship in 2.5"));

    // Attachments: streamed, decrypted, checked, 0600.
    let out_dir = server.dir.path().join("downloads");
    let written = alice.json(&["attachments", &id, "--out", out_dir.to_str().unwrap()]);
    let path = written[0]["path"].as_str().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), attachment);
    assert_eq!(
        std::fs::metadata(path).unwrap().permissions().mode_bits(),
        0o600
    );
    let again = alice
        .command()
        .args(["attachments", &id, "--out", out_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success());
    alice.run(&[
        "attachments",
        &id,
        "--out",
        out_dir.to_str().unwrap(),
        "--force",
    ]);

    // Errors a member meets.
    let out = alice.command().args(["show", "ffff"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no report with id"));
    let out = alice
        .command()
        .args(["status", &id, "closed"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("invalid value 'closed'"), "{said}");
    assert!(
        said.contains("possible values: received, acknowledged"),
        "{said}"
    );

    // Purging asks first; without a terminal it needs --yes.
    let out = alice
        .command()
        .args(["purge", &id])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(alice.json(&["list"]).as_array().unwrap().len(), 1);
    // On a terminal it asks for the id; anything else keeps the report.
    let (ok, kept) = alice.try_in_terminal(&["purge", &id[..8]], "nope\n");
    assert!(!ok && kept.contains("not confirmed"), "{kept}");
    assert_eq!(alice.json(&["list"]).as_array().unwrap().len(), 1);
    let gone = alice.run_in_terminal(&["purge", &id[..8]], &format!("{id}\n"));
    assert!(gone.contains("removed from the server"), "{gone}");
    assert_eq!(alice.json(&["list"]).as_array().unwrap().len(), 0);
    assert_eq!(check(&server, &code).await.0, 404);
}

trait ModeBits {
    fn mode_bits(&self) -> u32;
}

impl ModeBits for std::fs::Permissions {
    fn mode_bits(&self) -> u32 {
        std::os::unix::fs::PermissionsExt::mode(self) & 0o777
    }
}

#[tokio::test]
async fn hostile_attachment_names_stay_inside_the_folder() {
    let server = TestServer::start();
    let page = submit_form(
        &server,
        &[("title", "Names".into()), ("description", "d".into())],
        &[("plain.txt".into(), b"the bytes".to_vec())],
    )
    .await;
    assert_eq!(page.status(), 200);

    // What a compromised server (or anyone holding the team's public keys) could add:
    // attachment events that reuse a real blob under hostile names.
    let identities = Identities::load(&server.member.identity).unwrap();
    let desk_client = TeamClient::login(&server.url, &identities).await.unwrap();
    let id = desk_client.reports().await.unwrap()[0].id;
    let team = team_desk(&server, &server.member.identity).await;
    let thread = team.thread(id).await.unwrap();
    let real = thread.attachments()[0];
    let recipients: Vec<_> = team
        .roster()
        .unwrap()
        .members()
        .iter()
        .map(|m| crypto::parse_recipient(&m.recipient).unwrap().recipient)
        .collect();
    let refs: Vec<&dyn age::Recipient> = recipients.iter().map(|r| r.as_ref() as _).collect();
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
        let event = Event::new(
            1,
            EventBody::Attachment(agedrop::report::Attachment {
                name: name.into(),
                media_type: "text/plain".into(),
                size: real.size,
                sha256: real.sha256.clone(),
                blob: real.blob.clone(),
                key: real.key.clone(),
            }),
        );
        let sealed = crypto::seal(&refs, &event.encode()).unwrap();
        desk_client.append(id, &sealed).await.unwrap();
    }

    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("inside").join("out");
    let alice = Desk::new(&server, &server.member.identity);
    let written = alice.json(&[
        "attachments",
        &id.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
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
        assert!(
            !name
                .chars()
                .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{name:?}"
        );
        assert_eq!(std::fs::read(path).unwrap(), b"the bytes");
        assert!(names.insert(name.to_string()), "{name} written twice");
    }
    // Nothing was written anywhere else.
    let mut everything = files_under(root.path());
    everything.retain(|p| p.parent() != Some(out.as_path()));
    assert!(everything.is_empty(), "{everything:?}");

    // A file whose bytes do not match its sealed SHA-256 is an error and is removed.
    let lie = Event::new(
        2,
        EventBody::Attachment(agedrop::report::Attachment {
            name: "lie.txt".into(),
            media_type: "text/plain".into(),
            size: real.size,
            sha256: hex::encode(Sha256::digest(b"something else")),
            blob: real.blob.clone(),
            key: real.key.clone(),
        }),
    );
    desk_client
        .append(id, &crypto::seal(&refs, &lie.encode()).unwrap())
        .await
        .unwrap();
    let out2 = root.path().join("second");
    let result = alice
        .command()
        .args([
            "attachments",
            &id.to_string(),
            "--out",
            out2.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("does not match"));
    assert!(!out2.join("lie.txt").exists());
}

#[tokio::test]
async fn a_bundle_reads_the_same_as_the_server() {
    let server = TestServer::start();
    let (alice, _bob) = two_members(&server);
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
    let refused = offline
        .command()
        .args([
            "--bundle",
            bundle.to_str().unwrap(),
            "reply",
            &id,
            "-m",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
}

#[tokio::test]
async fn a_plugin_identity_logs_in_reads_and_replies() {
    // The team member's identity lives in a "hardware" plugin; the server encrypts to
    // its recipient through the same plugin, as it would for age-plugin-yubikey.
    let path = path_with_test_plugin();
    let server = TestServer::start_with(Options {
        env: vec![("PATH".into(), path.clone())],
        ..Default::default()
    });
    let generated = Command::new("age-plugin-agedroptest")
        .env("PATH", &path)
        .output()
        .unwrap();
    let identity_text = String::from_utf8(generated.stdout).unwrap();
    let recipient = identity_text
        .split_whitespace()
        .find(|w| w.starts_with("age1agedroptest1"))
        .unwrap()
        .to_string();
    let identity = server.dir.path().join("plugin.identity");
    std::fs::write(&identity, &identity_text).unwrap();
    // A hardware identity cannot sign: Harriet has a signing key of her own, which also
    // logs her in (the server never runs a plugin for a login).
    let (signing, signing_public) = signing_keygen(server.dir.path(), "harriet");
    std::fs::write(
        server.keys_path(),
        format!(
            "# Alice Example\n{}\n# Hardware Harriet\n{recipient} {signing_public}\n",
            server.member.line
        ),
    )
    .unwrap();
    server.signal("HUP");
    std::thread::sleep(std::time::Duration::from_millis(300));

    let code = submit_simple(&server, "Sealed through a plugin").await;
    let harriet = Desk::new(&server, &identity).signing_with(&signing);
    let run = |args: &[&str]| {
        let out = harriet
            .command()
            .env("PATH", &path)
            .args(args)
            .output()
            .unwrap();
        succeeded(out, args)
    };
    let list = run(&["list"]);
    assert!(list.contains("Sealed through a plugin"), "{list}");
    let id = first_id(&list);
    run(&["reply", &id, "-m", "Answered with a hardware key."]);
    let (_, _, page) = login(&server, &code).await;
    assert!(
        page.contains("Hardware Harriet (security team) replied"),
        "{page}"
    );
    // Alice, with a plain key, reads Harriet's reply too, verified as hers.
    let alice = Desk::new(&server, &server.member.identity);
    let shown = alice.json(&["show", &id]);
    let reply = shown["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(reply["verified"], true, "{reply}");
    assert_eq!(reply["signed_by"], "Hardware Harriet");
    // Without her signing key, Harriet can read nothing: she cannot even log in.
    let out = Desk::new(&server, &identity)
        .command()
        .env("PATH", &path)
        .arg("list")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--signing-key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn openssh_keys_work_as_identities() {
    let server = TestServer::start();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let public =
        |name: &str| std::fs::read_to_string(fixtures.join(format!("{name}.pub"))).unwrap();
    // Keys-file lines exactly as `ssh-keygen` writes them, comments included, each
    // followed by the member's own signing key (an SSH identity cannot give one). Dave
    // has none yet: he can read, not write.
    let (carol_signing, carol_public) = signing_keygen(server.dir.path(), "carol");
    let (erin_signing, erin_public) = signing_keygen(server.dir.path(), "erin");
    std::fs::write(
        server.keys_path(),
        format!(
            "# Carol (ed25519)\n{} {carol_public}\n# Dave (ed25519, passphrase)\n{}\n\
             # Erin (RSA)\n{} {erin_public}\n",
            public("ssh-ed25519").trim(),
            public("ssh-ed25519-protected").trim(),
            public("ssh-rsa").trim()
        ),
    )
    .unwrap();
    server.signal("HUP");
    std::thread::sleep(std::time::Duration::from_millis(300));
    submit_simple(&server, "Read with SSH keys").await;

    for (key, name, signing) in [
        ("ssh-ed25519", "Carol (ed25519)", &carol_signing),
        ("ssh-rsa", "Erin (RSA)", &erin_signing),
    ] {
        let desk = Desk::new(&server, &fixtures.join(key)).signing_with(signing);
        let list = desk.run(&["list"]);
        assert!(list.contains("Read with SSH keys"), "{key}: {list}");
        let id = first_id(&list);
        desk.run(&["note", &id, "-m", &format!("note from {key}")]);
        assert!(
            desk.run(&["show", &id])
                .contains(&format!("Internal note by {name}"))
        );
    }
    // A passphrase-protected SSH key asks once, on the terminal.
    let dave = Desk::new(&server, &fixtures.join("ssh-ed25519-protected"));
    let shown = dave.run_in_terminal(&["list"], "open sesame\n");
    assert_eq!(shown.matches("Passphrase for").count(), 1, "{shown}");
    assert!(shown.contains("Read with SSH keys"), "{shown}");
    // Without a signing key, writing is refused with what to do, and nothing is sent.
    let id = first_id(&Desk::new(&server, &fixtures.join("ssh-ed25519")).run(&["list"]));
    let (ok, said) = dave.try_in_terminal(&["note", &id, "-m", "unsigned"], "open sesame\n");
    assert!(
        !ok && said.contains("agedrop keygen --signing-key"),
        "{said}"
    );
    // A public key is not an identity.
    let wrong = Desk::new(&server, &fixtures.join("ssh-ed25519.pub"));
    let out = wrong.command().arg("list").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the .pub"));
}
