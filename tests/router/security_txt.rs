//! security.txt (RFC 9116) passes a real validator (the `sectxt` package), its Expires
//! is always ahead and under a year away, and its Encryption line leads to the team's
//! recipients as the keys file lists them now.

use std::process::Command;

use crate::util::*;

const PUBLIC: &str = "https://security.example.com";

fn named_server() -> Options {
    let mut options = Options::programme(&[
        "languages = \"en, de\"",
        "csaf_provider_url = \"https://example.com/.well-known/csaf/provider-metadata.json\"",
    ]);
    options.server = vec![
        format!("public_url = \"{PUBLIC}/\""),
        "onion_address = \"abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion\"".into(),
    ];
    options
}

/// The Python that has the `sectxt` validator, or `None` (and why) where it cannot run:
/// `.ci/run` installs it and sets AGEDROP_CI, so there a missing validator fails.
fn validator() -> Option<String> {
    let python = std::env::var("AGEDROP_SECTXT_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import sectxt"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("AGEDROP_CI").is_none(),
            "the security.txt test needs the sectxt validator ({python} -m pip install sectxt, \
             or set AGEDROP_SECTXT_PYTHON to a Python that has it)"
        );
        eprintln!(
            "SKIPPED: install sectxt from PyPI (pip install sectxt) to validate security.txt"
        );
        return None;
    }
    Some(python)
}

/// What the validator finds in `text`, served at `url`.
fn validate(python: &str, text: &str, url: &str) -> serde_json::Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sectxt_check.py"
    );
    let out = run_with_input(Command::new(python).arg(script).arg(url), text.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of the one `Name: value` line of `text`.
fn field<'t>(text: &'t str, name: &str) -> &'t str {
    let values: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{name}: ")))
        .collect();
    assert_eq!(values.len(), 1, "{name} in {text}");
    values[0]
}

#[tokio::test]
async fn security_txt_passes_the_validator() {
    let Some(python) = validator() else {
        return;
    };
    let app = TestApp::start_with(named_server());
    let txt = app.send(app.get("/.well-known/security.txt")).await;
    assert_eq!(txt.status, 200);
    assert_eq!(txt.header("content-type"), "text/plain; charset=utf-8");
    let url = format!("{PUBLIC}/.well-known/security.txt");
    let found = validate(&python, &txt.body, &url);
    assert_eq!(
        found["errors"],
        serde_json::json!([]),
        "{}\n{found}",
        txt.body
    );
    assert_eq!(found["valid"], true);
    assert_eq!(found["notifications"], serde_json::json!([]), "{found}");
    // Only the signature is missing (the server holds no key to sign with).
    let recommended: Vec<&str> = found["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(recommended, ["not_signed"], "{found}");

    assert_eq!(field(&txt.body, "Contact"), format!("{PUBLIC}/"));
    assert_eq!(field(&txt.body, "Canonical"), url);
    assert_eq!(field(&txt.body, "Policy"), format!("{PUBLIC}/policy"));
    assert_eq!(
        field(&txt.body, "Encryption"),
        format!("{PUBLIC}/age-recipients.txt")
    );
    assert_eq!(field(&txt.body, "Preferred-Languages"), "en, de");
    assert_eq!(
        field(&txt.body, "CSAF"),
        "https://example.com/.well-known/csaf/provider-metadata.json"
    );
    // The onion service, plain HTTP, is named in a comment: RFC 9116 wants https.
    assert!(
        txt.body
            .contains("\n# Also as a Tor onion service: http://abcdefghijklmnop"),
        "{}",
        txt.body
    );

    // The validator is not a rubber stamp: it refuses the same file with a plain-HTTP
    // contact, and with its Expires gone.
    let http = txt.body.replace("Contact: https:", "Contact: http:");
    assert_eq!(validate(&python, &http, &url)["valid"], false);
    let expires = format!("Expires: {}\n", field(&txt.body, "Expires"));
    let undated = txt.body.replace(&expires, "");
    assert_eq!(validate(&python, &undated, &url)["valid"], false);
}

#[tokio::test]
async fn expires_is_ahead_and_under_a_year_away() {
    let app = TestApp::start();
    let txt = app.send(app.get("/.well-known/security.txt")).await;
    let expires = time::OffsetDateTime::parse(
        field(&txt.body, "Expires"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc();
    assert!(expires > now + time::Duration::days(179), "{expires}");
    assert!(expires < now + time::Duration::days(365), "{expires}");

    let app = TestApp::start_with(Options::programme(&["security_txt_days = 1"]));
    let txt = app.send(app.get("/.well-known/security.txt")).await;
    let expires = time::OffsetDateTime::parse(
        field(&txt.body, "Expires"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    // Midnight after today: ahead, and at most a day away.
    assert!(
        expires > now && expires <= now + time::Duration::days(1),
        "{expires}"
    );
    assert_eq!(
        (expires.hour(), expires.minute(), expires.second()),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn the_recipients_are_the_keys_file_as_it_is_now() {
    let app = TestApp::start();
    let page = app.send(app.get("/age-recipients.txt")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/plain; charset=utf-8");
    let keys: Vec<&str> = page.body.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(keys, [app.member.recipient.as_str()], "{}", page.body);
    // The keys are public; who holds them is not.
    assert!(!page.body.contains("Alice"), "{}", page.body);

    // A new keys file is served at once.
    let (_, bob) = agedrop::crypto::generate_identity("2026-01-01T00:00:00Z");
    let bob = bob.split_whitespace().next().unwrap().to_string();
    let text = format!("# Alice\n{}\n# Bob\n{bob}\n", app.member.line);
    app.state()
        .replace_keys(agedrop::crypto::TeamKeys::parse(&text).unwrap());
    let page = app.send(app.get("/age-recipients.txt")).await;
    let keys: Vec<&str> = page.body.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(keys, [app.member.recipient.as_str(), bob.as_str()]);
}

#[tokio::test]
async fn an_operator_can_keep_the_recipients_unpublished() {
    let app = TestApp::start_with(Options::programme(&["publish_recipients = false"]));
    let page = app.send(app.get("/age-recipients.txt")).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains(&app.member.recipient), "{}", page.body);
    let txt = app.send(app.get("/.well-known/security.txt")).await;
    assert!(!txt.body.contains("Encryption:"), "{}", txt.body);
    assert!(txt.body.contains("Contact: "), "{}", txt.body);
}
