//! Rate limits: what they count (only requests that passed the cheap checks), what they
//! never refuse (a receipt that opens a report), whose bucket a request draws from (a
//! report's own, a recipient's own), and how they tell a person when to come back.

use crate::util::*;

/// Asserts a refusal by a rate limit: the status, the page and Retry-After agree.
#[track_caller]
fn assert_rate_limited(page: &Page) {
    page.assert(429, "Please try again in about");
    let retry: u64 = page.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
    assert!(
        page.body.contains(&format!("about {retry} seconds")),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn receipt_codes_that_open_nothing_use_up_the_bucket() {
    let app = TestApp::start_with(Options::limits(&["receipt_attempts_per_minute = 3"]));
    for _ in 0..3 {
        assert_eq!(app.check(&unknown_code()).await.status, 404);
    }
    assert_rate_limited(&app.check(&unknown_code()).await);
}

#[tokio::test]
async fn junk_and_typos_take_no_receipt_token() {
    let app = TestApp::start_with(Options::limits(&["receipt_attempts_per_minute = 3"]));
    let code = app.submit_simple("Rate limited").await;
    for _ in 0..20 {
        assert_eq!(app.check("AAAA").await.status, 400);
        assert_eq!(
            app.check("0000-0000-0000-0000-0000-0000-0000").await.status,
            400
        );
    }
    for _ in 0..3 {
        assert_eq!(app.check(&unknown_code()).await.status, 404);
    }
    // The bucket is empty only now; and a code that opens a report is never refused.
    assert_rate_limited(&app.check(&unknown_code()).await);
    assert_eq!(app.check(&code).await.status, 303);
}

#[tokio::test]
async fn one_reports_follow_ups_never_hold_up_anothers() {
    let app = TestApp::start_with(Options::limits(&["follow_ups_per_minute = 2"]));
    let first = app.login(&app.submit_simple("First report").await).await;
    let second = app.login(&app.submit_simple("Second report").await).await;
    for _ in 0..2 {
        let sent = app.follow_up(&first.cookie, &first.csrf(), "more").await;
        assert_eq!(sent.status, 303, "{}", sent.body);
    }
    assert_rate_limited(&app.follow_up(&first.cookie, &first.csrf(), "more").await);
    // Another report's reporter, and new reports, are not held up.
    let sent = app.follow_up(&second.cookie, &second.csrf(), "mine").await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    app.submit_simple("Third report").await;
}

#[tokio::test]
async fn new_reports_are_rate_limited_but_junk_forms_take_no_token() {
    let app = TestApp::start_with(Options::limits(&["submissions_per_minute = 2"]));
    for junk in [
        app.post("/submit").body("title=x"),
        app.post("/submit")
            .multipart(form(&[("description", "no title".into())], &[])),
        app.post("/submit")
            .multipart(form(&[("nonsense", "d".into())], &[])),
    ] {
        assert_eq!(app.send(junk).await.status, 400);
    }
    app.submit_simple("One").await;
    app.submit_simple("Two").await;
    let refused = app
        .submit(
            &[("title", "Three".into()), ("description", "d".into())],
            &[],
        )
        .await;
    assert_rate_limited(&refused);
    assert!(!refused.body.contains("receipt-code"));
    assert_eq!(app.state().store().reports().unwrap().len(), 2);
}

/// Asks for a login challenge for `recipient`; the status.
async fn challenge(app: &TestApp, recipient: &str) -> u16 {
    let request = agedrop::api::ChallengeRequest {
        recipient: recipient.to_string(),
    };
    let page = app
        .send(app.post("/api/v1/login/challenge").json(&request))
        .await;
    page.status
}

#[tokio::test]
async fn a_strangers_login_attempts_never_use_up_a_members() {
    let app = TestApp::start_with(Options::limits(&["team_logins_per_minute = 3"]));
    let stranger = age::x25519::Identity::generate().to_public().to_string();
    // Member or not, each recipient has a bucket of its own, so what a prober sees does
    // not depend on who is a member.
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for _ in 0..4 {
            out.push(challenge(&app, &stranger).await);
        }
        out
    };
    assert_eq!(statuses[..3], [200, 200, 200]);
    assert_eq!(statuses[3], 429);
    assert_eq!(challenge(&app, &app.member.recipient).await, 200);
    // Junk is refused as junk and takes no token.
    for body in [
        "not json",
        "{\"recipient\":\"age1notarecipient\"}",
        "{\"who\":1}",
    ] {
        let page = app
            .send(
                app.post("/api/v1/login/challenge")
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        assert_eq!(page.status, 400, "{body}: {}", page.body);
    }
}
