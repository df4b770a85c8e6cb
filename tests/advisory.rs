//! The advisory reviewed with the reporter, and the credit they agree to: the team drafts
//! it from the report in `$EDITOR`, the reporter reviews it on their page, comments and
//! answers the credit; the team revises and discloses; the OSV and CSAF exports validate
//! (the BSI's CSAF validator, the OSV schema) and carry only the credit the reporter
//! accepted; `team credits` lists exactly that. A credit declined, or worded otherwise,
//! in `advisory/declined.rs`; a compromised server's revisions and answers in
//! `advisory/forgeries.rs`; what the page and the desk refuse in `advisory/refusals.rs`.

use std::os::unix::fs::PermissionsExt;

use crate::util::*;

mod declined;
mod forgeries;
mod refusals;

/// A report with the reporter's credit choice; its receipt code.
pub(crate) async fn report_with_credit(
    server: &TestServer,
    title: &str,
    credit: [&str; 3],
) -> String {
    let fields = [
        ("title", title.to_string()),
        ("product", "Widget".into()),
        ("versions", "2.4.1".into()),
        (
            "description",
            "The search box echoes <script>alert(1)</script> back.".into(),
        ),
        ("impact", "Script runs in other users' sessions.".into()),
        ("credit_name", credit[0].into()),
        ("credit_handle", credit[1].into()),
        ("credit_link", credit[2].into()),
    ];
    let page = submit_form(server, &fields, &[]).await;
    assert_eq!(page.status(), 200);
    receipt_code(&page.text().await.unwrap())
}

