//! Reading a data folder copied from the server, on the team member's machine.
//!
//! The server keeps its folder locked while it runs; a locked folder is copied
//! (ciphertext only) to a private temporary folder and read from there.

use std::io::Read;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::api::{ReportSummary, TeamMember};
use crate::report::Promises;
use crate::store::{BlobId, ReportId, Store, StoreOptions};

use super::TeamError;
use super::files::Download;
use super::inbox::{Inbox, SealedReport};
use super::thread::Opener;

/// A data folder opened for reading.
pub struct LocalInbox {
    store: Store,
    _copy: Option<tempfile::TempDir>,
    /// The programme's promises, from the operator's config.
    promises: Option<Promises>,
}

impl LocalInbox {
    /// Opens `dir`, copying it first if the server holds its lock.
    pub fn open(dir: &Path) -> Result<Self, TeamError> {
        let shown = dir.display().to_string();
        let data_err = |detail: String| TeamError::Data {
            path: shown.clone(),
            detail,
        };
        if !dir.join("db").is_file() {
            return Err(data_err(
                "no agedrop data here (expected sled's `db` file); pass the server's data folder"
                    .into(),
            ));
        }
        let options = StoreOptions {
            cache_bytes: 32 * 1024 * 1024,
            reserve_bytes: 0,
            sweep: false,
        };
        match Store::open(dir, &options) {
            Ok(store) => Ok(LocalInbox {
                store,
                _copy: None,
                promises: None,
            }),
            Err(first) => {
                // Most likely the running server's lock: read a private copy instead.
                let copy = tempfile::Builder::new()
                    .prefix("agedrop-open-")
                    .tempdir()
                    .map_err(|e| data_err(e.to_string()))?;
                copy_database(dir, copy.path())
                    .map_err(|e| data_err(format!("{first}; copying: {e}")))?;
                let store = Store::open(copy.path(), &options)
                    .map_err(|e| data_err(format!("{first}; and its copy: {e}")))?;
                Ok(LocalInbox {
                    store,
                    _copy: Some(copy),
                    promises: None,
                })
            }
        }
    }

    /// Writes an offline bundle of everything here (see [`super::export`]).
    pub fn export(
        &self,
        keys: &crate::crypto::TeamKeys,
        promises: &super::Exported,
        created: &str,
        out: &Path,
    ) -> Result<(usize, usize), TeamError> {
        super::export(&self.store, keys, promises, created, out)
    }

    /// The programme's promises, from the operator's config (without it a data folder
    /// has no deadlines: none beats a wrong one).
    pub fn with_promises(mut self, promises: Promises) -> Self {
        self.promises = Some(promises);
        self
    }

    /// A decrypting reader over one attachment of a report, opened with `opener`
    /// ([`super::Thread::opener`]).
    fn attachment<'a>(
        &'a self,
        report: ReportId,
        blob: BlobId,
        opener: &Opener,
    ) -> Result<Box<dyn Read + 'a>, TeamError> {
        if !self.store.has_blob(report, blob)? {
            return Err(TeamError::NoSuchAttachment { report, blob });
        }
        Ok(opener.open(self.store.blob(blob)?)?)
    }
}

#[async_trait]
impl Inbox for LocalInbox {
    fn roster_key(&self) -> String {
        "data".into()
    }

    async fn roster(&self) -> Result<Option<Vec<TeamMember>>, TeamError> {
        Ok(None)
    }

    async fn promises(&self) -> Result<Option<Promises>, TeamError> {
        Ok(self.promises)
    }

    async fn summaries(&self) -> Result<Vec<ReportSummary>, TeamError> {
        Ok(self
            .store
            .reports()?
            .into_iter()
            .map(|(id, record)| ReportSummary::new(id, record))
            .collect())
    }

    async fn report(&self, id: ReportId) -> Result<SealedReport, TeamError> {
        let record = self
            .store
            .report(id)?
            .ok_or_else(|| TeamError::NoSuchReport(id.to_string()))?;
        Ok(SealedReport {
            id,
            reporter: record.reporter,
            // As the store wrote them: each one an age file already.
            events: self
                .store
                .events(id)?
                .into_iter()
                .map(|(seq, e)| (seq, Some(e)))
                .collect(),
        })
    }

    async fn write_attachment(&self, job: Download) -> Result<PathBuf, TeamError> {
        let mut plain = self.attachment(job.report, job.blob, &job.opener)?;
        job.target.write(&mut plain)
    }
}

/// Copies sled's files; the attachment files are never rewritten once committed, so
/// the copy points at them instead of duplicating gigabytes.
fn copy_database(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let target = to.join(&name);
        let kind = entry.file_type()?;
        if name == "attachments" {
            std::os::unix::fs::symlink(entry.path().canonicalize()?, &target)?;
        } else if name == "reserve"
            || name == "acme"
            || name.to_string_lossy().starts_with("snapshot-")
        {
            // The free-space reserve, the TLS keys ACME got (no member needs them), and
            // a backup's hard links in progress.
            continue;
        } else if kind.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_database(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
        // Anything else (the running server's backup socket) is not data.
    }
    Ok(())
}
