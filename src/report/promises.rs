//! What the programme promises a reporter, as numbers (set by the operator, carried to
//! the desk by the team API and bundles), and the deadlines they give one report: when
//! it must be acknowledged, first assessed, updated next, and when the embargo ends.
//! The same computation serves the reporter's page and the desk, so both sides always
//! see the same instants.

use serde::{Deserialize, Serialize};

use super::{EventBody, Reason, Status};

/// The programme's promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promises {
    /// A first answer within this many hours of the report.
    pub acknowledge_hours: u32,
    /// A first assessment (valid, needs more information, or closed with a reason)
    /// within this many days.
    #[serde(default = "default_assessment_days")]
    pub assessment_days: u32,
    /// While a report is open, an update at least every this many days.
    #[serde(default = "default_update_days")]
    pub update_days: u32,
    /// The default embargo: public disclosure this many days after the report, unless
    /// the team and the reporter agree another instant.
    pub embargo_days: u32,
}

fn default_assessment_days() -> u32 {
    Promises::default().assessment_days
}

fn default_update_days() -> u32 {
    Promises::default().update_days
}

impl Default for Promises {
    /// Three days to acknowledge (what published policies commonly promise), ten to
    /// assess, an update at least every fortnight, and 90 days of embargo.
    fn default() -> Self {
        Promises {
            acknowledge_hours: 72,
            assessment_days: 10,
            update_days: 14,
            embargo_days: 90,
        }
    }
}

/// Which promise a deadline keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Promise {
    /// The first answer from the team.
    Acknowledge,
    /// The first assessment.
    Assess,
    /// The next update while the report is open.
    Update,
    /// The end of the embargo: public disclosure.
    Disclose,
}

impl Promise {
    /// The name used in JSON and in `list`'s deadline column.
    pub fn as_str(self) -> &'static str {
        match self {
            Promise::Acknowledge => "acknowledge",
            Promise::Assess => "assess",
            Promise::Update => "update",
            Promise::Disclose => "disclose",
        }
    }

    /// How the promise reads in a list or on a page.
    pub fn describe(self) -> &'static str {
        match self {
            Promise::Acknowledge => "acknowledgement",
            Promise::Assess => "first assessment",
            Promise::Update => "next update",
            Promise::Disclose => "public disclosure",
        }
    }
}

/// One deadline of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// The promise it keeps.
    pub promise: Promise,
    /// When it is due (Unix seconds, UTC).
    pub due: i64,
    /// When it was kept, if it was.
    pub met: Option<i64>,
}

impl Deadline {
    /// Due and not kept by `now`.
    pub fn overdue(&self, now: i64) -> bool {
        self.met.is_none() && now > self.due
    }
}

/// What has happened to a report, as far as the promises go (kept, sealed, in the
/// desk's cache).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// When it arrived.
    pub received: i64,
    /// Where it stands: the latest status change (by the time written into it).
    pub status: Status,
    /// Why it was closed, when it is.
    pub reason: Option<Reason>,
    /// The team's first answer (a reply or a status change).
    pub acknowledged: Option<i64>,
    /// The team's first assessment.
    pub assessed: Option<i64>,
    /// The team's latest answer.
    pub last_update: Option<i64>,
    /// Whether the report is still open (not disclosed or closed).
    pub open: bool,
    /// The disclosure instant the team set, if it set one.
    pub disclosure: Option<i64>,
    /// When it was disclosed.
    pub disclosed: Option<i64>,
}

impl Progress {
    /// Reads a thread: `events` are `(time, body, counts)` in thread order, where
    /// `counts` says whether a team event may change the status and keep promises (on
    /// the desk, only what a member of the pinned roster signed). `None` without a
    /// readable submission.
    pub fn of<'a>(events: impl IntoIterator<Item = (i64, &'a EventBody, bool)>) -> Option<Self> {
        let mut received = None;
        let mut changes = Vec::new();
        let mut answers = Vec::new();
        for (at, body, counts) in events {
            match body {
                EventBody::Submitted(_) if received.is_none() => received = Some(at),
                EventBody::Status(change) if counts => {
                    answers.push(at);
                    changes.push((at, change));
                }
                EventBody::Reply(_) if counts => answers.push(at),
                _ => {}
            }
        }
        // Latest by the time written into it, the thread order breaking ties: moving an
        // old change to the end does not roll the status back.
        changes.sort_by_key(|(at, _)| *at);
        let latest = changes.last().map(|(_, c)| c);
        let status = latest.map_or(Status::Received, |c| c.status);
        Some(Progress {
            received: received?,
            status,
            reason: latest
                .and_then(|c| c.reason)
                .filter(|_| status == Status::Closed),
            acknowledged: answers.iter().copied().min(),
            assessed: changes
                .iter()
                .filter(|(_, c)| c.status.is_assessment())
                .map(|(at, _)| *at)
                .min(),
            last_update: answers.iter().copied().max(),
            open: status.is_open(),
            disclosure: changes
                .iter()
                .rev()
                .find_map(|(_, c)| c.disclosure)
                .map(|d| d.unix_timestamp()),
            disclosed: latest
                .filter(|c| c.status == Status::Disclosed)
                .and(changes.last().map(|(at, _)| *at)),
        })
    }
}

