//! What a notice says: counts of what arrived ([`Tally`]), counts of reports waiting for
//! their acknowledgement ([`Waiting`]), or the test; and where to read. Never a title,
//! an id, a receipt code, a time to the second, or a byte a reporter wrote.

use super::Kind;

/// How many of each arrived since the last notice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// New reports.
    pub reports: u32,
    /// Reporters' messages.
    pub messages: u32,
}

impl Tally {
    pub(super) fn add(&mut self, kind: Kind) {
        match kind {
            Kind::Report => self.reports = self.reports.saturating_add(1),
            Kind::Message => self.messages = self.messages.saturating_add(1),
        }
    }

    /// One sentence: "A new report arrived", "3 new reports and 1 message".
    pub fn summary(&self) -> String {
        let reports = |n: u32| match n {
            1 => "1 new report".to_string(),
            n => format!("{n} new reports"),
        };
        let messages = |n: u32| match n {
            1 => "1 message".to_string(),
            n => format!("{n} messages"),
        };
        match (self.reports, self.messages) {
            (1, 0) => "A new report arrived".into(),
            (0, 1) => "A reporter sent a message".into(),
            (r, 0) => format!("{} arrived", reports(r)),
            (0, m) => format!("Reporters sent {}", messages(m)),
            (r, m) => format!("{} and {}", reports(r), messages(m)),
        }
    }
}

/// Reports that wait for the team's first answer and whose acknowledgement is due
/// within the reminder window (or overdue): counts and the nearest deadlines, as far as
/// the server can tell them from the day of last activity (see `remind`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    /// Reports waiting.
    pub reports: u32,
    /// Of those, how many are past their deadline.
    pub overdue: u32,
    /// Seconds until the soonest deadline still ahead, if any is.
    pub next_in: Option<i64>,
    /// Seconds since the oldest deadline passed (0 when none has).
    pub late_by: i64,
}

impl Waiting {
    /// One sentence: "1 report waits for its acknowledgement, due in 6 hours", "3 reports
    /// wait for their acknowledgement, 1 overdue, the next due in 20 hours".
    pub fn summary(&self) -> String {
        // `countdown` words a span as the desk does ("in 6 hours", "2 days ago").
        let ahead = |secs: i64| crate::report::countdown(secs.max(0), 0);
        let behind = |secs: i64| crate::report::countdown(0, secs.max(0));
        match (self.reports, self.overdue, self.next_in) {
            (1, 0, Some(next)) => {
                format!(
                    "1 report waits for its acknowledgement, due {}",
                    ahead(next)
                )
            }
            (1, _, _) => format!(
                "1 report waits for its acknowledgement, due {}",
                behind(self.late_by)
            ),
            (n, 0, Some(next)) => format!(
                "{n} reports wait for their acknowledgement, the first due {}",
                ahead(next)
            ),
            (n, o, Some(next)) => format!(
                "{n} reports wait for their acknowledgement, {o} overdue, the next due {}",
                ahead(next)
            ),
            (n, o, None) => format!("{n} reports wait for their acknowledgement, {o} overdue"),
        }
    }
}

/// One notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Events arrived.
    Events(Tally),
    /// Reports wait for their acknowledgement.
    Reminder(Waiting),
    /// A test from `agedrop notify-test`.
    Test,
}

impl Notice {
    /// The counts of events a JSON receiver is given (zero for a reminder or a test).
    pub fn tally(&self) -> Tally {
        match self {
            Notice::Events(tally) => *tally,
            Notice::Reminder(_) | Notice::Test => Tally::default(),
        }
    }

    /// The sentence it says.
    fn summary(&self) -> String {
        match self {
            Notice::Events(tally) => tally.summary(),
            Notice::Reminder(waiting) => waiting.summary(),
            Notice::Test => "This is a test notice from agedrop: notices reach you".into(),
        }
    }

    /// The subject line of an e-mail.
    pub fn subject(&self) -> String {
        match self {
            Notice::Test => "agedrop: test notice".into(),
            notice => format!("agedrop: {}", notice.summary()),
        }
    }

    /// The whole text: the summary, where to read, and the link if there is one.
    pub fn text(&self, link: Option<&str>) -> String {
        let first = self.summary();
        match link {
            Some(link) => format!("{first}. Read with `agedrop team`: {link}"),
            None => format!("{first}. Read with `agedrop team`."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;

    fn tally(reports: u32, messages: u32) -> Tally {
        Tally { reports, messages }
    }

    #[test]
    fn summaries_count_and_say_nothing_else() {
        assert_eq!(tally(1, 0).summary(), "A new report arrived");
        assert_eq!(tally(0, 1).summary(), "A reporter sent a message");
        assert_eq!(tally(3, 0).summary(), "3 new reports arrived");
        assert_eq!(tally(0, 2).summary(), "Reporters sent 2 messages");
        assert_eq!(tally(3, 1).summary(), "3 new reports and 1 message");
        assert_eq!(tally(1, 2).summary(), "1 new report and 2 messages");
    }

    #[test]
    fn the_text_links_to_the_server_only() {
        let notice = Notice::Events(tally(1, 0));
        assert_eq!(
            notice.text(Some("https://security.example.com")),
            "A new report arrived. Read with `agedrop team`: https://security.example.com"
        );
        assert_eq!(
            notice.text(None),
            "A new report arrived. Read with `agedrop team`."
        );
        assert_eq!(notice.subject(), "agedrop: A new report arrived");
        assert_eq!(
            Notice::Test.text(None),
            "This is a test notice from agedrop: notices reach you. Read with `agedrop team`."
        );
    }

    #[test]
    fn reminders_count_and_give_the_nearest_deadline() {
        let waiting = |reports, overdue, next_in, late_by| Waiting {
            reports,
            overdue,
            next_in,
            late_by,
        };
        assert_eq!(
            waiting(1, 0, Some(6 * HOUR), 0).summary(),
            "1 report waits for its acknowledgement, due in 6 hours"
        );
        assert_eq!(
            waiting(1, 1, None, 3 * HOUR).summary(),
            "1 report waits for its acknowledgement, due 3 hours ago"
        );
        assert_eq!(
            waiting(3, 0, Some(20 * HOUR), 0).summary(),
            "3 reports wait for their acknowledgement, the first due in 20 hours"
        );
        assert_eq!(
            waiting(2, 1, Some(6 * HOUR), 30 * HOUR).summary(),
            "2 reports wait for their acknowledgement, 1 overdue, the next due in 6 hours"
        );
        assert_eq!(
            waiting(2, 2, None, 50 * HOUR).summary(),
            "2 reports wait for their acknowledgement, 2 overdue"
        );
        let notice = Notice::Reminder(waiting(1, 0, Some(6 * HOUR), 0));
        assert_eq!(
            notice.subject(),
            "agedrop: 1 report waits for its acknowledgement, due in 6 hours"
        );
        assert_eq!(
            notice.text(Some("https://security.example.com")),
            "1 report waits for its acknowledgement, due in 6 hours. Read with `agedrop team`: \
             https://security.example.com"
        );
        assert_eq!(notice.tally(), Tally::default());
    }
}
