//! `agedrop keygen`: a new age identity or signing key for a team member, written with
//! mode 0600 (behind a passphrase if asked), and the line for the team keys file.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::anyhow;

use agedrop::crypto;

use super::now_rfc3339;

pub(super) fn keygen(
    out: Option<&Path>,
    passphrase: bool,
    signing_key: bool,
) -> anyhow::Result<()> {
    let (text, line) = if signing_key {
        let key = crypto::SigningKey::generate()?;
        (key.to_file_text(&now_rfc3339()), key.public().to_string())
    } else {
        crypto::generate_identity(&now_rfc3339())
    };
    let what = if signing_key {
        "signing key"
    } else {
        "identity"
    };
    match out {
        Some(path) => {
            if passphrase {
                let first = zeroize::Zeroizing::new(
                    rpassword::prompt_password(format!("Passphrase for the new {what}: "))
                        .map_err(|e| anyhow!("cannot ask for a passphrase: {e}"))?,
                );
                let again = zeroize::Zeroizing::new(
                    rpassword::prompt_password("The same passphrase again: ")
                        .map_err(|e| anyhow!("cannot ask for a passphrase: {e}"))?,
                );
                if first.is_empty() || *first != *again {
                    anyhow::bail!("the passphrases are empty or differ; nothing was written");
                }
                let protected = crypto::protect_identity(&text, &first, None)?;
                write_private(path, &protected)?;
            } else {
                write_private(path, text.as_bytes())?;
            }
            eprintln!("Wrote the {what} to {} (mode 0600).", path.display());
            if signing_key {
                eprintln!(
                    "Pass it to the desk with --signing-key (or AGEDROP_SIGNING_KEY), and give \
                     the operator this public signing key, to put after your recipient on \
                     your line of the team keys file:"
                );
            } else {
                eprintln!("Give the team's operator this line for the team keys file:");
            }
            println!("{line}");
        }
        None => {
            eprintln!("Keys-file line: {line}");
            print!("{}", &*text);
        }
    }
    Ok(())
}

/// Creates `path` with mode 0600, refusing to overwrite anything.
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                anyhow!(
                    "{} already exists; refusing to overwrite an identity (choose another --out)",
                    path.display()
                )
            } else {
                anyhow!("cannot create {}: {e}", path.display())
            }
        })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}
