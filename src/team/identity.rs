//! Loading a team member's identities, whatever kind they already use: an age identity
//! file, a passphrase-protected one (asked for on the terminal, once), an OpenSSH
//! ed25519 or RSA key (its passphrase asked for once, too), or plugin identities such
//! as `age-plugin-yubikey`'s, which run their plugin when used. And the member's signing
//! key: derived from a native age identity, or read from a signing key file of its own
//! (`--signing-key`) for identities that cannot give one.

use std::io::Read;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use zeroize::Zeroizing;

use super::TeamError;
use crate::crypto::{self, SigningKey};

/// Passphrase attempts before giving up.
const ATTEMPTS: usize = 3;

/// The identities in one identity file.
pub struct Identities {
    path: PathBuf,
    list: Vec<Box<dyn age::Identity + Send + Sync>>,
    recipients: Vec<String>,
    signing: Option<SigningKey>,
    /// Every identity is a native X25519 key: using them asks nothing of the member and
    /// starts no program, so they may work on several threads at once.
    native: bool,
}

/// Talks to the member on the terminal (`/dev/tty`), for passphrases and for plugins
/// that need a touch or a PIN.
#[derive(Clone, Copy)]
pub struct Terminal;

impl age::Callbacks for Terminal {
    fn display_message(&self, message: &str) {
        eprintln!("{message}");
    }

    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Option<bool> {
        let no = no.unwrap_or("no");
        let answer = rpassword::prompt_password(format!("{message} [{yes}/{no}]: ")).ok()?;
        Some(answer.trim().eq_ignore_ascii_case(yes) || answer.trim().eq_ignore_ascii_case("y"))
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        rpassword::prompt_password(format!("{description}: ")).ok()
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        rpassword::prompt_password(format!("{description}: "))
            .ok()
            .map(SecretString::from)
    }
}

fn identity_error(message: String) -> TeamError {
    TeamError::Identity(message)
}

impl Identities {
    /// Reads an identity file; errors say which file and what was expected.
    pub fn load(path: &Path) -> Result<Self, TeamError> {
        let shown = path.display().to_string();
        let bytes = read_secret(path).map_err(|e| {
            identity_error(format!(
                "cannot read the identity file {shown}: {e}. Pass your age identity file \
                     (made by `agedrop keygen` or age-keygen) or your SSH private key with \
                     --identity, or set AGEDROP_IDENTITY"
            ))
        })?;
        let (list, recipients, signing, native) = if is_age_file(&bytes) {
            let inner = decrypt_protected(&bytes, &shown)?;
            let (list, recipients) = parse_text(&inner, &shown)?;
            let native = crypto::native_recipients(&inner).len() == list.len();
            (list, recipients, crypto::native_signing_key(&inner), native)
        } else {
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                identity_error(format!(
                    "{shown} is not an identity file (it is not text); expected an age \
                     identity (AGE-SECRET-KEY-1…) or an OpenSSH private key"
                ))
            })?;
            if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
                || text.contains("-----BEGIN RSA PRIVATE KEY-----")
            {
                let (list, recipients) = ssh_identity(text, &shown)?;
                (list, recipients, None, false)
            } else {
                let (list, recipients) = parse_text(text, &shown)?;
                let native = crypto::native_recipients(text).len() == list.len();
                (list, recipients, crypto::native_signing_key(text), native)
            }
        };
        Ok(Identities {
            path: path.to_path_buf(),
            list,
            recipients,
            signing,
            native,
        })
    }

    /// Whether every identity is a native X25519 key, which may open on several threads
    /// at once (a plugin or an SSH key may prompt, or need a touch, for each use).
    pub fn all_native(&self) -> bool {
        self.native
    }

    /// Uses the signing key in `path` (made by `agedrop keygen --signing-key`, perhaps
    /// behind a passphrase) instead of one derived from the identity.
    pub fn use_signing_key_file(&mut self, path: &Path) -> Result<(), TeamError> {
        let shown = path.display().to_string();
        let bytes = read_secret(path).map_err(|e| {
            identity_error(format!(
                "cannot read the signing key file {shown}: {e}. Make one with `agedrop \
                     keygen --signing-key --out FILE`"
            ))
        })?;
        let text = if is_age_file(&bytes) {
            decrypt_protected(&bytes, &shown)?
        } else {
            Zeroizing::new(String::from_utf8(bytes.to_vec()).map_err(|_| {
                identity_error(format!(
                    "{shown} is not a signing key file (it is not text)"
                ))
            })?)
        };
        let key =
            SigningKey::parse_secret(&text).map_err(|e| identity_error(format!("{shown}: {e}")))?;
        self.signing = Some(key);
        Ok(())
    }

    /// The member's signing key, if the identity gives one or a file was named.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.signing.as_ref()
    }

    /// What to do when a command needs a signing key and there is none.
    pub fn no_signing_key(&self) -> TeamError {
        identity_error(format!(
            "{} cannot sign (it is an SSH key or a plugin identity), and team events must be \
             signed: make a signing key with `agedrop keygen --signing-key --out FILE`, pass \
             it with --signing-key FILE (or AGEDROP_SIGNING_KEY), and give its agedropsig1… \
             line to whoever keeps the team keys file",
            self.path.display()
        ))
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

type Loaded = (Vec<Box<dyn age::Identity + Send + Sync>>, Vec<String>);

/// A file holding a secret, read into memory that is wiped when dropped (sized first,
/// so that growing the buffer leaves no unwiped copy behind).
fn read_secret(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(0);
    let mut bytes = Zeroizing::new(Vec::with_capacity(len.saturating_add(1)));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Whether the bytes are an age file (binary or armored): a passphrase-protected file.
fn is_age_file(bytes: &[u8]) -> bool {
    bytes.starts_with(b"age-encryption.org/")
        || bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
}

/// An age identity file's text: native and plugin identities.
fn parse_text(text: &str, shown: &str) -> Result<Loaded, TeamError> {
    if text.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("age1") || l.starts_with("ssh-")
    }) && !text.contains("AGE-SECRET-KEY-")
        && !text.contains("AGE-PLUGIN-")
    {
        return Err(identity_error(format!(
            "{shown} holds a public recipient, not an identity: pass the secret identity \
             file (lines starting AGE-SECRET-KEY-1), or your SSH private key (not the .pub)"
        )));
    }
    let file =
        age::IdentityFile::from_buffer(std::io::Cursor::new(text.as_bytes())).map_err(|e| {
            identity_error(format!(
                "{shown} is not an age identity file ({e}); expected lines starting \
                 AGE-SECRET-KEY-1 (or AGE-PLUGIN-… for a plugin)"
            ))
        })?;
    let list = file
        .with_callbacks(Terminal)
        .into_identities()
        .map_err(|e| identity_error(format!("cannot use the identities in {shown}: {e}")))?;
    if list.is_empty() {
        return Err(identity_error(format!(
            "{shown} contains no identity; expected a line starting AGE-SECRET-KEY-1"
        )));
    }
    let mut recipients = crate::crypto::native_recipients(text);
    // Plugin identity files name their recipient in a comment
    // (`#    Recipient: age1yubikey1…`); the login tries those too.
    for line in text.lines().filter(|l| l.trim_start().starts_with('#')) {
        for word in line.split_whitespace() {
            if word.starts_with("age1") && !recipients.iter().any(|r| r == word) {
                recipients.push(word.to_string());
            }
        }
    }
    Ok((list, recipients))
}

