//! The policy is the operator's: `/policy` and the summary above the form come from
//! `[programme]`, a Markdown policy file is shown with nothing active left in it, and
//! a team that sets nothing still publishes a whole policy.

use crate::util::*;

/// A programme that sets every text of its policy.
fn programme() -> Options {
    Options::programme(&[
        "scope = \"Everything we ship.\"",
        "acknowledge_hours = 24",
        "assessment_days = 5",
        "update_days = 7",
        "embargo_days = 45",
        "out_of_scope = [\"Our blog, hosted by someone else.\"]",
        "not_vulnerabilities = [\"Self-XSS that needs the victim to paste code.\"]",
        "safe_harbour = \"We will not sue you: HarbourCanary.\"",
        "credit_policy = \"Credit as you like it: CreditCanary.\"",
        "reward = \"Up to 500 EUR by severity: RewardCanary.\"",
        "[[programme.assets]]",
        "name = \"example.com\"",
        "kind = \"web application\"",
        "versions = \"the live site only\"",
        "[[programme.assets]]",
        "name = \"Example <Android>\"",
    ])
}

#[tokio::test]
async fn the_policy_page_says_what_the_config_says() {
    let app = TestApp::start_with(programme());
    let page = app.send(app.get("/policy")).await;
    page.assert(200, "Test Programme: vulnerability disclosure policy");
    for needle in [
        "<p>Everything we ship.</p>",
        "<li><strong>example.com</strong> (web application): the live site only</li>",
        // Names are text, never markup.
        "<li><strong>Example &#60;Android&#62;</strong></li>",
        "<li>Our blog, hosted by someone else.</li>",
        "<li>Self-XSS that needs the victim to paste code.</li>",
        "HarbourCanary",
        "CreditCanary",
        "RewardCanary",
        "A confirmation within 24 hours",
        "A first assessment within 5 days",
        "An update at least every 7 days",
        "we propose 45 days after",
        "href=\"/age-recipients.txt\"",
    ] {
        assert!(
            page.body.contains(needle),
            "the policy lacks {needle}:\n{}",
            page.body
        );
    }
    // The defaults it replaced are gone.
    for default in [
        "72 hours",
        "Services we use but do not run",
        "does not pay rewards",
    ] {
        assert!(!page.body.contains(default), "{default}");
    }
}

#[tokio::test]
async fn the_summary_and_the_form_follow_the_config() {
    let app = TestApp::start_with(programme());
    let page = app.send(app.get("/")).await;
    page.assert(200, "In scope: example.com, Example &#60;Android&#62;.");
    for needle in [
        "confirm receipt within 24 hours",
        "first\nassessment within 5 days",
        "every\n7 days",
        "45 days after your report",
        "href=\"/policy#safe-harbour\"",
        "RewardCanary",
        // The asset picker: the list, then "something else" with its own box.
        "<select id=\"asset\" name=\"asset\" aria-describedby=\"asset-hint\">",
        "<option value=\"example.com\">example.com (web application)</option>",
        "<option value=\"Example &#60;Android&#62;\">Example &#60;Android&#62;</option>",
        "<option value=\"*\">Something else (name it below)</option>",
        "<label for=\"asset_other\">",
    ] {
        assert!(
            page.body.contains(needle),
            "the form lacks {needle}:\n{}",
            page.body
        );
    }
}

#[tokio::test]
async fn a_team_that_sets_nothing_publishes_a_whole_policy() {
    let app = TestApp::start();
    let page = app.send(app.get("/policy")).await;
    for needle in [
        "<p>Our own products and services.</p>",
        "id=\"out-of-scope\"",
        "Services we use but do not run",
        "id=\"not-vulnerabilities\"",
        "Output of automated scanners without a working proof of concept.",
        "id=\"safe-harbour\"",
        "we consider your research authorised",
        "id=\"credit\"",
        "id=\"rewards\"",
        "A confirmation within 72 hours",
        "A first assessment within 10 days",
        "An update at least every 14 days",
        "we propose 90 days after",
        "One finding per report",
    ] {
        assert!(
            page.body.contains(needle),
            "the policy lacks {needle}:\n{}",
            page.body
        );
    }
    assert!(
        !page.body.contains("policy-text"),
        "no policy file, no policy text"
    );
    // Without assets, the form asks for the product in words and has no list.
    let form = app.send(app.get("/")).await;
    form.assert(200, "In scope: our own products and services.");
    assert!(!form.body.contains("<select"), "{}", form.body);
}

