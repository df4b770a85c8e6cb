//! Receipt codes: a valid one opens its thread, however sloppily typed; a typo, junk
//! and a code that opens nothing each get their own calm answer, and open nothing.

use crate::util::*;

/// Changes one character of a code to another of the alphabet.
fn typo(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    chars[5] = if chars[5] == 'X' { 'Y' } else { 'X' };
    chars.into_iter().collect()
}

#[tokio::test]
async fn a_receipt_is_seven_groups_of_four_and_opens_its_thread() {
    let app = TestApp::start();
    let code = app.submit_simple("Round trip report").await;
    assert_eq!(code.len(), 34, "{code}");
    assert!(code.split('-').all(|group| group.len() == 4), "{code}");
    assert_eq!(code.split('-').count(), 7, "{code}");
    let session = app.login(&code).await;
    assert!(session.page.contains("Round trip report"));
    assert!(
        session.page.contains("id=\"status\">received<"),
        "{}",
        session.page
    );
}

#[tokio::test]
async fn a_code_typed_sloppily_still_opens_its_thread() {
    let app = TestApp::start();
    let code = app.submit_simple("Sloppy report").await;
    for sloppy in [
        format!("  {} ", code.to_lowercase().replace('-', " ")),
        code.replace('-', ""),
        // I and L read as 1, O as 0: swap every 1 and 0 back for a look-alike.
        code.replace('1', "l").replace('0', "O"),
    ] {
        let session = app.login(&sloppy).await;
        assert!(session.page.contains("Sloppy report"), "{sloppy}");
    }
}

#[tokio::test]
async fn a_typo_is_called_a_typo_and_opens_nothing() {
    let app = TestApp::start();
    let code = app.submit_simple("Typo report").await;
    for wrong in [typo(&code), "0000-0000-0000-0000-0000-0000-0000".into()] {
        let page = app.check(&wrong).await;
        page.assert(400, "This code has a typo");
        assert!(!page.body.contains("Typo report"));
        assert!(!page.headers.contains_key("set-cookie"));
    }
}

#[tokio::test]
async fn a_code_that_opens_nothing_says_so_and_is_not_a_typo() {
    let app = TestApp::start();
    app.submit_simple("Someone else's").await;
    let page = app.check(&unknown_code()).await;
    page.assert(404, "No report matches this code");
    assert!(!page.body.contains("typo"));
    assert!(!page.body.contains("Someone else"));
    assert!(!page.headers.contains_key("set-cookie"));
}

#[tokio::test]
async fn junk_is_not_a_receipt_code() {
    let app = TestApp::start();
    for junk in ["hello", "", "AAAA", &"7".repeat(200)] {
        let page = app.check(junk).await;
        page.assert(400, "That is not a receipt code");
    }
    let not_a_form = app.send(app.post("/check").body("{}")).await;
    not_a_form.assert(400, "The receipt form did not arrive as expected.");
}
