//! What a real server writes to its log: nothing personal at debug level, and a storage
//! error once, with its detail.

use crate::util::*;

#[tokio::test]
async fn logs_hold_no_address_agent_code_or_content() {
    let mut server = TestServer::start();
    let agent = "AgentCanary/9.9";
    let c = client_builder().user_agent(agent).build().unwrap();
    let page = c
        .post(server.at("/submit"))
        .multipart(form(
            &[
                ("title", "LogCanaryTitle".into()),
                ("description", "LogCanaryBody".into()),
            ],
            &[("LogCanaryFile.txt".into(), b"LogCanaryBytes".to_vec())],
        ))
        .send()
        .await
        .unwrap();
    let code = receipt_code(&page.text().await.unwrap());
    let _ = c
        .post(server.at("/check"))
        .form(&[("receipt", code.as_str())])
        .send()
        .await;
    let _ = c
        .post(server.at("/check"))
        .form(&[("receipt", "ABCD-EFGH")])
        .send()
        .await;
    let _ = c.get(server.at("/nothing-here")).send().await;
    let _ = c.get(server.at("/healthz")).send().await;
    // A follow-up with a message and a proposed date: nothing of it is logged either.
    let (reporter, thread) = reporter_page(&server, &code).await;
    let (status, _) = post_thread(
        &server,
        &reporter,
        &thread,
        &[
            ("message", "LogCanaryMessage"),
            ("disclosure", "2031-02-03"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    server.stop();
    let log = server.log_text();
    // The server's own log, captured (a search of an empty file proves nothing).
    assert!(log.contains("shutting down"), "{log}");
    for needle in [
        "127.0.0.1",
        agent,
        &code,
        &code.replace('-', ""),
        "ABCD-EFGH",
        "LogCanary",
        "2031-02-03",
    ] {
        assert!(!log.contains(needle), "log contains {needle}:\n{log}");
    }
}

#[tokio::test]
async fn storage_errors_are_logged_once_with_their_detail() {
    let mut server = TestServer::start();
    let page = submit_form(
        &server,
        &[("title", "Broken file".into()), ("description", "d".into())],
        &[("a.bin".into(), vec![1u8; 1000])],
    )
    .await;
    assert_eq!(page.status(), 200);
    let desk = team_desk(&server, &server.member.identity).await;
    let client_ = team_client(&server).await;
    let id = client_.reports().await.unwrap()[0].id;
    let blob = desk.thread(id).await.unwrap().attachments()[0].blob.clone();
    // The attachment's file turns into a loop the server cannot open: not a disk
    // failure, so the server keeps running, but an error the operator must see.
    let path = server.data().join("attachments").join(&blob);
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&path, &path).unwrap();
    let err = client_
        .download(id, blob.parse().unwrap())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("(503") && err.contains("server log"), "{err}");
    assert!(server.is_running());
    server.stop();
    let log = server.log_text();
    let logged: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("storage failed"))
        .collect();
    assert_eq!(logged.len(), 1, "{log}");
    assert!(logged[0].contains("symbolic links"), "{log}");
}

/// Askama escapes everything, and `|safe` turns that off: the one place it may appear is
/// the operator's policy, whose type (`config::SafeHtml`) only the sanitiser can make
/// (the hostile-policy test in `router::policy` checks what the sanitiser lets through).
#[test]
fn nothing_but_sanitised_html_is_shown_unescaped() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    let mut unescaped = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains("|safe") || line.contains("| safe") || line.contains("escape=\"none\"")
            {
                unescaped.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert_eq!(unescaped.len(), 1, "{unescaped:#?}");
    assert!(unescaped[0].contains("policy.html") && unescaped[0].contains("{{ file.html|safe }}"));
}
