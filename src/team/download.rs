//! `attachments`: every attachment of a report downloaded (or read from a bundle or a
//! data folder), decrypted and written into `--out`. The sealed metadata bounds the
//! stream: one longer than its sealed size is stopped as soon as it is, and the file is
//! removed. The sealed size itself comes from the server (attachment events are the
//! server's), so it must fit the disk's free space before anything is written.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use zeroize::Zeroizing;

use crate::crypto;
use crate::report::Attachment;
use crate::store::BlobId;

use super::desk::{Desk, Source};
use super::files::{safe_file_name, write_attachment};
use super::thread::Opener;
use super::{TeamError, Thread};

/// Room for the age header in front of the stream: a stanza per recipient (a few
/// hundred bytes each, more for RSA or plugins), far more than any team needs.
const HEADER_ALLOWANCE: u64 = 1024 * 1024;

/// The most ciphertext an attachment of `size` plaintext bytes can take: the header,
/// a 16-byte nonce, then 64 KiB chunks with a 16-byte tag each (at least one chunk).
pub fn max_ciphertext(size: u64) -> u64 {
    let chunks = size.div_ceil(64 * 1024).max(1);
    HEADER_ALLOWANCE
        .saturating_add(16)
        .saturating_add(size)
        .saturating_add(chunks.saturating_mul(16))
}

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

fn too_long(name: &str) -> TeamError {
    TeamError::Server(format!(
        "{}: the attachment's stream is longer than its sealed size; stopped, and nothing of \
         it was kept",
        crate::text::one_line(name)
    ))
}

/// Reads at most `cap` bytes of `inner`; one more is an error.
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => Err(std::io::Error::other(
                "the attachment's stream is longer than its sealed size",
            )),
        }
    }
}

impl Desk {
    /// Downloads and decrypts every attachment of a report into `out`.
    pub async fn attachments(
        &self,
        id: &str,
        out: &Path,
        force: bool,
        progress: bool,
    ) -> Result<Vec<Written>, TeamError> {
        let thread = self.thread(id).await?;
        let mut used = std::collections::HashSet::new();
        let mut written = Vec::new();
        for attachment in thread.attachments() {
            // The blob id goes into a URL and a tar path: it must be just an id.
            if attachment.blob.parse::<BlobId>().is_err() {
                return Err(TeamError::Server(format!(
                    "report {id}: an attachment has a malformed id; nothing more was written"
                )));
            }
            let name = unique(safe_file_name(&attachment.name), &mut used);
            check_room(out, attachment.size, &name)?;
            let bar = progress.then(|| progress_bar(&name, attachment.size));
            let opener = thread.opener(attachment, &self.identities)?;
            let path = self
                .write_one(id, attachment, opener, out, &name, force, bar.clone())
                .await?;
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

    #[allow(clippy::too_many_arguments)]
    async fn write_one(
        &self,
        id: &str,
        attachment: &Attachment,
        opener: Opener,
        out: &Path,
        name: &str,
        force: bool,
        bar: Option<indicatif::ProgressBar>,
    ) -> Result<PathBuf, TeamError> {
        let cap = max_ciphertext(attachment.size);
        let write = |plain: &mut dyn Read| {
            write_attachment(
                out,
                name,
                force,
                plain,
                attachment.size,
                &attachment.sha256,
                &mut |n| {
                    if let Some(bar) = &bar {
                        bar.inc(n);
                    }
                },
            )
        };
        match &self.source {
            Source::Server(client) => {
                let response = client.download(id, &attachment.blob).await?;
                if response.content_length().is_some_and(|n| n > cap) {
                    return Err(too_long(name));
                }
                stream_to_file(
                    response,
                    opener,
                    Target {
                        dir: out.to_path_buf(),
                        name: name.to_string(),
                        force,
                        size: attachment.size,
                        sha256: attachment.sha256.clone(),
                    },
                    cap,
                    bar.clone(),
                )
                .await
            }
            Source::Bundle(bundle) => bundle.with_attachment(&attachment.blob, |reader, len| {
                if len > cap {
                    return Err(too_long(name));
                }
                let capped = Capped {
                    inner: reader,
                    left: cap,
                };
                write(&mut opener.open(capped)?)
            }),
            Source::Local(inbox) => write(&mut inbox.attachment(id, &attachment.blob, &opener)?),
        }
    }

    /// Downloads and decrypts one attachment into memory, bounded by its sealed size (for
    /// small files and tests; the desk streams to disk instead).
    pub async fn attachment_bytes(
        &self,
        thread: &Thread,
        attachment: &Attachment,
    ) -> Result<Zeroizing<Vec<u8>>, TeamError> {
        let opener = thread.opener(attachment, &self.identities)?;
        let mut response = self
            .client()?
            .download(&thread.id, &attachment.blob)
            .await?;
        let cap = max_ciphertext(attachment.size);
        let mut ciphertext = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            TeamError::Server(format!(
                "the download broke off: {}",
                crate::text::excerpt(&e.to_string(), 200)
            ))
        })? {
            if ciphertext.len() as u64 + chunk.len() as u64 > cap {
                return Err(too_long(&attachment.name));
            }
            ciphertext.extend_from_slice(&chunk);
        }
        let mut reader = opener.open(&ciphertext[..])?;
        let mut plain = Zeroizing::new(Vec::new());
        (&mut reader)
            .take(attachment.size.saturating_add(1))
            .read_to_end(&mut plain)
            .map_err(|_| TeamError::Crypto(crypto::CryptoError::Open))?;
        if plain.len() as u64 != attachment.size {
            return Err(too_long(&attachment.name));
        }
        Ok(plain)
    }
}

