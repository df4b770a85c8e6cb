//! The backup file's format: writing one from a snapshot, and reading one back with
//! every entry checked against what a backup writes.

use std::collections::HashSet;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use crate::store::{BlobId, Restoring, Snapshot, check_record};

use super::BackupError;

const FORMAT: &str = "agedrop-backup-1";
const MANIFEST: &str = "manifest.json";
const RECORDS: &str = "records";
const ATTACHMENTS: &str = "attachments/";
const MAX_MANIFEST: u64 = 64 * 1024;
const MAX_KEY: usize = 64;
const MAX_VALUE: usize = 64 * 1024;

/// What a backup holds, in numbers (all that a script needs, nothing about content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Reports.
    pub reports: usize,
    /// Attachment files.
    pub attachments: usize,
    /// Size of the backup file in bytes.
    pub bytes: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    format: String,
    reports: usize,
    records: usize,
    attachments: usize,
}

fn header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    // No times: the file's own date already says when it was made.
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    header
}

/// Writes `snapshot` as a backup to `out`; gives it back when done (unflushed).
pub(super) fn write<W: Write>(snapshot: &Snapshot, out: W) -> io::Result<W> {
    let mut records = Vec::new();
    let mut count = 0;
    for (k, v) in snapshot.records() {
        for part in [k, v] {
            let len = u32::try_from(part.len()).map_err(io::Error::other)?;
            records.extend_from_slice(&len.to_be_bytes());
            records.extend_from_slice(part);
        }
        count += 1;
    }
    let manifest = serde_json::to_vec(&Manifest {
        format: FORMAT.into(),
        reports: snapshot.reports(),
        records: count,
        attachments: snapshot.blobs().len(),
    })?;
    let mut tar = tar::Builder::new(out);
    tar.append_data(&mut header(manifest.len() as u64), MANIFEST, &manifest[..])?;
    tar.append_data(&mut header(records.len() as u64), RECORDS, &records[..])?;
    for blob in snapshot.blobs() {
        let file = snapshot.blob_file(*blob)?;
        let len = file.metadata()?.len();
        // Exactly the length in the header, even if the file were to change.
        tar.append_data(
            &mut header(len),
            format!("{ATTACHMENTS}{blob}"),
            file.take(len),
        )?;
    }
    tar.into_inner()
}

/// Reads the backup `file` (at `path`, for messages) from its start, checking every
/// entry; with `target`, fills it. Gives the summary.
pub(super) fn read(
    file: std::fs::File,
    path: &Path,
    mut target: Option<&mut Restoring>,
) -> Result<Summary, BackupError> {
    let invalid = |detail: String| BackupError::Invalid {
        path: path.display().to_string(),
        detail,
    };
    let bytes = file
        .metadata()
        .map_err(|e| super::io_error(path, "cannot read", e))?
        .len();
    let mut archive = tar::Archive::new(BufReader::with_capacity(256 * 1024, file));
    let entries = archive.entries().map_err(|e| invalid(e.to_string()))?;
    let mut manifest: Option<Manifest> = None;
    let mut records: Option<(usize, usize)> = None;
    let mut named = HashSet::new();
    let mut present = HashSet::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| invalid(e.to_string()))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let shown = crate::text::excerpt(&name, 80);
        check_entry(&entry, &name).map_err(|why| invalid(format!("entry \"{shown}\" {why}")))?;
        let size = entry.size();
        if manifest.is_none() {
            if name != MANIFEST || size > MAX_MANIFEST {
                return Err(invalid(format!(
                    "it starts with \"{shown}\", not its manifest"
                )));
            }
            let json = read_exact_entry(&mut entry, size).map_err(|e| invalid(e.to_string()))?;
            let read: Manifest = serde_json::from_slice(&json)
                .map_err(|e| invalid(crate::text::excerpt(&e.to_string(), 200)))?;
            if read.format != FORMAT {
                return Err(invalid(format!(
                    "unknown format \"{}\"",
                    crate::text::excerpt(&read.format, 40)
                )));
            }
            manifest = Some(read);
        } else if records.is_none() {
            if name != RECORDS {
                return Err(invalid(format!("\"{shown}\" where its records belong")));
            }
            let mut counted = Counted::new(&mut entry);
            let tally = read_records(&mut counted, &mut named, target.as_deref_mut()).map_err(
                |e| match e {
                    BackupError::Io(detail) => invalid(detail),
                    other => other,
                },
            )?;
            if counted.read != size {
                return Err(invalid("its records are cut short".into()));
            }
            records = Some(tally);
        } else {
            let blob = name
                .strip_prefix(ATTACHMENTS)
                .and_then(|id| id.parse::<BlobId>().ok())
                .filter(|blob| blob.to_string() == name[ATTACHMENTS.len()..])
                .ok_or_else(|| invalid(format!("unexpected entry \"{shown}\"")))?;
            if !named.contains(&blob) || !present.insert(blob) {
                return Err(invalid(format!(
                    "attachment \"{shown}\" is not named by its records, or is there twice"
                )));
            }
            let mut counted = Counted::new(&mut entry);
            match target.as_deref_mut() {
                Some(target) => {
                    target.blob(blob, &mut counted)?;
                }
                None => {
                    io::copy(&mut counted, &mut io::sink()).map_err(|e| invalid(e.to_string()))?;
                }
            }
            if counted.read != size {
                return Err(invalid(format!("attachment \"{shown}\" is cut short")));
            }
        }
    }
    let (Some(manifest), Some((count, reports))) = (manifest, records) else {
        return Err(invalid("it has no manifest or no records".into()));
    };
    if named != present {
        return Err(invalid(format!(
            "{} attachment file(s) its records name are missing (is it cut short?)",
            named.difference(&present).count()
        )));
    }
    if manifest.records != count
        || manifest.reports != reports
        || manifest.attachments != present.len()
    {
        return Err(invalid(
            "its counts differ from its manifest (is it cut short?)".into(),
        ));
    }
    Ok(Summary {
        reports,
        attachments: present.len(),
        bytes,
    })
}

