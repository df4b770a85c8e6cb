//! Keys that verified grants give this member: only from a grant a member of the
//! pinned roster signed, and only for the exact sealed bytes it names.

use std::collections::HashMap;

use zeroize::Zeroizing;

use crate::crypto::{self, FileKey, Sealed};
use crate::report::{EventBody, GrantKeys, Opened};

use super::super::roster::Roster;
use super::signed_by;

/// One sealed event on its way to being read.
pub(super) struct Slot {
    pub(super) seq: u32,
    pub(super) sealed: Option<Sealed>,
    pub(super) opened: Option<(Zeroizing<Vec<u8>>, FileKey)>,
    pub(super) granted_by: Option<String>,
    /// A grant named it, but the server holds other bytes than the grant's.
    pub(super) changed_after_grant: Option<String>,
}

/// What verified grants to this member hold: event keys by position, attachment keys by
/// blob id.
#[derive(Default)]
pub(super) struct Granted {
    pub(super) events: HashMap<u32, ([u8; 32], FileKey, String)>,
    pub(super) blobs: HashMap<String, FileKey>,
}

/// Collects the keys in the verified grants among `slots` that these identities open.
pub(super) fn granted_keys(
    id: &str,
    slots: &[Slot],
    ids: &[&dyn age::Identity],
    roster: Option<&Roster>,
    max_stanzas: usize,
) -> Granted {
    let mut granted = Granted::default();
    for slot in slots {
        let Some((plain, _)) = &slot.opened else {
            continue;
        };
        let Ok(opened) = Opened::decode(plain) else {
            continue;
        };
        let EventBody::Grant(grant) = &opened.event.body else {
            continue;
        };
        // Only a member of the pinned roster may hand out keys.
        let Ok(granter) = signed_by(id, &opened, roster) else {
            continue;
        };
        let Some(inner) = crate::api::decode(&grant.keys)
            .and_then(|bytes| Sealed::parse(bytes).ok())
            .filter(|s| crypto::stanza_count(s).is_some_and(|n| n <= max_stanzas))
        else {
            continue;
        };
        let Ok(plain) = crypto::open(ids, &inner) else {
            continue; // a grant to someone else
        };
        let Ok(keys) = serde_json::from_slice::<GrantKeys>(&plain) else {
            continue;
        };
        for event in &keys.events {
            let (Some(key), Some(sha)) = (
                FileKey::from_text(&event.key),
                hex::decode(&event.sealed_sha256)
                    .ok()
                    .and_then(|v| <[u8; 32]>::try_from(v).ok()),
            ) else {
                continue;
            };
            granted
                .events
                .entry(event.seq)
                .or_insert((sha, key, granter.to_string()));
        }
        for blob in &keys.blobs {
            if let Some(key) = FileKey::from_text(&blob.key) {
                granted.blobs.entry(blob.blob.clone()).or_insert(key);
            }
        }
    }
    granted
}