#[tokio::test]
async fn without_a_safe_harbour_none_is_promised() {
    let app = TestApp::start_with(Options::programme(&[
        "safe_harbour = \"\"",
        "reward = \"\"",
    ]));
    for path in ["/", "/policy"] {
        let page = app.send(app.get(path)).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("safe-harbour"), "{path}: {}", page.body);
        assert!(!page.body.contains("legal action"), "{path}: {}", page.body);
        assert!(!page.body.contains("rewards"), "{path}: {}", page.body);
    }
}

/// A policy file with everything that must not reach a reporter's page, and the
/// ordinary Markdown that must.
const HOSTILE_POLICY: &str = "\
# Our policy

We *welcome* reports about [our site](https://example.com/security) and [this form](/).

## Rules

- Be kind
- Be quick

<script>alert('script')</script>

<iframe src=\"https://frame.example/\"></iframe>

Press <button onclick=\"alert('click')\">here</button> for nothing.

[a script link](javascript:alert('link')) and [a data link](data:text/html;base64,PHNjcmlwdD4=)

![tracking pixel](https://pixel.example/p.png)
";

#[tokio::test]
async fn a_policy_file_shows_its_markdown_and_nothing_active() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.md");
    std::fs::write(&file, HOSTILE_POLICY).unwrap();
    let app = TestApp::start_with(Options::programme(&[&format!("policy_file = {file:?}")]));
    let page = app.send(app.get("/policy")).await;
    assert_eq!(page.status, 200);
    let start = page
        .body
        .find("<div class=\"policy-text\"")
        .expect("no policy text");
    let end = start + page.body[start..].find("</div>").unwrap();
    let text = &page.body[start..end];
    // Nothing active anywhere on the page: no script, frame, handler, script or data
    // link, or image from elsewhere.
    for gone in [
        "<script",
        "alert(",
        "<iframe",
        "frame.example",
        "onclick",
        "<button",
        "javascript:",
        "data:text",
        "<img",
        "pixel.example",
    ] {
        assert!(!page.body.contains(gone), "{gone} survived:\n{text}");
    }
    for kept in [
        "<h2>Our policy</h2>",
        "<h3>Rules</h3>",
        "<em>welcome</em>",
        "<li>Be kind</li>",
        "<li>Be quick</li>",
        "<a href=\"https://example.com/security\" rel=\"noopener noreferrer\">our site</a>",
        "<a href=\"/\" rel=\"noopener noreferrer\">this form</a>",
        "for nothing.",
        "tracking pixel",
    ] {
        assert!(text.contains(kept), "{kept} is gone:\n{text}");
    }
    // The settings' sections still follow the operator's text.
    assert!(page.body[end..].contains("id=\"safe-harbour\""));
}

#[tokio::test]
async fn policy_file_errors_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.md");
    let config = dir.path().join("agedrop.toml");
    std::fs::write(&config, format!("[programme]\npolicy_file = {missing:?}\n")).unwrap();
    let e = agedrop::config::Config::load(Some(&config), &Default::default()).unwrap_err();
    assert_eq!(e.setting, "programme.policy_file");
    assert!(
        e.message
            .contains(&format!("cannot read {}", missing.display())),
        "{e}"
    );
    let binary = dir.path().join("binary.md");
    std::fs::write(&binary, [0xff, 0xfe, 0]).unwrap();
    std::fs::write(&config, format!("[programme]\npolicy_file = {binary:?}\n")).unwrap();
    let e = agedrop::config::Config::load(Some(&config), &Default::default()).unwrap_err();
    assert_eq!(e.setting, "programme.policy_file");
    assert!(e.message.contains("not UTF-8"), "{e}");
}
