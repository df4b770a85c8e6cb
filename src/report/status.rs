//! Where a report stands (the coordinated-disclosure states of ISO/IEC 30111 and CERT/CC's
//! Vultron model), why a closed one was closed, and the disclosure instant a status
//! change may carry. Statuses written by earlier agedrop versions read as their new
//! equivalents.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Where a report stands. The command line takes the same names as JSON
/// ([`Status::as_str`]).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Stored; not yet assessed (it may have been acknowledged).
    #[default]
    #[value(alias = "acknowledged")]
    Received,
    /// The team asked the reporter a question, shown prominently on their page.
    NeedsMoreInformation,
    /// Verified: a real vulnerability in scope.
    #[value(alias = "triaged")]
    Valid,
    /// Accepted: a fix is being worked on.
    #[value(alias = "fixing")]
    Accepted,
    /// A fix is ready, not yet public.
    #[value(alias = "fixed")]
    FixReady,
    /// Published.
    Disclosed,
    /// Closed, with a [`Reason`].
    Closed,
}

/// Why a report was closed.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Someone reported the same problem before.
    Duplicate,
    /// Outside the programme's scope.
    OutOfScope,
    /// Not a vulnerability here (working as designed, or no security impact).
    NotAVulnerability,
    /// The problem is in another vendor's product.
    OtherVendor,
    /// A real problem the team accepts and will not fix.
    WontFix,
    /// Not a real report.
    Spam,
}

impl Status {
    /// Every status, in workflow order.
    pub const ALL: [Status; 7] = [
        Status::Received,
        Status::NeedsMoreInformation,
        Status::Valid,
        Status::Accepted,
        Status::FixReady,
        Status::Disclosed,
        Status::Closed,
    ];

    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::NeedsMoreInformation => "needs-more-information",
            Status::Valid => "valid",
            Status::Accepted => "accepted",
            Status::FixReady => "fix-ready",
            Status::Disclosed => "disclosed",
            Status::Closed => "closed",
        }
    }

    /// How the status reads for people.
    pub fn label(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::NeedsMoreInformation => "needs more information",
            Status::Valid => "valid",
            Status::Accepted => "accepted: fix in progress",
            Status::FixReady => "fix ready",
            Status::Disclosed => "disclosed",
            Status::Closed => "closed",
        }
    }

    /// A sentence for the reporter's page.
    pub fn explain(self) -> &'static str {
        match self {
            Status::Received => "Your report is stored safely and waits for the team's assessment.",
            Status::NeedsMoreInformation => {
                "The team needs more information from you to assess the report: see their question."
            }
            Status::Valid => "The team has verified the problem.",
            Status::Accepted => "The team has accepted the problem, and a fix is being worked on.",
            Status::FixReady => "A fix is ready; public disclosure follows as agreed.",
            Status::Disclosed => "The problem and its fix are public.",
            Status::Closed => "The team has closed the report.",
        }
    }

    /// Whether the team has assessed the report: any status but received.
    pub fn is_assessment(self) -> bool {
        self != Status::Received
    }

    /// Whether the report is still being worked on (not disclosed or closed).
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Disclosed | Status::Closed)
    }

    /// Parses a status name, as written now or by an earlier agedrop: the old names map
    /// onto the new states (an old closing status gives its reason too).
    pub fn parse(name: &str) -> Option<(Status, Option<Reason>)> {
        if let Some(status) = Status::ALL.into_iter().find(|s| s.as_str() == name) {
            return Some((status, None));
        }
        let closed = |reason| Some((Status::Closed, Some(reason)));
        match name {
            "acknowledged" => Some((Status::Received, None)),
            "triaged" => Some((Status::Valid, None)),
            "fixing" => Some((Status::Accepted, None)),
            "fixed" => Some((Status::FixReady, None)),
            "duplicate" => closed(Reason::Duplicate),
            "out-of-scope" => closed(Reason::OutOfScope),
            "not-applicable" => closed(Reason::NotAVulnerability),
            "wont-fix" => closed(Reason::WontFix),
            "spam" => closed(Reason::Spam),
            _ => None,
        }
    }
}

