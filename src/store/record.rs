//! A report's clear-text record: the lookup key, the reporter's public recipient, the
//! day of last activity, the number of events, and one bit, whether the team has
//! answered. Its byte format, the current one and the one before it.
//!
//! | version | bytes                                                                 |
//! |---------|-----------------------------------------------------------------------|
//! | 1       | `1`, lookup (32), last day u32, events u32, reporter                  |
//! | 2       | `2`, lookup (32), last day u32, events u32, flags u8, reporter        |
//!
//! The only flag is [`ANSWERED`]; the other seven bits are zero, and a record with any
//! of them set is refused as damaged (nothing writes them).

use crate::crypto::{LookupKey, ReporterRecipient};

use super::StoreError;

/// The version written now.
const RECORD_VERSION: u8 = 2;
/// Records written before the `answered` bit existed.
const RECORD_VERSION_1: u8 = 1;
/// The flags byte's one bit: a member has appended an event to the report.
const ANSWERED: u8 = 1;
/// Version, lookup key, last day, events.
const HEAD: usize = 1 + 32 + 4 + 4;

/// What the server keeps in the clear about a report. No `Debug` and no `Clone`: the
/// lookup key finds the report from its receipt code, and is never printed or copied.
pub struct ReportRecord {
    pub(super) lookup: [u8; 32],
    /// The reporter's public recipient (`age1…`), for sealing replies to them.
    pub reporter: String,
    /// Last activity, in whole days since the Unix epoch (for retention).
    pub last_day: u32,
    /// Number of events in the thread.
    pub events: u32,
    /// Whether a member has written to the report (a reply, a status change, an
    /// advisory draft or an internal note: the server cannot tell them apart, as each is
    /// only ciphertext). Set once, never cleared. Records written before this bit
    /// existed read as answered, so that an upgrade does not remind the team of every
    /// old report.
    pub answered: bool,
}

impl ReportRecord {
    /// A record for a report created now.
    pub(super) fn new(lookup: &LookupKey, reporter: &ReporterRecipient) -> Self {
        ReportRecord {
            lookup: *lookup.as_bytes(),
            reporter: reporter.to_string(),
            last_day: super::commit::today(),
            events: 0,
            answered: false,
        }
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEAD + 1 + self.reporter.len());
        v.push(RECORD_VERSION);
        v.extend_from_slice(&self.lookup);
        v.extend_from_slice(&self.last_day.to_be_bytes());
        v.extend_from_slice(&self.events.to_be_bytes());
        v.push(if self.answered { ANSWERED } else { 0 });
        v.extend_from_slice(self.reporter.as_bytes());
        v
    }

    pub(super) fn decode(v: &[u8]) -> Result<Self, StoreError> {
        let damaged = || StoreError::Damaged("report record");
        let head = v.get(..HEAD).ok_or_else(damaged)?;
        let (answered, reporter) = match head[0] {
            RECORD_VERSION_1 => (true, &v[HEAD..]),
            RECORD_VERSION => match v.get(HEAD) {
                Some(&flags) if flags & !ANSWERED == 0 => (flags == ANSWERED, &v[HEAD + 1..]),
                _ => return Err(damaged()),
            },
            _ => return Err(damaged()),
        };
        let number = |at: usize| {
            head[at..at + 4]
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| damaged())
        };
        Ok(ReportRecord {
            lookup: head[1..33].try_into().map_err(|_| damaged())?,
            reporter: String::from_utf8(reporter.to_vec()).map_err(|_| damaged())?,
            last_day: number(33)?,
            events: number(37)?,
            answered,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(answered: bool) -> ReportRecord {
        ReportRecord {
            lookup: [7; 32],
            reporter: "age1reporter".into(),
            last_day: 20_000,
            events: 3,
            answered,
        }
    }

    #[test]
    fn a_record_reads_back_with_its_bit() {
        for answered in [false, true] {
            let back = ReportRecord::decode(&record(answered).encode()).unwrap();
            assert_eq!(back.lookup, [7; 32]);
            assert_eq!(back.reporter, "age1reporter");
            assert_eq!((back.last_day, back.events), (20_000, 3));
            assert_eq!(back.answered, answered);
        }
    }

    #[test]
    fn a_record_written_before_the_bit_reads_as_answered() {
        // Exactly what agedrop wrote before version 2.
        let mut old = vec![1];
        old.extend_from_slice(&[7; 32]);
        old.extend_from_slice(&20_000u32.to_be_bytes());
        old.extend_from_slice(&3u32.to_be_bytes());
        old.extend_from_slice(b"age1reporter");
        let back = ReportRecord::decode(&old).unwrap();
        assert_eq!(back.reporter, "age1reporter");
        assert_eq!((back.last_day, back.events), (20_000, 3));
        assert!(back.answered, "an old report must not be reminded of");
        // Written again, it is a version 2 record that keeps the bit.
        let again = back.encode();
        assert_eq!(again[0], 2);
        assert!(ReportRecord::decode(&again).unwrap().answered);
    }

    #[test]
    fn unknown_versions_and_flags_are_damage() {
        let mut v = record(false).encode();
        v[HEAD] = 0b10;
        assert!(ReportRecord::decode(&v).is_err());
        v[0] = 3;
        assert!(ReportRecord::decode(&v).is_err());
        assert!(ReportRecord::decode(&[2; HEAD]).is_err(), "no flags byte");
        assert!(ReportRecord::decode(&[1; 10]).is_err());
    }
}
