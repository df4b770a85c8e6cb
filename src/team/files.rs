//! The download pipeline: decrypted attachments written where the user asked, and only
//! there (safe names, mode 0600, never overwriting unless forced), checked against the
//! sealed size and SHA-256. The sealed size bounds the stream: one longer than it is
//! stopped as soon as it is, and the file is removed. The sealed size itself comes from
//! the server (attachment events are the server's), so it must fit the disk's free
//! space before anything is written.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::TeamError;
use super::thread::Opener;

/// Longest name written, in bytes.
const MAX_NAME_BYTES: usize = 200;

/// Turns a name chosen by a stranger into one file name inside the output folder: no
/// path components, no control, bidi or invisible characters, not hidden, not empty.
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|&c| !crate::text::is_hidden(c))
        .collect();
    let trimmed = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        "attachment".to_string()
    } else {
        out
    }
}

/// Streams `plaintext` into `dir/name` (0600), verifying its size against
/// `expected_size` (stopping as soon as it is exceeded) and its SHA-256 against
/// `expected_sha256` (hex). A mismatch removes the file and is an error.
pub fn write_attachment(
    dir: &Path,
    name: &str,
    force: bool,
    plaintext: &mut dyn Read,
    expected_size: u64,
    expected_sha256: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<PathBuf, TeamError> {
    let path = dir.join(name);
    let io =
        |what: &str, e: std::io::Error| TeamError::Io(format!("{what} {}: {e}", path.display()));
    if force && path.symlink_metadata().is_ok() {
        std::fs::remove_file(&path).map_err(|e| io("cannot replace", e))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                TeamError::Exists(path.display().to_string())
            } else {
                io("cannot create", e)
            }
        })?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut written: u64 = 0;
    let result = (|| -> Result<(), TeamError> {
        loop {
            let n = plaintext
                .read(&mut buf)
                .map_err(|e| TeamError::Io(format!("decrypting {}: {e}", path.display())))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if written > expected_size {
                return Err(TeamError::Mismatch {
                    name: path.display().to_string(),
                });
            }
            hash.update(&buf[..n]);
            file.write_all(&buf[..n])
                .map_err(|e| io("cannot write", e))?;
            progress(n as u64);
        }
        file.sync_all().map_err(|e| io("cannot write", e))?;
        if written != expected_size || hex::encode(hash.finalize()) != expected_sha256 {
            return Err(TeamError::Mismatch {
                name: path.display().to_string(),
            });
        }
        Ok(())
    })();
    zeroize::Zeroize::zeroize(&mut buf);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

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

/// Reads at most `cap` bytes of `inner`; one more is an error.
pub(super) struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R> Capped<R> {
    /// `inner`, of which at most `cap` bytes may be read.
    pub(super) fn new(inner: R, cap: u64) -> Self {
        Capped { inner, left: cap }
    }
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

/// Free space always left on the disk `--out` is on.
const KEEP_FREE: u64 = 256 * 1024 * 1024;

/// Refuses a file the disk has no room for. Attachment events are written by the
/// server, so a compromised one could claim (and stream) terabytes: the sealed size is
/// checked against the free space before anything is written.
pub(super) fn check_room(out: &Path, size: u64, name: &str) -> Result<(), TeamError> {
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

/// Where one attachment goes and what it must be: its sealed size and SHA-256 (the
/// sealed size also bounds the ciphertext read, see [`Target::cap`]).
pub struct Target {
    /// The folder (`--out`).
    pub dir: PathBuf,
    /// The file name, already made safe.
    pub name: String,
    /// Replace a file of that name.
    pub force: bool,
    /// Sealed plaintext size.
    pub size: u64,
    /// Sealed SHA-256, hex.
    pub sha256: String,
    /// Shows bytes written, on a terminal.
    pub bar: Option<indicatif::ProgressBar>,
}

/// One attachment to decrypt: which, with what, and where to.
pub struct Download {
    /// The report.
    pub report: crate::store::ReportId,
    /// The attachment stream.
    pub blob: crate::store::BlobId,
    /// What opens it ([`super::Thread::opener`]).
    pub opener: Opener,
    /// Where it goes, and what it must be.
    pub target: Target,
}

impl Target {
    /// The most ciphertext the attachment may take.
    pub fn cap(&self) -> u64 {
        max_ciphertext(self.size)
    }

    /// Writes `plain` there, checked against the sealed size and SHA-256.
    pub fn write(&self, plain: &mut dyn Read) -> Result<PathBuf, TeamError> {
        write_attachment(
            &self.dir,
            &self.name,
            self.force,
            plain,
            self.size,
            &self.sha256,
            &mut |n| {
                if let Some(bar) = &self.bar {
                    bar.inc(n);
                }
            },
        )
    }
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
pub(super) async fn stream_to_file(
    mut response: reqwest::Response,
    opener: Opener,
    target: Target,
) -> Result<PathBuf, TeamError> {
    let cap = target.cap();
    let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(32);
    let name = target.name.clone();
    let worker = std::thread::spawn(move || {
        let reader = ChannelReader {
            rx,
            current: bytes::Bytes::new(),
        };
        let mut plain = opener.open(reader)?;
        target.write(&mut plain)
    });
    let mut failed = None;
    let mut received: u64 = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                received = received.saturating_add(chunk.len() as u64);
                if received > cap {
                    failed = Some(TeamError::TooLong(name.clone()));
                    break;
                }
                if tx.send(chunk).is_err() {
                    break; // the thread stopped on an error; it says which below
                }
            }
            Ok(None) => break,
            Err(e) => {
                failed = Some(TeamError::DownloadBroke(crate::text::excerpt(
                    &e.to_string(),
                    200,
                )));
                break;
            }
        }
    }
    drop(tx);
    drop(response);
    let result = worker
        .join()
        .map_err(|_| TeamError::WorkerFailed("decryption"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_plain_names() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("/abs/path.txt"), "path.txt");
        assert_eq!(safe_file_name("C:\\x\\evil.exe"), "evil.exe");
        assert_eq!(safe_file_name(".bashrc"), "bashrc");
        assert_eq!(safe_file_name("a\0b\u{202E}gpj.exe"), "abgpj.exe");
        assert_eq!(safe_file_name(".."), "attachment");
        assert_eq!(safe_file_name(""), "attachment");
        assert_eq!(safe_file_name("dir/"), "attachment");
        assert!(safe_file_name(&"é".repeat(300)).len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn invisible_characters_and_edge_dots_go_and_long_names_are_cut_whole() {
        assert_eq!(safe_file_name("report.pdf. "), "report.pdf");
        assert_eq!(safe_file_name(" . .profile"), "profile");
        assert_eq!(
            safe_file_name("zero\u{200B}width\u{FEFF}.txt"),
            "zerowidth.txt"
        );
        assert_eq!(safe_file_name("\u{202E}\u{200B}\u{7}"), "attachment");
        assert_eq!(safe_file_name("a/b\\..\\"), "attachment");
        // Cut at a character boundary, at most MAX_NAME_BYTES.
        let long = safe_file_name(&"é".repeat(300));
        assert_eq!(long, "é".repeat(MAX_NAME_BYTES / 2));
        let odd = safe_file_name(&format!("a{}", "é".repeat(300)));
        assert_eq!(odd.len(), MAX_NAME_BYTES - 1);
        assert!(odd.ends_with('é'));
    }
}
