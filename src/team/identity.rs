//! Loading a team member's age identities from a file.

use std::path::{Path, PathBuf};

use super::TeamError;

/// The identities in one identity file.
pub struct Identities {
    path: PathBuf,
    list: Vec<Box<dyn age::Identity + Send + Sync>>,
    recipients: Vec<String>,
}

impl Identities {
    /// Reads an identity file, with messages that say which file and what was expected.
    pub fn load(path: &Path) -> Result<Self, TeamError> {
        let shown = path.display().to_string();
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            TeamError::Identity(format!(
                "cannot read the identity file {shown}: {e}. Pass the file made by \
                 `agedrop keygen` (or age-keygen) with --identity"
            ))
        })?);
        if text.lines().any(|l| l.trim_start().starts_with("age1"))
            && !text.contains("AGE-SECRET-KEY-")
        {
            return Err(TeamError::Identity(format!(
                "{shown} holds a public recipient (age1…), not an identity: pass the secret \
                 identity file (lines starting AGE-SECRET-KEY-1)"
            )));
        }
        let file =
            age::IdentityFile::from_buffer(std::io::Cursor::new(text.as_bytes())).map_err(|e| {
                TeamError::Identity(format!(
                    "{shown} is not an age identity file ({e}); expected lines starting \
                     AGE-SECRET-KEY-1"
                ))
            })?;
        let list = file.into_identities().map_err(|e| {
            TeamError::Identity(format!("cannot use the identities in {shown}: {e}"))
        })?;
        if list.is_empty() {
            return Err(TeamError::Identity(format!(
                "{shown} contains no identity; expected a line starting AGE-SECRET-KEY-1"
            )));
        }
        let recipients = crate::crypto::native_recipients(&text);
        Ok(Identities {
            path: path.to_path_buf(),
            list,
            recipients,
        })
    }

    /// The identities, for decryption.
    pub fn as_refs(&self) -> Vec<&dyn age::Identity> {
        self.list
            .iter()
            .map(|i| i.as_ref() as &dyn age::Identity)
            .collect()
    }

    /// The public recipients of these identities, as a keys file would list them.
    pub fn recipients(&self) -> &[String] {
        &self.recipients
    }

    /// The file they came from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
