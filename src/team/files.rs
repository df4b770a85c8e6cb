//! Writing decrypted attachments where the user asked, and only there: safe names,
//! mode 0600, never overwriting unless forced, checked against the sealed SHA-256.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::TeamError;

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
                TeamError::Io(format!(
                    "{} already exists; use --force to overwrite it",
                    path.display()
                ))
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
