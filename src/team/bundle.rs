//! Offline bundles: `agedrop export` writes everything the server holds about every
//! report (ciphertext only) into one tar file; `agedrop team --bundle` reads it on a
//! machine with no network, with the same commands and the same output.
//!
//! Layout: `agedrop-bundle.json` (the roster, the programme's promises, every report's
//! record and sealed events), then `attachments/<blob id>` (each attachment's age
//! ciphertext, as stored).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use async_trait::async_trait;

use crate::api::{self, ReportSummary, TeamMember};
use crate::crypto::TeamKeys;
use crate::report::Promises;
use crate::store::{BlobId, ReportId, Store};

use super::TeamError;
use super::files::{Capped, Download};
use super::inbox::{Inbox, Publisher, SealedReport, decode_events};

const INDEX: &str = "agedrop-bundle.json";
const FORMAT: &str = "agedrop-bundle/1";
/// Largest index read (every report's events, base64).
const MAX_INDEX: u64 = 1 << 30;

/// The bundle's index.
#[derive(Serialize, Deserialize)]
pub struct BundleIndex {
    format: String,
    /// When it was written (RFC 3339).
    pub created: String,
    /// The server's origin (its public address), which names the roster a desk pins for
    /// it: the same as the server's own when the member reads both.
    #[serde(default)]
    pub origin: Option<String>,
    /// The roster and the programme's promises.
    pub team: api::TeamResponse,
    /// Every report with its sealed events.
    pub reports: Vec<api::ReportResponse>,
}

/// What an export records about the server besides the reports.
pub struct Exported {
    /// The server's public origin, if it has one.
    pub origin: Option<String>,
    /// What the programme promises.
    pub promises: crate::report::Promises,
    /// The canned closing texts.
    pub closing: Option<crate::config::Closing>,
    /// The programme's name (it names the advisories).
    pub name: String,
}

fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> TeamError {
    TeamError::Io(format!("{what} {}: {e}", path.display()))
}

/// Writes a bundle of everything in `store` to `out` (never overwriting a file).
/// Returns how many reports and attachments it holds.
pub fn export(
    store: &Store,
    keys: &TeamKeys,
    programme: &Exported,
    created: &str,
    out: &Path,
) -> Result<(usize, usize), TeamError> {
    let mut reports = Vec::new();
    let mut blobs = Vec::new();
    for (id, record) in store.reports()? {
        let events = store
            .events(id)?
            .into_iter()
            .map(|(seq, sealed)| api::SealedEvent {
                seq,
                sealed: api::encode(sealed.as_bytes()),
            })
            .collect();
        blobs.extend(store.blob_ids(id)?);
        reports.push(api::ReportResponse {
            report: api::ReportSummary::new(id, record),
            events,
        });
    }
    let index = BundleIndex {
        format: FORMAT.into(),
        created: created.into(),
        origin: programme.origin.clone(),
        team: api::TeamResponse::new(
            keys,
            programme.promises,
            &programme.name,
            programme.closing.clone(),
        ),
        reports,
    };
    let json = serde_json::to_vec(&index).map_err(|e| io_err(out, "cannot encode", e))?;
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| io_err(out, "cannot create", e))?;
    let mut tar = tar::Builder::new(file);
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, INDEX, &json[..])
        .map_err(|e| io_err(out, "cannot write", e))?;
    for blob in &blobs {
        let mut file = store.blob_file(*blob)?;
        let len = file
            .metadata()
            .map_err(|e| io_err(out, "cannot read", e))?
            .len();
        let mut header = tar::Header::new_gnu();
        header.set_size(len);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, format!("attachments/{blob}"), &mut file)
            .map_err(|e| io_err(out, "cannot write", e))?;
    }
    let file = tar
        .into_inner()
        .map_err(|e| io_err(out, "cannot write", e))?;
    file.sync_all()
        .map_err(|e| io_err(out, "cannot write", e))?;
    Ok((index.reports.len(), blobs.len()))
}

/// A bundle opened for reading.
pub struct Bundle {
    path: PathBuf,
    /// Its index.
    pub index: BundleIndex,
}

impl Bundle {
    /// Opens a bundle and reads its index.
    pub fn open(path: &Path) -> Result<Self, TeamError> {
        let file = File::open(path).map_err(|e| io_err(path, "cannot open", e))?;
        Self::read(path, BufReader::new(file))
    }

