//! The team API's JSON shapes, shared by the server (`web`) and the client (`team`).
//! Everything here is ciphertext, random ids, recipients or counters: no plaintext of a
//! report ever crosses the API.
//!
//! | method and path                                   | body / answer                      |
//! |---------------------------------------------------|------------------------------------|
//! | `POST /api/v1/login/challenge`                    | [`ChallengeRequest`] → [`Challenge`] |
//! | `POST /api/v1/login`                              | [`LoginRequest`] → [`LoginResponse`] |
//! | `GET  /api/v1/team`                               | → [`TeamResponse`]                 |
//! | `GET  /api/v1/reports`                            | → [`ReportsResponse`]              |
//! | `GET  /api/v1/reports/{id}`                       | → [`ReportResponse`]               |
//! | `GET  /api/v1/feed?after=N&limit=M`               | → [`FeedResponse`]                 |
//! | `GET  /api/v1/reports/{id}/attachments/{blob}`    | → the attachment's age ciphertext  |
//! | `POST /api/v1/reports/{id}/events`                | an age file → [`AppendResponse`]   |
//! | `DELETE /api/v1/reports/{id}`                     | → 204                              |
//!
//! Errors are [`ErrorResponse`] with a 4xx or 5xx status. Bearer tokens go in
//! `Authorization: Bearer …`.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::store::ReportId;

/// Ask for a login challenge for one team recipient.
#[derive(Serialize, Deserialize, Debug)]
pub struct ChallengeRequest {
    /// The member's recipient exactly as in the keys file (`age1…`).
    pub recipient: String,
}

/// A login challenge: `agedrop-login-v1`, the server's origin and 32 random bytes,
/// sealed to the recipient (see `crypto::challenge_text`).
#[derive(Serialize, Deserialize, Debug)]
pub struct Challenge {
    /// Names this challenge in the login request (32 hex digits).
    pub challenge_id: String,
    /// The challenge, sealed with age to the recipient, base64.
    pub sealed: String,
}

/// Answer a challenge: with `answer` for a recipient the server sealed to, or with
/// `signature` for a plugin recipient (whose challenge is sealed to no one).
#[derive(Serialize, Deserialize, Default)]
pub struct LoginRequest {
    /// From [`Challenge::challenge_id`].
    pub challenge_id: String,
    /// SHA-256 of the answer label and the opened challenge, hex
    /// (`crypto::challenge_answer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The member's signature over the server's origin and the challenge id, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// A bearer token, held in the server's memory only.
#[derive(Serialize, Deserialize)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The member's name from the keys file.
    pub name: String,
}

/// One team member.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    /// Name from the keys file.
    pub name: String,
    /// Recipient from the keys file.
    pub recipient: String,
    /// Public signing key from the keys file (`agedropsig1…`), if listed.
    #[serde(default)]
    pub signing_key: Option<String>,
}

/// The team roster: who every team event must be sealed to.
#[derive(Serialize, Deserialize, Debug)]
pub struct TeamResponse {
    /// Every member, in keys-file order.
    pub members: Vec<TeamMember>,
    /// What the programme promises (`acknowledge_hours`, `assessment_days`,
    /// `update_days`, `embargo_days`; older servers send only the first and the last).
    #[serde(flatten)]
    pub promises: crate::report::Promises,
    /// The programme's canned closing texts (empty from older servers).
    #[serde(default)]
    pub closing: Option<crate::config::Closing>,
    /// The programme's name, which names its advisories (empty from older servers).
    #[serde(default)]
    pub programme: String,
}

/// What the server keeps in the clear about one report.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ReportSummary {
    /// Random report id (16 hex digits).
    pub id: ReportId,
    /// The reporter's recipient: seal replies and status changes to it too.
    pub reporter: String,
    /// Number of events in the thread.
    pub events: u32,
    /// Day of last activity, in days since the Unix epoch.
    pub last_day: u32,
}

/// Every report.
#[derive(Serialize, Deserialize, Debug)]
pub struct ReportsResponse {
    /// Reports in id order.
    pub reports: Vec<ReportSummary>,
}

/// One sealed event of a thread.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SealedEvent {
    /// Position in the thread.
    pub seq: u32,
    /// The age ciphertext, base64.
    pub sealed: String,
}

/// One report with every sealed event.
#[derive(Serialize, Deserialize, Debug)]
pub struct ReportResponse {
    /// The record.
    pub report: ReportSummary,
    /// Every event in order.
    pub events: Vec<SealedEvent>,
}

/// One entry of the feed: event `seq` of `report`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct FeedItem {
    /// Feed position; ask for entries after the last one seen.
    pub cursor: u64,
    /// The report.
    pub report: ReportId,
    /// The event's position in its thread.
    pub seq: u32,
    /// The age ciphertext, base64.
    pub sealed: String,
}

/// Events after a cursor, oldest first; only durable ones.
#[derive(Serialize, Deserialize, Debug)]
pub struct FeedResponse {
    /// The entries.
    pub items: Vec<FeedItem>,
    /// Pass as `after` to continue (equal to the request's `after` when empty).
    pub next: u64,
}

/// An appended event's position.
#[derive(Serialize, Deserialize, Debug)]
pub struct AppendResponse {
    /// Its sequence number in the thread.
    pub seq: u32,
}

/// Most events in one `POST /events` batch.
pub const BATCH_EVENTS: usize = 500;
/// Largest `POST /events` body, in bytes.
pub const BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Sealed events for several reports (`POST /events`), appended in one atomic, durable
/// batch: all of them or none.
#[derive(Serialize, Deserialize, Debug)]
pub struct BatchRequest {
    /// The events, in order.
    pub events: Vec<BatchEvent>,
}

/// One event of a batch.
#[derive(Serialize, Deserialize, Debug)]
pub struct BatchEvent {
    /// The report it belongs to.
    pub report: ReportId,
    /// The age-encrypted event, base64.
    pub sealed: String,
}

/// The appended events' positions, in the request's order.
#[derive(Serialize, Deserialize, Debug)]
pub struct BatchResponse {
    /// Each event's sequence number in its thread.
    pub seqs: Vec<u32>,
}

/// Every error.
#[derive(Serialize, Deserialize, Debug)]
pub struct ErrorResponse {
    /// What went wrong, for a person.
    pub error: String,
}

impl ReportSummary {
    /// The summary of a stored report.
    pub fn new(id: ReportId, record: crate::store::ReportRecord) -> Self {
        ReportSummary {
            id,
            reporter: record.reporter,
            events: record.events,
            last_day: record.last_day,
        }
    }
}

impl TeamResponse {
    /// The roster of a keys file, with the programme's promises, name and closing texts.
    pub fn new(
        keys: &crate::crypto::TeamKeys,
        promises: crate::report::Promises,
        programme: &str,
        closing: Option<crate::config::Closing>,
    ) -> Self {
        TeamResponse {
            members: keys
                .members()
                .iter()
                .map(|m| TeamMember {
                    name: m.name().to_string(),
                    recipient: m.recipient_text().to_string(),
                    signing_key: m.signing_key().map(|k| k.to_string()),
                })
                .collect(),
            promises,
            closing,
            programme: programme.to_string(),
        }
    }
}

/// Base64 for ciphertext in JSON.
pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Reads base64 ciphertext from JSON.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}
