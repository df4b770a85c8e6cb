//! Reporter sessions: started only by a valid receipt code, carried by one cookie that
//! scripts and other sites cannot use, needed together with the page's form token, and
//! ended by logout, idleness or age.

use std::time::Duration;

use crate::util::*;

/// What the thread page says once a session is over.
const ENDED: &str = "Your session has ended";

#[tokio::test]
async fn a_valid_receipt_sets_a_session_cookie_scripts_and_other_sites_cannot_use() {
    let app = TestApp::start();
    let code = app.submit_simple("Session report").await;
    let session = app.login(&code).await;
    let cookie = &session.set_cookie;
    assert!(cookie.starts_with("agedrop_session="), "{cookie}");
    for attribute in ["; HttpOnly", "; SameSite=Strict", "; Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // Plain HTTP on loopback: a Secure cookie would never come back.
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "a session cookie, gone with the browser: {cookie}"
    );
    assert!(session.page.contains("Session report"));
}

#[tokio::test]
async fn under_tls_the_cookie_is_secure_and_host_only() {
    let app = TestApp::start_with(Options::tls());
    let code = app.submit_simple("Over TLS").await;
    let cookie = app.login(&code).await.set_cookie;
    // The __Host- prefix: the browser insists on Secure, Path=/ and no Domain.
    assert!(cookie.starts_with("__Host-agedrop="), "{cookie}");
    for attribute in ["; HttpOnly", "; SameSite=Strict", "; Path=/", "; Secure"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn a_follow_up_without_the_sessions_token_is_refused_and_stores_nothing() {
    let app = TestApp::start();
    let code = app.submit_simple("Token report").await;
    let session = app.login(&code).await;
    let entries = |page: &str| page.matches("class=\"entry").count();
    let before = entries(&session.page);
    let another = app.login(&code).await.csrf();
    for token in ["", "00", "not hex", &"ab".repeat(32), &another] {
        app.follow_up(&session.cookie, token, "forged")
            .await
            .assert(403, "This form has expired");
    }
    let without = app
        .send(
            app.post("/thread")
                .header("cookie", &session.cookie)
                .multipart(reqwest::multipart::Form::new().text("message", "forged")),
        )
        .await;
    without.assert(403, "This form has expired");
    let page = app.thread(&session.cookie).await.body;
    assert_eq!(entries(&page), before);
    assert!(!page.contains("forged"));
    // With the token it goes through.
    let sent = app
        .follow_up(&session.cookie, &session.csrf(), "genuine")
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.header("location"), "/thread?sent=1");
    let page = app.thread(&session.cookie).await.body;
    assert_eq!(entries(&page), before + 1);
    assert!(page.contains("genuine"));
}

#[tokio::test]
async fn a_logout_without_the_token_is_refused() {
    let app = TestApp::start();
    let code = app.submit_simple("Logout report").await;
    let session = app.login(&code).await;
    let refused = app
        .send(
            app.post("/logout")
                .header("cookie", &session.cookie)
                .form(&[("csrf", "00")]),
        )
        .await;
    refused.assert(403, "This form has expired");
    assert!(!refused.headers.contains_key("set-cookie"));
    assert_eq!(app.thread(&session.cookie).await.status, 200);
}

#[tokio::test]
async fn logging_out_ends_the_session_also_for_a_replayed_cookie() {
    let app = TestApp::start();
    let code = app.submit_simple("Logout report").await;
    let session = app.login(&code).await;
    let other = app.login(&code).await;
    let out = app
        .send(
            app.post("/logout")
                .header("cookie", &session.cookie)
                .form(&[("csrf", session.csrf().as_str())]),
        )
        .await;
    out.assert(200, "the server has forgotten your key");
    let cleared = out.header("set-cookie");
    assert!(cleared.starts_with("agedrop_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // Whoever kept a copy of the cookie gets nothing.
    let replay = app.thread(&session.cookie).await;
    replay.assert(401, ENDED);
    assert!(!replay.body.contains("Logout report"));
    // Another session of the same report is its own: still open.
    assert_eq!(app.thread(&other.cookie).await.status, 200);
}

#[tokio::test]
async fn a_made_up_cookie_opens_nothing() {
    let app = TestApp::start();
    app.submit_simple("Guarded").await;
    for cookie in [
        format!("agedrop_session={}", "00".repeat(32)),
        "agedrop_session=zz".into(),
        "agedrop_session=".into(),
        "other=1".into(),
    ] {
        let page = app.thread(&cookie).await;
        page.assert(401, ENDED);
        assert!(!page.body.contains("Guarded"), "{cookie}");
    }
}

#[tokio::test]
async fn a_session_left_idle_ends() {
    let app = TestApp::start_with(Options::limits(&[
        "session_idle_seconds = 1",
        "session_max_seconds = 60",
    ]));
    let code = app.submit_simple("Idle report").await;
    let session = app.login(&code).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.thread(&session.cookie).await.assert(401, ENDED);
}

#[tokio::test]
async fn a_busy_session_still_ends_at_its_maximum_age() {
    let app = TestApp::start_with(Options::limits(&[
        "session_idle_seconds = 1",
        "session_max_seconds = 2",
    ]));
    let code = app.submit_simple("Busy report").await;
    let session = app.login(&code).await;
    let started = std::time::Instant::now();
    // Used every 400 ms, it is never idle for a second; it ends at 2 s all the same.
    while started.elapsed() < Duration::from_millis(1600) {
        assert_eq!(app.thread(&session.cookie).await.status, 200);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    tokio::time::sleep(Duration::from_millis(2100).saturating_sub(started.elapsed())).await;
    app.thread(&session.cookie).await.assert(401, ENDED);
}
