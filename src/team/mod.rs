//! The team's side: identities and signing keys, the pinned roster, opening and
//! verifying threads locally, writing and signing team events, writing attachments
//! safely, and the local reader behind `agedrop open`. Team identities exist only here.

mod bundle;
mod client;
mod desk;
mod download;
mod files;
mod grant;
mod identity;
mod thread;
mod local;
mod post;
mod print;
mod roster;
mod settings;
mod trust;

pub use crate::text::terminal_safe;
pub use bundle::{Bundle, BundleIndex, Promises, export};
pub use client::{TeamClient, server_origin};
pub use desk::{Desk, ListItem, Shown, ShownEvent, Source, rfc3339};
pub use download::{Written, max_ciphertext};
pub use files::{safe_file_name, write_attachment};
pub use grant::{GrantSummary, ROUND as GRANT_ROUND};
pub use identity::{Identities, Terminal};
pub use thread::{EventState, OpenedEvent, Opener, Thread};
pub use local::LocalInbox;
pub use post::Posted;
pub use print::{print_list, print_thread};
pub use roster::{Change, Pins, Roster, describe as describe_member};
pub use settings::{Resolved, Seen, config_path, resolve};
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
    /// No report, or more than one, matches the id given.
    #[error("{0}")]
    UnknownReport(String),
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
