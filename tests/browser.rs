//! The reporter's whole path in real headless Chromium with JavaScript off: fill the
//! form (an asset from the list, a CVSS estimate, the confirmations), attach a file,
//! submit by clicking, keep the receipt, open the report.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};

use crate::util::*;

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver, or says why it cannot (CI installs Chromium and sets
/// AGEDROP_CI, so there a missing browser fails the test).
fn start_driver() -> Option<Driver> {
    let found = ["/usr/bin/chromedriver", "/usr/bin/chromium"]
        .iter()
        .all(|p| std::path::Path::new(p).exists());
    if !found {
        assert!(
            std::env::var_os("AGEDROP_CI").is_none(),
            "browser tests need chromium and chromium-driver"
        );
        eprintln!("SKIPPED: install chromium and chromium-driver to run the browser tests");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: tempfile::tempdir().unwrap(),
    })
}

mod accessibility;

/// A browser with JavaScript off, as many reporters (Tor Browser's safest level) use.
async fn browser(driver: &Driver) -> fantoccini::Client {
    open_browser(driver, false).await
}

/// A browser with script on, for tools that run in the page (the accessibility audit):
/// agedrop's pages carry none of their own.
async fn browser_with_script(driver: &Driver) -> fantoccini::Client {
    open_browser(driver, true).await
}

async fn open_browser(driver: &Driver, script: bool) -> fantoccini::Client {
    let profile = driver._profile.path().display().to_string();
    let options = serde_json::json!({
        "binary": "/usr/bin/chromium",
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            format!("--user-data-dir={profile}"),
            format!("--blink-settings=scriptEnabled={script}"),
        ],
        "prefs": {
            "profile.managed_default_content_settings.javascript": if script { 1 } else { 2 },
        },
    });
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("connect to chromedriver")
}

#[tokio::test]
async fn a_reporter_without_javascript_submits_and_checks() {
    let Some(driver) = start_driver() else {
        return;
    };
    let server = TestServer::start_with(Options::programme(&[
        "[[programme.assets]]",
        "name = \"Example Web\"",
        "kind = \"web application\"",
    ]));
    let b = browser(&driver).await;

    b.goto(&server.at("/")).await.unwrap();
    let title = b.title().await.unwrap();
    assert!(title.contains("Report a vulnerability"), "{title}");

    let attachment = server.dir.path().join("proof of concept.txt");
    std::fs::write(&attachment, b"GET /?q=<script>alert(1)</script>").unwrap();
    for (id, text) in [
        ("title", "Stored XSS in <b>profile</b>"),
        ("product", "Example Web"),
        ("description", "The profile name is not escaped."),
        ("steps", "1. Set the name\n2. Open the profile"),
        ("weakness", "CWE-79"),
        (
            "severity_vector",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
        ),
        ("how_found", "Reading the templates."),
        ("ai_how", "A chatbot explained the escaping rules."),
        ("credit_handle", "@finder"),
        ("files", attachment.to_str().unwrap()),
    ] {
        type_into(&b, id, text).await;
    }
    b.find(Locator::Id("asset"))
        .await
        .unwrap()
        .select_by_value("Example Web")
        .await
        .unwrap();
    click(&b, "#ai_used_yes").await;
    // Without the two confirmations the browser itself holds the form back (`required`,
    // no script needed): still the form, no receipt.
    click(&b, "button[type=submit]").await;
    // (A form sent to this server on loopback would be answered well within this.)
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(b.current_url().await.unwrap().path(), "/");
    assert!(b.find(Locator::Id("receipt-code")).await.is_err());
    click(&b, "#confirm_one_finding").await;
    click(&b, "#confirm_within_rules").await;
    click(&b, "button[type=submit]").await;

    let code = wait_text(&b, Locator::Id("receipt-code")).await;
    assert_eq!(code.len(), 34, "{code}");
    assert!(b.source().await.unwrap().contains("cannot be recovered"));
    let severity = wait_text(&b, Locator::Id("severity")).await;
    assert!(
        severity.contains("6.1 medium (CVSS v3.1 base score)"),
        "{severity}"
    );

    // Typed back sloppily, the code opens the report.
    b.goto(&server.at("/check")).await.unwrap();
    type_into(&b, "receipt", &code.to_lowercase().replace('-', " ")).await;
    click(&b, "button[type=submit]").await;
    let status = wait_text(&b, Locator::Id("status")).await;
    assert_eq!(status.to_lowercase(), "received");
    assert_eq!(
        wait_text(&b, Locator::Css("h1")).await,
        "Stored XSS in <b>profile</b>"
    );
    let timeline = wait_text(&b, Locator::Id("timeline")).await;
    assert!(timeline.contains("proof of concept.txt"), "{timeline}");
    assert!(timeline.contains("@finder"), "{timeline}");
    for shown in [
        "Example Web",
        "CWE-79",
        "6.1 medium (CVSS v3.1 base score)",
        "Reading the templates.",
        "A chatbot explained the escaping rules.",
        "one finding; tested within the programme's rules",
    ] {
        assert!(timeline.contains(shown), "{shown}: {timeline}");
    }

    // A follow-up, still without JavaScript.
    type_into(&b, "message", "Also affects the API.").await;
    click(&b, "form[action='/thread'] button[type=submit]").await;
    wait_text(&b, Locator::Css(".notice")).await;
    let timeline = wait_text(&b, Locator::Id("timeline")).await;
    assert!(timeline.contains("Also affects the API."), "{timeline}");

    // Logging out ends the session: the thread is gone until the code is typed again.
    click(&b, "form.logout button").await;
    wait_text(&b, Locator::Id("receipt")).await;
    b.goto(&server.at("/thread")).await.unwrap();
    let page = b.source().await.unwrap();
    assert!(page.contains("session has ended"), "{page}");
    assert!(!page.contains("Also affects the API."));
    b.close().await.unwrap();
}

/// Types into the field with this id (a file input takes a path).
async fn type_into(b: &fantoccini::Client, id: &str, text: &str) {
    b.find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Clicks the element matching a CSS selector: the only way to submit without script.
async fn click(b: &fantoccini::Client, css: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits for an element and gives its text.
async fn wait_text(b: &fantoccini::Client, locator: Locator<'_>) -> String {
    b.wait()
        .for_element(locator)
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