/// Free space always left on the disk `--out` is on.
const KEEP_FREE: u64 = 256 * 1024 * 1024;

/// Refuses a file the disk has no room for. Attachment events are written by the
/// server, so a compromised one could claim (and stream) terabytes: the sealed size is
/// checked against the free space before anything is written.
fn check_room(out: &Path, size: u64, name: &str) -> Result<(), TeamError> {
    let free = fs2::available_space(out).map_err(|e| {
        TeamError::Io(format!(
            "cannot see the free space of {}: {e}",
            out.display()
        ))
    })?;
    if size.saturating_add(KEEP_FREE) > free {
        return Err(TeamError::Io(format!(
            "{}: it is {}, and {} has {} free (the desk keeps {} free); nothing was written. \
             Free some space, or pass another --out",
            crate::text::one_line(name),
            crate::report::human_size(size),
            out.display(),
            crate::report::human_size(free),
            crate::report::human_size(KEEP_FREE)
        )));
    }
    Ok(())
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

/// Where one attachment goes and what it must be.
struct Target {
    dir: PathBuf,
    name: String,
    force: bool,
    size: u64,
    sha256: String,
}

/// Reads the pieces a download task sends, as one stream.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<bytes::Bytes>,
    current: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(next) => self.current = next,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// Downloads on this task while a thread decrypts and writes, so both cores work. Stops
/// as soon as more than `cap` bytes of ciphertext arrive.
async fn stream_to_file(
    mut response: reqwest::Response,
    opener: Opener,
    target: Target,
    cap: u64,
    bar: Option<indicatif::ProgressBar>,
) -> Result<PathBuf, TeamError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(32);
    let name = target.name.clone();
    let worker = std::thread::spawn(move || {
        let reader = ChannelReader {
            rx,
            current: bytes::Bytes::new(),
        };
        let mut plain = opener.open(reader)?;
        write_attachment(
            &target.dir,
            &target.name,
            target.force,
            &mut plain,
            target.size,
            &target.sha256,
            &mut |n| {
                if let Some(bar) = &bar {
                    bar.inc(n);
                }
            },
        )
    });
    let mut failed = None;
    let mut received: u64 = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                received = received.saturating_add(chunk.len() as u64);
                if received > cap {
                    failed = Some(too_long(&name));
                    break;
                }
                if tx.send(chunk).is_err() {
                    break; // the thread stopped on an error; it says which below
                }
            }
            Ok(None) => break,
            Err(e) => {
                failed = Some(TeamError::Server(format!(
                    "the download broke off: {}",
                    crate::text::excerpt(&e.to_string(), 200)
                )));
                break;
            }
        }
    }
    drop(tx);
    drop(response);
    let result = worker
        .join()
        .map_err(|_| TeamError::Io("the decryption thread failed".into()))?;
    match failed {
        // A cut-off stream also fails to decrypt (and its file is removed); say why.
        Some(e) => {
            if let Ok(path) = result {
                let _ = std::fs::remove_file(path);
            }
            Err(e)
        }
        None => result,
    }
}
