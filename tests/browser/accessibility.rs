//! Every page a reporter can see, audited by axe-core (from the npm registry, pinned in
//! tests/validators) in headless Chromium against the WCAG 2.0, 2.1 and 2.2 A and AA
//! rules: the form, the policy, the check page (also with its error), the receipt, the
//! thread (with a team reply, a status and an advisory to review), and the error pages
//! (not found, a session that ended). Zero violations. The pages carry no script; the
//! audit's browser has script on only so that WebDriver can run axe in them.

use fantoccini::{Client, Locator};

use super::{Driver, browser_with_script, click, start_driver, type_into, wait_text};
use crate::advisory::{edited, post_revision, report_with_credit};
use crate::util::*;

/// axe-core's script, or `None` (with a message) where the validators are not
/// installed and this is not CI.
fn axe_source() -> Option<String> {
    let dir = validators_dir()?;
    Some(std::fs::read_to_string(dir.join("node_modules/axe-core/axe.min.js")).unwrap())
}

/// The WCAG violations axe finds on the page the browser shows, one line each.
async fn violations(b: &Client, axe: &str) -> Vec<String> {
    b.execute(axe, vec![]).await.expect("inject axe-core");
    let found = b
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            axe.run(document, {
                runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'] },
                resultTypes: ['violations'],
            }).then(
                r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at '
                    + v.nodes.map(n => n.target.join(' ')).join(', '))),
                e => done(['axe-core failed: ' + e]));"#,
            vec![],
        )
        .await
        .expect("run axe-core");
    serde_json::from_value(found).expect("a list of violations")
}

/// Audits the page the browser shows and records what is wrong under `name`.
async fn audit(b: &Client, axe: &str, name: &str, failures: &mut Vec<String>, audited: &mut usize) {
    let found = violations(b, axe).await;
    *audited += 1;
    failures.extend(found.into_iter().map(|v| format!("{name}: {v}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reporter_page_passes_the_wcag_a_and_aa_audit() {
    let Some(driver): Option<Driver> = start_driver() else {
        return;
    };
    let Some(axe) = axe_source() else {
        return;
    };
    let server = TestServer::start_with(Options::programme(&[
        "[[programme.assets]]",
        "name = \"Example Web\"",
        "kind = \"web application\"",
    ]));
    // A thread with everything the reporter's page can show: the team's reply, a status
    // with its reason, and an advisory draft with its credit to accept or decline.
    let title = "Stored XSS in search";
    let code = report_with_credit(&server, title, ["Jane Doe", "@jane", ""]).await;
    let desk = Desk::new(&server, &server.member.identity);
    let id = desk.id_of(title);
    desk.run(&["reply", &id, "-m", "Thank you, we can reproduce it."]);
    desk.run(&["status", &id, "valid"]);
    let draft = desk.run(&["advisory", &id, "--draft"]);
    post_revision(
        &desk,
        &id,
        &edited(&draft, &[("fixed = \"\"", "fixed = \"2.4.2\"")]),
    );

    let b = browser_with_script(&driver).await;
    // The audit can fail: a page without a language, a title or an image's text does.
    b.goto("data:text/html,<img src=x.png>").await.unwrap();
    let found = violations(&b, &axe).await;
    for rule in ["html-has-lang", "document-title", "image-alt"] {
        assert!(
            found.iter().any(|v| v.starts_with(rule)),
            "{rule}: {found:?}"
        );
    }

    let (mut failures, mut audited) = (Vec::new(), 0);
    for (name, path) in [
        ("the form", "/"),
        ("the policy", "/policy"),
        ("the check page", "/check"),
        ("not found", "/no-such-page"),
        ("a session that ended", "/thread"),
    ] {
        b.goto(&server.at(path)).await.unwrap();
        audit(&b, &axe, name, &mut failures, &mut audited).await;
    }

    // A mistyped code: the check page with its error.
    type_into(&b, "receipt", &unknown_code()).await;
    click(&b, "button[type=submit]").await;
    wait_text(&b, Locator::Css("[role=alert], .error")).await;
    audit(
        &b,
        &axe,
        "the check page with an error",
        &mut failures,
        &mut audited,
    )
    .await;

    // The thread, opened with the receipt code.
    b.goto(&server.at("/check")).await.unwrap();
    type_into(&b, "receipt", &code).await;
    click(&b, "button[type=submit]").await;
    wait_text(&b, Locator::Id("timeline")).await;
    let page = b.source().await.unwrap();
    for shown in ["we can reproduce it", "name=\"revision\"", "Jane Doe"] {
        assert!(page.contains(shown), "{shown} not on the thread page");
    }
    audit(&b, &axe, "the thread", &mut failures, &mut audited).await;

    // A new report, submitted in the browser: the receipt page.
    b.goto(&server.at("/")).await.unwrap();
    type_into(&b, "title", "Open redirect").await;
    type_into(&b, "description", "The next parameter is not checked.").await;
    click(&b, "#confirm_one_finding").await;
    click(&b, "#confirm_within_rules").await;
    click(&b, "form[action='/submit'] button[type=submit]").await;
    wait_text(&b, Locator::Id("receipt-code")).await;
    audit(&b, &axe, "the receipt", &mut failures, &mut audited).await;

    b.close().await.unwrap();
    eprintln!(
        "accessibility: {audited} pages audited, {} violations",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "WCAG violations:\n{}",
        failures.join("\n")
    );
}
