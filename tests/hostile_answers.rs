//! What a compromised server sends the desk is hostile: its text reaches the terminal
//! inert, its sizes are capped (memory and disk), one unreadable event hides nothing
//! else; and what the server itself must not do: run a plugin for a stranger, or dump
//! its memory to disk.

use std::path::Path;
use std::sync::Arc;

use agedrop::api;
use agedrop::crypto;
use agedrop::report::{Event, EventBody};

use crate::hostile::{Answer, Hostile};
use crate::hostile::{SOCKET_SLACK, assert_inert, run_measuring_peak, stderr};
use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_text_reaches_the_terminal_inert() {
    let server = TestServer::start();
    submit_simple(&server, "Escapes").await;
    let evil = "\u{1b}]52;c;cGF5bG9hZA==\u{7}\u{1b}[2J\u{9b}31m\u{202e}txt.exe\u{2067}";

    // A roster name, a report id and an error, each as a compromised server sends them.
    for target in ["team", "reports", "error"] {
        let hook: crate::hostile::Hook = Arc::new(move |method, path, status, body| {
            let mut json: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            match (target, method, path) {
                ("team", "GET", "/api/v1/team") => {
                    json["members"][0]["name"] = format!("Alice{evil}").into();
                }
                ("reports", "GET", "/api/v1/reports") => {
                    json["reports"][0]["id"] = format!("0123{evil}").into();
                }
                ("error", "GET", p)
                    if p.starts_with("/api/v1/reports/") || p.starts_with("/api/v1/feed") =>
                {
                    let error = serde_json::json!({ "error": format!("gone {evil}") });
                    return Answer::Bytes(404, serde_json::to_vec(&error).unwrap());
                }
                _ => return Answer::Bytes(status, body),
            }
            Answer::Bytes(status, serde_json::to_vec(&json).unwrap())
        });
        let hostile = Hostile::start(&server.url, hook).await;
        let desk = Desk::at(&hostile.url, &server.member.identity);
        let list = desk.command().arg("list").output().unwrap();
        let json = desk.command().args(["list", "--json"]).output().unwrap();
        let shown = desk
            .command()
            .args(["show", "0000000000000000"])
            .output()
            .unwrap();
        for out in [&list, &json, &shown] {
            let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out));
            assert_inert(&all);
        }
        let said = stderr(&list) + &stderr(&shown);
        if target == "reports" {
            // An id is parsed where it is read: refused, and never printed at all.
            assert!(said.contains("not a valid id"), "{target}: {said}");
        } else {
            assert!(said.contains("\\u{1b}]52;c;"), "{target}: {said}");
            assert!(said.contains("\\u{202e}"), "{target}: {said}");
        }
    }
}

#[tokio::test]
async fn a_bundle_entrys_name_reaches_the_terminal_inert() {
    let server = TestServer::start();
    let evil = "\u{1b}]52;c;cGF5bG9hZA==\u{7}\u{1b}[2J\u{9b}31m\u{202e}txt.exe\u{2067}";
    // A bundle whose first entry has a hostile name.
    let bundle = server.dir.path().join("evil.bundle");
    let mut tar = tar::Builder::new(std::fs::File::create(&bundle).unwrap());
    let mut header = tar::Header::new_gnu();
    header.set_size(2);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, format!("x{evil}.json"), &b"{}"[..])
        .unwrap();
    tar.finish().unwrap();
    let said = Desk::new(&server, &server.member.identity).fails(
        &["--bundle", bundle.to_str().unwrap(), "list"],
        "\\u{1b}]52",
    );
    assert_inert(&said);
}

