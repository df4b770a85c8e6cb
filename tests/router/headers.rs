//! Every answer carries the design's security headers, error pages and the API
//! included, and every HTML page is a full page that loads nothing from elsewhere.

use crate::util::*;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// What is wrong with an answer's headers and body (nothing, for a good one).
fn problems(what: &str, page: &Page) -> Vec<String> {
    let mut out = Vec::new();
    let mut expect = |name: &str, wanted: &dyn Fn(&str) -> bool| match page
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap_or("?"))
    {
        Some(value) if wanted(value) => {}
        got => out.push(format!("{what}: {name} is {got:?}")),
    };
    expect("content-security-policy", &|v| v == CSP);
    expect("referrer-policy", &|v| v == "no-referrer");
    expect("x-content-type-options", &|v| v == "nosniff");
    expect("x-frame-options", &|v| v == "DENY");
    expect("cross-origin-opener-policy", &|v| v == "same-origin");
    expect("cross-origin-resource-policy", &|v| v == "same-origin");
    expect("permissions-policy", &|v| {
        v == "camera=(), microphone=(), geolocation=()"
    });
    // Only the stylesheet, the same for everyone, may be cached.
    if what.contains("style.css") {
        expect("cache-control", &|v| v == "public, max-age=86400");
    } else {
        expect("cache-control", &|v| v == "no-store");
    }
    // The one cookie is set by a valid receipt code; nothing else sets any.
    let cookie = page.headers.contains_key("set-cookie");
    if cookie != (what == "POST /check valid") {
        out.push(format!("{what}: set-cookie present: {cookie}"));
    }
    if page.headers.contains_key("strict-transport-security") {
        out.push(format!("{what}: HSTS on plain HTTP"));
    }
    let content_type = page
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    if what.contains("API") {
        if !content_type.starts_with("application/json") || !page.body.contains("\"error\"") {
            out.push(format!(
                "{what}: not a JSON error: {content_type} {}",
                page.body
            ));
        }
    } else if page.status >= 400 && !content_type.starts_with("text/html") {
        out.push(format!(
            "{what}: an error that is not a page: {content_type}"
        ));
    }
    if content_type.starts_with("text/html") {
        // A full page in our style, with no script and nothing from another origin.
        for (bad, why) in [
            ("<script", "a script"),
            ("src=\"http", "a source elsewhere"),
            ("href=\"http", "a link elsewhere"),
        ] {
            if page.body.contains(bad) {
                out.push(format!("{what}: {why}"));
            }
        }
        if !page.body.contains("/static/style.css") {
            out.push(format!("{what}: not a full page"));
        }
    }
    out
}

#[tokio::test]
async fn every_route_and_error_carries_the_security_headers() {
    let app = TestApp::start();
    let code = app.submit_simple("Header check").await;
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("GET /", app.get("/"), 200),
        ("GET /check", app.get("/check"), 200),
        ("GET /policy", app.get("/policy"), 200),
        (
            "GET security.txt",
            app.get("/.well-known/security.txt"),
            200,
        ),
        (
            "GET age-recipients.txt",
            app.get("/age-recipients.txt"),
            200,
        ),
        ("GET style.css", app.get("/static/style.css"), 200),
        (
            "POST /submit",
            app.post("/submit").multipart(form(
                &[("title", "t".into()), ("description", "d".into())],
                &[],
            )),
            200,
        ),
        (
            "POST /check valid",
            app.post("/check").form(&[("receipt", code.as_str())]),
            303,
        ),
        ("GET /thread without a session", app.get("/thread"), 401),
        ("POST /thread without a session", app.post("/thread"), 401),
        ("POST /logout without a session", app.post("/logout"), 200),
        ("GET API without a token", app.get("/api/v1/reports"), 401),
        ("GET API unknown route", app.get("/api/v1/nothing"), 404),
        (
            "POST API challenge not JSON",
            app.post("/api/v1/login/challenge").body("x"),
            400,
        ),
        (
            "POST /check typo",
            app.post("/check").form(&[("receipt", "ABCD")]),
            400,
        ),
        ("POST /check not a form", app.post("/check").body("{}"), 400),
        (
            "POST /check from another site",
            app.post("/check")
                .header("sec-fetch-site", "cross-site")
                .form(&[("receipt", code.as_str())]),
            403,
        ),
        ("GET /missing", app.get("/missing"), 404),
        ("GET /submit", app.get("/submit"), 405),
        ("DELETE /", client().delete(app.at("/")), 405),
        ("POST /submit empty", app.post("/submit"), 400),
    ];
    let mut failures = Vec::new();
    for (what, request, status) in cases {
        let page = app.send(request).await;
        if page.status != status {
            failures.push(format!(
                "{what}: status {} instead of {status}",
                page.status
            ));
        }
        failures.extend(problems(what, &page));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test]
async fn under_tls_every_answer_asks_for_https_only() {
    let app = TestApp::start_with(Options::tls());
    for path in ["/", "/missing"] {
        let page = app.send(app.get(path)).await;
        assert_eq!(
            page.header("strict-transport-security"),
            "max-age=63072000; includeSubDomains",
            "{path}"
        );
    }
}

#[tokio::test]
async fn with_an_onion_address_every_page_names_its_onion_location() {
    let onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion";
    let app = TestApp::start_with(Options {
        server: vec![format!("onion_address = \"{onion}\"")],
        ..Default::default()
    });
    for path in ["/", "/policy", "/missing"] {
        let page = app.send(app.get(path)).await;
        assert_eq!(
            page.header("onion-location"),
            format!("http://{onion}{path}")
        );
    }
    let plain = TestApp::start();
    assert!(
        !plain
            .send(plain.get("/"))
            .await
            .headers
            .contains_key("onion-location")
    );
}

#[tokio::test]
async fn pages_speak_for_the_programme() {
    let app = TestApp::start();
    let index = app.send(app.get("/")).await;
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
        assert!(index.body.contains(needle), "the form lacks {needle}");
    }
    let txt = app.send(app.get("/.well-known/security.txt")).await;
    assert_eq!(txt.header("content-type"), "text/plain; charset=utf-8");
    assert!(
        txt.body.contains("Contact: http://127.0.0.1:8080/\n"),
        "{}",
        txt.body
    );
    assert!(txt.body.contains("Policy: http://127.0.0.1:8080/policy\n"));
    assert!(txt.body.contains("Expires: "), "{}", txt.body);
}
