//! The team's side: the desk, over a live server, an offline bundle or a data folder
//! (one [`Inbox`] each, in `server.rs`, `bundle.rs` and `local.rs`); identities and
//! signing keys; the pinned roster; threads opened and verified locally (`thread/`);
//! writing, signing and granting team events; and the download pipeline that writes
//! attachments safely (`files.rs`); the advisory drafted with the reporter and its
//! exports (`advisory/`). Team identities exist only here.

mod advisory;
mod bundle;
mod cache;
mod client;
mod desk;
mod download;
mod files;
mod grant;
mod identity;
mod inbox;
mod local;
mod post;
mod print;
mod roster;
mod scan;
mod server;
mod settings;
mod thread;
mod trust;

pub use crate::text::terminal_safe;
pub use advisory::{
    Acknowledged, AdvisoryView, Export, IgnoredAnswer, acknowledgements, osv_id, parse_draft,
    starting_draft, write_draft,
};
pub use bundle::{Bundle, BundleIndex, Exported, export};
pub use cache::cache_dir;
pub use client::{TeamClient, server_origin};
pub use desk::{Desk, ListItem, Shown, ShownEvent};
pub use download::Written;
pub use files::{Download, Target, max_ciphertext, safe_file_name, write_attachment};
pub use grant::{GrantSummary, ROUND as GRANT_ROUND};
pub use identity::{Identities, Terminal};
pub use inbox::{Inbox, Publisher, SealedReport, resolve_prefix};
pub use local::LocalInbox;
pub use post::{NewStatus, Posted};
pub use print::{print_list, print_thread};
pub use roster::{Change, Pins, Roster, describe as describe_member};
pub use settings::{Resolved, Seen, config_path, resolve};
pub use thread::{EventState, OpenedEvent, Opener, Thread};
pub use trust::RosterNews;

/// What can go wrong on the team's side. Messages say which file or id, and what was
/// expected.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// The identity file is missing or not an identity.
    #[error("{0}")]
    Identity(String),
    /// The server refused the login.
    #[error("{0}")]
    Login(String),
    /// The server could not be reached, or answered with an error.
    #[error("{0}")]
    Server(String),
    /// The server answered 404 to something it was asked for.
    #[error("{0}")]
    NotFound(String),
    /// No report has an id that starts with what was given.
    #[error("no report with id `{0}`; `list` shows the ids (give at least 4 hex digits)")]
    NoSuchReport(String),
    /// More than one report has an id that starts with what was given.
    #[error("`{prefix}` matches {matches} reports; give more of the id")]
    AmbiguousReport {
        /// What was given.
        prefix: String,
        /// How many reports it matches.
        matches: usize,
    },
    /// An attachment that is not part of the report, or not in the bundle.
    #[error("attachment {blob} is not part of report {report} here")]
    NoSuchAttachment {
        /// The report.
        report: crate::store::ReportId,
        /// The attachment.
        blob: crate::store::BlobId,
    },
    /// No member of the pinned roster has the name given.
    #[error(
        "no member `{0}` in your pinned roster; give a name or recipient as `agedrop team \
         trust` lists them (a new member must be in the keys file, and accepted with \
         `agedrop team trust`, first)"
    )]
    NoSuchMember(String),
    /// More than one member of the pinned roster has the name given.
    #[error("`{0}` names more than one member; give their recipient instead")]
    AmbiguousMember(String),
    /// A command that changes the server was run against a bundle or a data folder.
    #[error("this works only against a server (--server), not a bundle or a data folder")]
    NeedsServer,
    /// The server could not be reached.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server answered with an error.
    #[error("the server refused ({status}): {said}")]
    Refused {
        /// The HTTP status.
        status: String,
        /// What the server said, made safe.
        said: String,
    },
    /// An answer larger than the desk accepts for its kind.
    #[error("the server's answer is larger than the {0} the desk accepts for it; refused")]
    AnswerTooLarge(String),
    /// An answer that is not the JSON the API sends (an id that is not an id, too).
    #[error("the server's answer is not what the API sends ({0})")]
    NotTheApi(String),
    /// The server sent another report than the one asked for.
    #[error("asked for report {asked}, the server sent {sent}")]
    WrongReport {
        /// The report asked for.
        asked: crate::store::ReportId,
        /// The report sent.
        sent: crate::store::ReportId,
    },
    /// A report's events out of order.
    #[error("report {0}: its events are out of order")]
    OutOfOrder(crate::store::ReportId),
    /// The feed's cursor went backwards.
    #[error("the server's feed went backwards")]
    FeedBackwards,
    /// A batch answered with another number of positions than events sent.
    #[error("sent {sent} events, the server says it stored {stored}")]
    BatchMismatch {
        /// Events sent.
        sent: usize,
        /// Positions the server gave.
        stored: usize,
    },
    /// A download stopped before its end.
    #[error("the download broke off: {0}")]
    DownloadBroke(String),
    /// The file to write exists, and `--force` was not given.
    #[error("{0} already exists; use --force to overwrite it")]
    Exists(String),
    /// A worker thread of the desk failed (a bug).
    #[error("the {0} thread failed")]
    WorkerFailed(&'static str),
    /// A status change that makes no sense (closed without a reason, a question without
    /// text, …); nothing was sent.
    #[error("{0}; nothing was sent")]
    BadStatus(String),
    /// No member of the pinned roster signed an advisory for the report.
    #[error(
        "report {0} has no advisory that a member of your pinned roster signed; draft one with \
         `agedrop team advisory {0}`"
    )]
    NoAdvisory(crate::store::ReportId),
    /// An advisory that OSV or CSAF cannot carry; nothing was sent.
    #[error("{0}")]
    BadAdvisory(String),
    /// An attachment's stream is longer than its sealed size.
    #[error(
        "{0}: the attachment's stream is longer than its sealed size; stopped, and nothing of \
         it was kept"
    )]
    TooLong(String),
    /// The data folder could not be opened.
    #[error("cannot open the data folder {path}: {detail}")]
    Data {
        /// The folder.
        path: String,
        /// Why.
        detail: String,
    },
    /// Storage error while reading.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Decryption failed where it must not.
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// Writing a file failed.
    #[error("{0}")]
    Io(String),
    /// An attachment's bytes do not match the size and SHA-256 in its sealed metadata.
    #[error(
        "{name}: the decrypted file does not match its sealed size and SHA-256; it was removed"
    )]
    Mismatch {
        /// The file written.
        name: String,
    },
    /// The server sent what no honest server sends (a login challenge that is not one,
    /// a reporter key that is not the one sealed in the report).
    #[error("{0}")]
    Hostile(String),
    /// The source's team roster is not the one pinned; nothing was sealed.
    #[error("{0}")]
    RosterChanged(String),
}
