//! The last notice's fate, for `agedrop status`: the day it went and, for each
//! receiver, whether it took it. Kept in the server's memory only, never on disk: a
//! stored time of the last notice would date the last report. The day (UTC) is all it
//! keeps of the time: status output gets pasted into tickets and dashboards, and the
//! hour of a notice would narrow down when a reporter acted.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Where one receiver stands with a notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivered {
    /// The first attempt is under way.
    Sending,
    /// The receiver took it.
    Sent,
    /// An attempt failed; another follows.
    Retrying,
    /// Every attempt failed; given up.
    Failed,
}

/// One receiver's part in the last notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The receiver by kind and host, as the log names it ("webhook 1 (json,
    /// hooks.example.com)"); never a path, a token or a password.
    pub receiver: String,
    /// Where it stands.
    pub state: Delivered,
    /// Why the last attempt failed (content-free, as the log has it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The last notice the server sent (or is sending).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastNotice {
    /// The day it went, UTC (`2026-11-25`): no finer.
    pub day: String,
    /// Each receiver, in the config's order.
    pub receivers: Vec<Delivery>,
}

impl LastNotice {
    /// How many receivers took it.
    pub fn sent(&self) -> usize {
        self.receivers
            .iter()
            .filter(|d| d.state == Delivered::Sent)
            .count()
    }
}

/// The record the notifier keeps, shared with the web layer through the `Signal`.
#[derive(Default)]
pub(super) struct Ledger {
    /// The number of the last notice started, and its fate.
    last: Mutex<(u64, Option<LastNotice>)>,
}

impl Ledger {
    /// A notice to `receivers` starts today; its number, for [`Ledger::update`].
    pub(super) fn start(&self, receivers: Vec<String>) -> u64 {
        let day = crate::text::rfc3339(i64::from(crate::clock::today()) * 86_400)
            .and_then(|t| t.get(..10).map(str::to_string))
            .unwrap_or_default();
        let mut last = crate::lock(&self.last);
        last.0 += 1;
        last.1 = Some(LastNotice {
            day,
            receivers: receivers
                .into_iter()
                .map(|receiver| Delivery {
                    receiver,
                    state: Delivered::Sending,
                    error: None,
                })
                .collect(),
        });
        last.0
    }

    /// Receiver `index` of notice `number` now stands at `state`; ignored once a later
    /// notice has started (it is the last one then).
    pub(super) fn update(
        &self,
        number: u64,
        index: usize,
        state: Delivered,
        error: Option<String>,
    ) {
        let mut last = crate::lock(&self.last);
        if last.0 != number {
            return;
        }
        if let Some(delivery) = last.1.as_mut().and_then(|l| l.receivers.get_mut(index)) {
            delivery.state = state;
            delivery.error = error;
        }
    }

    /// The last notice, if one was sent since the server started.
    pub(super) fn last(&self) -> Option<LastNotice> {
        crate::lock(&self.last).1.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_notice_is_the_one_that_counts() {
        let ledger = Ledger::default();
        assert_eq!(ledger.last(), None);
        let first = ledger.start(vec!["webhook 1 (json, a.example)".into()]);
        let second = ledger.start(vec!["webhook 1 (json, a.example)".into()]);
        ledger.update(second, 0, Delivered::Sent, None);
        // The first notice's late failure does not overwrite the second's outcome.
        ledger.update(first, 0, Delivered::Failed, Some("refused".into()));
        let last = ledger.last().unwrap();
        assert_eq!(last.sent(), 1);
        assert_eq!(last.receivers[0].error, None);
        assert_eq!(last.day.len(), 10, "{}", last.day);
        assert!(!last.day.contains('T'), "{}", last.day);
    }
}
