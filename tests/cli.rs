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
