//! The desk's cache: what `list` needs of every report the desk has already fetched and
//! opened, kept between runs on the member's machine in
//! `$XDG_CACHE_HOME/agedrop/desk/` (or `~/.cache/agedrop/desk/`), sealed with age to the
//! member's own recipients, so that no plaintext ever reaches the disk. One file per
//! server and identity.
//!
//! It only saves work. Which reports exist, and whether one changed, is the server's list
//! of reports each time: a report whose event count differs from the cached one is
//! fetched and opened again, and one the server no longer lists is dropped. A cache that
//! cannot be opened, was written by another agedrop, or was built under another pinned
//! roster (whose signatures count changes what a thread says) is ignored and rebuilt.
//! Deleting it is always safe. Someone who can write the member's files could plant a
//! cache sealed to their public recipient, as they could edit the pinned roster beside
//! it: both trust the member's account, as the identity file does.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, Sealed};
use crate::report::Progress;
use crate::store::ReportId;

use super::roster::Roster;
use super::{Identities, TeamError, Thread};

/// Largest cache file read (far above 50,000 reports' few megabytes).
const MAX_FILE: u64 = 1 << 30;

/// One report as `list` needs it, taken from its opened thread.
#[derive(Serialize, Deserialize, Clone)]
pub(super) struct Digest {
    /// How many events it was opened with (compared with the server's count).
    pub events: u32,
    /// The submission's title; `None` when this identity cannot read the submission.
    pub title: Option<Zeroizing<String>>,
    /// Where it stands on the programme's promises, as verified members' events say.
    pub progress: Option<Progress>,
    /// When it arrived.
    pub received: Option<i64>,
    /// Its newest readable event.
    pub last_activity: Option<i64>,
    /// Readable attachments.
    pub attachments: usize,
    /// Events that opened but could not be read.
    pub unreadable: usize,
}

impl Digest {
    /// What `list` shows of `thread`.
    pub fn of(thread: &Thread) -> Digest {
        Digest {
            events: u32::try_from(thread.events.len()).unwrap_or(u32::MAX),
            title: thread.submission().map(|s| Zeroizing::new(s.title.clone())),
            progress: thread.progress(),
            received: thread.received(),
            last_activity: thread.last_activity(),
            attachments: thread.attachments().len(),
            unreadable: thread.unreadable(),
        }
    }
}

/// The sealed file's plaintext.
#[derive(Serialize, Deserialize)]
struct CacheFile {
    /// The agedrop that wrote it: another version rebuilds (what a digest holds may
    /// change between versions).
    agedrop: String,
    /// The server it is for.
    source: String,
    /// The pinned roster it was built under ([`fingerprint`]).
    roster: String,
    /// The server's feed position read up to.
    cursor: u64,
    reports: Vec<(ReportId, Digest)>,
}

/// Where one server's cache lives for one identity, and what it must match.
pub(super) struct Cache {
    path: PathBuf,
    source: String,
    roster: String,
}

/// What a loaded cache holds.
#[derive(Default)]
pub(super) struct Cached {
    /// The feed position it was read up to.
    pub cursor: u64,
    /// Every report it knew.
    pub reports: HashMap<ReportId, Digest>,
}

/// Names the pinned roster: members' names, recipients and signing keys.
fn fingerprint(roster: Option<&Roster>) -> String {
    use sha2::Digest as _;
    match roster {
        None => "none".into(),
        Some(roster) => {
            let json = serde_json::to_vec(roster.members()).unwrap_or_default();
            hex::encode(sha2::Sha256::digest(json))
        }
    }
}

impl Cache {
    /// The cache for `source` under `dir`, for these identities and this pinned roster.
    pub fn new(
        dir: &Path,
        source: &str,
        identities: &Identities,
        roster: Option<&Roster>,
    ) -> Cache {
        use sha2::Digest as _;
        let mut name = sha2::Sha256::new();
        name.update(b"agedrop desk cache\0");
        name.update(source.as_bytes());
        for recipient in identities.recipients() {
            name.update(b"\0");
            name.update(recipient.as_bytes());
        }
        let name = hex::encode(&name.finalize()[..16]);
        Cache {
            path: dir.join(format!("{name}.age")),
            source: source.to_string(),
            roster: fingerprint(roster),
        }
    }

    /// What the cache holds; empty when there is none, or it cannot be used.
    pub fn load(&self, identities: &Identities) -> Cached {
        self.try_load(identities).unwrap_or_default()
    }

    fn try_load(&self, identities: &Identities) -> Option<Cached> {
        let file = std::fs::File::open(&self.path).ok()?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_FILE), &mut bytes).ok()?;
        let sealed = Sealed::parse(bytes).ok()?;
        let plain = crypto::open(&identities.as_refs(), &sealed).ok()?;
        let file: CacheFile = serde_json::from_slice(&plain).ok()?;
        if file.agedrop != env!("CARGO_PKG_VERSION")
            || file.source != self.source
            || file.roster != self.roster
        {
            return None;
        }
        Some(Cached {
            cursor: file.cursor,
            reports: file.reports.into_iter().collect(),
        })
    }

    /// Seals `reports` and the feed position to the member's own recipients and puts the
    /// file in place (written beside it, synced, renamed: a crash leaves the old one).
    pub fn save(
        &self,
        identities: &Identities,
        cursor: u64,
        reports: &HashMap<ReportId, Digest>,
    ) -> Result<(), TeamError> {
        let io =
            |e: std::io::Error| TeamError::Io(format!("cannot save {}: {e}", self.path.display()));
        let recipients = identities
            .recipients()
            .iter()
            .map(|r| crypto::parse_recipient(r).map(|p| p.recipient))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| TeamError::Io(format!("cannot seal the desk's cache to you: {e}")))?;
        if recipients.is_empty() {
            return Err(TeamError::Io(
                "cannot seal the desk's cache: the identity names no recipient".into(),
            ));
        }
        let mut entries: Vec<(ReportId, &Digest)> = reports.iter().map(|(i, d)| (*i, d)).collect();
        entries.sort_by_key(|(id, _)| *id);
        let plain = Zeroizing::new(
            serde_json::to_vec(&CacheFileRef {
                agedrop: env!("CARGO_PKG_VERSION"),
                source: &self.source,
                roster: &self.roster,
                cursor,
                reports: entries,
            })
            .map_err(|e| TeamError::Io(e.to_string()))?,
        );
        let refs: Vec<&dyn age::Recipient> = recipients.iter().map(|r| r.as_ref() as _).collect();
        let sealed = crypto::seal(&refs, &plain)?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
        let temp = self
            .path
            .with_extension(format!("{}.new", std::process::id()));
        let written = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(sealed.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temp, &self.path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written.map_err(io)
    }
}

/// [`CacheFile`] as written, borrowing the digests.
#[derive(Serialize)]
struct CacheFileRef<'a> {
    agedrop: &'a str,
    source: &'a str,
    roster: &'a str,
    cursor: u64,
    reports: Vec<(ReportId, &'a Digest)>,
}

/// `$XDG_CACHE_HOME/agedrop/desk` (or `~/.cache/agedrop/desk`).
pub fn cache_dir() -> Option<PathBuf> {
    super::settings::home_dir("XDG_CACHE_HOME", ".cache").map(|d| d.join("agedrop").join("desk"))
}
