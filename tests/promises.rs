//! The programme's promises, kept visibly for both sides: deadlines on the desk (and
//! which are overdue), the team's question shown prominently to the reporter, the
//! embargo as one agreed instant that the page and `show --json` agree on, and closing
//! a duplicate that links both threads.

use crate::util::*;

/// The text inside the element with `id="…"`, tags removed.
fn text_of(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let open_end = page[start..].find('>').unwrap() + start + 1;
    let close = page[open_end..].find("</").unwrap() + open_end;
    page[open_end..close].trim().to_string()
}

#[tokio::test]
async fn an_answered_report_is_on_time_and_one_left_alone_is_overdue() {
    let server = TestServer::start_with(Options::programme(&["acknowledge_hours = 24"]));
    submit_simple(&server, "Answered").await;
    submit_simple(&server, "Left alone").await;
    let desk = Desk::new(&server, &server.member.identity);
    let answered = desk.id_of("Answered");
    desk.run(&["reply", &answered, "-m", "Thanks, we are looking at it."]);
    // Nothing is late yet; a day and an hour later, on the desk's clock, one is.
    assert_eq!(desk.json(&["list", "--overdue"]), serde_json::json!([]));
    let desk = desk.later(25 * 3600);

    let list = desk.json(&["list"]);
    let by_title = |title: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["title"] == title)
            .unwrap()
            .clone()
    };
    let on_time = by_title("Answered");
    assert_eq!(on_time["overdue"], false, "{on_time}");
    assert_eq!(on_time["next"]["promise"], "assess", "{on_time}");
    assert!(on_time["deadlines"][0]["met"].is_string(), "{on_time}");
    let late = by_title("Left alone");
    assert_eq!(late["overdue"], true, "{late}");
    assert_eq!(late["next"]["promise"], "acknowledge", "{late}");
    assert_eq!(late["next"]["overdue"], true, "{late}");

    let overdue = desk.json(&["list", "--overdue"]);
    let titles: Vec<&str> = overdue
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Left alone"]);
    let text = desk.run(&["list"]);
    assert!(
        text.contains("acknowledge") && text.contains("OVERDUE"),
        "{text}"
    );
}

#[tokio::test]
async fn needs_more_information_puts_the_question_before_the_reporter() {
    let server = TestServer::start();
    let code = submit_simple(&server, "Unclear").await;
    let desk = Desk::new(&server, &server.member.identity);
    let id = desk.id_of("Unclear");
    desk.fails(
        &["status", &id, "needs-more-information"],
        "asks the reporter a question: give it with -m",
    );
    desk.run(&[
        "status",
        &id,
        "needs-more-information",
        "-m",
        "Which version did you test <b>exactly</b>?",
    ]);
    assert_eq!(
        desk.json(&["show", &id])["question"],
        "Which version did you test <b>exactly</b>?"
    );

    let (client, thread) = reporter_page(&server, &code).await;
    assert_eq!(text_of(&thread, "status"), "needs more information");
    let question = &thread[thread.find("id=\"question\"").unwrap()..];
    assert!(
        question.contains("Which version did you test &#60;b&#62;exactly&#60;/b&#62;?"),
        "{thread}"
    );
    let (status, _) = post_thread(
        &server,
        &client,
        &thread,
        &[("message", "Version 2.4.1, on Linux.")],
    )
    .await;
    assert_eq!(status, 303, "sent, and back to the thread");
    let shown = desk.run(&["show", &id]);
    assert!(shown.contains("Version 2.4.1, on Linux."), "{shown}");
    assert!(
        shown.contains("Asked the reporter: Which version"),
        "{shown}"
    );

    // Assessed: the question is no longer current.
    desk.run(&["status", &id, "valid"]);
    let (_, thread) = reporter_page(&server, &code).await;
    assert!(!thread.contains("id=\"question\""), "{thread}");
    assert_eq!(text_of(&thread, "status"), "valid");
    assert!(desk.json(&["show", &id])["question"].is_null());
}

