//! `agedrop status` on the server host: a running server answers over its socket
//! (counts, disk, the last notice, receiver by receiver, also one that is down); a
//! stopped server's folder is read directly (the last notice unknown, the certificate's
//! expiry from its file); nothing of any report is printed.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::util::*;

/// `agedrop status --config CONFIG [ARGS]`, off the async threads.
async fn status(config: &Path, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(bin());
    command.arg("status").arg("--config").arg(config).args(args);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// `agedrop status --config CONFIG --json`, parsed.
async fn status_json(config: &Path) -> serde_json::Value {
    let out = status(config, &["--json"]).await;
    serde_json::from_str(&succeeded(out, &["status --json"])).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_server_gives_counts_and_the_last_notice_and_nothing_of_a_report() {
    let hooks = Hooks::start(&[]).await;
    let down = closed_port();
    let options = Options::notify(vec![
        "delay_seconds = 0".into(),
        format!(
            "webhooks = [{{ url = {:?}, format = \"slack\" }}, \
             {{ url = \"http://127.0.0.1:{down}/hook/tok-SECRET-41\" }}]",
            hooks.url("/hook")
        ),
    ]);
    let server = TestServer::start_with(options);
    let config = server.dir.path().join("agedrop.toml");
    let canary = "STATUSCANARY58";
    let page = submit_form(
        &server,
        &report_fields(canary),
        &[("poc.txt".into(), canary.as_bytes().to_vec())],
    )
    .await;
    let code = receipt_code(&page.text().await.unwrap());
    // The notice reaches the first receiver; the second refuses the connection, and is
    // tried again in 2 s.
    hooks.wait_for(1, Duration::from_secs(10)).await;
    for _ in 0..200 {
        if server.log_text().contains("notice not delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let out = status(&config, &[]).await;
    let text = succeeded(out, &["status"]);
    let today = agedrop::text::rfc3339(agedrop::clock::now()).unwrap()[..10].to_string();
    assert!(text.contains("server:      running\n"), "{text}");
    assert!(
        text.contains("reports:     1, 1 waiting for an answer (2 event(s), 1 attachment(s))\n"),
        "{text}"
    );
    assert!(text.contains("certificate: none (plain HTTP)\n"), "{text}");
    assert!(
        text.contains(&format!(
            "notices:     last {today}, sent to 1 of 2 receiver(s); webhook 2 (json, \
             127.0.0.1) failed, trying again ("
        )),
        "{text}"
    );
    assert!(
        text.contains("warning:     the last notice did not reach webhook 2 (json, 127.0.0.1)"),
        "{text}"
    );

    let json = status_json(&config).await;
    assert_eq!(json["server"], "running");
    assert_eq!(
        json["reports"],
        serde_json::json!({"total": 1, "waiting": 1, "events": 2, "attachments": 1})
    );
    assert!(json["disk"]["used_bytes"].as_u64().unwrap() > 0, "{json}");
    assert!(json["disk"]["free_bytes"].as_u64().unwrap() > 0, "{json}");
    assert_eq!(json["certificate"], serde_json::Value::Null);
    let last = &json["notices"]["last"];
    assert_eq!(last["day"], today.as_str());
    assert_eq!(
        last["receivers"][0]["receiver"],
        "webhook 1 (slack, 127.0.0.1)"
    );
    assert_eq!(last["receivers"][0]["state"], "sent");
    assert_eq!(last["receivers"][1]["state"], "retrying");

    // Nothing of the report, its receipt or its id; not the webhook's token.
    let id = team_client(&server).await.reports().await.unwrap()[0]
        .id
        .to_string();
    let everything = format!("{text}{json}");
    assert!(
        !leaked(everything.as_bytes(), canary.as_bytes()),
        "{everything}"
    );
    for secret in [code.clone(), code.replace('-', ""), id.clone()] {
        assert!(
            !leaked(everything.as_bytes(), secret.as_bytes()),
            "{secret}"
        );
    }
    assert!(!everything.contains("tok-SECRET-41"), "{everything}");

    // A member's reply: nothing waits any more.
    Desk::new(&server, &server.member.identity).run(&["reply", &id, "-m", "On it."]);
    let json = status_json(&config).await;
    assert_eq!(json["reports"]["waiting"], 0);
    // Backups still work over the same socket.
    let backup = server.dir.path().join("b.tar");
    let out = Command::new(bin())
        .args(["backup", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&backup)
        .output()
        .unwrap();
    succeeded(out, &["backup"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_servers_folder_is_read_and_the_certificate_checked() {
    let hooks = Hooks::start(&[]).await;
    let mut server = TestServer::start_with(Options::notify(vec![
        "delay_seconds = 0".into(),
        format!("webhooks = [{{ url = {:?} }}]", hooks.url("/hook")),
    ]));
    submit_simple(&server, "Kept").await;
    hooks.wait_for(1, Duration::from_secs(10)).await;
    server.stop();
    // The same server, served with the test certificate (it expires in 2126), and a
    // floor no disk reaches.
    let mut options = server.options.clone();
    options.server = Options::tls().server;
    options.limits = vec!["storage_min_free_mib = 100000000".into()];
    let config = server.dir.path().join("tls.toml");
    std::fs::write(
        &config,
        options.config("127.0.0.1:0", &server.data(), &server.keys_path()),
    )
    .unwrap();

    let text = succeeded(status(&config, &[]).await, &["status"]);
    assert!(text.contains("server:      not running\n"), "{text}");
    assert!(
        text.contains("reports:     1, 1 waiting for an answer (1 event(s), 0 attachment(s))\n"),
        "{text}"
    );
    assert!(text.contains("certificate: expires 2126-10-30 ("), "{text}");
    assert!(
        text.contains(
            "notices:     1 receiver(s); the last notice is unknown: only a running server \
             knows it\n"
        ),
        "{text}"
    );
    assert!(text.contains("warning:     free space ("), "{text}");
    assert!(
        text.contains("is below limits.storage_min_free_mib"),
        "{text}"
    );

    let json = status_json(&config).await;
    assert_eq!(json["server"], "not running");
    assert_eq!(json["certificate"]["expires"], "2126-10-30T20:51:30Z");
    assert!(json["certificate"]["days_left"].as_i64().unwrap() > 36_000);
    assert_eq!(json["notices"]["known"], false);
    assert_eq!(json["notices"]["last"], serde_json::Value::Null);
    assert_eq!(json["warnings"].as_array().unwrap().len(), 1, "{json}");
}

#[test]
fn a_folder_written_before_the_answered_bit_counts_no_report_as_waiting() {
    // The reports of an older agedrop were there before reminders: none waits.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-data/data");
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    std::fs::create_dir_all(data.join("attachments")).unwrap();
    for entry in files_under(&fixture) {
        let relative = entry.strip_prefix(&fixture).unwrap();
        std::fs::copy(&entry, data.join(relative)).unwrap();
    }
    let out = Command::new(bin())
        .args(["status", "--json", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&succeeded(out, &["status"])).unwrap();
    assert_eq!(json["reports"]["total"], 1);
    assert_eq!(json["reports"]["waiting"], 0);
    assert_eq!(json["reports"]["attachments"], 1);
}
