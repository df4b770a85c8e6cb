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

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::api::TeamMember;
use crate::crypto::{self, FileKey, Sealed};

use super::desk::Desk;
use super::inbox::{SealedReport, decode_events};
use super::{TeamError, Thread};

mod seal;

use super::scan::on_cores;
use crate::store::ReportId;
use seal::{Outcome, Sealing, events_to_grant};

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
            [] => Err(TeamError::NoSuchMember(crate::text::excerpt(wanted, 60))),
            _ => Err(TeamError::AmbiguousMember(crate::text::excerpt(wanted, 60))),
        }
    }

    /// Grants `who` the reports `ids` (full ids; every report when `None`), `round`
    /// reports at a time ([`ROUND`] is a good default). `progress` is called as reports
    /// are done with (done, total).
    ///
    /// Reports go in rounds: their sealed events fetched (the whole feed at once for
    /// every report), opened and the grants sealed on both cores when the member's
    /// identities allow it, and each round's grants sent as atomic batches, so a
    /// thousand reports cost a few requests and flushes, not a thousand of each.
    pub async fn grant(
        &self,
        who: &str,
        ids: Option<Vec<ReportId>>,
        round: usize,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<GrantSummary, TeamError> {
        let client = self.client()?;
        let grantee = self.grantee(who)?;
        let roster = self.sealing_roster()?;
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
        let sealing = Sealing {
            author,
            grantee: &grantee,
            to_grantee: to_grantee.as_ref(),
            team: team.iter().map(|r| r.as_ref() as _).collect(),
            key,
        };
        let workers = if self.identities.all_native() { 2 } else { 1 };

        let mut feed = match ids {
            None => Some(self.feed_events().await?),
            Some(_) => None,
        };
        let ids = match ids {
            Some(ids) => ids,
            None => client.reports().await?.into_iter().map(|r| r.id).collect(),
        };
        let mut summary = GrantSummary {
            member: grantee.name.clone(),
            recipient: grantee.recipient.clone(),
            reports: ids.len(),
            ..GrantSummary::default()
        };
        let mut done = 0;
        progress(done, ids.len());
        for round in ids.chunks(round.max(1)) {
            let mut sealed = Vec::with_capacity(round.len());
            for id in round {
                let events = match feed.as_mut().and_then(|f| f.remove(id)) {
                    Some(events) => events,
                    None => {
                        let report = client.report(*id).await?;
                        decode_events(*id, &report.events)?
                    }
                };
                sealed.push((*id, events));
            }
            let threads = on_cores("grant", workers, sealed, |(id, events)| {
                let report = SealedReport {
                    id,
                    // Nothing is sealed to the reporter here.
                    reporter: String::new(),
                    events,
                };
                Thread::open(report, &self.identities, Some(roster))
            })?
            .into_iter()
            .collect::<Result<Vec<Thread>, TeamError>>()?;
            let mut plans = Vec::with_capacity(threads.len());
            for thread in &threads {
                let (readable, events) = events_to_grant(thread, &grantee.recipient);
                let blobs = self.blobs_to_grant(thread, &grantee.recipient).await?;
                plans.push((thread.id, readable, events, blobs));
            }
            drop(threads);
            let grants = on_cores("grant", workers, plans, |(id, readable, events, blobs)| {
                sealing.seal(id, readable, events, blobs)
            })?;
            let mut batch: Vec<(ReportId, Sealed)> = Vec::new();
            let mut batch_bytes = 0;
            for grant in grants {
                match grant? {
                    Outcome::Nothing => summary.nothing_to_grant += 1,
                    Outcome::Covered => summary.already_granted += 1,
                    Outcome::New {
                        id,
                        sealed,
                        events,
                        attachments,
                    } => {
                        summary.granted += 1;
                        summary.events += events;
                        summary.attachments += attachments;
                        for event in sealed {
                            summary.bytes_added += event.len() as u64;
                            // base64 in JSON: a third more, and the id.
                            let cost = event.len() * 4 / 3 + 64;
                            if !batch.is_empty()
                                && (batch.len() == crate::api::BATCH_EVENTS
                                    || batch_bytes + cost > crate::api::BATCH_BYTES / 2)
                            {
                                client.append_batch(&batch).await?;
                                batch.clear();
                                batch_bytes = 0;
                            }
                            batch_bytes += cost;
                            batch.push((id, event));
                        }
                    }
                }
            }
            if !batch.is_empty() {
                client.append_batch(&batch).await?;
            }
            done += round.len();
            progress(done, ids.len());
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

    /// Every report's sealed events from the server's feed, a page of hundreds at a
    /// time. A report whose events do not arrive in order from its first is left out
    /// (it is fetched on its own, and checked there).
    async fn feed_events(
        &self,
    ) -> Result<HashMap<ReportId, Vec<(u32, Option<Sealed>)>>, TeamError> {
        let client = self.client()?;
        let mut reports: HashMap<ReportId, Vec<(u32, Option<Sealed>)>> = HashMap::new();
        let mut broken = HashSet::new();
        let mut cursor = 0;
        loop {
            let page = client.feed(cursor).await?;
            if page.items.is_empty() {
                break;
            }
            if page.next <= cursor {
                return Err(TeamError::FeedBackwards);
            }
            cursor = page.next;
            for item in page.items {
                let events = reports.entry(item.report).or_default();
                let expected = events.last().map_or(0, |(seq, _)| seq + 1);
                let sealed = crate::api::decode(&item.sealed).map(Sealed::parse);
                match sealed {
                    Some(sealed) if item.seq == expected => events.push((item.seq, sealed.ok())),
                    _ => {
                        broken.insert(item.report);
                    }
                }
            }
        }
        reports.retain(|id, _| !broken.contains(id));
        Ok(reports)
    }

    /// The keys of attachment streams stored before files had keys of their own, in
    /// `thread`, that verified grants to `recipient` do not cover yet.
    async fn blobs_to_grant(
        &self,
        thread: &Thread,
        recipient: &str,
    ) -> Result<Vec<(String, FileKey)>, TeamError> {
        let (_, covered) = thread.granted_to(recipient);
        let mut blobs = Vec::new();
        let mut seen = HashSet::new();
        for attachment in thread.attachments() {
            // Streams with a key of their own are opened through their (granted) event.
            if !attachment.key.is_empty()
                || covered.contains(&attachment.blob)
                || !seen.insert(attachment.blob.clone())
            {
                continue;
            }
            if let Some(key) = self.stream_key(thread, &attachment.blob).await? {
                blobs.push((attachment.blob.clone(), key));
            }
        }
        Ok(blobs)
    }

    /// The file key of an attachment stream stored before files had keys of their own:
    /// one a grant gave this member, or else read from the stream's header with their
    /// identities (`None` when they cannot open it either).
    async fn stream_key(&self, thread: &Thread, blob: &str) -> Result<Option<FileKey>, TeamError> {
        if let Some(key) = thread.blob_key(blob) {
            return Ok(Some(key.clone()));
        }
        let blob_id = blob.parse().map_err(|_| {
            TeamError::Hostile(format!(
                "report {}: an attachment has a malformed id",
                thread.id
            ))
        })?;
        let mut response = self.client()?.download(thread.id, blob_id).await?;
        let mut header = Vec::new();
        while (header.len() as u64) < HEADER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => header.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    return Err(TeamError::DownloadBroke(crate::text::excerpt(
                        &e.to_string(),
                        200,
                    )));
                }
            }
        }
        // The rest of the stream is not needed.
        drop(response);
        let ids = self.identities.as_refs();
        Ok(crypto::stream_file_key(&ids, &header[..]).ok())
    }
}

/// Reports per round by default: fetched, opened, sealed and sent (as one atomic batch,
/// unless that would be too large) before the next.
pub const ROUND: usize = 256;
