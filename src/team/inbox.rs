//! Where the desk's reports come from: a live server ([`super::TeamClient`], in
//! `server.rs`), an offline bundle ([`super::Bundle`]) or a data folder copied from the
//! server ([`super::LocalInbox`]). Each source decodes its own threads and streams its
//! own attachments; the desk only asks. Every id a source hands on was parsed, so it is
//! exactly an id; what the ids point at is still the source's word, and the desk checks
//! it (signatures, the pinned roster, sealed sizes and hashes).

use std::path::PathBuf;

use async_trait::async_trait;

use crate::api::{self, ReportSummary, TeamMember};
use crate::config::Closing;
use crate::crypto::Sealed;
use crate::report::Promises;
use crate::store::ReportId;

use super::files::Download;
use super::{TeamClient, TeamError};

/// One report as its source holds it: the reporter's recipient and every sealed event.
pub struct SealedReport {
    /// The report's id.
    pub id: ReportId,
    /// The reporter's recipient, as the server keeps it in the clear.
    pub reporter: String,
    /// Every event, in order; `None` where the bytes are not an age file (shown as
    /// unreadable).
    pub events: Vec<(u32, Option<Sealed>)>,
}

/// The programme as its advisories name it: the server's word, unchecked (it only names
/// exports, and is made safe where it is used).
#[derive(Default)]
pub struct Publisher {
    /// The programme's name; empty where the source does not say (older servers).
    pub name: String,
    /// The server's public origin, if known.
    pub origin: Option<String>,
}

/// A source of reports for the desk.
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Where this source's roster is pinned: a server's origin; `bundle:` and the
    /// bundle's origin (so that a bundle never plants a pin for a server); `data`.
    fn roster_key(&self) -> String;

    /// The source's own roster, unchecked; `None` for a source that carries none.
    async fn roster(&self) -> Result<Option<Vec<TeamMember>>, TeamError>;

    /// What the programme promises, if this source knows it (`None`: no deadline beats
    /// a wrong one).
    async fn promises(&self) -> Result<Option<Promises>, TeamError>;

    /// The programme's canned closing texts, if this source carries them.
    async fn closing(&self) -> Result<Option<Closing>, TeamError> {
        Ok(None)
    }

    /// Who publishes the programme's advisories, as far as this source knows (a data
    /// folder does not).
    async fn publisher(&self) -> Result<Publisher, TeamError> {
        Ok(Publisher::default())
    }

    /// Every report's clear-text record.
    async fn summaries(&self) -> Result<Vec<ReportSummary>, TeamError>;

    /// One report and its sealed events.
    async fn report(&self, id: ReportId) -> Result<SealedReport, TeamError>;

    /// Decrypts one attachment into its target, never reading more ciphertext than the
    /// target's sealed size allows.
    async fn write_attachment(&self, job: Download) -> Result<PathBuf, TeamError>;

    /// The logged-in client, for the commands that change a server.
    fn server(&self) -> Option<&TeamClient> {
        None
    }

    /// For a bundle: the origin of the server it was exported from.
    fn exported_from(&self) -> Option<&str> {
        None
    }
}

/// Decodes the sealed events of a report as the team API and bundles carry them, in
/// order; each is checked to be an age file (`None` where it is not).
pub(super) fn decode_events(
    id: ReportId,
    events: &[api::SealedEvent],
) -> Result<Vec<(u32, Option<Sealed>)>, TeamError> {
    if events.windows(2).any(|w| w[0].seq >= w[1].seq) {
        return Err(TeamError::OutOfOrder(id));
    }
    events
        .iter()
        .map(|e| {
            api::decode(&e.sealed)
                .map(|bytes| (e.seq, Sealed::parse(bytes).ok()))
                .ok_or_else(|| TeamError::Hostile(format!("report {id}: an event is not base64")))
        })
        .collect()
}

/// The one report among `ids` whose id starts with `prefix` (at least four hex digits,
/// any case, surrounding blanks ignored).
pub fn resolve_prefix(
    prefix: &str,
    ids: impl IntoIterator<Item = ReportId>,
) -> Result<ReportId, TeamError> {
    let prefix = prefix.trim().to_ascii_lowercase();
    let shown = crate::text::excerpt(&prefix, 40);
    if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(TeamError::NoSuchReport(shown));
    }
    let matches: Vec<ReportId> = ids
        .into_iter()
        .filter(|id| id.to_string().starts_with(&prefix))
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(TeamError::NoSuchReport(shown)),
        _ => Err(TeamError::AmbiguousReport {
            prefix: shown,
            matches: matches.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(hex: &str) -> ReportId {
        hex.parse().unwrap()
    }

    #[test]
    fn a_prefix_names_one_report_or_says_why_not() {
        let ids = [
            id("abcd000000000001"),
            id("abcd000000000002"),
            id("ffff000000000000"),
        ];
        assert_eq!(resolve_prefix(" FFFF ", ids).unwrap(), ids[2]);
        assert_eq!(resolve_prefix("abcd000000000002", ids).unwrap(), ids[1]);
        assert!(matches!(
            resolve_prefix("abcd", ids),
            Err(TeamError::AmbiguousReport { matches: 2, .. })
        ));
        for bad in ["abc", "zzzz", "0000", "", "ab\u{1b}d"] {
            assert!(
                matches!(resolve_prefix(bad, ids), Err(TeamError::NoSuchReport(_))),
                "{bad:?}"
            );
        }
    }
}
