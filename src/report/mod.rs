//! The event model: what is inside each sealed event of a report's thread, and how
//! it is written to bytes before sealing.
//!
//! Plaintext types here have no `Debug` and no `Clone`, and wipe their text on drop.
//! They serialise (to the bytes that get sealed, and to the team CLI's `--json`), so
//! they must never be handed to a logger or to a server response.
//!
//! An event the server writes for the reporter is sealed as it is; an event a member
//! writes is sealed inside a signed envelope (`signed`).

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

mod advisory;
mod promises;
mod review;
mod signed;
mod status;
mod submission;

pub use advisory::{
    Advisory, AdvisoryComment, AdvisoryCredit, Affected, CreditDecision, CreditType, Decision,
    Scored, describe_severity, is_contact_url, score,
};
pub use promises::{Deadline, Progress, Promise, Promises, countdown};
pub use review::{Answer, CreditState, Review, Revision};
pub use signed::{Opened, Signed};
pub use status::{DAY, Proposal, Reason, Status, StatusChange, format_instant, parse_instant};
pub use submission::{Credit, OTHER_ASSET, Severity, Submission, weakness};

/// Version of the plaintext encoding inside every sealed event.
const FORMAT_VERSION: u8 = 1;

/// One entry in a report's thread, as sealed.
#[derive(Serialize, Deserialize)]
pub struct Event {
    v: u8,
    /// When it happened, in seconds since the Unix epoch (UTC).
    pub at: i64,
    /// What happened.
    pub body: EventBody,
}

/// The kinds of event in a thread (see the design's table).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventBody {
    /// The report itself, written by the server at submission.
    Submitted(Box<Submission>),
    /// One attached file, written by the server.
    Attachment(Attachment),
    /// A message from the reporter.
    Message(Text),
    /// A reply from a team member, sealed on their machine.
    Reply(Text),
    /// A status change from a team member.
    Status(StatusChange),
    /// An internal note, sealed to the team only.
    Note(Text),
    /// A member gives another member the keys to earlier events, sealed to the team only.
    Grant(Grant),
    /// The reporter proposes another public disclosure instant.
    Proposal(Proposal),
    /// A revision of the advisory draft, from a team member.
    Advisory(Box<Advisory>),
    /// The reporter's comment on a revision of the advisory draft.
    AdvisoryComment(AdvisoryComment),
    /// The reporter's answer to the credit a revision offers them.
    CreditDecision(CreditDecision),
}

/// One attached file's metadata; its bytes are a separate sealed stream (the blob).
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Attachment {
    /// The file name the reporter's browser sent.
    pub name: String,
    /// The media type the browser sent.
    pub media_type: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
    /// The blob holding the sealed bytes, hex.
    pub blob: String,
    /// The key the blob is sealed to, alone (`AGE-SECRET-KEY-1…`): opening this event is
    /// what opens the file, so granting it re-seals this event, never the file. Empty in
    /// attachments stored before files had keys of their own (then the blob is sealed to
    /// the team and the reporter, as the event is).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
}

/// A member giving another member of the pinned roster the keys to earlier events of a
/// report (and to attachments stored before files had keys of their own). The team sees
/// who granted what to whom; only the grantee can open the keys.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Grant {
    /// The granting member's name.
    pub author: String,
    /// The grantee's name in the granting member's pinned roster.
    pub name: String,
    /// The grantee's recipient, canonical.
    pub to: String,
    /// The events whose keys it holds.
    pub events: Vec<u32>,
    /// The attachments (blob ids) whose keys it holds.
    #[serde(default)]
    pub blobs: Vec<String>,
    /// The keys ([`GrantKeys`] as JSON), sealed to the grantee alone, base64.
    pub keys: String,
}

/// What only the grantee of a [`Grant`] can open.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop, Default)]
pub struct GrantKeys {
    /// One key per event.
    pub events: Vec<GrantedEvent>,
    /// One key per attachment stored before files had keys of their own.
    #[serde(default)]
    pub blobs: Vec<GrantedBlob>,
}

/// The key to one earlier event.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct GrantedEvent {
    /// Its position in the thread.
    pub seq: u32,
    /// SHA-256 of its sealed bytes as the granting member saw them, hex: the grantee
    /// uses the key only on exactly those bytes.
    pub sealed_sha256: String,
    /// Its age file key, base64.
    pub key: String,
}

/// The key to one attachment stream.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct GrantedBlob {
    /// The blob id, hex.
    pub blob: String,
    /// Its age file key, base64.
    pub key: String,
}

/// A message, reply or note.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Text {
    /// Who wrote it: empty for the reporter, the member's name for the team.
    #[serde(default)]
    pub author: String,
    /// The text.
    pub text: String,
}

impl Event {
    /// A new event at time `at`.
    pub fn new(at: i64, body: EventBody) -> Self {
        Event {
            v: FORMAT_VERSION,
            at,
            body,
        }
    }

    /// The bytes to seal for an event the server writes; wiped when dropped.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        exact_json(self)
    }

    /// Reads the bytes of an opened event that carries no envelope.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let event: Event = serde_json::from_slice(bytes).map_err(|_| DecodeError::Malformed)?;
        if event.v != FORMAT_VERSION {
            return Err(DecodeError::Version(event.v));
        }
        Ok(event)
    }
}

/// An event as a script sees it (`--json`): as sealed, but without an attachment
/// stream's key. Output ends up in tickets and logs, and the key would open the stream
/// wherever its ciphertext is (a backup, a copied data folder).
pub struct ForScripts<'a>(pub &'a Event);

