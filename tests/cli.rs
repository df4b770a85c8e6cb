use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::util::*;

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn keygen_writes_a_private_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("me.txt");
    let path_str = path.to_str().unwrap();
    let (ok, stdout, _) = run(&["keygen", "--out", path_str]);
    assert!(ok);
    assert!(stdout.trim().starts_with("age1"), "{stdout}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("AGE-SECRET-KEY-1"));
    assert!(text.contains(stdout.trim()));
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (ok, _, stderr) = run(&["keygen", "--out", path_str]);
    assert!(!ok);
    assert!(stderr.contains("refusing to overwrite"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

/// `agedrop serve` with these arguments must refuse to start, saying `expected`.
fn refuses(args: &[&str], expected: &str) {
    let out = Command::new(bin())
        .arg("serve")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} started");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
}

#[test]
fn serve_refuses_bad_settings_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let member = keygen(dir.path(), "m");
    std::fs::write(d("keys.txt"), format!("# M\n{}\n", member.recipient)).unwrap();
    std::fs::write(d("empty-keys.txt"), "# nobody yet\n").unwrap();
    std::fs::write(d("bad-keys.txt"), "# M\nage1notakey\n").unwrap();
    let data = d("data");
    let base = ["--data", data.as_str(), "--listen", "127.0.0.1:0"];

    let missing = d("missing.txt");
    refuses(&[&base[..], &["--keys", &missing]].concat(), "server.keys");
    let empty = d("empty-keys.txt");
    refuses(
        &[&base[..], &["--keys", &empty]].concat(),
        "no team recipient",
    );
    let bad = d("bad-keys.txt");
    refuses(&[&base[..], &["--keys", &bad]].concat(), "line 2");
    let keys = d("keys.txt");
    refuses(
        &["--data", &data, "--keys", &keys, "--listen", "0.0.0.0:0"],
        "server.listen",
    );
    refuses(
        &[&base[..], &["--keys", &keys, "--tls-cert", &keys]].concat(),
        "server.tls_key",
    );
    refuses(
        &["--data", &data, "--keys", &keys, "--listen", "nowhere"],
        "server.listen",
    );
    std::fs::write(d("typo.toml"), "[limits]\nmax_uploads = 3\n").unwrap();
    let typo = d("typo.toml");
    refuses(
        &[&base[..], &["--keys", &keys, "--config", &typo]].concat(),
        "max_uploads",
    );
    std::fs::write(d("zero.toml"), "[limits]\nidle_timeout_seconds = 0\n").unwrap();
    let zero = d("zero.toml");
    refuses(
        &[&base[..], &["--keys", &keys, "--config", &zero]].concat(),
        "limits.idle_timeout_seconds",
    );
}

#[tokio::test]
async fn serves_tls_with_hsts() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let server = TestServer::start_with(Options {
        server: vec![
            format!("tls_cert = \"{fixtures}/tls-cert.pem\""),
            format!("tls_key = \"{fixtures}/tls-key.pem\""),
        ],
        ..Default::default()
    });
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    // The server's certificate is signed by a test CA made for these tests only.
    let cert = std::fs::read(format!("{fixtures}/tls-ca.pem")).unwrap();
    let client = client_builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&cert).unwrap()])
        .build()
        .unwrap();
    let response = client.get(server.at("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    let page = client
        .post(server.at("/submit"))
        .multipart(form(
            &[("title", "Over TLS".into()), ("description", "d".into())],
            &[],
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code = receipt_code(&page);
    let check = client
        .post(server.at("/check"))
        .form(&[("receipt", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(check.status(), 303);
    // Under TLS the session cookie is Secure and host-only (__Host- prefix).
    let cookie = check.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-agedrop="), "{cookie}");
    for attribute in ["; HttpOnly", "; SameSite=Strict", "; Path=/", "; Secure"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // Plain HTTP on the TLS port gets nothing useful.
    let plain = client_builder()
        .build()
        .unwrap()
        .get(server.url.replace("https://", "http://"))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
}