/// An age file encrypted with a passphrase that holds an identity file.
fn decrypt_protected(bytes: &[u8], shown: &str) -> Result<Zeroizing<String>, TeamError> {
    let open = || {
        age::Decryptor::new_buffered(age::armor::ArmoredReader::new(bytes)).map_err(|e| {
            identity_error(format!(
                "{shown} looks like an age file but is damaged ({e})"
            ))
        })
    };
    if !open()?.is_scrypt() {
        return Err(identity_error(format!(
            "{shown} is encrypted to a key, not to a passphrase; decrypt it first"
        )));
    }
    with_passphrase(shown, |passphrase| {
        let identity = age::scrypt::Identity::new(passphrase);
        match open()?.decrypt(std::iter::once(&identity as &dyn age::Identity)) {
            Ok(mut reader) => {
                let mut inner = Zeroizing::new(Vec::new());
                reader
                    .read_to_end(&mut inner)
                    .map_err(|e| identity_error(format!("{shown} could not be decrypted: {e}")))?;
                let text = String::from_utf8(inner.to_vec()).map_err(|_| {
                    identity_error(format!("{shown} does not hold an identity file"))
                })?;
                Ok(Some(Zeroizing::new(text)))
            }
            Err(age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed) => {
                Ok(None)
            }
            Err(e) => Err(identity_error(format!(
                "{shown} could not be decrypted: {e}"
            ))),
        }
    })
}

/// Asks for the passphrase of `shown` until `unlock` takes one ([`ATTEMPTS`] tries):
/// `unlock` gives `Some` when it opened, `None` for a wrong passphrase.
fn with_passphrase<T>(
    shown: &str,
    mut unlock: impl FnMut(SecretString) -> Result<Option<T>, TeamError>,
) -> Result<T, TeamError> {
    for _ in 0..ATTEMPTS {
        let passphrase =
            rpassword::prompt_password(format!("Passphrase for {shown}: ")).map_err(|_| {
                identity_error(format!(
                    "{shown} is protected by a passphrase, and there is no terminal to ask for it"
                ))
            })?;
        if let Some(opened) = unlock(SecretString::from(passphrase))? {
            return Ok(opened);
        }
        eprintln!("Wrong passphrase.");
    }
    Err(identity_error(format!(
        "wrong passphrase for {shown} ({ATTEMPTS} attempts)"
    )))
}

/// An OpenSSH (ed25519 or RSA) private key; a protected one is unlocked once, here.
fn ssh_identity(text: &str, shown: &str) -> Result<Loaded, TeamError> {
    let identity = age::ssh::Identity::from_buffer(
        std::io::Cursor::new(text.as_bytes()),
        Some(shown.to_string()),
    )
    .map_err(|e| identity_error(format!("{shown} is not an SSH key age can use ({e})")))?;
    let recipient = age::ssh::Recipient::try_from(identity.clone())
        .map_err(|e| {
            identity_error(format!(
                "{shown}: agedrop supports ssh-ed25519 and ssh-rsa keys ({e:?})"
            ))
        })?
        .to_string();
    let identity = match identity {
        age::ssh::Identity::Encrypted(key) => with_passphrase(shown, |passphrase| {
            Ok(key.decrypt(passphrase).ok().map(age::ssh::Identity::from))
        })?,
        age::ssh::Identity::Unsupported(_) => {
            return Err(identity_error(format!(
                "{shown}: this SSH key type is not supported; use ssh-ed25519 or ssh-rsa"
            )));
        }
        plain => plain,
    };
    Ok((vec![Box::new(identity)], vec![recipient]))
}
