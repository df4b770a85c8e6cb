//! Deadline reminders: a report no member has written to is reminded of as its
//! acknowledgement comes due and once it is overdue, with counts only; a report a member
//! answered is not. The server checks as it starts (then hourly): each step restarts it
//! with its clock moved by `AGEDROP_CLOCK_OFFSET`, never waiting for the hours.

use std::time::Duration;

use crate::util::*;

const HOUR: i64 = 3600;

/// Acknowledgement promised within 24 hours; reminders 12 hours before; one json
/// webhook; arrival notices at once.
fn options(hooks: &Hooks) -> Options {
    let mut options = Options::notify(vec![
        "delay_seconds = 0".into(),
        "remind_before_hours = 12".into(),
        format!("webhooks = [{{ url = {:?} }}]", hooks.url("/hook")),
    ]);
    options.programme.push("acknowledge_hours = 24".into());
    options
}

/// Restarts `server` with its clock `hours` past the start (UTC) of `day`, and waits
/// until it has checked for reminders once.
fn restart_at(server: &mut TestServer, day: u32, hours: i64) {
    server.stop();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let offset = i64::from(day) * 86_400 + hours * HOUR - now;
    server.options.env = vec![("AGEDROP_CLOCK_OFFSET".into(), offset.to_string())];
    let checked = "deadline reminders checked";
    let before = server.log_text().matches(checked).count();
    server.launch();
    for _ in 0..400 {
        if server.log_text().matches(checked).count() > before {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("no reminder check:\n{}", server.log_text());
}

/// The reminders received so far (not the arrival notices).
fn reminders(hooks: &Hooks) -> Vec<serde_json::Value> {
    hooks
        .got()
        .iter()
        .map(|h| serde_json::from_str::<serde_json::Value>(&h.body).unwrap())
        .filter(|body| body.get("waiting").is_some())
        .collect()
}

/// Waits up to 10 s for the `n`th reminder; all of them.
async fn wait_for_reminders(hooks: &Hooks, n: usize) -> Vec<serde_json::Value> {
    for _ in 0..200 {
        if reminders(hooks).len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    reminders(hooks)
}

/// Waits long enough for a reminder that the check decided on to have arrived: the
/// receiver is on this machine and the check has already run.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_report_is_reminded_of_as_its_acknowledgement_comes_due() {
    let hooks = Hooks::start(&[]).await;
    let mut server = TestServer::start_with(options(&hooks));
    let canary = "REMINDCANARY64";
    let mut codes = Vec::new();
    for _ in 0..2 {
        let page = submit_form(&server, &report_fields(canary), &[]).await;
        assert_eq!(page.status(), 200);
        codes.push(receipt_code(&page.text().await.unwrap()));
    }
    let reports = team_client(&server).await.reports().await.unwrap();
    let ids: Vec<String> = reports.iter().map(|r| r.id.to_string()).collect();
    let day = reports[0].last_day;
    assert_eq!(reports[1].last_day, day);
    // Alice answers the first report; the second waits.
    let alice = Desk::new(&server, &server.member.identity);
    alice.run(&["reply", &ids[0], "-m", "Thank you, we are on it."]);

    // 6 hours into the day: the deadline (24 hours after the day began) is 18 hours
    // away, outside the 12-hour window. Nothing.
    restart_at(&mut server, day, 6);
    settle().await;
    assert_eq!(reminders(&hooks), Vec::<serde_json::Value>::new());

    // 18 hours in: due in 6 hours. One report, not two: the answered one is not counted.
    restart_at(&mut server, day, 18);
    let got = wait_for_reminders(&hooks, 1).await;
    assert_eq!(
        got[0],
        serde_json::json!({
            "text": "1 report waits for its acknowledgement, due in 6 hours. Read with `agedrop team`.",
            "waiting": {"reports": 1, "overdue": 0},
        })
    );

    // 27 hours in: overdue, and said so.
    restart_at(&mut server, day, 27);
    let got = wait_for_reminders(&hooks, 2).await;
    assert_eq!(
        got[1]["text"],
        "1 report waits for its acknowledgement, due 3 hours ago. Read with `agedrop team`."
    );
    assert_eq!(
        got[1]["waiting"],
        serde_json::json!({"reports": 1, "overdue": 1})
    );

    // Nothing of any report in any notice, nor in the log.
    let everything = format!("{:?}", hooks.got());
    for hay in [everything, server.log_text()] {
        assert!(!leaked(hay.as_bytes(), canary.as_bytes()), "{hay}");
        for secret in codes.iter().chain(&ids) {
            assert!(!leaked(hay.as_bytes(), secret.as_bytes()), "{secret}");
            let bare = secret.replace('-', "");
            assert!(!leaked(hay.as_bytes(), bare.as_bytes()), "{bare}");
        }
    }

    // A status change answers too: then nothing waits, and nothing is sent.
    let alice = Desk::new(&server, &server.member.identity);
    alice.run(&["status", &ids[1], "valid", "-m", "Confirmed."]);
    restart_at(&mut server, day, 28);
    settle().await;
    assert_eq!(reminders(&hooks).len(), 2, "{:#?}", hooks.got());
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_can_be_turned_off() {
    let hooks = Hooks::start(&[]).await;
    let mut options = options(&hooks);
    options.notify[1] = "remind_before_hours = 0".into();
    let mut server = TestServer::start_with(options);
    submit_simple(&server, "Unanswered").await;
    let day = team_client(&server).await.reports().await.unwrap()[0].last_day;
    server.stop();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let offset = i64::from(day) * 86_400 + 30 * HOUR - now;
    server.options.env = vec![("AGEDROP_CLOCK_OFFSET".into(), offset.to_string())];
    server.launch();
    // The server answers, and has had the time to check if it were going to.
    assert_eq!(check(&server, &unknown_code()).await.0, 404);
    settle().await;
    assert!(
        !server.log_text().contains("deadline reminders checked"),
        "{}",
        server.log_text()
    );
    assert!(reminders(&hooks).is_empty());
}
