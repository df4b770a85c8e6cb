//! The team keys file: the roster of who is encrypted to and who may log in.
//!
//! One age recipient a line, optionally followed by the member's public signing key
//! (`age1… agedropsig1…`); a `# name` comment line names the member on the line below
//! it. Blank lines and other comments are ignored. Lines without a signing key (files
//! written before agedrop signed team events) still load: that member's words show as
//! unverified on the desk.

use super::recipient::{canonical, check_recipient, parse_for_challenge, parse_recipient};
use std::path::Path;

use super::{CryptoError, ReporterRecipient, Sealed, VerifyingKey, looks_like_signing_key, seal};

/// Longest member name kept from a comment line.
const MAX_NAME: usize = 80;

/// A team member: a name for the thread, and the recipient everything is sealed to.
pub struct Member {
    name: String,
    recipient_text: String,
    recipient: Box<dyn age::Recipient + Send + Sync>,
    signing: Option<VerifyingKey>,
}

impl Member {
    /// The member's name from the keys file (or a placeholder when the file gives none).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The recipient as the keys file gives it, in canonical spelling (`age1…` in lower
    /// case, an SSH key without its comment).
    pub fn recipient_text(&self) -> &str {
        &self.recipient_text
    }

    /// The recipient, for sealing.
    pub fn recipient(&self) -> &dyn age::Recipient {
        self.recipient.as_ref()
    }

    /// The member's public signing key, if the keys file lists one.
    pub fn signing_key(&self) -> Option<&VerifyingKey> {
        self.signing.as_ref()
    }
}

/// A parsed, validated team keys file with at least one member.
pub struct TeamKeys {
    members: Vec<Member>,
}

/// Why a keys file was refused; always names the file's line where there is one.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The file could not be read.
    #[error("cannot read the team keys file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a recipient agedrop understands.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    /// No recipient at all.
    #[error(
        "no team recipient in the keys file: add at least one `age1…` line (create one with `agedrop keygen`)"
    )]
    Empty,
}

impl TeamKeys {
    /// Reads and parses a keys file.
    pub fn load(path: &Path) -> Result<Self, KeysError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeysError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses the text of a keys file and makes each line a recipient to seal to.
    pub fn parse(text: &str) -> Result<Self, KeysError> {
        let mut members = Vec::new();
        for line in read_keys_file(text)? {
            let parsed = parse_recipient(&line.recipient).map_err(|message| KeysError::Line {
                line: line.line,
                message,
            })?;
            members.push(Member {
                name: line.name,
                recipient_text: parsed.canonical,
                recipient: parsed.recipient,
                signing: line.signing,
            });
        }
        Ok(TeamKeys { members })
    }

    /// What the operator should hear about this roster: members without a signing key
    /// (their words show as unverified; with a plugin recipient they cannot log in).
    pub fn advice(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| m.signing.is_none())
            .map(|m| {
                let plugin = matches!(parse_for_challenge(&m.recipient_text), Ok(None));
                format!(
                    "keys file: `{}` has no signing key (agedropsig1… after the recipient): \
                     {}; they run `agedrop team whoami` for their line",
                    m.name,
                    if plugin {
                        "with a plugin recipient they cannot log in to the team API until they have one"
                    } else {
                        "the desk shows their words as unverified"
                    }
                )
            })
            .collect()
    }

    /// Every member, in file order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member whose recipient is `recipient_text` (any spelling of it).
    pub fn find(&self, recipient_text: &str) -> Option<&Member> {
        let canonical = canonical(recipient_text)?;
        self.members.iter().find(|m| m.recipient_text == canonical)
    }

    fn recipients<'a>(
        &'a self,
        reporter: Option<&'a ReporterRecipient>,
    ) -> Vec<&'a dyn age::Recipient> {
        let mut all: Vec<&dyn age::Recipient> =
            self.members.iter().map(|m| m.recipient()).collect();
        if let Some(reporter) = reporter {
            all.push(reporter);
        }
        all
    }

    /// Seals to the whole team and, when given, the reporter.
    pub fn seal(
        &self,
        reporter: Option<&ReporterRecipient>,
        plaintext: &[u8],
    ) -> Result<Sealed, CryptoError> {
        seal(&self.recipients(reporter), plaintext)
    }
}

/// One member's line of a keys file: checked, its recipient in canonical spelling, but
/// not made into something to seal to (a plugin recipient would need its program).
pub struct KeysLine {
    /// 1-based line number.
    pub line: usize,
    /// The name from the comment above, or `member N`.
    pub name: String,
    /// The recipient, canonical: lower-case Bech32, or an SSH key without its comment.
    pub recipient: String,
    /// The member's public signing key, if listed.
    pub signing: Option<VerifyingKey>,
}

