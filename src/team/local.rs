//! Reading a data folder copied from the server, on the team member's machine.
//!
//! The server keeps its folder locked while it runs; a locked folder is copied
//! (ciphertext only) to a private temporary folder and read from there.

use std::io::Read;
use std::path::Path;

use crate::crypto::Sealed;
use crate::store::{BlobId, ReportId, Store, StoreOptions};

use super::thread::Opener;
use super::roster::Roster;
use super::{Identities, TeamError, Thread};

/// One report as stored: its id, the reporter's recipient and every sealed event.
pub struct SealedReport {
    /// The full report id.
    pub id: String,
    /// The reporter's recipient, as the server keeps it.
    pub reporter: String,
    /// Every event, in order.
    pub events: Vec<(u32, Option<Sealed>)>,
}

/// Events as the store wrote them: each one an age file already.
fn as_read(events: Vec<(u32, Sealed)>) -> Vec<(u32, Option<Sealed>)> {
    events.into_iter().map(|(seq, e)| (seq, Some(e))).collect()
}

/// A data folder opened for reading.
pub struct LocalInbox {
    store: Store,
    _copy: Option<tempfile::TempDir>,
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
            Ok(store) => Ok(LocalInbox { store, _copy: None }),
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
                })
            }
        }
    }

    /// Writes an offline bundle of everything here (see [`super::export`]).
    pub fn export(
        &self,
        keys: &crate::crypto::TeamKeys,
        promises: &super::Promises,
        created: &str,
        out: &Path,
    ) -> Result<(usize, usize), TeamError> {
        super::export(&self.store, keys, promises, created, out)
    }

    /// Every report's clear-text record, as the API gives it.
    pub fn summaries(&self) -> Result<Vec<crate::api::ReportSummary>, TeamError> {
        Ok(self
            .store
            .reports()?
            .into_iter()
            .map(|(id, record)| crate::api::ReportSummary::new(id, record))
            .collect())
    }

    /// Every report, opened with `identities` (signatures checked against `roster`),
    /// oldest first.
    pub fn threads(
        &self,
        identities: &Identities,
        roster: Option<&Roster>,
    ) -> Result<Vec<Thread>, TeamError> {
        let mut out = Vec::new();
        for (id, record) in self.store.reports()? {
            out.push(Thread::open(
                id.to_string(),
                record.reporter,
                as_read(self.store.events(id)?),
                identities,
                roster,
            )?);
        }
        out.sort_by_key(|t| t.received().unwrap_or(i64::MAX));
        Ok(out)
    }

    /// One report by id or unique id prefix, sealed.
    pub fn sealed(&self, id: &str) -> Result<SealedReport, TeamError> {
        let report = self.resolve(id)?;
        let record = self.store.report(report)?.ok_or_else(|| unknown(id))?;
        Ok(SealedReport {
            id: report.to_string(),
            reporter: record.reporter,
            events: as_read(self.store.events(report)?),
        })
    }

    /// A decrypting reader over one attachment of a report, opened with `opener`
    /// ([`super::Thread::opener`]).
    pub fn attachment<'a>(
        &'a self,
        report: &str,
        blob: &str,
        opener: &Opener,
    ) -> Result<Box<dyn Read + 'a>, TeamError> {
        let report = self.resolve(report)?;
        let blob: BlobId = blob
            .parse()
            .map_err(|_| TeamError::UnknownReport(format!("bad attachment id {blob}")))?;
        if !self.store.has_blob(report, blob)? {
            return Err(TeamError::UnknownReport(format!(
                "attachment {blob} is not part of report {report}"
            )));
        }
        Ok(opener.open(self.store.blob(blob)?)?)
    }

    fn resolve(&self, id: &str) -> Result<ReportId, TeamError> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() < 4 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(unknown(&id));
        }
        let matches: Vec<ReportId> = self
            .store
            .reports()?
            .into_iter()
            .map(|(r, _)| r)
            .filter(|r| r.to_string().starts_with(&id))
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(unknown(&id)),
            _ => Err(TeamError::UnknownReport(format!(
                "`{id}` matches {} reports; give more of the id",
                matches.len()
            ))),
        }
    }
}

fn unknown(id: &str) -> TeamError {
    TeamError::UnknownReport(format!(
        "no report with id `{id}`; `list` shows the ids (at least 4 hex digits of one)"
    ))
}

/// Copies sled's files; the attachment files are never rewritten once committed, so
/// the copy points at them instead of duplicating gigabytes.
fn copy_database(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let target = to.join(&name);
        if name == "attachments" {
            std::os::unix::fs::symlink(entry.path().canonicalize()?, &target)?;
        } else if name == "reserve" {
            continue;
        } else if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_database(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
