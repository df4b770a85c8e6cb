//! `grant`: a member who can read reports gives another member of the pinned roster the
//! keys to them, without re-encrypting anything. For each report, one `grant` event:
//! signed by the granting member, sealed to the pinned roster (team only, never the
//! reporter), naming the grantee and which events it covers; inside it, the events' own
//! age file keys (and those of attachments stored before files had keys of their own),
//! sealed to the grantee alone. The keys are taken as the granting member's desk opens
//! the events; nothing is decrypted on the server, and nothing but ciphertext leaves
//! this machine.
//!
//! Running it again skips what verified grants to the same member already cover, so an
//! interrupted run is finished by running it again.

use std::collections::HashSet;
use std::io::Read;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::api::TeamMember;
use crate::crypto::{self, FileKey};
use crate::report::{Event, EventBody, Grant, GrantKeys, GrantedBlob, GrantedEvent, now};

use super::desk::Desk;
use super::{TeamError, Thread};

/// How much of an attachment stream is read for its header (the key to a stream stored
/// before files had keys of their own): far more than a team's stanzas take.
const HEADER_BYTES: u64 = 64 * 1024;

/// Most event keys in one grant event, so that it stays far below the server's event
/// size limit; a longer thread gets several.
const KEYS_PER_GRANT: usize = 400;

/// What `grant` did, for `--json` and the summary line.
#[derive(Serialize, Default)]
pub struct GrantSummary {
    /// The grantee's name in the pinned roster.
    pub member: String,
    /// The grantee's recipient.
    pub recipient: String,
    /// Reports looked at.
    pub reports: usize,
    /// Reports that got a new grant event.
    pub granted: usize,
    /// Reports whose readable events earlier grants to this member already cover.
    pub already_granted: usize,
    /// Reports of which this member could open nothing to grant.
    pub nothing_to_grant: usize,
    /// Event keys granted.
    pub events: usize,
    /// Keys of attachments stored before files had keys of their own.
    pub attachments: usize,
    /// Ciphertext added on the server, in bytes (the grant events).
    pub bytes_added: u64,
    /// Things the member should know.
    pub warnings: Vec<String>,
}

