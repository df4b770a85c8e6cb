//! The team keys file: the roster of who is encrypted to and who may log in.
//!
//! One age recipient a line; a `# name` comment line names the member on the line
//! below it. Blank lines and other comments are ignored.

use std::path::Path;
use std::str::FromStr;

use super::{BlobSealer, ChunkSink, CryptoError, ReporterRecipient, Sealed, seal};

/// Longest member name kept from a comment line.
const MAX_NAME: usize = 80;

/// A team member: a name for the thread, and the recipient everything is sealed to.
pub struct Member {
    name: String,
    recipient_text: String,
    recipient: Box<dyn age::Recipient + Send + Sync>,
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

    /// Parses the text of a keys file.
    pub fn parse(text: &str) -> Result<Self, KeysError> {
        let mut members: Vec<Member> = Vec::new();
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
            let parsed =
                parse_recipient(trimmed).map_err(|message| KeysError::Line { line, message })?;
            if let Some(earlier) = members
                .iter()
                .position(|m| m.recipient_text == parsed.canonical)
            {
                return Err(KeysError::Line {
                    line,
                    message: format!(
                        "this recipient is already listed for `{}`; remove one of the two lines",
                        members[earlier].name
                    ),
                });
            }
            let name = pending_name
                .take()
                .unwrap_or_else(|| format!("member {}", members.len() + 1));
            members.push(Member {
                name,
                recipient_text: parsed.canonical,
                recipient: parsed.recipient,
            });
        }
        if members.is_empty() {
            return Err(KeysError::Empty);
        }
        Ok(TeamKeys { members })
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

    /// Starts a streaming seal to the team and the reporter, writing into `sink`.
    pub fn blob_sealer<S: ChunkSink>(
        &self,
        reporter: Option<&ReporterRecipient>,
        sink: S,
    ) -> Result<BlobSealer<S>, CryptoError> {
        BlobSealer::new(&self.recipients(reporter), sink)
    }
}

/// Parses a recipient without ever starting a plugin program: native kinds as they
/// are, and a plugin recipient as a throwaway X25519 key (for answers that must look
/// like a member's without doing a member's work).
pub fn parse_native_recipient(text: &str) -> Result<Box<dyn age::Recipient + Send + Sync>, String> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let is_native = text.starts_with("ssh-")
        || lower.starts_with("age1tag1")
        || age::x25519::Recipient::from_str(&lower).is_ok();
    if is_native {
        return parse_recipient(text).map(|p| p.recipient);
    }
    age::plugin::Recipient::from_str(&lower).map_err(|_| "not an age recipient".to_string())?;
    Ok(Box::new(age::x25519::Identity::generate().to_public()))
}

/// The canonical spelling of a recipient, without building it (so no plugin runs).
fn canonical(text: &str) -> Option<String> {
    let text = text.trim();
    if text.starts_with("ssh-") {
        return age::ssh::Recipient::from_str(text)
            .ok()
            .map(|r| r.to_string());
    }
    let lower = text.to_ascii_lowercase();
    lower.starts_with("age1").then_some(lower)
}

/// A recipient parsed from text, with its canonical spelling (what the keys file
/// matches logins against).
pub struct ParsedRecipient {
    /// For sealing.
    pub recipient: Box<dyn age::Recipient + Send + Sync>,
    /// The canonical text: lower-case Bech32, or an SSH key without its comment.
    pub canonical: String,
}

/// Parses one recipient as written in a keys file: an age X25519 recipient (`age1…`),
/// a hardware "tag" recipient (`age1tag1…`), an OpenSSH public key (`ssh-ed25519 …`,
/// `ssh-rsa …`), or a plugin recipient (`age1yubikey1…`, whose `age-plugin-yubikey`
/// must then be installed here). The error says what was expected.
pub fn parse_recipient(text: &str) -> Result<ParsedRecipient, String> {
    let text = text.trim();
    let boxed = |r: Box<dyn age::Recipient + Send + Sync>, canonical: String| ParsedRecipient {
        recipient: r,
        canonical,
    };
    if text.starts_with("AGE-SECRET-KEY-") || text.starts_with("AGE-PLUGIN-") {
        return Err(
            "this is a secret key: the keys file holds only public recipients (`age1…`); \
             remove this line and keep the secret key on the member's own machine"
                .to_string(),
        );
    }
    if text.starts_with("ssh-") {
        let recipient = age::ssh::Recipient::from_str(text).map_err(|e| {
            format!("not an SSH public key age can use ({e:?}); expected ssh-ed25519 or ssh-rsa")
        })?;
        let canonical = recipient.to_string();
        return Ok(boxed(Box::new(recipient), canonical));
    }
    let lower = text.to_ascii_lowercase();
    if !lower.starts_with("age1") {
        return Err(format!(
            "expected an age recipient (`age1…`) or an SSH public key, found `{}`",
            text.chars().take(16).collect::<String>()
        ));
    }
    if lower.starts_with("age1tagpq1") {
        return Err(
            "post-quantum recipients cannot be combined with the X25519 key every report \
             is also sealed to (the reporter's); use an age1… or age1tag1… recipient"
                .to_string(),
        );
    }
    if lower.starts_with("age1tag1") {
        let recipient = age::tag::Recipient::from_str(&lower)
            .map_err(|e| format!("not a valid age tag recipient ({e})"))?;
        return Ok(boxed(Box::new(recipient), lower));
    }
    if let Ok(recipient) = age::x25519::Recipient::from_str(&lower) {
        return Ok(boxed(Box::new(recipient), lower));
    }
    let plugin = age::plugin::Recipient::from_str(&lower)
        .map_err(|_| "not a valid age recipient (bad Bech32 or unknown type)".to_string())?;
    let name = plugin.plugin().to_string();
    let wrapped = age::plugin::RecipientPluginV1::new(&name, &[plugin], &[], age::NoCallbacks)
        .map_err(|_| {
            format!(
                "this recipient needs the program `age-plugin-{name}`, which is not installed \
                 on this machine (install it, or use the member's age1tag1… recipient)"
            )
        })?;
    Ok(ParsedRecipient {
        recipient: Box::new(wrapped),
        canonical: lower,
    })
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
    fn keys_example_parses() {
        let keys = TeamKeys::parse(include_str!("../../keys.example")).unwrap();
        let names: Vec<&str> = keys.members().iter().map(|m| m.name()).collect();
        assert_eq!(names, ["Alice Example", "Bob Example"]);
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