/// Reads a keys file's lines without running any plugin: what the server seals to and
/// what a desk pins (`agedrop team trust --keys FILE`) come from this one reading.
pub fn read_keys_file(text: &str) -> Result<Vec<KeysLine>, KeysError> {
    let mut members: Vec<KeysLine> = Vec::new();
    let mut pending_name: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            pending_name = None;
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            let name: String = comment
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_NAME)
                .collect();
            pending_name = (!name.is_empty()).then_some(name);
            continue;
        }
        let fail = |message: String| KeysError::Line { line, message };
        let (recipient_text, signing) = split_signing_key(trimmed).map_err(fail)?;
        let recipient = check_recipient(recipient_text).map_err(fail)?.canonical();
        if let Some(key) = &signing
            && let Some(earlier) = members.iter().find(|m| m.signing.as_ref() == Some(key))
        {
            return Err(fail(format!(
                "this signing key is already listed for `{}`: every member needs their own",
                earlier.name
            )));
        }
        if let Some(earlier) = members.iter().find(|m| m.recipient == recipient) {
            return Err(fail(format!(
                "this recipient is already listed for `{}`; remove one of the two lines",
                earlier.name
            )));
        }
        let name = pending_name
            .take()
            .unwrap_or_else(|| format!("member {}", members.len() + 1));
        members.push(KeysLine {
            line,
            name,
            recipient,
            signing,
        });
    }
    if members.is_empty() {
        return Err(KeysError::Empty);
    }
    Ok(members)
}

/// Splits a keys-file line into the recipient and the signing key at its end, if any.
pub fn split_signing_key(line: &str) -> Result<(&str, Option<VerifyingKey>), String> {
    let line = line.trim();
    match line.rsplit_once(char::is_whitespace) {
        Some((rest, last)) if looks_like_signing_key(last) => {
            let key = last.parse::<VerifyingKey>()?;
            Ok((rest.trim_end(), Some(key)))
        }
        _ if looks_like_signing_key(line) => Err(
            "a signing key alone: put it on the same line as the member's recipient, after it \
             (`age1… agedropsig1…`)"
                .to_string(),
        ),
        _ => Ok((line, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_comment_above() {
        let a = age::x25519::Identity::generate().to_public().to_string();
        let b = age::x25519::Identity::generate().to_public().to_string();
        let text = format!("# Team keys\n\n# Alice\n{a}\n\n{b}\n");
        let keys = TeamKeys::parse(&text).unwrap();
        assert_eq!(keys.members().len(), 2);
        assert_eq!(keys.members()[0].name(), "Alice");
        assert_eq!(keys.members()[1].name(), "member 2");
        assert!(keys.find(&b).is_some());
    }

    #[test]
    fn signing_keys_follow_the_recipient() {
        let a = age::x25519::Identity::generate().to_public().to_string();
        let sig = crate::crypto::SigningKey::generate().unwrap().public();
        let ssh = include_str!("../../tests/fixtures/ssh-ed25519.pub").trim();
        let keys = TeamKeys::parse(&format!("# A\n{a} {sig}\n# S\n{ssh}\n")).unwrap();
        assert_eq!(keys.members()[0].signing_key(), Some(&sig));
        assert!(keys.members()[1].signing_key().is_none());
        let keys = TeamKeys::parse(&format!("{ssh} {sig}\n")).unwrap();
        assert_eq!(keys.members()[0].signing_key(), Some(&sig));
        let b = age::x25519::Identity::generate().to_public().to_string();
        let err = TeamKeys::parse(&format!("{a} {sig}\n{b} {sig}\n"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("line 2:") && err.contains("signing key"),
            "{err}"
        );
        let err = TeamKeys::parse(&format!("{a} agedropsig1qqqq\n"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not a signing key"), "{err}");
        assert!(TeamKeys::parse(&format!("{sig}\n")).is_err());
    }

    #[test]
    fn keys_example_parses() {
        let keys = TeamKeys::parse(include_str!("../../keys.example")).unwrap();
        let names: Vec<&str> = keys.members().iter().map(|m| m.name()).collect();
        assert_eq!(names, ["Alice Example", "Bob Example"]);
        assert!(keys.members().iter().all(|m| m.signing_key().is_some()));
        assert!(keys.advice().is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let err = TeamKeys::parse("# x\nage1nope\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("line 2:"), "{err}");
        let secret = age::x25519::Identity::generate();
        let err = TeamKeys::parse(&format!("{}\n", secrecy_text(&secret)))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("secret key"), "{err}");
        assert!(matches!(TeamKeys::parse("# only\n"), Err(KeysError::Empty)));
        let a = secret.to_public().to_string();
        let err = TeamKeys::parse(&format!("{a}\n{a}\n"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("line 2:"), "{err}");
    }

    fn secrecy_text(identity: &age::x25519::Identity) -> String {
        use age::secrecy::ExposeSecret;
        identity.to_string().expose_secret().to_string()
    }
}