impl Desk {
    /// The member of the pinned roster called `who`: their recipient, their name, or
    /// the first word of it (case-insensitive), when that names one member.
    fn grantee(&self, who: &str) -> Result<TeamMember, TeamError> {
        let roster = self.sealing_roster()?;
        let wanted = who.trim();
        let canonical = crypto::canonical_recipient(wanted).ok();
        let members = roster.members();
        let first_word = |m: &TeamMember| m.name.split_whitespace().next().map(str::to_string);
        let mut found: Vec<&TeamMember> = members
            .iter()
            .filter(|m| {
                Some(&m.recipient) == canonical.as_ref() || m.name.eq_ignore_ascii_case(wanted)
            })
            .collect();
        if found.is_empty() {
            found = members
                .iter()
                .filter(|m| first_word(m).is_some_and(|w| w.eq_ignore_ascii_case(wanted)))
                .collect();
        }
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(TeamError::UnknownReport(format!(
                "no member `{}` in your pinned roster; give a name or recipient as `agedrop \
                 team trust` lists them (a new member must be in the keys file, and accepted \
                 with `agedrop team trust`, first)",
                crate::text::excerpt(wanted, 60)
            ))),
            _ => Err(TeamError::UnknownReport(format!(
                "`{}` names more than one member; give their recipient instead",
                crate::text::excerpt(wanted, 60)
            ))),
        }
    }

    /// Grants `who` the reports `ids` (full ids; all of them when `None`). `progress` is
    /// called after each report with (done, total).
    pub async fn grant(
        &self,
        who: &str,
        ids: Option<Vec<String>>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<GrantSummary, TeamError> {
        let client = self.client()?;
        let grantee = self.grantee(who)?;
        let roster = self.sealing_roster()?;
        let mut summary = GrantSummary {
            member: grantee.name.clone(),
            recipient: grantee.recipient.clone(),
            ..GrantSummary::default()
        };
        let key = self
            .identities
            .signing_key()
            .ok_or_else(|| self.identities.no_signing_key())?;
        let author = match roster.signer(&key.public().to_string()) {
            Some((name, _)) => name.to_string(),
            None => {
                return Err(TeamError::Identity(
                    "your signing key is not in your pinned roster, so the grantee's desk would \
                     not trust your grant; give whoever keeps the keys file the line `agedrop \
                     team whoami` prints, then run `agedrop team trust`"
                        .into(),
                ));
            }
        };
        let to_grantee = crypto::parse_recipient(&grantee.recipient)
            .map_err(|e| TeamError::Io(format!("cannot seal to {}: {e}", grantee.name)))?
            .recipient;
        let team = roster.recipients()?;
        let team: Vec<&dyn age::Recipient> = team.iter().map(|r| r.as_ref() as _).collect();

        let ids = match ids {
            Some(ids) => ids,
            None => self.report_ids().await?,
        };
        summary.reports = ids.len();
        for (done, id) in ids.iter().enumerate() {
            let thread = self.thread(id).await?;
            let keys = self.keys_to_grant(&thread, &grantee.recipient).await?;
            match keys {
                Keys::Nothing => summary.nothing_to_grant += 1,
                Keys::Covered => summary.already_granted += 1,
                Keys::New(parts) => {
                    for (keys, events, blobs) in parts {
                        summary.events += keys.events.len();
                        summary.attachments += keys.blobs.len();
                        let inner = crypto::seal(
                            &[to_grantee.as_ref()],
                            &crate::report::exact_json(&keys),
                        )?;
                        let event = Event::new(
                            now(),
                            EventBody::Grant(Grant {
                                author: author.clone(),
                                name: grantee.name.clone(),
                                to: grantee.recipient.clone(),
                                events,
                                blobs,
                                keys: crate::api::encode(inner.as_bytes()),
                            }),
                        );
                        let sealed = crypto::seal(&team, &event.encode_signed(&thread.id, key))?;
                        summary.bytes_added += sealed.len() as u64;
                        client.append(&thread.id, &sealed).await?;
                    }
                    summary.granted += 1;
                }
            }
            progress(done + 1, ids.len());
        }
        if summary.nothing_to_grant > 0 {
            summary.warnings.push(format!(
                "{} report(s) hold nothing you can open, so you could grant nothing of them; \
                 a member who can read them can",
                summary.nothing_to_grant
            ));
        }
        Ok(summary)
    }

    /// Every report id the source lists, oldest record first.
    async fn report_ids(&self) -> Result<Vec<String>, TeamError> {
        Ok(self
            .client()?
            .reports()
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect())
    }

    /// The keys of `thread` that verified grants to `recipient` do not cover yet.
    async fn keys_to_grant(&self, thread: &Thread, recipient: &str) -> Result<Keys, TeamError> {
        let (covered_events, covered_blobs) = thread.granted_to(recipient);
        let mut events: Vec<(u32, String, Zeroizing<String>)> = Vec::new();
        let mut readable = 0;
        for e in &thread.events {
            let (Some(event), Some(key), Some(sha)) = (&e.event, &e.key, &e.sealed_sha256) else {
                continue;
            };
            if matches!(event.body, EventBody::Grant(_)) {
                continue; // the grantee gets grants of their own
            }
            readable += 1;
            if !covered_events.contains(&e.seq) {
                events.push((e.seq, hex::encode(sha), key.to_text()));
            }
        }
        let mut blobs: Vec<(String, Zeroizing<String>)> = Vec::new();
        let mut seen = HashSet::new();
        for attachment in thread.attachments() {
            // Streams with a key of their own are opened through their (granted) event.
            if !attachment.key.is_empty()
                || covered_blobs.contains(&attachment.blob)
                || !seen.insert(attachment.blob.clone())
            {
                continue;
            }
            if let Some(key) = self.stream_key(thread, &attachment.blob).await? {
                blobs.push((attachment.blob.clone(), key.to_text()));
            }
        }
        if readable == 0 {
            return Ok(Keys::Nothing);
        }
        if events.is_empty() && blobs.is_empty() {
            return Ok(Keys::Covered);
        }
        let mut parts = Vec::new();
        let mut blobs = Some(blobs);
        for chunk in events.chunks(KEYS_PER_GRANT).map(Some).chain(
            // Attachments alone still need a grant when every event is covered.
            std::iter::once(None).filter(|_| events.is_empty()),
        ) {
            let chunk = chunk.unwrap_or(&[]);
            let blobs = blobs.take().unwrap_or_default();
            let keys = GrantKeys {
                events: chunk
                    .iter()
                    .map(|(seq, sha, key)| GrantedEvent {
                        seq: *seq,
                        sealed_sha256: sha.clone(),
                        key: key.to_string(),
                    })
                    .collect(),
                blobs: blobs
                    .iter()
                    .map(|(blob, key)| GrantedBlob {
                        blob: blob.clone(),
                        key: key.to_string(),
                    })
                    .collect(),
            };
            let seqs = chunk.iter().map(|(seq, _, _)| *seq).collect();
            let blob_ids = blobs.into_iter().map(|(blob, _)| blob).collect();
            parts.push((keys, seqs, blob_ids));
        }
        Ok(Keys::New(parts))
    }

    /// The file key of an attachment stream stored before files had keys of their own:
    /// one a grant gave this member, or else read from the stream's header with their
    /// identities (`None` when they cannot open it either).
    async fn stream_key(&self, thread: &Thread, blob: &str) -> Result<Option<FileKey>, TeamError> {
        if let Some(key) = thread.blob_key(blob) {
            return Ok(Some(key.clone()));
        }
        let mut response = self.client()?.download(&thread.id, blob).await?;
        let mut header = Vec::new();
        while (header.len() as u64) < HEADER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => header.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    return Err(TeamError::Server(format!(
                        "the download broke off: {}",
                        crate::text::excerpt(&e.to_string(), 200)
                    )));
                }
            }
        }
        // The rest of the stream is not needed.
        drop(response);
        let ids = self.identities.as_refs();
        Ok(crypto::stream_file_key(&ids, (&header[..]).take(HEADER_BYTES)).ok())
    }
}

/// What a report holds for the grantee.
enum Keys {
    /// This member can open nothing of it.
    Nothing,
    /// Earlier verified grants already cover everything this member can open.
    Covered,
    /// New keys, in parts of at most [`KEYS_PER_GRANT`] events: the keys, and which
    /// events and attachments they are for.
    New(Vec<(GrantKeys, Vec<u32>, Vec<String>)>),
}
