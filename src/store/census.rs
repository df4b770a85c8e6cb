//! Counts for `agedrop status`: how many reports, how many wait for the team's first
//! answer, how many events and attachments. Counts only: no id, no day, nothing of any
//! one report.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, layout};

/// What the data folder holds, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Census {
    /// Reports.
    pub reports: u64,
    /// Reports no member has written to yet ([`super::ReportRecord::answered`]).
    pub waiting: u64,
    /// Events in all threads.
    pub events: u64,
    /// Attachment files the reports name.
    pub attachments: u64,
}

impl Store {
    /// Counts the reports and their events and attachments (reads every report record
    /// and attachment key, no event: cheap next to a backup).
    pub fn census(&self) -> Result<Census, StoreError> {
        let mut census = Census::default();
        for (_, record) in self.reports()? {
            census.reports += 1;
            census.waiting += u64::from(!record.answered);
            census.events += u64::from(record.events);
        }
        for key in self.tree.scan_prefix([layout::ATTACHED]).keys() {
            key?;
            census.attachments += 1;
        }
        Ok(census)
    }

    /// The day of last activity of each report no member has written to yet: all the
    /// deadline reminders need, and all they are given.
    pub fn unanswered_days(&self) -> Result<Vec<u32>, StoreError> {
        Ok(self
            .reports()?
            .into_iter()
            .filter(|(_, record)| !record.answered)
            .map(|(_, record)| record.last_day)
            .collect())
    }
}
