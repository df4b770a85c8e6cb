//! `[limits]`: every resource bound, each declared once with its unit, range and reason;
//! the defaults are in [`Limits::default`] and shown in `deploy/agedrop.example.toml`.

use serde::Deserialize;

use super::units::{BytesPerSecond, Count, Kib, Mib, PerMinute, Seconds};

/// Resource limits. The example config explains each at more length.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// All attachments of one report together. Proof-of-concept videos and memory dumps
    /// are large; 1 GiB covers nearly all without letting one upload fill a disk.
    pub max_upload_mib: Mib,
    /// One attachment; at most `max_upload_mib`.
    pub max_file_mib: Mib,
    /// Attachments in one report; more can be added later with the receipt code.
    pub max_files: Count<0, 1000>,
    /// Each long text field (description, steps, ...): 64 KiB is about 30 pages; at most
    /// 1 MiB a field.
    pub max_text_kib: Kib<1, 1024>,
    /// Each one-line field (title, product, versions, contact, credit), in characters.
    pub max_line_chars: Count,
    /// How long an upload may pause before it is dropped: a slow upload over Tor that
    /// keeps moving is never cut off, one that stalls does not hold a connection for ever.
    pub idle_timeout_seconds: Seconds,
    /// How long a client may take to send a request's headers (slowloris).
    pub header_timeout_seconds: Seconds,
    /// Page requests handled at once; more get a "busy, try again" page, not a queue.
    pub max_concurrent_requests: Count,
    /// Uploads at once, apart from pages and the team API, so that slow uploads (which
    /// may take long) never lock anyone else out.
    pub max_concurrent_uploads: Count,
    /// Team API requests at once.
    pub max_concurrent_api: Count,
    /// How long any request other than an upload may take in all (a trickled body too).
    pub request_timeout_seconds: Seconds,
    /// The slowest average an upload may keep over each `upload_rate_window_seconds`
    /// before its slot is freed, so that trickling a byte a second into every slot cannot
    /// shut the drop-box; 2 KiB/s is well below a slow Tor circuit. 0: no minimum.
    pub min_upload_bytes_per_second: BytesPerSecond,
    /// The window an upload's rate is measured over.
    pub upload_rate_window_seconds: Seconds,
    /// New reports a minute across everyone (behind Tor every visitor is 127.0.0.1, so
    /// there is no per-address state); taken only by a whole, well-formed report.
    pub submissions_per_minute: PerMinute,
    /// Follow-ups a minute for each report, so no reporter's follow-ups hold up
    /// another's.
    pub follow_ups_per_minute: PerMinute,
    /// Receipt codes that open nothing, a minute across everyone: bounds the work an
    /// attacker can cause (guessing 128 random bits is hopeless anyway).
    pub receipt_attempts_per_minute: PerMinute,
    /// Largest size of the data folder; 0 for no limit. New reports are refused once it
    /// is reached; nothing stored is touched.
    pub storage_max_mib: Mib<0>,
    /// Free disk space always kept: a full disk stops the database from writing at all.
    pub storage_min_free_mib: Mib<0>,
    /// A file kept in the data folder and deleted if storage ever fails, to give the
    /// database room to start again.
    pub storage_reserve_mib: Mib<0>,
    /// A reporter's session ends after this long without a request; at most
    /// `session_max_seconds`.
    pub session_idle_seconds: Seconds,
    /// ...and in any case this long after it began (sessions live in memory only).
    pub session_max_seconds: Seconds,
    /// Sessions held at once; the oldest is ended to make room.
    pub max_sessions: Count,
    /// How long a team member's API token lasts; the CLI logs in again by itself.
    pub team_token_seconds: Seconds,
    /// Login challenges a minute for each recipient asked about, so a flood for others
    /// never delays a member, and the answers never tell who is one.
    pub team_logins_per_minute: PerMinute,
    /// Largest sealed event (reply, status, note) a team member may add.
    pub max_event_kib: Kib,
    /// A report with no activity for this many days is purged, whole (the server
    /// checks hourly, by the coarse day it keeps in the clear). 0: never (the default:
    /// a team decides how long it keeps reports, and says so on its reporters' pages).
    pub retention_days: Count<0, 36_500>,
}

impl Default for Limits {
    /// The defaults the example config shows (a test holds them equal).
    fn default() -> Self {
        Limits {
            max_upload_mib: Mib::of::<1024>(),
            max_file_mib: Mib::of::<1024>(),
            max_files: Count::of::<20>(),
            max_text_kib: Kib::of::<64>(),
            max_line_chars: Count::of::<300>(),
            idle_timeout_seconds: Seconds::of::<60>(),
            header_timeout_seconds: Seconds::of::<30>(),
            max_concurrent_requests: Count::of::<128>(),
            max_concurrent_uploads: Count::of::<32>(),
            max_concurrent_api: Count::of::<32>(),
            request_timeout_seconds: Seconds::of::<60>(),
            min_upload_bytes_per_second: BytesPerSecond::of(2048),
            upload_rate_window_seconds: Seconds::of::<60>(),
            submissions_per_minute: PerMinute::of::<20>(),
            follow_ups_per_minute: PerMinute::of::<30>(),
            receipt_attempts_per_minute: PerMinute::of::<60>(),
            storage_max_mib: Mib::of::<0>(),
            storage_min_free_mib: Mib::of::<1024>(),
            storage_reserve_mib: Mib::of::<64>(),
            session_idle_seconds: Seconds::of::<{ 15 * 60 }>(),
            session_max_seconds: Seconds::of::<{ 2 * 60 * 60 }>(),
            max_sessions: Count::of::<10_000>(),
            team_token_seconds: Seconds::of::<{ 60 * 60 }>(),
            team_logins_per_minute: PerMinute::of::<300>(),
            max_event_kib: Kib::of::<1024>(),
            retention_days: Count::of::<0>(),
        }
    }
}

impl Limits {
    /// Largest request body accepted: the uploads plus room for the text fields and
    /// multipart framing.
    pub fn max_body_bytes(&self) -> u64 {
        let text = 16 * self.max_text_kib.bytes() as u64;
        self.max_upload_mib
            .bytes()
            .saturating_add(text)
            .saturating_add(1024 * 1024)
    }
}
