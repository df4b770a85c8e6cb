//! Login CSRF: a hostile page posting its own receipt code into the victim's browser
//! (so that the victim later writes into the attacker's report) is refused; our own
//! pages, a code typed by hand, and clients that are not browsers get through.

use crate::util::*;

/// The answer to the receipt form posted with these headers.
async fn post_check(app: &TestApp, code: &str, headers: &[(&str, &str)]) -> Page {
    let mut request = app.post("/check").form(&[("receipt", code)]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request).await
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused() {
    let app = TestApp::start();
    let code = app.submit_simple("Cross-site check").await;
    // `Origin: null` (a sandboxed frame on any site) proves nothing without Fetch
    // Metadata.
    let mut failures = Vec::new();
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "http://127.0.0.1:8080.evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site"), ("origin", "null")],
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://127.0.0.1:8080"),
        ],
    ] {
        let page = post_check(&app, &code, &headers).await;
        let refused = page.status == 403
            && page.body.contains("This form has expired")
            && !page.headers.contains_key("set-cookie");
        if !refused {
            failures.push(format!("{headers:?}: {} {}", page.status, page.body));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test]
async fn our_own_forms_and_non_browser_clients_get_through() {
    let app = TestApp::start();
    let code = app.submit_simple("Same-site check").await;
    // A browser says same-origin (with `Origin: null`, as no-referrer pages send it), or
    // `none` for a code typed into the address bar; an older browser names this host;
    // curl sends neither.
    let mut failures = Vec::new();
    for headers in [
        vec![("sec-fetch-site", "same-origin")],
        vec![("sec-fetch-site", "same-origin"), ("origin", "null")],
        vec![("sec-fetch-site", "none")],
        vec![("origin", "http://127.0.0.1:8080")],
        vec![],
    ] {
        let page = post_check(&app, &code, &headers).await;
        if page.status != 303 || !page.headers.contains_key("set-cookie") {
            failures.push(format!("{headers:?}: {} {}", page.status, page.body));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test]
async fn a_new_report_from_another_site_is_refused_and_stores_nothing() {
    let app = TestApp::start();
    let page = app
        .send(
            app.post("/submit")
                .header("sec-fetch-site", "cross-site")
                .multipart(form(
                    &[("title", "t".into()), ("description", "d".into())],
                    &[],
                )),
        )
        .await;
    page.assert(403, "This form has expired");
    assert!(!page.body.contains("receipt-code"));
    assert_eq!(app.state().store().reports().unwrap().len(), 0);
}

#[tokio::test]
async fn a_logout_from_another_site_is_refused_and_the_session_stays() {
    let app = TestApp::start();
    let code = app.submit_simple("Logout check").await;
    let session = app.login(&code).await;
    let page = app
        .send(
            app.post("/logout")
                .header("cookie", &session.cookie)
                .header("sec-fetch-site", "cross-site")
                .form(&[("csrf", session.csrf().as_str())]),
        )
        .await;
    page.assert(403, "This form has expired");
    assert_eq!(app.thread(&session.cookie).await.status, 200);
}

#[tokio::test]
async fn the_team_api_is_not_a_browser_target_and_is_left_alone() {
    let app = TestApp::start();
    let page = app
        .send(
            app.post("/api/v1/login/challenge")
                .header("sec-fetch-site", "cross-site")
                .json(&agedrop::api::ChallengeRequest {
                    recipient: app.member.recipient.clone(),
                }),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("\"challenge_id\""), "{}", page.body);
}
