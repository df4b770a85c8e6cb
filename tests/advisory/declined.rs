//! A credit the reporter declines, or asks to word otherwise, is never exported: their
//! name appears in no OSV record, no CSAF document and no acknowledgements list.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_credit_is_never_exported_and_the_name_appears_nowhere() {
    let server = TestServer::start();
    let title = "Open redirect in login";
    let code = report_with_credit(&server, title, ["Zed Canaryname", "", "zed.example"]).await;
    let desk = Desk::new(&server, &server.member.identity);
    let id = desk.id_of(title);
    let draft = desk.run(&["advisory", &id, "--draft"]);
    // A link that is not a URL stays in the words, never in the contacts.
    assert!(
        draft.contains("name = \"Zed Canaryname (zed.example)\""),
        "{draft}"
    );
    assert!(draft.contains("contact = []"), "{draft}");
    post_revision(&desk, &id, &draft);

    // Asking for other words publishes nothing of the reporter either.
    let (client, thread) = reporter_page(&server, &code).await;
    let (status, _) = post_thread(
        &server,
        &client,
        &thread,
        &[
            ("revision", &revision_on(&thread)),
            ("credit_note", "Just \"Zed\", please."),
            ("credit", "change"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        desk.json(&["show", &id])["advisory"]["credit"],
        "change-asked"
    );
    let (client, thread) = reporter_page(&server, &code).await;
    assert!(thread.contains("You asked for other words"), "{thread}");
    assert!(thread.contains("You asked for other words for the credit offered in revision 1"));
    assert!(thread.contains("Just &#34;Zed&#34;, please."), "{thread}");
    let (status, _) = post_thread(
        &server,
        &client,
        &thread,
        &[("revision", &revision_on(&thread)), ("credit", "decline")],
    )
    .await;
    assert_eq!(status, 303);
    let shown = desk.json(&["show", &id]);
    assert_eq!(shown["advisory"]["credit"], "declined", "{shown}");
    assert!(
        desk.run(&["show", &id])
            .contains("declined by the reporter (never published)")
    );

    desk.run(&["status", &id, "disclosed"]);
    let (osv, csaf) = exports(&desk, &id);
    for text in [&osv, &csaf] {
        assert!(
            !text.contains("Zed") && !text.contains("Canaryname"),
            "{text}"
        );
    }
    let osv: serde_json::Value = serde_json::from_str(&osv).unwrap();
    assert!(osv.get("credits").is_none(), "{osv}");
    let csaf: serde_json::Value = serde_json::from_str(&csaf).unwrap();
    assert!(csaf["vulnerabilities"][0].get("acknowledgments").is_none());
    assert!(desk.json(&["credits"]).as_array().unwrap().is_empty());
    let markdown = desk.run(&["credits"]);
    assert!(!markdown.contains("Zed"), "{markdown}");
}
