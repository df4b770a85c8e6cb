use crate::util::*;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

fn assert_headers(what: &str, response: &reqwest::Response) {
    let h = response.headers();
    let get = |name: &str| {
        h.get(name)
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(get("content-security-policy"), CSP, "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    // The one cookie is set by a valid receipt code; nothing else sets any.
    if what == "POST /check valid" {
        assert!(h.get("set-cookie").is_some(), "{what}");
    } else {
        assert!(
            h.get("set-cookie").is_none(),
            "{what}: a cookie before any receipt"
        );
    }
    assert!(
        h.get("strict-transport-security").is_none(),
        "{what}: HSTS on plain HTTP"
    );
    let cache = get("cache-control");
    if what.contains("style.css") {
        assert!(cache.starts_with("public"), "{what}");
    } else {
        assert_eq!(cache, "no-store", "{what}");
    }
}

#[tokio::test]
async fn security_headers_on_every_route_and_error() {
    let server = TestServer::start();
    let c = client();
    let code = submit_simple(&server, "Header check").await;
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("GET /", c.get(server.at("/")), 200),
        ("GET /check", c.get(server.at("/check")), 200),
        ("GET /policy", c.get(server.at("/policy")), 200),
        (
            "GET security.txt",
            c.get(server.at("/.well-known/security.txt")),
            200,
        ),
        ("GET style.css", c.get(server.at("/static/style.css")), 200),
        (
            "POST /check valid",
            c.post(server.at("/check"))
                .form(&[("receipt", code.as_str())]),
            303,
        ),
        (
            "GET /thread without a session",
            c.get(server.at("/thread")),
            401,
        ),
        (
            "POST /thread without a session",
            c.post(server.at("/thread")),
            401,
        ),
        (
            "POST /logout without a session",
            c.post(server.at("/logout")),
            200,
        ),
        (
            "GET API without a token",
            c.get(server.at("/api/v1/reports")),
            401,
        ),
        (
            "GET API unknown route",
            c.get(server.at("/api/v1/nothing")),
            404,
        ),
        (
            "POST API challenge not JSON",
            c.post(server.at("/api/v1/login/challenge")).body("x"),
            400,
        ),
        (
            "POST /check typo",
            c.post(server.at("/check")).form(&[("receipt", "ABCD")]),
            400,
        ),
        (
            "POST /check not a form",
            c.post(server.at("/check")).body("{}"),
            400,
        ),
        ("GET /missing", c.get(server.at("/missing")), 404),
        ("GET /submit", c.get(server.at("/submit")), 405),
        ("DELETE /", c.delete(server.at("/")), 405),
        ("POST /submit empty", c.post(server.at("/submit")), 400),
    ];
    for (what, request, status) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{what}");
        assert_headers(what, &response);
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = response.text().await.unwrap();
        if what.contains("API") {
            assert!(
                content_type.starts_with("application/json"),
                "{what}: {content_type}"
            );
            assert!(body.contains("\"error\""), "{what}: {body}");
        }
        if content_type.starts_with("text/html") {
            assert!(!body.contains("<script"), "{what}");
            assert!(
                body.contains("/static/style.css"),
                "{what}: not a full page"
            );
            // Nothing loads from another origin.
            assert!(!body.contains("src=\"http"), "{what}");
            assert!(!body.contains("href=\"http"), "{what}");
        }
    }
}

#[tokio::test]
async fn pages_speak_for_the_programme() {
    let server = TestServer::start();
    let form = client()
        .get(server.at("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "Test Programme",
        "enctype=\"multipart/form-data\"",
        "<label for=\"title\">",
        "<label for=\"files\">",
        "name=\"credit_none\"",
        "Steps to reproduce",
        "Do no harm",
        "72 hours",
        "90 days",
    ] {
        assert!(form.contains(needle), "form lacks {needle}");
    }
    let txt = client()
        .get(server.at("/.well-known/security.txt"))
        .send()
        .await
        .unwrap();
    assert!(
        txt.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let txt = txt.text().await.unwrap();
    assert!(txt.contains("Contact: http://127.0.0.1:"), "{txt}");
    assert!(txt.contains("Expires: "), "{txt}");
}

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
    server.stop();
    let log = server.log_text();
    for needle in [
        "127.0.0.1",
        agent,
        &code,
        &code.replace('-', ""),
        "ABCD-EFGH",
        "LogCanary",
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
    let client_ = agedrop::team::TeamClient::login(
        &server.url,
        &agedrop::team::Identities::load(&server.member.identity).unwrap(),
    )
    .await
    .unwrap();
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
