//! Deadline reminders: "1 report waits for its acknowledgement, due in 6 hours".
//!
//! The server knows two things of a report's time: the day of its last activity, and
//! whether a member has written to it (one bit). So the acknowledgement of a report no
//! member has written to is taken as due at the start (UTC) of its last day of
//! activity plus `programme.acknowledge_hours`: never later than the promise for a
//! report that has been quiet since it arrived, and later than it for one whose
//! reporter wrote again on a later day (the desk, which reads the report's own time,
//! has the exact deadline).
//!
//! Checked hourly (first at start). A reminder goes out when a report enters the
//! window (`notify.remind_before_hours` before its deadline) or falls overdue, and
//! otherwise at most once every [`REPEAT`] while any report waits. It is not delayed:
//! it is computed from whole days and the hour of the check, so it dates no reporter's
//! act more finely than the data folder already does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{Notice, Notifier, Waiting};

/// How often the reports are checked.
const CHECK: Duration = Duration::from_secs(3600);
/// While reports wait, and none has entered the window or fallen overdue, a reminder
/// at most this often (seconds): once a day.
pub const REPEAT: i64 = 24 * HOUR;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// Where the reminders read which reports wait: the day of last activity of each
/// report no member has written to, and nothing else (no id, no record).
pub trait Unanswered: Send + Sync + 'static {
    /// Those days; `None` when storage failed (the source logs it).
    fn unanswered_days(&self) -> Option<Vec<u32>>;
}

/// When the acknowledgement of a report last active on `last_day` is due, as far as
/// the server can tell (see the module's doc): Unix seconds.
pub fn due(last_day: u32, acknowledge_hours: u32) -> i64 {
    i64::from(last_day) * DAY + i64::from(acknowledge_hours) * HOUR
}

/// The deadlines (`dues`) inside the window at `now`: due within `window` seconds, or
/// already past.
pub fn in_window(dues: &[i64], now: i64, window: i64) -> Vec<i64> {
    dues.iter()
        .copied()
        .filter(|&d| d - window <= now)
        .collect()
}

/// What a reminder says of `dues` (all inside the window) at `now`.
pub fn waiting(dues: &[i64], now: i64) -> Waiting {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Waiting {
        reports: count(dues.len()),
        overdue: count(dues.iter().filter(|&&d| d < now).count()),
        next_in: dues.iter().filter(|&&d| d >= now).map(|d| d - now).min(),
        late_by: dues.iter().map(|d| now - d).max().unwrap_or(0).max(0),
    }
}

/// When to remind: remembers, in memory only, what the last reminder counted (how many
/// reports for each deadline, and whether overdue) and when it went.
#[derive(Default)]
pub(super) struct Cadence {
    reminded: BTreeMap<(i64, bool), u32>,
    last_sent: Option<i64>,
}

impl Cadence {
    /// Whether to remind of `dues` (those inside the window) at `now`: when a report
    /// entered the window or fell overdue since the last reminder, or [`REPEAT`] has
    /// passed since it; never when none waits.
    pub(super) fn decide(&mut self, dues: &[i64], now: i64) -> bool {
        let mut current: BTreeMap<(i64, bool), u32> = BTreeMap::new();
        for &d in dues {
            *current.entry((d, d < now)).or_default() += 1;
        }
        let news = current
            .iter()
            .any(|(key, n)| self.reminded.get(key).is_none_or(|before| n > before));
        let due_again = self.last_sent.is_none_or(|at| now - at >= REPEAT);
        let send = !current.is_empty() && (news || due_again);
        if send {
            self.last_sent = Some(now);
            self.reminded = current;
        } else {
            // Reports answered (or purged) since are forgotten, so that a new one with
            // the same deadline counts as new.
            self.reminded = current
                .into_iter()
                .filter_map(|(key, n)| Some((key, n.min(*self.reminded.get(&key)?))))
                .collect();
        }
        send
    }
}