impl Reason {
    /// The name used on the command line, in config and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Duplicate => "duplicate",
            Reason::OutOfScope => "out-of-scope",
            Reason::NotAVulnerability => "not-a-vulnerability",
            Reason::OtherVendor => "other-vendor",
            Reason::WontFix => "wont-fix",
            Reason::Spam => "spam",
        }
    }

    /// A sentence for the reporter's page.
    pub fn explain(self) -> &'static str {
        match self {
            Reason::Duplicate => "Someone reported this problem before you.",
            Reason::OutOfScope => "This is outside the programme's scope.",
            Reason::NotAVulnerability => "The team found no vulnerability here.",
            Reason::OtherVendor => {
                "The problem is in another vendor's product; please report it to them."
            }
            Reason::WontFix => "The team accepts this risk and plans no fix.",
            Reason::Spam => "This was not a vulnerability report.",
        }
    }
}

/// An instant: `YYYY-MM-DD` (00:00 UTC) or RFC 3339 (`2027-03-01T15:00Z`, seconds
/// optional, any offset, kept in UTC).
pub fn parse_instant(text: &str) -> Option<time::OffsetDateTime> {
    let text = text.trim();
    if let Ok(day) = time::Date::parse(text, DAY) {
        return Some(day.midnight().assume_utc());
    }
    if let Ok(at) =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    {
        return Some(at.to_offset(time::UtcOffset::UTC));
    }
    // RFC 3339 without seconds, as people write it: 2027-03-01T15:00Z.
    let with_seconds = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix('z'))
        .filter(|t| t.len() == 16)
        .map(|t| format!("{t}:00Z"))?;
    time::OffsetDateTime::parse(
        &with_seconds,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()
}

/// An instant as RFC 3339 in UTC.
pub fn format_instant(at: time::OffsetDateTime) -> String {
    crate::text::rfc3339(at.unix_timestamp()).unwrap_or_default()
}

/// A calendar day as `YYYY-MM-DD`.
pub const DAY: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// An instant, written as RFC 3339; read from RFC 3339 or a day.
pub(super) mod instant {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &time::OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_instant(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<time::OffsetDateTime, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        super::parse_instant(&text)
            .ok_or_else(|| serde::de::Error::custom("not a day or an RFC 3339 time"))
    }
}

/// An optional instant, written as RFC 3339 or `""`; read from `""`, a day
/// (`YYYY-MM-DD`, as agedrop wrote it before instants) or RFC 3339.
pub(super) mod instant_or_empty {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        at: &Option<time::OffsetDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&super::format_instant(*at)),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<time::OffsetDateTime>, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        if text.is_empty() {
            return Ok(None);
        }
        super::parse_instant(&text)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("not a day or an RFC 3339 time"))
    }
}

/// A change of status by a team member.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(try_from = "StatusChangeAsWritten")]
pub struct StatusChange {
    /// The member's name.
    pub author: String,
    /// The new status.
    #[zeroize(skip)]
    pub status: Status,
    /// A note shown with the change: for `needs-more-information`, the team's question.
    #[serde(default)]
    pub note: String,
    /// The planned public disclosure instant the team sets (RFC 3339 in the event; `""`
    /// when not set; a day, `YYYY-MM-DD`, in events agedrop wrote before instants).
    #[serde(default, with = "instant_or_empty")]
    #[zeroize(skip)]
    pub disclosure: Option<time::OffsetDateTime>,
    /// Why it was closed, for `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[zeroize(skip)]
    pub reason: Option<Reason>,
    /// For a duplicate: the public advisory of the earlier report, if the team shows it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub advisory: String,
}

/// A status change as any agedrop version wrote it (old status names carry their
/// closing reason in the name).
#[derive(Deserialize)]
struct StatusChangeAsWritten {
    author: String,
    status: String,
    #[serde(default)]
    note: String,
    #[serde(default, with = "instant_or_empty")]
    disclosure: Option<time::OffsetDateTime>,
    #[serde(default)]
    reason: Option<Reason>,
    #[serde(default)]
    advisory: String,
}

impl TryFrom<StatusChangeAsWritten> for StatusChange {
    type Error = String;

    fn try_from(w: StatusChangeAsWritten) -> Result<Self, String> {
        let (status, legacy) =
            Status::parse(&w.status).ok_or_else(|| "unknown status".to_string())?;
        Ok(StatusChange {
            author: w.author,
            status,
            note: w.note,
            disclosure: w.disclosure,
            reason: w.reason.or(legacy),
            advisory: w.advisory,
        })
    }
}

/// A reporter's proposal of a public disclosure instant (the team's instant stands
/// until a member sets another).
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Proposal {
    /// The instant proposed.
    #[serde(with = "instant")]
    #[zeroize(skip)]
    pub disclosure: time::OffsetDateTime,
    /// Why, in the reporter's words.
    #[serde(default)]
    pub note: String,
}