/// Refuses anything a backup never writes: absolute paths, `..`, links, special files.
fn check_entry<R: Read>(entry: &tar::Entry<'_, R>, name: &str) -> Result<(), &'static str> {
    if name.starts_with('/') {
        return Err("has an absolute path");
    }
    if name.split('/').any(|part| part == "..") {
        return Err("climbs out of the folder with `..`");
    }
    match entry.header().entry_type() {
        tar::EntryType::Regular => Ok(()),
        tar::EntryType::Symlink | tar::EntryType::Link => Err("is a link"),
        _ => Err("is not a regular file"),
    }
}

fn read_exact_entry(r: &mut impl Read, size: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(size).read_to_end(&mut out)?;
    if out.len() as u64 != size {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut short"));
    }
    Ok(out)
}

/// Reads the framed records; gives (records, reports).
fn read_records(
    r: &mut impl Read,
    named: &mut HashSet<BlobId>,
    mut target: Option<&mut Restoring>,
) -> Result<(usize, usize), BackupError> {
    let bad = |what: &str| BackupError::Io(format!("its records are damaged ({what})"));
    let mut count = 0;
    let mut reports = 0;
    let mut key = Vec::with_capacity(MAX_KEY);
    let mut value = Vec::with_capacity(MAX_VALUE);
    loop {
        match read_part(r, &mut key, MAX_KEY, true) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(bad(&e.to_string())),
        }
        read_part(r, &mut value, MAX_VALUE, false).map_err(|e| bad(&e.to_string()))?;
        let blob = check_record(&key, &value).map_err(|e| bad(&e.to_string()))?;
        if let Some(blob) = blob {
            named.insert(blob);
        }
        if key.first() == Some(&b'r') {
            reports += 1;
        }
        if let Some(target) = target.as_deref_mut() {
            target.record(&key, &value)?;
        }
        count += 1;
    }
    Ok((count, reports))
}

/// Reads one length-prefixed part into `buf`; false at a clean end (only where allowed).
fn read_part(r: &mut impl Read, buf: &mut Vec<u8>, max: usize, may_end: bool) -> io::Result<bool> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..])? {
            0 if got == 0 && may_end => return Ok(false),
            0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut short")),
            n => got += n,
        }
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::other("a record larger than agedrop writes"));
    }
    buf.clear();
    buf.resize(len, 0);
    r.read_exact(buf)?;
    Ok(true)
}

/// A reader that counts what it gave.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R> Counted<R> {
    fn new(inner: R) -> Self {
        Counted { inner, read: 0 }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}
