//! Recipients as the team keys file and the login name them: checked and put in their
//! canonical spelling without ever starting a plugin program, and parsed into something
//! to seal to.

use std::str::FromStr;

/// Parses a recipient for a login challenge without ever starting a plugin program:
/// native kinds (X25519, `age1tag1…`, SSH) as they are, and `None` for a plugin
/// recipient, which only its program could seal to. An error for anything else.
#[allow(clippy::type_complexity)]
pub fn parse_for_challenge(
    text: &str,
) -> Result<Option<Box<dyn age::Recipient + Send + Sync>>, String> {
    match check_recipient(text)? {
        Checked::Native(recipient, _) => Ok(Some(recipient)),
        Checked::Plugin(..) => Ok(None),
    }
}

/// The canonical spelling of a recipient, checked, without running any plugin.
pub fn canonical_recipient(text: &str) -> Result<String, String> {
    check_recipient(text).map(Checked::canonical)
}

/// A fresh X25519 recipient whose identity is thrown away at once: what a challenge for
/// a plugin recipient is sealed to, members' and strangers' alike.
pub fn throwaway_recipient() -> age::x25519::Recipient {
    age::x25519::Identity::generate().to_public()
}

/// The canonical spelling of a recipient, or `None` if it is not one.
pub(super) fn canonical(text: &str) -> Option<String> {
    canonical_recipient(text).ok()
}

/// A recipient parsed from text, with its canonical spelling (what the keys file
/// matches logins against).
pub struct ParsedRecipient {
    /// For sealing.
    pub recipient: Box<dyn age::Recipient + Send + Sync>,
    /// The canonical text: lower-case Bech32, or an SSH key without its comment.
    pub canonical: String,
}

/// A recipient checked without running anything.
pub(super) enum Checked {
    /// Ready to seal to, with its canonical text.
    Native(Box<dyn age::Recipient + Send + Sync>, String),
    /// Needs its plugin program to seal to.
    Plugin(age::plugin::Recipient, String),
}

impl Checked {
    pub(super) fn canonical(self) -> String {
        match self {
            Checked::Native(_, c) | Checked::Plugin(_, c) => c,
        }
    }
}

/// Checks one recipient as written in a keys file; the error says what was expected.
pub(super) fn check_recipient(text: &str) -> Result<Checked, String> {
    let text = text.trim();
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
        return Ok(Checked::Native(Box::new(recipient), canonical));
    }
    let lower = text.to_ascii_lowercase();
    if !lower.starts_with("age1") {
        return Err(format!(
            "expected an age recipient (`age1…`) or an SSH public key, found `{}`",
            text.chars()
                .filter(|c| !c.is_control())
                .take(16)
                .collect::<String>()
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
        return Ok(Checked::Native(Box::new(recipient), lower));
    }
    if let Ok(recipient) = age::x25519::Recipient::from_str(&lower) {
        return Ok(Checked::Native(Box::new(recipient), lower));
    }
    let plugin = age::plugin::Recipient::from_str(&lower)
        .map_err(|_| "not a valid age recipient (bad Bech32 or unknown type)".to_string())?;
    Ok(Checked::Plugin(plugin, lower))
}

/// Parses one recipient as written in a keys file, ready to seal to: an age X25519
/// recipient (`age1…`), a hardware "tag" recipient (`age1tag1…`), an OpenSSH public key
/// (`ssh-ed25519 …`, `ssh-rsa …`), or a plugin recipient (`age1yubikey1…`, whose
/// `age-plugin-yubikey` must then be installed here). The error says what was expected.
pub fn parse_recipient(text: &str) -> Result<ParsedRecipient, String> {
    match check_recipient(text)? {
        Checked::Native(recipient, canonical) => Ok(ParsedRecipient {
            recipient,
            canonical,
        }),
        Checked::Plugin(plugin, canonical) => {
            let name = plugin.plugin().to_string();
            let wrapped =
                age::plugin::RecipientPluginV1::new(&name, &[plugin], &[], age::NoCallbacks)
                    .map_err(|_| {
                        format!(
                            "this recipient needs the program `age-plugin-{name}`, which is not \
                             installed on this machine (install it, or use the member's \
                             age1tag1… recipient)"
                        )
                    })?;
            Ok(ParsedRecipient {
                recipient: Box::new(wrapped),
                canonical,
            })
        }
    }
}