/// The revision the page's forms answer (their hidden `revision` field).
pub(crate) fn revision_on(page: &str) -> String {
    let marker = "name=\"revision\" value=\"";
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no draft to review in {page}"))
        + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

/// `text` with each `(from, to)` replaced, each present once.
pub(crate) fn edited(text: &str, changes: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (from, to) in changes {
        assert_eq!(out.matches(from).count(), 1, "{from:?} in:\n{out}");
        out = out.replace(from, to);
    }
    out
}

/// Posts a revision with `advisory ID --file - --json`; what it printed.
pub(crate) fn post_revision(desk: &Desk, id: &str, text: &str) -> serde_json::Value {
    let out = run_with_input(
        desk.command()
            .args(["advisory", id, "--file", "-", "--json"]),
        text.as_bytes(),
    );
    let out = succeeded(out, &["advisory --file -"]);
    serde_json::from_str(&out).unwrap()
}

/// The OSV record and the CSAF document of a report's advisory, each validated (and the
/// OSV record's id and times checked here in any case).
pub(crate) fn exports(desk: &Desk, id: &str) -> (String, String) {
    let osv = desk.run(&["advisory", id, "--osv"]);
    check_osv_basics(&serde_json::from_str(&osv).unwrap());
    validate(Format::Osv, &osv);
    let csaf = desk.run(&["advisory", id, "--csaf"]);
    validate(Format::Csaf, &csaf);
    (osv, csaf)
}

const CWE_79: &str =
    "CWE-79: Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')";
const VECTOR: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_advisory_is_reviewed_with_the_reporter_and_only_the_accepted_credit_is_exported() {
    let server = TestServer::start();
    let title = "Stored XSS in search";
    let credit = ["Jane Doe", "@jane", "https://jane.example/"];
    let code = report_with_credit(&server, title, credit).await;
    let desk = Desk::new(&server, &server.member.identity);
    let id = desk.id_of(title);
    desk.fails(&["advisory", &id, "--osv"], "has no advisory");

    // Drafted from the report: its words, and the credit the reporter asked for.
    let draft = desk.run(&["advisory", &id, "--draft"]);
    for says in [
        "title = \"Stored XSS in search\"",
        "product = \"Widget\"",
        "versions = [\"2.4.1\"]",
        "name = \"Jane Doe (@jane)\"",
        "contact = [\"https://jane.example/\"]",
        "reporter = true",
        "type = \"FINDER\"",
    ] {
        assert!(draft.contains(says), "{says} in:\n{draft}");
    }

    // The team edits it in $EDITOR (a script that keeps what it was shown and writes the
    // team's version).
    let dir = server.dir.path();
    let first = edited(
        &draft,
        &[
            ("weakness = \"\"", &format!("weakness = {CWE_79:?}")),
            ("severity = \"\"", &format!("severity = \"{VECTOR}\"")),
            ("introduced = \"\"", "introduced = \"2.0.0\""),
            ("fixed = \"\"", "fixed = \"2.4.2\""),
            ("fix = \"\"", "fix = \"Upgrade to 2.4.2.\""),
        ],
    );
    std::fs::write(dir.join("team.toml"), &first).unwrap();
    let editor = dir.join("editor.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\ncp \"$1\" {shown}\ncp {team} \"$1\"\n",
            shown = dir.join("shown.toml").display(),
            team = dir.join("team.toml").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = desk
        .command()
        .env("EDITOR", &editor)
        .args(["advisory", &id])
        .output()
        .unwrap();
    let said = succeeded(out, &["advisory in $EDITOR"]);
    assert!(said.contains("Advisory revision posted"), "{said}");
    assert_eq!(
        std::fs::read_to_string(dir.join("shown.toml")).unwrap(),
        draft
    );

    // The reporter sees the draft to review, escaped, with their credit to answer.
    let (client, thread) = reporter_page(&server, &code).await;
    for says in [
        "Advisory draft to review",
        "Revision 1 of 1",
        "Improper Neutralization of Input During Web Page Generation (&#39;Cross-site Scripting&#39;)",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N (6.1, medium)",
        "Widget: versions 2.4.1; introduced in 2.0.0; fixed in 2.4.2",
        "echoes &#60;script&#62;alert(1)&#60;/script&#62; back",
        "Jane Doe (@jane) (https://jane.example/), finder <strong>(your credit)</strong>",
        "id=\"credit-accept\"",
    ] {
        assert!(thread.contains(says), "{says} in:\n{thread}");
    }
    assert!(!thread.contains("<script>alert"), "{thread}");
    let first_revision = revision_on(&thread);

    // The reporter comments; the desk shows it.
    let (status, _) = post_thread(
        &server,
        &client,
        &thread,
        &[
            ("revision", &first_revision),
            (
                "advisory_comment",
                "Please say it is the search box on /find.",
            ),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let shown = desk.run(&["show", &id]);
    assert!(
        shown.contains("The reporter comments on advisory revision 1")
            && shown.contains("Please say it is the search box on /find."),
        "{shown}"
    );
    assert!(
        shown.contains("Advisory: revision 1 of 1 is current"),
        "{shown}"
    );

    // The team revises; the same words again are refused.
    let second = edited(
        &first,
        &[(
            "workarounds = \"\"",
            "workarounds = \"Turn off the search box on /find.\"",
        )],
    );
    let posted = post_revision(&desk, &id, &second);
    assert_eq!(
        posted["advisory"]["workarounds"],
        "Turn off the search box on /find."
    );
    let again = dir.join("again.toml");
    std::fs::write(&again, &second).unwrap();
    desk.fails(
        &["advisory", &id, "--file", again.to_str().unwrap()],
        "the same as the current revision",
    );

    // Not yet accepted: the reporter's name is in no export.
    let (osv, csaf) = exports(&desk, &id);
    assert!(
        !osv.contains("Jane") && !csaf.contains("Jane"),
        "{osv}\n{csaf}"
    );

    // The reporter accepts the credit of revision 2.
    let (client, thread) = reporter_page(&server, &code).await;
    assert!(thread.contains("Revision 2 of 2"), "{thread}");
    assert!(thread.contains("Turn off the search box on /find."));
    let (status, _) = post_thread(
        &server,
        &client,
        &thread,
        &[("revision", &revision_on(&thread)), ("credit", "accept")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, thread) = reporter_page(&server, &code).await;
    assert!(thread.contains("You accepted the credit below"), "{thread}");
    let json = desk.json(&["show", &id]);
    assert_eq!(json["advisory"]["credit"], "accepted", "{json}");
    assert_eq!(json["advisory"]["revision"], 2);

    // Disclosed: the exports validate, final, with exactly the accepted credit.
    desk.run(&["status", &id, "disclosed"]);
    let (osv, csaf) = exports(&desk, &id);
    let osv: serde_json::Value = serde_json::from_str(&osv).unwrap();
    assert!(
        osv["id"]
            .as_str()
            .unwrap()
            .starts_with("x_TEST-PROGRAMME-20"),
        "{osv}"
    );
    assert_eq!(
        osv["credits"],
        serde_json::json!([{ "name": "Jane Doe (@jane)", "contact": ["https://jane.example/"], "type": "FINDER" }])
    );
    assert_eq!(osv["severity"][0]["type"], "CVSS_V3");
    assert_eq!(osv["affected"][0]["ranges"][0]["type"], "SEMVER");
    assert_eq!(osv["database_specific"]["cwe_ids"][0], "CWE-79");
    assert!(osv["published"].is_string(), "{osv}");
    let csaf: serde_json::Value = serde_json::from_str(&csaf).unwrap();
    let tracking = &csaf["document"]["tracking"];
    assert_eq!(tracking["status"], "final");
    assert_eq!(tracking["version"], "2");
    assert_eq!(tracking["revision_history"].as_array().unwrap().len(), 2);
    assert_eq!(
        format!("x_{}", tracking["id"].as_str().unwrap()),
        osv["id"].as_str().unwrap()
    );
    let vulnerability = &csaf["vulnerabilities"][0];
    assert_eq!(vulnerability["cwe"]["id"], "CWE-79");
    assert_eq!(vulnerability["scores"][0]["cvss_v3"]["baseScore"], 6.1);
    assert_eq!(
        vulnerability["acknowledgments"],
        serde_json::json!([{ "names": ["Jane Doe (@jane)"], "urls": ["https://jane.example/"], "summary": "finder" }])
    );

    // The acknowledgements list exactly that credit.
    let credits = desk.json(&["credits"]);
    assert_eq!(credits.as_array().unwrap().len(), 1, "{credits}");
    assert_eq!(credits[0]["credits"][0]["name"], "Jane Doe (@jane)");
    let markdown = desk.run(&["credits"]);
    assert!(
        markdown.contains("- Jane Doe \\(\\@jane\\) — <https://jane.example/> (finder): x\\_TEST"),
        "{markdown}"
    );

    // A bundle exported from the server gives the same advisory id.
    let bundle = export(&server, "advisory");
    let from_bundle = desk.run(&[
        "--bundle",
        bundle.to_str().unwrap(),
        "advisory",
        &id,
        "--osv",
    ]);
    let from_bundle: serde_json::Value = serde_json::from_str(&from_bundle).unwrap();
    assert_eq!(from_bundle["id"], osv["id"]);
}

#[test]
fn timestamps_are_checked_as_osv_wants_them() {
    assert!(is_utc_timestamp("2026-11-25T16:32:13Z"));
    assert!(is_utc_timestamp("2026-11-25T16:32:13.25Z"));
    for bad in [
        "2026-11-25T16:32:13+00:00",
        "2026-11-25 16:32:13Z",
        "2026-13-25T16:32:13Z",
        "2026-11-25T16:32Z",
        "",
    ] {
        assert!(!is_utc_timestamp(bad), "{bad}");
    }
}