impl Notifier {
    /// Checks hourly, from now on, for reports waiting for their acknowledgement, and
    /// sends the reminders [`Cadence`] decides on, through every receiver (with the
    /// same retries as any notice). Runs until the process ends.
    pub(super) async fn remind<U: Unanswered + ?Sized>(self: Arc<Self>, source: Arc<U>) {
        let window = i64::from(self.remind_before_hours) * HOUR;
        let mut cadence = Cadence::default();
        let mut every = tokio::time::interval(CHECK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(days) = source.unanswered_days() else {
                continue;
            };
            let now = crate::clock::now();
            let dues: Vec<i64> = days
                .iter()
                .map(|&day| due(day, self.acknowledge_hours))
                .collect();
            let dues = in_window(&dues, now, window);
            tracing::debug!("deadline reminders checked");
            if cadence.decide(&dues, now) {
                let me = self.clone();
                let notice = Notice::Reminder(waiting(&dues, now));
                tokio::spawn(async move { me.deliver(notice).await });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Midnight UTC, 2025-01-01 (day 20089).
    const DAY0: u32 = 20_089;
    const T0: i64 = DAY0 as i64 * DAY;

    #[test]
    fn the_deadline_counts_from_the_start_of_the_last_day() {
        assert_eq!(due(DAY0, 72), T0 + 72 * HOUR);
        assert_eq!(due(DAY0 + 1, 0), T0 + DAY);
    }

    #[test]
    fn the_window_takes_what_is_due_soon_or_overdue() {
        let dues = [T0 + 72 * HOUR, T0 + 30 * HOUR, T0 - HOUR, T0 + 25 * HOUR];
        // At T0 + 6 h, 24 hours ahead: due by T0 + 30 h.
        let now = T0 + 6 * HOUR;
        assert_eq!(
            in_window(&dues, now, 24 * HOUR),
            vec![T0 + 30 * HOUR, T0 - HOUR, T0 + 25 * HOUR]
        );
        assert_eq!(in_window(&dues, now, 0), vec![T0 - HOUR]);
        let w = waiting(&in_window(&dues, now, 24 * HOUR), now);
        assert_eq!(
            w,
            Waiting {
                reports: 3,
                overdue: 1,
                next_in: Some(19 * HOUR),
                late_by: 7 * HOUR,
            }
        );
        assert_eq!(
            w.summary(),
            "3 reports wait for their acknowledgement, 1 overdue, the next due in 19 hours"
        );
        assert_eq!(waiting(&[], now), Waiting::default());
    }

    #[test]
    fn a_reminder_when_a_report_enters_the_window_then_once_a_day() {
        let mut cadence = Cadence::default();
        let a = T0 + 24 * HOUR;
        // Nothing waits: nothing is sent.
        assert!(!cadence.decide(&[], T0));
        // A report enters the window: at once.
        assert!(cadence.decide(&[a], T0 + HOUR));
        // The hourly checks after it: quiet.
        for h in 2..6 {
            assert!(!cadence.decide(&[a], T0 + h * HOUR), "hour {h}");
        }
        // Another report, same deadline: at once; then quiet again.
        assert!(cadence.decide(&[a, a], T0 + 6 * HOUR + 1));
        for h in 7..24 {
            assert!(!cadence.decide(&[a, a], T0 + h * HOUR), "hour {h}");
        }
        // It falls overdue: at once, then quiet again.
        assert!(cadence.decide(&[a, a], a + 1));
        assert!(!cadence.decide(&[a, a], a + HOUR));
        // A day after the last one: again, while they wait.
        assert!(!cadence.decide(&[a, a], a + 1 + REPEAT - 1));
        assert!(cadence.decide(&[a, a], a + 1 + REPEAT));
    }

    #[test]
    fn an_answered_report_is_forgotten_so_a_new_one_counts() {
        let mut cadence = Cadence::default();
        let a = T0 + 24 * HOUR;
        assert!(cadence.decide(&[a, a], T0));
        // One is answered: no reminder for that.
        assert!(!cadence.decide(&[a], T0 + HOUR));
        // A new one with the same deadline is news.
        assert!(cadence.decide(&[a, a], T0 + 2 * HOUR));
        // All answered: nothing, not even a day on.
        assert!(!cadence.decide(&[], T0 + 3 * HOUR));
        assert!(!cadence.decide(&[], T0 + 3 * HOUR + REPEAT));
    }
}