#[tokio::test]
async fn the_page_and_the_desk_agree_on_the_disclosure_instant() {
    let server = TestServer::start_with(Options::programme(&["embargo_days = 30"]));
    let code = submit_simple(&server, "Embargoed").await;
    let desk = Desk::new(&server, &server.member.identity);
    let id = desk.id_of("Embargoed");

    // At first: the programme's default, 30 days after the report.
    let shown = desk.json(&["show", &id]);
    let received = shown["events"][0]["event"]["at"].as_i64().unwrap();
    let default_end = agedrop::text::rfc3339(received + 30 * 86_400).unwrap();
    assert_eq!(shown["disclosure"], default_end.as_str());
    assert_eq!(shown["disclosure_set_by_team"], false);
    let (client, thread) = reporter_page(&server, &code).await;
    assert_eq!(
        text_of(&thread, "disclosure"),
        agedrop::report::human_time(received + 30 * 86_400)
    );
    let countdown = text_of(&thread, "countdown");
    assert_eq!(countdown, "in 30 days");

    // The reporter proposes a date; one in the past is refused.
    let (status, refused) =
        post_thread(&server, &client, &thread, &[("disclosure", "2001-01-01")]).await;
    assert_eq!(status, 400);
    assert!(
        refused.contains("The proposed disclosure date is in the past"),
        "{refused}"
    );
    let (status, _) = post_thread(
        &server,
        &client,
        &thread,
        &[
            ("disclosure", "2030-01-01"),
            ("message", "We present at a conference then."),
        ],
    )
    .await;
    assert_eq!(status, 303, "sent, and back to the thread");
    let shown = desk.json(&["show", &id]);
    assert_eq!(shown["proposed_by_reporter"], "2030-01-01T00:00:00Z");
    assert!(
        desk.run(&["show", &id])
            .contains("The reporter proposes public disclosure on 2030-01-01 00:00 UTC")
    );

    // The team sets the instant: both sides show the same one.
    desk.run(&[
        "status",
        &id,
        "accepted",
        "--disclosure",
        "2029-06-01T15:00Z",
    ]);
    let shown = desk.json(&["show", &id]);
    assert_eq!(shown["disclosure"], "2029-06-01T15:00:00Z");
    assert_eq!(shown["disclosure_set_by_team"], true);
    let (_, thread) = reporter_page(&server, &code).await;
    assert_eq!(text_of(&thread, "disclosure"), "2029-06-01 15:00 UTC");
    assert_eq!(text_of(&thread, "proposal"), "2030-01-01 00:00 UTC");
    assert_eq!(text_of(&thread, "status"), "accepted: fix in progress");
    desk.fails(
        &["status", &id, "accepted", "--disclosure", "next week"],
        "is not a date or time",
    );
}

#[tokio::test]
async fn a_duplicate_is_closed_with_its_reason_and_both_threads_are_linked() {
    let server = TestServer::start();
    submit_simple(&server, "First finder").await;
    let code = submit_simple(&server, "Second finder").await;
    let desk = Desk::new(&server, &server.member.identity);
    let first = desk.id_of("First finder");
    let second = desk.id_of("Second finder");

    desk.fails(&["status", &second, "closed"], "closing needs a reason");
    desk.fails(
        &["status", &second, "valid", "--reason", "spam"],
        "--reason goes with `closed` only",
    );
    desk.fails(
        &[
            "status", &second, "closed", "--reason", "spam", "--of", &first,
        ],
        "--of and --advisory go with `closed --reason duplicate` only",
    );
    desk.fails(
        &[
            "status",
            &second,
            "closed",
            "--reason",
            "duplicate",
            "--of",
            &second,
        ],
        "cannot be a duplicate of itself",
    );
    desk.run(&[
        "status",
        &second,
        "closed",
        "--reason",
        "duplicate",
        "--of",
        &first,
        "--advisory",
        "GHSA-abcd-1234-wxyz",
    ]);

    let list = desk.json(&["list", "--status", "closed"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["reason"], "duplicate");
    assert!(
        list[0]["next"].is_null(),
        "a closed report owes nothing: {list}"
    );
    let linked = format!("Report {second} was closed as a duplicate of this one.");
    assert!(desk.run(&["show", &first]).contains(&linked));
    let here = desk.run(&["show", &second]);
    assert!(
        here.contains(&format!("Closed as a duplicate of report {first}.")),
        "{here}"
    );
    assert!(here.contains("Status:   closed (duplicate)"), "{here}");

    // The reporter sees why, and the public advisory, but not the team's notes.
    let (_, thread) = reporter_page(&server, &code).await;
    assert_eq!(text_of(&thread, "status"), "closed");
    assert_eq!(
        text_of(&thread, "reason"),
        "Someone reported this problem before you."
    );
    assert_eq!(text_of(&thread, "advisory"), "GHSA-abcd-1234-wxyz");
    assert!(
        !thread.contains(&first),
        "the other report's id is the team's"
    );
    assert!(
        !thread.contains("id=\"disclosure-date\""),
        "a closed report takes no proposals"
    );
    // No words given: the programme's closing text for the reason (the default here).
    assert!(
        thread.contains("Someone reported the same problem before you, so we are closing"),
        "{thread}"
    );
}

#[tokio::test]
async fn closing_starts_from_the_operators_text_for_the_reason() {
    // `[closing]` in the server's config: the desk fetches it with the roster.
    let server = TestServer::start_with(Options::programme(&[
        "[closing]",
        "wont_fix = \"We accept this risk: the admin panel is only on our VPN.\"",
    ]));
    let code = submit_simple(&server, "Admin panel").await;
    let desk = Desk::new(&server, &server.member.identity);
    let id = desk.id_of("Admin panel");
    desk.run(&["status", &id, "closed", "--reason", "wont-fix"]);
    let (_, thread) = reporter_page(&server, &code).await;
    assert!(
        thread.contains("We accept this risk: the admin panel is only on our VPN."),
        "{thread}"
    );
    // Words given with -m replace it.
    let other = submit_simple(&server, "Second").await;
    let second = desk.id_of("Second");
    desk.run(&[
        "status",
        &second,
        "closed",
        "--reason",
        "wont-fix",
        "-m",
        "Not for us.",
    ]);
    let (_, thread) = reporter_page(&server, &other).await;
    assert!(thread.contains("Not for us."), "{thread}");
    assert!(!thread.contains("only on our VPN"), "{thread}");
}
