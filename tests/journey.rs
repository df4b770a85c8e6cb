//! The full seed journey, once for each shape of programme that `shared/programmes.md`
//! describes: a report in scope with the reporter's CVSS estimate; acknowledged within
//! the window (not flagged) while a second report is left alone (flagged); a question
//! the reporter answers; accepted with a disclosure instant; the advisory drafted from
//! the report, commented on by the reporter and revised; the credit accepted; disclosed;
//! the OSV and CSAF exports valid; the acknowledgements listing exactly that credit.

use crate::advisory::{edited, exports, post_revision, revision_on};
use crate::util::*;

/// One programme: its name, promises and scope, as an operator would configure it.
struct Shape {
    name: &'static str,
    acknowledge_hours: i64,
    config: &'static [&'static str],
    asset: &'static str,
}

const VECTOR: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N";

async fn journey(shape: Shape) {
    let mut lines = vec![format!("name = {:?}", shape.name)];
    lines.extend(shape.config.iter().map(|l| l.to_string()));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let server = TestServer::start_with(Options::programme(&lines));

    // The reporter picks an asset from the scope list and gives a CVSS estimate.
    let fields = [
        ("title", "Account takeover via reset link".to_string()),
        ("asset", shape.asset.to_string()),
        ("versions", "3.2.0".into()),
        ("weakness", "CWE-640".into()),
        (
            "description",
            "The reset link stays valid after use.".into(),
        ),
        ("steps", "1. Request a reset. 2. Use the link twice.".into()),
        (
            "impact",
            "Anyone with an old link takes over the account.".into(),
        ),
        ("severity_vector", VECTOR.into()),
        ("credit_name", "Rosa Finder".into()),
        ("credit_handle", "@rosa".into()),
    ];
    let submitted = submit_form(&server, &fields, &[]).await;
    assert_eq!(submitted.status(), 200);
    let receipt = submitted.text().await.unwrap();
    assert!(receipt.contains("(CVSS v3.1 base score)"), "{receipt}");
    let code = receipt_code(&receipt);
    submit_simple(&server, "Left alone").await;

    // Acknowledged at once; past the window, only the other one is flagged.
    let desk = Desk::new(&server, &server.member.identity);
    let id = desk.id_of("Account takeover via reset link");
    desk.run(&["reply", &id, "-m", "Thank you: we are on it."]);
    let later =
        Desk::new(&server, &server.member.identity).later((shape.acknowledge_hours + 1) * 3600);
    let overdue = later.json(&["list", "--overdue"]);
    let titles: Vec<&str> = overdue
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Left alone"], "{}", shape.name);
    assert_eq!(overdue[0]["next"]["promise"], "acknowledge");

    // A question, answered on the reporter's page.
    desk.run(&[
        "status",
        &id,
        "needs-more-information",
        "-m",
        "Does it work on accounts with two-factor login?",
    ]);
    let (client, thread) = reporter_page(&server, &code).await;
    assert!(thread.contains("id=\"question\""), "{thread}");
    let (status, _) = post_thread(
        &server,
        &client,
        &thread,
        &[("message", "Yes: the second factor is not asked again.")],
    )
    .await;
    assert_eq!(status, 303);
    assert!(
        desk.run(&["show", &id])
            .contains("the second factor is not asked again")
    );

    // Accepted, with a disclosure instant both sides see.
    desk.run(&[
        "status",
        &id,
        "accepted",
        "--disclosure",
        "2031-05-04T12:00Z",
    ]);
    assert_eq!(
        desk.json(&["show", &id])["disclosure"],
        "2031-05-04T12:00:00Z"
    );

    // The advisory starts from the report: the asset, the weakness, the estimate.
    let draft = desk.run(&["advisory", &id, "--draft"]);
    for says in [
        format!("product = {:?}", shape.asset),
        "weakness = \"CWE-640\"".to_string(),
        format!("severity = \"{VECTOR}\""),
        "name = \"Rosa Finder (@rosa)\"".to_string(),
    ] {
        assert!(draft.contains(&says), "{says} in:\n{draft}");
    }
    let first = edited(
        &draft,
        &[
            ("fixed = \"\"", "fixed = \"3.2.1\""),
            ("fix = \"\"", "fix = \"Upgrade to 3.2.1.\""),
        ],
    );
    post_revision(&desk, &id, &first);
    let (client, thread) = reporter_page(&server, &code).await;
    let (status, _) = post_thread(
        &server,
        &client,
        &thread,
        &[
            ("revision", &revision_on(&thread)),
            ("advisory_comment", "Please mention the second factor."),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let second = edited(
        &first,
        &[(
            "workarounds = \"\"",
            "workarounds = \"Expire reset links after one use; ask the second factor again.\"",
        )],
    );
    post_revision(&desk, &id, &second);

    // The reporter accepts the credit of the current revision.
    let (client, thread) = reporter_page(&server, &code).await;
    assert!(thread.contains("Revision 2 of 2"), "{thread}");
    let (status, _) = post_thread(
        &server,
        &client,
        &thread,
        &[("revision", &revision_on(&thread)), ("credit", "accept")],
    )
    .await;
    assert_eq!(status, 303);

    // Disclosed: both exports validate and credit exactly what was accepted.
    desk.run(&["status", &id, "disclosed"]);
    let (osv, csaf) = exports(&desk, &id);
    let osv: serde_json::Value = serde_json::from_str(&osv).unwrap();
    assert_eq!(
        osv["credits"],
        serde_json::json!([{ "name": "Rosa Finder (@rosa)", "type": "FINDER" }]),
        "{}",
        shape.name
    );
    assert_eq!(osv["severity"][0]["score"], VECTOR);
    let csaf: serde_json::Value = serde_json::from_str(&csaf).unwrap();
    assert_eq!(csaf["document"]["tracking"]["status"], "final");
    let credits = desk.json(&["credits"]);
    assert_eq!(credits.as_array().unwrap().len(), 1, "{credits}");
    assert_eq!(credits[0]["credits"][0]["name"], "Rosa Finder (@rosa)");
    let (_, thread) = reporter_page(&server, &code).await;
    assert_eq!(
        thread[thread.find("id=\"status\">").unwrap() + 12..]
            .split('<')
            .next()
            .unwrap(),
        "disclosed"
    );
}

/// A note-taking app: three days to confirm, 60 days of embargo, apps and a sync service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_taking_app() {
    journey(Shape {
        name: "Notes Security",
        acknowledge_hours: 72,
        config: &[
            "embargo_days = 60",
            "[[programme.assets]]",
            "name = \"Notes desktop app\"",
            "kind = \"application\"",
            "[[programme.assets]]",
            "name = \"sync.notes.example\"",
            "kind = \"web service\"",
        ],
        asset: "sync.notes.example",
    })
    .await;
}

/// A platform that pays rewards: two days to confirm, a reward note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_that_pays_rewards() {
    journey(Shape {
        name: "Platform Bounty",
        acknowledge_hours: 48,
        config: &[
            "acknowledge_hours = 48",
            "reward = \"Rewards from 100 to 5000 euros, by severity and report quality.\"",
            "[[programme.assets]]",
            "name = \"app.platform.example\"",
            "kind = \"web application\"",
        ],
        asset: "app.platform.example",
    })
    .await;
}

/// An open-source deployment tool: its repository and builds in scope, hosted services
/// of others out of it, five days to confirm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_source_deployment_tool() {
    journey(Shape {
        name: "Deploy Tool",
        acknowledge_hours: 120,
        config: &[
            "acknowledge_hours = 120",
            "out_of_scope = [\"Third-party hosted services\"]",
            "[[programme.assets]]",
            "name = \"github.com/example/deploy\"",
            "kind = \"source repository\"",
            "[[programme.assets]]",
            "name = \"Release binaries\"",
            "versions = \"the latest two releases\"",
        ],
        asset: "github.com/example/deploy",
    })
    .await;
}
