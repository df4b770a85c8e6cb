//! The command line where a real process is the point: the files `keygen` writes, and
//! `serve` over TLS. Refusals and outputs are trycmd cases (`tests/cmd/`).

use std::os::unix::fs::PermissionsExt;

use crate::util::*;

/// The mode of a file's permission bits.
fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// What the trycmd cases in `tests/cmd/keygen/` cannot see: the files are private, and
/// the line printed is the one for the key written.
#[test]
fn keygen_files_are_private_and_the_printed_line_is_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let member = keygen(dir.path(), "me");
    assert_eq!(mode(&member.identity), 0o600);
    let text = std::fs::read_to_string(&member.identity).unwrap();
    assert!(
        text.contains(&format!("# keys-file line: {}\n", member.line)),
        "{text}"
    );
    let identities = agedrop::team::Identities::load(&member.identity).unwrap();
    assert_eq!(
        identities.signing_key().unwrap().public().to_string(),
        member.line.split_whitespace().nth(1).unwrap()
    );
    let (signing, public) = signing_keygen(dir.path(), "me");
    assert_eq!(mode(&signing), 0o600);
    let text = std::fs::read_to_string(&signing).unwrap();
    assert!(
        text.contains(&format!("# public key: {public}\n")),
        "{text}"
    );
}

#[tokio::test]
async fn serves_tls_with_hsts() {
    let server = TestServer::start_with(Options::tls());
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
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
    // The cookie's attributes under TLS are checked in-process (router::sessions).
    let cookie = check.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-agedrop="), "{cookie}");
    // Plain HTTP on the TLS port gets nothing useful.
    let plain = client_builder()
        .build()
        .unwrap()
        .get(server.url.replace("https://", "http://"))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
}

/// A client that trusts only the test CA `ca` (a file in tests/fixtures), and makes a
/// new connection (a new handshake) for every request.
fn trusting(ca: &str) -> reqwest::Client {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let cert = std::fs::read(format!("{fixtures}/{ca}")).unwrap();
    client_builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&cert).unwrap()])
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart_and_a_bad_one_never() {
    // The server reads copies, so the test can replace them as certbot would.
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::copy(format!("{fixtures}/tls-cert.pem"), &cert).unwrap();
    std::fs::copy(format!("{fixtures}/tls-key.pem"), &key).unwrap();
    let server = TestServer::start_with(Options {
        server: vec![
            format!("tls_cert = {:?}", cert.display().to_string()),
            format!("tls_key = {:?}", key.display().to_string()),
        ],
        ..Default::default()
    });
    let (old, new) = (trusting("tls-ca.pem"), trusting("tls-ca-2.pem"));
    assert_eq!(old.get(server.at("/")).send().await.unwrap().status(), 200);
    assert!(new.get(server.at("/")).send().await.is_err());

    // Renewed on disk and announced with SIGHUP: the next handshake gets the new pair.
    std::fs::copy(format!("{fixtures}/tls-cert-2.pem"), &cert).unwrap();
    std::fs::copy(format!("{fixtures}/tls-key-2.pem"), &key).unwrap();
    server.signal("HUP");
    wait_for_log(&server, "TLS certificate reloaded", 0, 10);
    assert_eq!(new.get(server.at("/")).send().await.unwrap().status(), 200);
    assert!(old.get(server.at("/")).send().await.is_err());

    // A bad pair (a key that is not the certificate's, then a damaged file) is refused,
    // and the last good one keeps serving; no SIGHUP needed to notice the change.
    std::fs::copy(format!("{fixtures}/tls-key.pem"), &key).unwrap();
    wait_for_log(&server, "TLS certificate not reloaded", 0, 10);
    assert_eq!(new.get(server.at("/")).send().await.unwrap().status(), 200);
    std::fs::write(&cert, "not a certificate").unwrap();
    server.signal("HUP");
    wait_for_log(&server, "TLS certificate not reloaded", 1, 10);
    assert_eq!(new.get(server.at("/")).send().await.unwrap().status(), 200);
}
