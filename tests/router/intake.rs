//! Better reports at intake: the asset picked from the scope list (or something else),
//! the weakness, the reporter's CVSS estimate scored on the receipt, how it was found
//! and whether AI helped travel inside the sealed report and come back on the
//! reporter's page. (The refusals are in `bad_input`.)

use crate::util::*;

fn one_asset() -> Options {
    Options::programme(&[
        "[[programme.assets]]",
        "name = \"example.com\"",
        "kind = \"web\"",
    ])
}

#[tokio::test]
async fn the_new_fields_are_sealed_and_come_back() {
    let app = TestApp::start_with(one_asset());
    let fields = vec![
        ("title", "Stored XSS".to_string()),
        ("description", "The name is not escaped.".into()),
        ("asset", "example.com".into()),
        ("weakness", "cwe-79: cross-site scripting".into()),
        (
            "severity_vector",
            " cvss:3.1/av:n/ac:l/pr:n/ui:r/s:c/c:l/i:l/a:n ".into(),
        ),
        ("how_found", "Reading the template code.".into()),
        ("ai_used", "yes".into()),
        (
            "ai_how",
            "An assistant summarised the diff; I wrote the PoC.".into(),
        ),
    ];
    let receipt = app.submit(&fields, &[]).await;
    // The receipt shows the vector as checked, and its score.
    receipt.assert(
        200,
        "<code>CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N</code>",
    );
    receipt.assert(200, "<strong>6.1 medium (CVSS v3.1 base score)</strong>");

    // The reporter's page opens the sealed report and shows every field.
    let session = app.login(&receipt_code(&receipt.body)).await;
    for (label, value) in [
        ("Affected asset", "example.com"),
        ("Weakness", "CWE-79: cross-site scripting"),
        (
            "Severity estimate (CVSS)",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
        ),
        (
            "Severity estimate (score)",
            "6.1 medium (CVSS v3.1 base score)",
        ),
        ("How it was found", "Reading the template code."),
        ("AI tools used", "yes"),
        (
            "How AI tools were used",
            "An assistant summarised the diff; I wrote the PoC.",
        ),
        (
            "Confirmed",
            "one finding; tested within the programme&#39;s rules",
        ),
    ] {
        let shown = format!("<dt>{label}</dt><dd class=\"text\">{value}</dd>");
        assert!(session.page.contains(&shown), "{shown}:\n{}", session.page);
    }
}

#[tokio::test]
async fn something_else_is_kept_in_the_reporters_words() {
    let app = TestApp::start_with(one_asset());
    let fields = vec![
        ("title", "Open redirect".to_string()),
        ("description", "d".into()),
        ("asset", "*".into()),
        ("asset_other", "status.example.com".into()),
        ("ai_used", "no".into()),
        (
            "severity_vector",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".into(),
        ),
    ];
    let receipt = app.submit(&fields, &[]).await;
    receipt.assert(200, "<strong>9.3 critical (CVSS v4.0, CVSS-B)</strong>");
    let session = app.login(&receipt_code(&receipt.body)).await;
    let page = &session.page;
    assert!(
        page.contains(
            "<dt>Affected asset (not in the scope list)</dt><dd class=\"text\">status.example.com</dd>"
        ),
        "{page}"
    );
    assert!(!page.contains("<dt>Affected asset</dt>"), "{page}");
    assert!(
        page.contains("<dt>AI tools used</dt><dd class=\"text\">no</dd>"),
        "{page}"
    );
}

#[tokio::test]
async fn a_report_without_the_new_fields_shows_none_of_them() {
    let app = TestApp::start_with(one_asset());
    let receipt = app
        .submit(
            &[("title", "Bare".into()), ("description", "d".into())],
            &[],
        )
        .await;
    assert_eq!(receipt.status, 200, "{}", receipt.body);
    assert!(
        !receipt.body.contains("severity estimate"),
        "{}",
        receipt.body
    );
    let session = app.login(&receipt_code(&receipt.body)).await;
    for label in [
        "Affected asset",
        "Weakness",
        "Severity",
        "AI tools",
        "How it was found",
    ] {
        assert!(!session.page.contains(&format!("<dt>{label}")), "{label}");
    }
}
