//! Notices to the team: one coalesced notice for several events, in each webhook
//! format and by e-mail (STARTTLS and TLS to a real SMTP sink), with nothing of a
//! report in it; a receiver that is down slows nothing and costs a content-free log
//! line; retries; `agedrop notify-test`.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::*;

/// A report's fields, each holding `canary`: its receipt code.
async fn report(server: &TestServer, canary: &str) -> String {
    let page = submit_form(server, &report_fields(canary), &[]).await;
    assert_eq!(page.status(), 200);
    receipt_code(&page.text().await.unwrap())
}

/// The reporter of `code` sends a message holding `canary`.
async fn message(server: &TestServer, code: &str, canary: &str) {
    let (reporter, status, page) = login(server, code).await;
    assert_eq!(status, 200, "{page}");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf(&page))
        .text("message", format!("{canary}-message"));
    let answer = reporter
        .post(server.at("/thread"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
}

/// Nothing of what reporters wrote, and no receipt code or report id, in `hay`.
fn assert_content_free(hay: &str, canary: &str, codes: &[String], ids: &[String]) {
    assert!(
        !leaked(hay.as_bytes(), canary.as_bytes()),
        "canary in {hay}"
    );
    for secret in codes.iter().chain(ids) {
        assert!(
            !leaked(hay.as_bytes(), secret.as_bytes()),
            "{secret} in {hay}"
        );
        let bare = secret.replace('-', "");
        assert!(!leaked(hay.as_bytes(), bare.as_bytes()), "{bare} in {hay}");
    }
}

/// The ids of every report, from the team API.
async fn report_ids(server: &TestServer) -> Vec<String> {
    let client = team_client(server).await;
    let reports = client.reports().await.unwrap();
    reports.iter().map(|r| r.id.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn several_events_give_one_content_free_notice_in_each_format() {
    let hooks = Hooks::start(&[]).await;
    let options = Options::notify(vec![
        "delay_seconds = 4".into(),
        format!(
            "webhooks = [{{ url = {:?}, format = \"json\" }}, {{ url = {:?}, format = \"slack\" }}, \
             {{ url = {:?}, format = \"matrix\" }}, {{ url = {:?}, format = \"text\" }}]",
            hooks.url("/json"),
            hooks.url("/slack"),
            hooks.url("/matrix"),
            hooks.url("/text")
        ),
    ]);
    let server = TestServer::start_with(options);
    let canary = "NOTIFYCANARY71";
    // Three reports and a message, well inside the shortest wait (half the delay).
    let first = report(&server, canary).await;
    let (second, third, ()) = tokio::join!(
        report(&server, canary),
        report(&server, canary),
        message(&server, &first, canary)
    );
    let got = hooks.wait_for(4, Duration::from_secs(15)).await;
    // Nothing more comes: one notice for all four events.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got_later = hooks.got();
    assert_eq!(got_later.len(), 4, "{got_later:#?}");
    let text = "3 new reports and 1 message. Read with `agedrop team`.";
    let by_path = |path: &str| got.iter().find(|h| h.path == path).unwrap().clone();
    let json: serde_json::Value = serde_json::from_str(&by_path("/json").body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"text": text, "events": {"reports": 3, "messages": 1}})
    );
    let slack: serde_json::Value = serde_json::from_str(&by_path("/slack").body).unwrap();
    assert_eq!(slack, serde_json::json!({"text": text}));
    let matrix: serde_json::Value = serde_json::from_str(&by_path("/matrix").body).unwrap();
    assert_eq!(
        matrix,
        serde_json::json!({"msgtype": "m.text", "body": text})
    );
    let plain = by_path("/text");
    assert_eq!(plain.body, text);
    assert!(plain.content_type.starts_with("text/plain"), "{plain:?}");

    let ids = report_ids(&server).await;
    assert_eq!(ids.len(), 3);
    let everything = format!("{got:?}");
    assert_content_free(&everything, canary, &[first, second, third], &ids);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_is_down_slows_nothing_and_costs_a_content_free_log_line() {
    let port = closed_port();
    let failing = Hooks::start(&[500; 20]).await;
    let secret = "tok-8f3a9c-SECRET";
    let options = Options::notify(vec![
        "delay_seconds = 0".into(),
        format!(
            "webhooks = [{{ url = \"http://127.0.0.1:{port}/hook/{secret}\" }}, \
             {{ url = {:?} }}]",
            failing.url(&format!("/hook/{secret}"))
        ),
    ]);
    let server = TestServer::start_with(options);
    let canary = "DOWNCANARY93";
    let mut codes = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        codes.push(report(&server, canary).await);
        // A submission takes well under a second here; a notice awaited on a closed
        // port and a failing receiver with retries would take tens.
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }
    let mut log = String::new();
    for _ in 0..200 {
        log = server.log_text();
        if log.matches("notice not delivered").count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(log.contains("webhook 1 (json, 127.0.0.1)"), "{log}");
    assert!(log.contains("HTTP 500"), "{log}");
    assert!(log.contains("trying again"), "{log}");
    assert!(
        !log.contains(secret),
        "the webhook's token is in the log:\n{log}"
    );
    let ids = report_ids(&server).await;
    assert_content_free(&log, canary, &codes, &ids);
    // The reports are all there.
    assert_eq!(ids.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_notice_is_retried_until_it_arrives() {
    let hooks = Hooks::start(&[500, 503]).await;
    let options = Options::notify(vec![
        "delay_seconds = 0".into(),
        format!(
            "webhooks = [{{ url = {:?}, format = \"slack\" }}]",
            hooks.url("/r")
        ),
    ]);
    let server = TestServer::start_with(options);
    submit_simple(&server, "retried").await;
    // Attempts after 0, 2 and 2 + 4 seconds: the third is answered 200.
    let got = hooks.wait_for(3, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got.iter().all(|h| h.body.contains("A new report arrived")));
    // The receiver has the third attempt a moment before the server logs its answer.
    wait_for_log(&server, "notice sent", 0, 10);
    let log = server.log_text();
    assert_eq!(log.matches("trying again").count(), 2, "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_notice_goes_over_starttls_without_content() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = SmtpSink::start(dir.path(), SinkTls::Starttls) else {
        return;
    };
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls-ca.pem");
    let options = Options::notify(vec![
        "delay_seconds = 2".into(),
        "[notify.smtp]".into(),
        "host = \"127.0.0.1\"".into(),
        format!("port = {}", sink.port),
        "tls = \"starttls\"".into(),
        format!("ca_file = {ca:?}"),
        "from = \"agedrop <agedrop@example.com>\"".into(),
        "to = [\"team@example.com\", \"lead@example.com\"]".into(),
    ]);
    let server = TestServer::start_with(options);
    let canary = "MAILCANARY52";
    let first = report(&server, canary).await;
    let second = report(&server, canary).await;
    let mail = sink.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sink.messages().len(), 1, "{mail:#?}\n{}", server.log_text());
    let mail = &mail[0];
    assert!(
        mail.contains("Subject: agedrop: 2 new reports arrived"),
        "{mail}"
    );
    assert!(
        mail.contains("2 new reports arrived. Read with `agedrop team`."),
        "{mail}"
    );
    assert!(
        mail.contains("To: team@example.com, lead@example.com"),
        "{mail}"
    );
    let ids = report_ids(&server).await;
    assert_content_free(mail, canary, &[first, second], &ids);
}

/// `agedrop notify-test --config FILE [--json]`.
fn notify_test(config: &std::path::Path, json: bool) -> std::process::Output {
    let mut command = Command::new(bin());
    command.arg("notify-test").arg("--config").arg(config);
    if json {
        command.arg("--json");
    }
    command.output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn notify_test_says_which_receivers_work_without_printing_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = Hooks::start(&[]).await;
    let secret = "tok-77aa-SECRET";
    let config = dir.path().join("agedrop.toml");
    let mut text = format!(
        "[notify]\nwebhooks = [{{ url = {:?}, format = \"matrix\" }}, \
         {{ url = \"http://127.0.0.1:{}/{secret}\" }}]\n",
        hooks.url(&format!("/{secret}")),
        closed_port()
    );
    let sink = SmtpSink::start(dir.path(), SinkTls::Implicit);
    if let Some(sink) = &sink {
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls-ca.pem");
        text.push_str(&format!(
            "[notify.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nca_file = {ca:?}\n\
             from = \"agedrop@example.com\"\nto = [\"team@example.com\"]\n",
            sink.port
        ));
    }
    std::fs::write(&config, text).unwrap();

    let out = tokio::task::spawn_blocking({
        let config = config.clone();
        move || notify_test(&config, false)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = failed(out, "1 of");
    assert!(
        stdout.contains("ok      webhook 1 (matrix, 127.0.0.1)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED  webhook 2 (json, 127.0.0.1)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(secret) && !stderr.contains(secret),
        "{stdout}{stderr}"
    );
    let got = hooks.got();
    assert_eq!(got.len(), 1);
    assert!(got[0].body.contains("This is a test notice"), "{got:?}");
    if let Some(sink) = &sink {
        assert!(stdout.contains("ok      e-mail (127.0.0.1)"), "{stdout}");
        let mail = sink.wait_for(1, Duration::from_secs(5)).await;
        assert!(
            mail[0].contains("Subject: agedrop: test notice"),
            "{mail:?}"
        );
    }

    let out = tokio::task::spawn_blocking(move || notify_test(&config, true))
        .await
        .unwrap();
    assert!(!out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["ok"], true);
    assert_eq!(rows[1]["ok"], false);
    assert!(
        rows[1]["error"].as_str().unwrap().contains("onnect"),
        "{rows}"
    );
    assert!(!rows.to_string().contains(secret));
}