/// How far `due` is from `now`, in words: "in 3 days", "5 hours ago".
pub fn countdown(due: i64, now: i64) -> String {
    let (span, future) = if due >= now {
        (due - now, true)
    } else {
        (now - due, false)
    };
    // Rounded to the nearest unit: a deadline 90 days after a report that came a
    // second ago is "in 90 days", and reads the same a moment later.
    let nearest = |unit: i64| ((span + unit / 2) / unit).max(1);
    let (n, unit) = match span {
        s if s < 2 * HOUR => (nearest(60), "minute"),
        s if s < 2 * DAY => (nearest(HOUR), "hour"),
        _ => (nearest(DAY), "day"),
    };
    let amount = if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

impl Progress {
    /// The planned disclosure instant: the team's, or the programme's default embargo.
    pub fn embargo_end(&self, promises: &Promises) -> i64 {
        self.disclosure
            .unwrap_or(self.received + i64::from(promises.embargo_days) * DAY)
    }

    /// Every deadline, in the order the promises come due.
    pub fn deadlines(&self, promises: &Promises) -> Vec<Deadline> {
        let mut out = vec![
            Deadline {
                promise: Promise::Acknowledge,
                due: self.received + i64::from(promises.acknowledge_hours) * HOUR,
                met: self.acknowledged,
            },
            Deadline {
                promise: Promise::Assess,
                due: self.received + i64::from(promises.assessment_days) * DAY,
                met: self.assessed,
            },
        ];
        // Updates are owed once the report is answered, while it is open.
        if let (Some(last), true) = (self.last_update, self.open) {
            out.push(Deadline {
                promise: Promise::Update,
                due: last + i64::from(promises.update_days) * DAY,
                met: None,
            });
        }
        if self.open || self.disclosed.is_some() {
            out.push(Deadline {
                promise: Promise::Disclose,
                due: self.embargo_end(promises),
                met: self.disclosed,
            });
        }
        out
    }

    /// The earliest deadline not yet kept, if any.
    pub fn next(&self, promises: &Promises) -> Option<Deadline> {
        self.deadlines(promises)
            .into_iter()
            .filter(|d| d.met.is_none())
            .min_by_key(|d| d.due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    #[test]
    fn countdowns_round_to_the_nearest_unit() {
        assert_eq!(countdown(T0 + 90 * DAY, T0 + 1), "in 90 days");
        assert_eq!(countdown(T0 + 90 * DAY, T0 - 1), "in 90 days");
        assert_eq!(countdown(T0 + 36 * HOUR, T0), "in 36 hours");
        assert_eq!(countdown(T0 + 20, T0), "in 1 minute");
        assert_eq!(countdown(T0, T0 + 3 * DAY + HOUR), "3 days ago");
    }

    #[test]
    fn a_new_report_owes_an_acknowledgement_first() {
        let p = Promises::default();
        let progress = Progress {
            received: T0,
            open: true,
            ..Progress::default()
        };
        let next = progress.next(&p).unwrap();
        assert_eq!(next.promise, Promise::Acknowledge);
        assert_eq!(next.due, T0 + 72 * HOUR);
        assert!(!next.overdue(T0 + 72 * HOUR));
        assert!(next.overdue(T0 + 72 * HOUR + 1));
        assert_eq!(progress.embargo_end(&p), T0 + 90 * DAY);
    }

    #[test]
    fn an_answered_report_owes_its_assessment_then_updates() {
        let p = Promises::default();
        let mut progress = Progress {
            received: T0,
            acknowledged: Some(T0 + HOUR),
            last_update: Some(T0 + HOUR),
            open: true,
            ..Progress::default()
        };
        assert_eq!(progress.next(&p).unwrap().promise, Promise::Assess);
        progress.assessed = Some(T0 + 2 * DAY);
        progress.last_update = Some(T0 + 2 * DAY);
        let next = progress.next(&p).unwrap();
        assert_eq!(next.promise, Promise::Update);
        assert_eq!(next.due, T0 + 16 * DAY);
    }

    #[test]
    fn the_teams_disclosure_instant_replaces_the_default_embargo() {
        let p = Promises::default();
        let mut progress = Progress {
            received: T0,
            acknowledged: Some(T0),
            assessed: Some(T0),
            open: true,
            disclosure: Some(T0 + 5 * DAY),
            ..Progress::default()
        };
        let next = progress.next(&p).unwrap();
        assert_eq!(next.promise, Promise::Disclose);
        assert_eq!(next.due, T0 + 5 * DAY);
        progress.open = false;
        progress.disclosed = Some(T0 + 5 * DAY);
        assert_eq!(progress.next(&p), None);
    }

    #[test]
    fn older_servers_promises_read_with_the_defaults() {
        let p: Promises =
            serde_json::from_str(r#"{"acknowledge_hours": 24, "embargo_days": 60}"#).unwrap();
        assert_eq!((p.acknowledge_hours, p.assessment_days), (24, 10));
        assert_eq!((p.update_days, p.embargo_days), (14, 60));
    }
}