/// A report with a 300 kB attachment; its id.
async fn sized_report(server: &TestServer) -> String {
    let file = bytes_with_canary(300_000, "sized");
    let page = submit_form(
        server,
        &[("title", "Sizes".into()), ("description", "d".into())],
        &[("big.bin".into(), file)],
    )
    .await;
    assert_eq!(page.status(), 200);
    team_client(server).await.reports().await.unwrap()[0]
        .id
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_report_list_is_refused_without_filling_memory() {
    let server = TestServer::start();
    sized_report(&server).await;
    let hook: crate::hostile::Hook = Arc::new(|method, path, status, body| {
        if method == "GET" && path == "/api/v1/reports" {
            return Answer::Endless(200, b"{\"reports\":[\"".to_vec());
        }
        Answer::Bytes(status, body)
    });
    let hostile = Hostile::start(&server.url, hook).await;
    let mut list = Desk::at(&hostile.url, &server.member.identity).command();
    list.arg("list");
    let (out, peak_kib) = run_measuring_peak(list);
    failed(out, "larger than");
    assert!(peak_kib < 96 * 1024, "the desk grew to {peak_kib} KiB");
    let sent = hostile.endless_sent();
    assert!(
        sent < 48 << 20,
        "the desk read {sent} bytes of an endless answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_longer_than_its_sealed_size_is_cut_off_and_not_kept() {
    let server = TestServer::start();
    let id = sized_report(&server).await;
    let hook: crate::hostile::Hook = Arc::new(|method, path, status, body| {
        if method == "GET" && path.contains("/attachments/") && status == 200 {
            return Answer::Endless(200, body);
        }
        Answer::Bytes(status, body)
    });
    let hostile = Hostile::start(&server.url, hook).await;
    let out_dir = server.dir.path().join("out");
    let mut download = Desk::at(&hostile.url, &server.member.identity).command();
    download.args(["attachments", &id, "--out", out_dir.to_str().unwrap()]);
    let (out, peak_kib) = run_measuring_peak(download);
    failed(out, "longer than its sealed size");
    assert!(peak_kib < 96 * 1024, "the desk grew to {peak_kib} KiB");
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0);
    let sent = hostile.endless_sent();
    let bound = agedrop::team::max_ciphertext(300_000) + SOCKET_SLACK;
    assert!(
        sent < bound,
        "the desk read {sent} bytes, more than {bound}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_claiming_more_than_the_disk_holds_is_refused_before_a_byte() {
    let server = TestServer::start();
    let id = sized_report(&server).await;
    // An attachment event the server forges, claiming a petabyte, over a real file.
    let desk = team_desk(&server, &server.member.identity).await;
    let thread = desk.thread(id.parse().unwrap()).await.unwrap();
    let real = thread.attachments()[0];
    let keys =
        crypto::TeamKeys::parse(&std::fs::read_to_string(server.keys_path()).unwrap()).unwrap();
    let huge = Event::new(
        1,
        EventBody::Attachment(agedrop::report::Attachment {
            name: "huge.bin".into(),
            media_type: "application/octet-stream".into(),
            size: 1 << 50,
            sha256: "00".repeat(32),
            blob: real.blob.clone(),
            key: real.key.clone(),
        }),
    );
    team_client(&server)
        .await
        .append(
            id.parse().unwrap(),
            &keys.seal(None, &huge.encode()).unwrap(),
        )
        .await
        .unwrap();
    let out_dir = server.dir.path().join("huge");
    Desk::new(&server, &server.member.identity).fails(
        &["attachments", &id, "--out", out_dir.to_str().unwrap()],
        "free); nothing was written",
    );
    let written: Vec<_> = std::fs::read_dir(&out_dir)
        .map(|d| d.map(|f| f.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(!written.iter().any(|n| n == "huge.bin"), "{written:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_malformed_event_breaks_nothing() {
    let server = TestServer::start();
    let code = submit_simple(&server, "Still readable").await;
    let client = team_client(&server).await;
    let id = client.reports().await.unwrap()[0].id;
    let keys =
        crypto::TeamKeys::parse(&std::fs::read_to_string(server.keys_path()).unwrap()).unwrap();
    let (_, reporter) = crypto::Receipt::parse(&code).unwrap().derive().unwrap();
    // It opens for everyone, and is not an event.
    for junk in [
        &b"{\"v\":1,\"at\":1,\"body\":{\"bogus\":{}}}"[..],
        b"\xff\xfe",
    ] {
        let sealed = keys.seal(Some(&reporter.recipient()), junk).unwrap();
        client.append(id, &sealed).await.unwrap();
    }
    // Sealed to a crowd: each stanza is work for the desk, so it is not even opened.
    let crowd: Vec<age::x25519::Recipient> = (0..200)
        .map(|_| age::x25519::Identity::generate().to_public())
        .collect();
    let alice_key = crypto::parse_recipient(&server.member.recipient).unwrap();
    let mut to: Vec<&dyn age::Recipient> = crowd.iter().map(|r| r as _).collect();
    to.push(alice_key.recipient.as_ref());
    client
        .append(id, &crypto::seal(&to, b"{}").unwrap())
        .await
        .unwrap();
    let alice = Desk::new(&server, &server.member.identity);
    let id = id.to_string();
    alice.run(&["reply", &id, "-m", "After the junk."]);
    let list = alice.json(&["list"]);
    assert_eq!(list[0]["title"], "Still readable");
    assert_eq!(list[0]["unreadable"], 3);
    assert!(
        alice
            .run(&["list"])
            .contains("Still readable  [3 unreadable]")
    );
    let text = alice.run(&["show", &id]);
    assert_eq!(text.matches("(unreadable event").count(), 3, "{text}");
    let shown = alice.json(&["show", &id]);
    assert!(
        shown["events"][3]["verification"]
            .as_str()
            .unwrap()
            .contains("more than 64 recipients"),
        "{}",
        shown["events"][3]
    );
    assert!(text.contains("After the junk."));
    let shown = alice.json(&["show", &id]);
    assert_eq!(shown["events"][1]["state"], "unreadable");
    // The reporter's page still works, and says an entry could not be read.
    let (_, status, page) = login(&server, &code).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page.matches("An entry that could not be read").count(), 2);
    assert!(page.contains("After the junk."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_challenges_look_like_anyone_elses_and_run_nothing() {
    let path = path_with_test_plugin();
    let log = tempfile::NamedTempFile::new().unwrap();
    let server = TestServer::start_with(Options {
        env: vec![
            ("PATH".into(), path.clone()),
            (
                "AGEDROPTEST_PLUGIN_LOG".into(),
                log.path().display().to_string(),
            ),
        ],
        ..Default::default()
    });
    let new_plugin_recipient = || {
        let out = std::process::Command::new("age-plugin-agedroptest")
            .env("PATH", &path)
            .env_remove("AGEDROPTEST_PLUGIN_LOG")
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .find(|w| w.starts_with("age1agedroptest1"))
            .unwrap()
            .to_string()
    };
    let member = new_plugin_recipient();
    let stranger = new_plugin_recipient();
    let (_, signing) = signing_keygen(server.dir.path(), "harriet");
    std::fs::write(
        server.keys_path(),
        format!(
            "# Alice Example\n{}\n# Hardware Harriet\n{member} {signing}\n",
            server.member.line
        ),
    )
    .unwrap();
    server.signal("HUP");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    std::fs::write(log.path(), "").unwrap();

    let challenge = |recipient: String| {
        let url = server.at("/api/v1/login/challenge");
        async move {
            let response = client()
                .post(url)
                .json(&api::ChallengeRequest { recipient })
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let challenge: api::Challenge = response.json().await.unwrap();
            api::decode(&challenge.sealed).unwrap()
        }
    };
    let stanzas = |sealed: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(sealed)
            .lines()
            .filter_map(|l| l.strip_prefix("-> "))
            .map(|l| l.split(' ').next().unwrap().to_string())
            // age adds random "grease" stanzas to every file.
            .filter(|t| !t.ends_with("-grease"))
            .collect()
    };
    let for_member = challenge(member).await;
    let for_stranger = challenge(stranger).await;
    assert_eq!(stanzas(&for_member), ["X25519"]);
    assert_eq!(stanzas(&for_stranger), ["X25519"]);
    assert_eq!(
        std::fs::read_to_string(log.path()).unwrap(),
        "",
        "a plugin ran for an unauthenticated request"
    );
    // Reports are still sealed to the member through the plugin.
    submit_simple(&server, "Through the plugin").await;
    assert!(!std::fs::read_to_string(log.path()).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_cannot_dump_core() {
    let server = TestServer::start();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let numbers: Vec<&str> = core.split_whitespace().skip(4).take(2).collect();
    assert_eq!(numbers, ["0", "0"], "{core}");
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/agedrop.service"),
    )
    .unwrap();
    assert!(unit.lines().any(|l| l == "LimitCORE=0"));
}