impl Serialize for ForScripts<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut event = s.serialize_struct("Event", 3)?;
        event.serialize_field("v", &self.0.v)?;
        event.serialize_field("at", &self.0.at)?;
        match &self.0.body {
            EventBody::Attachment(a) => event.serialize_field(
                "body",
                &AttachmentBody {
                    attachment: AttachmentView(a),
                },
            )?,
            body => event.serialize_field("body", body)?,
        }
        event.end()
    }
}

#[derive(Serialize)]
struct AttachmentBody<'a> {
    attachment: AttachmentView<'a>,
}

struct AttachmentView<'a>(&'a Attachment);

impl Serialize for AttachmentView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let a = self.0;
        let mut out = s.serialize_struct("Attachment", 5)?;
        out.serialize_field("name", &a.name)?;
        out.serialize_field("media_type", &a.media_type)?;
        out.serialize_field("size", &a.size)?;
        out.serialize_field("sha256", &a.sha256)?;
        out.serialize_field("blob", &a.blob)?;
        out.end()
    }
}

/// JSON of `value` in a buffer sized exactly first, so that growing it never leaves an
/// unwiped copy of the plaintext behind; wiped when dropped.
pub(crate) fn exact_json<T: Serialize>(value: &T) -> Zeroizing<Vec<u8>> {
    let mut counter = Counter(0);
    // Serialising owned strings and integers cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    let mut out = Zeroizing::new(Vec::with_capacity(counter.0));
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.clear();
    }
    out
}

/// Counts the bytes written to it.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An opened event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not the JSON this version writes.
    #[error("the event is malformed")]
    Malformed,
    /// Written by a newer agedrop.
    #[error("the event uses format version {0}, which this agedrop does not know")]
    Version(u8),
}

/// "1 GiB", "5 MiB", "300 KiB", "12 bytes".
pub fn human_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let value = bytes as f64 / size as f64;
            return if bytes.is_multiple_of(size) {
                format!("{} {unit}", bytes / size)
            } else {
                format!("{value:.1} {unit}")
            };
        }
    }
    if bytes == 1 {
        "1 byte".into()
    } else {
        format!("{bytes} bytes")
    }
}

/// A Unix time as shown to people: `2026-11-23 19:50 UTC`.
pub fn human_time(at: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "unknown time".into())
}

pub use crate::clock::now;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let mut s = Submission::default();
        s.title = "XSS".into();
        s.credit.handle = "@finder".into();
        let bytes = Event::new(5, EventBody::Submitted(Box::new(s))).encode();
        let back = Event::decode(&bytes).unwrap();
        assert_eq!(back.at, 5);
        match back.body {
            EventBody::Submitted(s) => {
                assert_eq!(s.title, "XSS");
                assert_eq!(s.credit.describe(), "@finder");
            }
            _ => panic!("wrong kind"),
        }
        let status = Event::new(
            6,
            EventBody::Status(StatusChange {
                author: "A".into(),
                status: Status::Closed,
                note: String::new(),
                disclosure: parse_instant("2027-03-01T15:00Z"),
                reason: Some(Reason::OutOfScope),
                advisory: String::new(),
            }),
        );
        let text = String::from_utf8(status.encode().to_vec()).unwrap();
        assert!(text.contains("\"closed\""), "{text}");
        assert!(text.contains("\"out-of-scope\""), "{text}");
        assert!(text.contains("\"2027-03-01T15:00:00Z\""), "{text}");
        assert!(Event::decode(b"{}").is_err());
    }

    #[test]
    fn status_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some((s, None)));
        }
        assert_eq!(Status::parse("done"), None);
    }

    /// Events written before the coordinated-disclosure states read as the new states,
    /// an old closing name giving its reason, and an old date as 00:00 UTC.
    #[test]
    fn old_statuses_map_onto_the_new_states() {
        for (old, status, reason) in [
            ("received", Status::Received, None),
            ("acknowledged", Status::Received, None),
            ("triaged", Status::Valid, None),
            ("fixing", Status::Accepted, None),
            ("fixed", Status::FixReady, None),
            ("disclosed", Status::Disclosed, None),
            ("duplicate", Status::Closed, Some(Reason::Duplicate)),
            ("out-of-scope", Status::Closed, Some(Reason::OutOfScope)),
            (
                "not-applicable",
                Status::Closed,
                Some(Reason::NotAVulnerability),
            ),
            ("wont-fix", Status::Closed, Some(Reason::WontFix)),
            ("spam", Status::Closed, Some(Reason::Spam)),
        ] {
            let json = format!(
                r#"{{"v":1,"at":7,"body":{{"status":{{"author":"A","status":"{old}","disclosure":"2027-03-01"}}}}}}"#
            );
            let event = Event::decode(json.as_bytes()).unwrap();
            let EventBody::Status(change) = &event.body else {
                panic!("not a status change")
            };
            assert_eq!((change.status, change.reason), (status, reason), "{old}");
            assert_eq!(change.disclosure, parse_instant("2027-03-01T00:00:00Z"));
        }
    }

    #[test]
    fn instants_read_as_people_write_them() {
        let at = |t: &str| parse_instant(t).map(|d| d.unix_timestamp());
        assert_eq!(at("2027-03-01"), at("2027-03-01T00:00:00Z"));
        assert_eq!(at("2027-03-01T15:00Z"), at("2027-03-01T15:00:00Z"));
        assert_eq!(at("2027-03-01T16:00:00+01:00"), at("2027-03-01T15:00:00Z"));
        for bad in ["", "tomorrow", "2027-13-01", "2027-03-01T25:00Z"] {
            assert!(parse_instant(bad).is_none(), "{bad}");
        }
    }
}
