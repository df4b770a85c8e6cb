//! `attachments`: every attachment of a report decrypted into `--out`, from a server,
//! a bundle or a data folder (each source streams its own; the pipeline and its bounds
//! are in `files.rs`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::store::{BlobId, ReportId};

use super::TeamError;
use super::desk::Desk;
use super::files::{Download, Target, check_room, safe_file_name};

/// One file written by `attachments`.
#[derive(Serialize)]
pub struct Written {
    /// Where it was written.
    pub path: PathBuf,
    /// The name the reporter gave it.
    pub name: String,
    /// Plaintext size.
    pub size: u64,
    /// Its SHA-256, checked.
    pub sha256: String,
}

impl Desk {
    /// Decrypts every attachment of a report into `out`, from whichever source the desk
    /// reads.
    pub async fn attachments(
        &self,
        id: ReportId,
        out: &Path,
        force: bool,
        progress: bool,
    ) -> Result<Vec<Written>, TeamError> {
        let thread = self.thread(id).await?;
        let mut used = std::collections::HashSet::new();
        let mut written = Vec::new();
        for attachment in thread.attachments() {
            // The blob id goes into a URL and a tar path: it must be just an id.
            let blob: BlobId = attachment.blob.parse().map_err(|_| {
                TeamError::Hostile(format!(
                    "report {id}: an attachment has a malformed id; nothing more was written"
                ))
            })?;
            let name = unique(safe_file_name(&attachment.name), &mut used);
            check_room(out, attachment.size, &name)?;
            let bar = progress.then(|| progress_bar(&name, attachment.size));
            let opener = thread.opener(attachment, &self.identities)?;
            let target = Target {
                dir: out.to_path_buf(),
                name,
                force,
                size: attachment.size,
                sha256: attachment.sha256.clone(),
                bar: bar.clone(),
            };
            let job = Download {
                report: id,
                blob,
                opener,
                target,
            };
            let path = self.source.write_attachment(job).await?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            written.push(Written {
                path,
                name: attachment.name.clone(),
                size: attachment.size,
                sha256: attachment.sha256.clone(),
            });
        }
        Ok(written)
    }
}

fn progress_bar(name: &str, size: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:30!} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(crate::text::one_line(name));
    bar
}

/// `name`, or `name (2)`, `name (3)`… if an earlier file of this run took it.
fn unique(name: String, used: &mut std::collections::HashSet<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while !used.insert(candidate.clone()) {
        candidate = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({n}).{ext}"),
            _ => format!("{name} ({n})"),
        };
        n += 1;
    }
    candidate
}
