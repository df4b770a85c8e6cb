//! Where a report stands, and the planned disclosure day a status change carries.

use serde::{Deserialize, Serialize};

/// A calendar day as `YYYY-MM-DD`.
pub const DAY: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// An optional day, written as `YYYY-MM-DD` or `""`.
pub(super) mod day_or_empty {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(day: &Option<time::Date>, s: S) -> Result<S::Ok, S::Error> {
        match day {
            Some(day) => {
                s.serialize_str(&day.format(super::DAY).map_err(serde::ser::Error::custom)?)
            }
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<time::Date>, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        if text.is_empty() {
            return Ok(None);
        }
        time::Date::parse(&text, super::DAY)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

/// Where a report stands, following coordinated-disclosure practice. The command line
/// takes the same names as JSON ([`Status::as_str`]).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Stored; nobody on the team has answered yet.
    Received,
    /// A team member has confirmed receipt.
    Acknowledged,
    /// Verified and assessed.
    Triaged,
    /// A fix is being worked on.
    Fixing,
    /// Fixed, not yet public.
    Fixed,
    /// Published.
    Disclosed,
    /// Closed: already reported.
    Duplicate,
    /// Closed: outside the programme's scope.
    OutOfScope,
    /// Closed: not a vulnerability here.
    NotApplicable,
    /// Closed: accepted risk, no fix planned.
    WontFix,
    /// Closed: not a real report.
    Spam,
}

impl Status {
    /// Every status, in workflow order.
    pub const ALL: [Status; 11] = [
        Status::Received,
        Status::Acknowledged,
        Status::Triaged,
        Status::Fixing,
        Status::Fixed,
        Status::Disclosed,
        Status::Duplicate,
        Status::OutOfScope,
        Status::NotApplicable,
        Status::WontFix,
        Status::Spam,
    ];

    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Acknowledged => "acknowledged",
            Status::Triaged => "triaged",
            Status::Fixing => "fixing",
            Status::Fixed => "fixed",
            Status::Disclosed => "disclosed",
            Status::Duplicate => "duplicate",
            Status::OutOfScope => "out-of-scope",
            Status::NotApplicable => "not-applicable",
            Status::WontFix => "wont-fix",
            Status::Spam => "spam",
        }
    }

    /// A sentence for the reporter's page.
    pub fn explain(self) -> &'static str {
        match self {
            Status::Received => "Your report is stored safely. The team has not answered yet.",
            Status::Acknowledged => "The team has confirmed it received your report.",
            Status::Triaged => "The team has verified and assessed the problem.",
            Status::Fixing => "A fix is being worked on.",
            Status::Fixed => "The problem is fixed; public disclosure follows.",
            Status::Disclosed => "The problem and its fix are public.",
            Status::Duplicate => "Closed: someone reported this problem before you.",
            Status::OutOfScope => "Closed: this is outside the programme's scope.",
            Status::NotApplicable => "Closed: the team found no vulnerability here.",
            Status::WontFix => "Closed: the team accepts this risk and plans no fix.",
            Status::Spam => "Closed.",
        }
    }

    /// Parses a status name as written by [`Status::as_str`].
    pub fn parse(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == name)
    }
}
