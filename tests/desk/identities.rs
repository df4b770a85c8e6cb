//! Identities other than a plain age key: a hardware plugin (with a signing key of its
//! own) and OpenSSH keys, passphrase-protected ones included.

use std::path::Path;
use std::process::Command;

use crate::util::*;

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
    server.set_members(&[
        ("Alice Example", &server.member.line),
        ("Hardware Harriet", &format!("{recipient} {signing_public}")),
    ]);

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
    failed(out, "--signing-key");
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
    server.set_members(&[
        (
            "Carol (ed25519)",
            &format!("{} {carol_public}", public("ssh-ed25519").trim()),
        ),
        (
            "Dave (ed25519, passphrase)",
            public("ssh-ed25519-protected").trim(),
        ),
        (
            "Erin (RSA)",
            &format!("{} {erin_public}", public("ssh-rsa").trim()),
        ),
    ]);
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
    Desk::new(&server, &fixtures.join("ssh-ed25519.pub")).fails(&["list"], "not the .pub");
}
