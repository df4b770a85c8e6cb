//! The sealing half of `grant`: which event keys a report still needs granted, the
//! grant events that carry them (signed, sealed to the team, the keys inside sealed to
//! the grantee alone), and the work spread over both cores.

use crate::api::TeamMember;
use crate::crypto::{self, FileKey, Sealed, SigningKey};
use crate::report::{Event, EventBody, Grant, GrantKeys, GrantedBlob, GrantedEvent, now};
use crate::store::ReportId;

use super::super::{TeamError, Thread};
use super::KEYS_PER_GRANT;

/// How one report went.
pub(super) enum Outcome {
    /// This member can open nothing of it.
    Nothing,
    /// Earlier verified grants already cover everything this member can open.
    Covered,
    /// New grant events.
    New {
        id: ReportId,
        sealed: Vec<Sealed>,
        events: usize,
        attachments: usize,
    },
}

/// The keys of `thread`'s events that verified grants to `recipient` do not cover yet
/// (grants aside: the grantee gets grants of their own), and how many events this member
/// could open at all.
pub(super) fn events_to_grant(
    thread: &Thread,
    recipient: &str,
) -> (usize, Vec<(u32, [u8; 32], FileKey)>) {
    let (covered, _) = thread.granted_to(recipient);
    let mut readable = 0;
    let mut keys = Vec::new();
    for e in &thread.events {
        let (Some(event), Some(key), Some(sha)) = (&e.event, &e.key, &e.sealed_sha256) else {
            continue;
        };
        if matches!(event.body, EventBody::Grant(_)) {
            continue;
        }
        readable += 1;
        if !covered.contains(&e.seq) {
            keys.push((e.seq, *sha, key.clone()));
        }
    }
    (readable, keys)
}

/// What every grant of one run is sealed and signed with.
pub(super) struct Sealing<'a> {
    /// The granting member's pinned name.
    pub(super) author: String,
    /// Whom the keys are for.
    pub(super) grantee: &'a TeamMember,
    /// The grantee's recipient: the keys are sealed to it alone.
    pub(super) to_grantee: &'a (dyn age::Recipient + Send + Sync),
    /// The pinned roster: the grant event is sealed to it.
    pub(super) team: Vec<&'a (dyn age::Recipient + Send + Sync)>,
    /// The granting member's signing key.
    pub(super) key: &'a SigningKey,
}

impl Sealing<'_> {
    /// The grant events for report `id`: the keys sealed to the grantee alone, inside an
    /// event signed by the member and sealed to the team; several for a long thread.
    pub(super) fn seal(
        &self,
        id: ReportId,
        readable: usize,
        events: Vec<(u32, [u8; 32], FileKey)>,
        blobs: Vec<(String, FileKey)>,
    ) -> Result<Outcome, TeamError> {
        if readable == 0 {
            return Ok(Outcome::Nothing);
        }
        if events.is_empty() && blobs.is_empty() {
            return Ok(Outcome::Covered);
        }
        let (event_count, attachments) = (events.len(), blobs.len());
        let team: Vec<&dyn age::Recipient> = self.team.iter().map(|r| *r as _).collect();
        let mut sealed = Vec::new();
        let mut blobs = Some(blobs);
        let mut chunks: Vec<&[(u32, [u8; 32], FileKey)]> = events.chunks(KEYS_PER_GRANT).collect();
        if chunks.is_empty() {
            chunks.push(&[]); // attachments alone still need a grant
        }
        for chunk in chunks {
            let blobs = blobs.take().unwrap_or_default();
            let keys = GrantKeys {
                events: chunk
                    .iter()
                    .map(|(seq, sha, key)| GrantedEvent {
                        seq: *seq,
                        sealed_sha256: hex::encode(sha),
                        key: key.to_text().to_string(),
                    })
                    .collect(),
                blobs: blobs
                    .iter()
                    .map(|(blob, key)| GrantedBlob {
                        blob: blob.clone(),
                        key: key.to_text().to_string(),
                    })
                    .collect(),
            };
            let inner = crypto::seal(
                &[self.to_grantee as &dyn age::Recipient],
                &crate::report::exact_json(&keys),
            )?;
            drop(keys);
            let event = Event::new(
                now(),
                EventBody::Grant(Grant {
                    author: self.author.clone(),
                    name: self.grantee.name.clone(),
                    to: self.grantee.recipient.clone(),
                    events: chunk.iter().map(|(seq, _, _)| *seq).collect(),
                    blobs: blobs.into_iter().map(|(blob, _)| blob).collect(),
                    keys: crate::api::encode(inner.as_bytes()),
                }),
            );
            sealed.push(crypto::seal(
                &team,
                &event.encode_signed(&id.to_string(), self.key),
            )?);
        }
        Ok(Outcome::New {
            id,
            sealed,
            events: event_count,
            attachments,
        })
    }
}