    /// Reads a bundle's index from `reader`, the start of the file at `path` (which
    /// names it in errors, and which attachments are read from later): [`Bundle::open`]
    /// without opening the file, for the fuzz target (`fuzz/fuzz_targets/bundle.rs`).
    pub fn read(path: &Path, reader: impl Read) -> Result<Self, TeamError> {
        let not_bundle = |detail: String| {
            TeamError::Io(format!(
                "{} is not an agedrop bundle ({detail}); make one with `agedrop export`",
                path.display()
            ))
        };
        let mut archive = tar::Archive::new(reader);
        let mut entries = archive.entries().map_err(|e| not_bundle(e.to_string()))?;
        let mut first = entries
            .next()
            .ok_or_else(|| not_bundle("it is empty".into()))?
            .map_err(|e| not_bundle(e.to_string()))?;
        let name = first
            .path()
            .map_err(|e| not_bundle(e.to_string()))?
            .to_string_lossy()
            .to_string();
        if name != INDEX {
            return Err(not_bundle(format!(
                "it starts with \"{}\"",
                crate::text::excerpt(&name, 80)
            )));
        }
        if first.size() > MAX_INDEX {
            return Err(not_bundle(
                "its index is larger than a bundle's can be".into(),
            ));
        }
        let mut json = Vec::new();
        (&mut first)
            .take(MAX_INDEX)
            .read_to_end(&mut json)
            .map_err(|e| not_bundle(e.to_string()))?;
        let index: BundleIndex = serde_json::from_slice(&json)
            .map_err(|e| not_bundle(crate::text::excerpt(&e.to_string(), 200)))?;
        if index.format != FORMAT {
            return Err(not_bundle(format!(
                "unknown format \"{}\"",
                crate::text::excerpt(&index.format, 40)
            )));
        }
        Ok(Bundle {
            path: path.to_path_buf(),
            index,
        })
    }

    /// Runs `f` with a reader over one attachment's ciphertext.
    pub fn with_attachment<T>(
        &self,
        report: ReportId,
        blob: BlobId,
        f: impl FnOnce(&mut dyn Read, u64) -> Result<T, TeamError>,
    ) -> Result<T, TeamError> {
        let wanted = format!("attachments/{blob}");
        let file = File::open(&self.path).map_err(|e| io_err(&self.path, "cannot open", e))?;
        let mut archive = tar::Archive::new(BufReader::with_capacity(256 * 1024, file));
        let entries = archive
            .entries()
            .map_err(|e| io_err(&self.path, "cannot read", e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| io_err(&self.path, "cannot read", e))?;
            let is_it = entry
                .path()
                .map(|p| p.to_string_lossy() == wanted)
                .unwrap_or(false);
            if is_it {
                let size = entry.size();
                return f(&mut entry, size);
            }
        }
        Err(TeamError::NoSuchAttachment { report, blob })
    }
}

#[async_trait]
impl Inbox for Bundle {
    fn roster_key(&self) -> String {
        format!(
            "bundle:{}",
            self.index.origin.as_deref().unwrap_or("unknown")
        )
    }

    async fn roster(&self) -> Result<Option<Vec<TeamMember>>, TeamError> {
        Ok(Some(self.index.team.members.clone()))
    }

    async fn promises(&self) -> Result<Option<Promises>, TeamError> {
        Ok(Some(self.index.team.promises))
    }

    async fn closing(&self) -> Result<Option<crate::config::Closing>, TeamError> {
        Ok(self.index.team.closing.clone())
    }

    async fn summaries(&self) -> Result<Vec<ReportSummary>, TeamError> {
        Ok(self
            .index
            .reports
            .iter()
            .map(|r| r.report.clone())
            .collect())
    }

    async fn report(&self, id: ReportId) -> Result<SealedReport, TeamError> {
        let report = self
            .index
            .reports
            .iter()
            .find(|r| r.report.id == id)
            .ok_or_else(|| TeamError::NoSuchReport(id.to_string()))?;
        Ok(SealedReport {
            id,
            reporter: report.report.reporter.clone(),
            events: decode_events(id, &report.events)?,
        })
    }

    async fn write_attachment(&self, job: Download) -> Result<PathBuf, TeamError> {
        let cap = job.target.cap();
        self.with_attachment(job.report, job.blob, |reader, len| {
            if len > cap {
                return Err(TeamError::TooLong(job.target.name.clone()));
            }
            job.target
                .write(&mut job.opener.open(Capped::new(reader, cap))?)
        })
    }

    async fn publisher(&self) -> Result<Publisher, TeamError> {
        Ok(Publisher {
            name: self.index.team.programme.clone(),
            origin: self.index.origin.clone(),
        })
    }

    fn exported_from(&self) -> Option<&str> {
        self.index.origin.as_deref()
    }
}
