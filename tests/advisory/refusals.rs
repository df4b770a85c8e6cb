//! What is refused before anything is stored: on the reporter's page, answers that name
//! no draft of their thread, that need words and have none, or that come without the
//! form's token; on the desk, a revision with a typo or a value the exports cannot carry.

use super::*;

/// How many events the report's thread holds, as the desk sees it.
fn events(desk: &Desk, id: &str) -> usize {
    desk.json(&["show", id])["events"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_must_name_a_draft_of_the_thread_and_carry_the_form_token() {
    let server = TestServer::start();
    let code = report_with_credit(&server, "Answers", ["Ann", "", ""]).await;
    let desk = Desk::new(&server, &server.member.identity);
    let id = desk.id_of("Answers");
    post_revision(&desk, &id, &desk.run(&["advisory", &id, "--draft"]));
    let (client, thread) = reporter_page(&server, &code).await;
    let revision = revision_on(&thread);
    let before = events(&desk, &id);

    for (fields, says) in [
        // The report itself is not a draft; nor is a position past the thread's end.
        (
            vec![("revision", "0"), ("credit", "accept")],
            "not in your report",
        ),
        (
            vec![("revision", "99"), ("advisory_comment", "x")],
            "not in your report",
        ),
        (
            vec![("revision", "first"), ("credit", "accept")],
            "did not say which draft",
        ),
        (
            vec![("revision", revision.as_str()), ("credit", "change")],
            "Write the words you want",
        ),
        (
            vec![("revision", revision.as_str()), ("credit", "maybe")],
            "an answer this site does not know",
        ),
    ] {
        let (status, page) = post_thread(&server, &client, &thread, &fields).await;
        assert_eq!(status, 400, "{fields:?}: {page}");
        assert!(page.contains(says), "{fields:?}: {says} in {page}");
    }
    // Without the form's token, nothing is read.
    let form = reqwest::multipart::Form::new()
        .text("revision", revision.clone())
        .text("credit", "accept");
    let (status, _) = fetch(client.post(server.at("/thread")).multipart(form)).await;
    assert_eq!(status, 403);
    assert_eq!(events(&desk, &id), before, "nothing refused was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_that_credits_no_one_offers_the_reporter_nothing_to_accept() {
    let server = TestServer::start();
    let code = report_with_credit(&server, "No credit", ["", "", ""]).await;
    let desk = Desk::new(&server, &server.member.identity);
    let id = desk.id_of("No credit");
    let draft = desk.run(&["advisory", &id, "--draft"]);
    assert!(
        draft.contains("# [[credits]]"),
        "a commented example only: {draft}"
    );
    post_revision(&desk, &id, &draft);
    let (client, thread) = reporter_page(&server, &code).await;
    assert!(
        thread.contains("This draft offers you no credit."),
        "{thread}"
    );
    assert!(!thread.contains("id=\"credit-accept\""), "{thread}");
    let (status, page) = post_thread(
        &server,
        &client,
        &thread,
        &[("revision", &revision_on(&thread)), ("credit", "accept")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("offers you no credit to answer"), "{page}");
    assert_eq!(
        desk.json(&["show", &id])["advisory"]["credit"],
        "not-offered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_refuses_a_revision_with_a_typo_or_what_the_exports_cannot_carry() {
    let server = TestServer::start();
    report_with_credit(&server, "Typos", ["Ann", "", ""]).await;
    let desk = Desk::new(&server, &server.member.identity);
    let id = desk.id_of("Typos");
    let draft = desk.run(&["advisory", &id, "--draft"]);
    let before = events(&desk, &id);
    let file = server.dir.path().join("typo.toml");
    for (change, says) in [
        (
            ("workarounds =", "workaround ="),
            "unknown key `workaround`",
        ),
        (
            ("severity = \"\"", "severity = \"CVSS:3.1/AV:N\""),
            "is not a CVSS v3.0, v3.1 or v4.0 vector",
        ),
        (
            ("contact = []", "contact = [\"@ann\"]"),
            "credits #1: contact: `@ann` is not a URL",
        ),
        (("title = \"Typos\"", "title = \"\""), "title: give one"),
    ] {
        std::fs::write(&file, edited(&draft, &[change])).unwrap();
        let said = desk.fails(&["advisory", &id, "--file", file.to_str().unwrap()], says);
        assert!(said.contains("Nothing was sent."), "{said}");
    }
    // No $EDITOR and no file: says how to give one.
    desk.fails(&["advisory", &id], "set $EDITOR");
    assert_eq!(events(&desk, &id), before);
    // CSAF needs an affected product; OSV does not.
    let start = draft.find("[[affected]]\nproduct").unwrap();
    let end = draft.find("\n# One [[credits]]").unwrap();
    let bare = format!("{}{}", &draft[..start], &draft[end..]);
    post_revision(&desk, &id, &bare);
    desk.fails(&["advisory", &id, "--csaf"], "names the affected products");
    let osv = desk.run(&["advisory", &id, "--osv"]);
    validate(Format::Osv, &osv);
}
