//! Retention: a report with no activity for `limits.retention_days` is purged by the
//! server itself, whole; `agedrop purge --dry-run` lists what would go (ids and days,
//! nothing else) and `--yes` purges on a stopped server; reporters are told. Time is
//! moved with `AGEDROP_CLOCK_OFFSET`, never waited for.

use std::process::Command;

use crate::util::*;

const DAY: i64 = 86_400;

/// `agedrop purge ARGS` with the server's config and a clock `ahead` seconds on.
fn purge(server: &TestServer, ahead: i64, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .arg("purge")
        .arg("--config")
        .arg(server.dir.path().join("agedrop.toml"))
        .args(args)
        .env("AGEDROP_CLOCK_OFFSET", ahead.to_string())
        .output()
        .unwrap()
}

/// Files under the attachments folder.
fn attachment_files(server: &TestServer) -> usize {
    std::fs::read_dir(server.data().join("attachments"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_server_purges_a_quiet_report_whole_and_says_how_long_it_keeps_one() {
    let mut server = TestServer::start_with(Options::limits(&["retention_days = 30"]));
    let page = submit_form(
        &server,
        &[("title", "Quiet".into()), ("description", "d".into())],
        &[("poc.bin".into(), vec![7u8; 4096])],
    )
    .await;
    let receipt = page.text().await.unwrap();
    assert!(
        receipt.contains("no activity for 30 days is deleted"),
        "{receipt}"
    );
    let code = receipt_code(&receipt);
    let (_, _, thread) = login(&server, &code).await;
    assert!(thread.contains("id=\"retention\""), "{thread}");
    assert_eq!(attachment_files(&server), 1);

    // 29 days on, it stays; 31 days on, the server purges it as it starts.
    server.stop();
    server.options.env = vec![("AGEDROP_CLOCK_OFFSET".into(), (29 * DAY).to_string())];
    server.launch();
    assert_eq!(check(&server, &code).await.0, 200);
    server.stop();
    server.options.env = vec![("AGEDROP_CLOCK_OFFSET".into(), (31 * DAY).to_string())];
    server.launch();
    let mut gone = false;
    for _ in 0..100 {
        if check(&server, &code).await.0 == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "{}", server.log_text());
    assert_eq!(attachment_files(&server), 0, "its attachment went too");
    let log = server.log_text();
    assert!(
        log.contains("reports with no activity for the retention period were purged"),
        "{log}"
    );
    assert!(!log.contains(&code), "{log}");
    // A report that came since is kept.
    let fresh = submit_simple(&server, "Fresh").await;
    assert_eq!(check(&server, &fresh).await.0, 200);
}

#[tokio::test]
async fn purge_lists_what_would_go_and_purges_a_stopped_servers_reports() {
    let mut server = TestServer::start();
    let code = submit_simple(&server, "Old").await;
    let id = team_client(&server).await.reports().await.unwrap()[0]
        .id
        .to_string();
    server.stop();

    // Retention is off: it says how to ask anyway.
    let off = purge(&server, 0, &["--dry-run"]);
    failed(off, "retention is off");
    // Not quiet long enough yet: nothing to list.
    let out = purge(&server, 5 * DAY, &["--days", "10", "--dry-run", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&succeeded(out, &["purge"])).unwrap();
    assert_eq!(json["reports"], serde_json::json!([]));
    // Eleven days on: the id and its days, nothing else; nothing purged yet.
    let out = purge(&server, 11 * DAY, &["--days", "10", "--dry-run", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&succeeded(out, &["purge"])).unwrap();
    assert_eq!(json["purged"], false);
    let listed = &json["reports"][0];
    assert_eq!(listed["id"], id.as_str());
    assert_eq!(listed["quiet_days"], 11);
    assert_eq!(listed.as_object().unwrap().len(), 3, "{listed}");
    // Neither --dry-run nor --yes: clap refuses.
    failed(purge(&server, 11 * DAY, &["--days", "10"]), "--dry-run");

    let out = purge(&server, 11 * DAY, &["--days", "10", "--yes"]);
    succeeded(out, &["purge --yes"]);
    server.launch();
    assert_eq!(check(&server, &code).await.0, 404);
}
