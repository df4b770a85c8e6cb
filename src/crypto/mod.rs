//! The only place that calls `age`: sealed payloads, the team keys file, streaming
//! attachment encryption with a key per file, receipt codes, members' signing keys and the login
//! challenge's one exact form.
//!
//! Everything the server stores is a [`Sealed`] value or a [`SealedChunk`] of an
//! attachment stream; both can only be made here, by sealing, or by the store when it
//! reads back what it wrote.

mod filekey;
mod login;
mod receipt;
mod recipient;
mod sign;
mod stream;
mod team_keys;

use std::io::{Read, Write};
use std::str::FromStr;

use zeroize::Zeroizing;

pub use filekey::{AttachmentKey, FileKey, open_keeping_key, stream_file_key};
pub use login::{MAX_SEALED_CHALLENGE, challenge_answer, challenge_text, is_challenge};
pub use receipt::{LookupKey, Receipt, ReceiptError, ReporterKey};
pub use recipient::{
    ParsedRecipient, canonical_recipient, parse_for_challenge, parse_recipient, throwaway_recipient,
};
pub use sign::{Purpose, Signature, SigningKey, VerifyingKey, looks_like_signing_key};
pub use stream::{BlobSealer, ChunkSink, PlainDigest, SealedChunk, open_stream};
pub use team_keys::{KeysError, KeysLine, Member, TeamKeys, read_keys_file, split_signing_key};

/// A reporter's public recipient, the one part of their key the server stores.
pub type ReporterRecipient = age::x25519::Recipient;

/// What can go wrong sealing or opening. Opening failures are deliberately coarse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Random,
    /// A key could not be derived from a receipt code.
    #[error("could not derive a key from the receipt code")]
    Derive,
    /// Encryption failed (no recipients, or recipients that cannot be mixed).
    #[error("encryption failed: {0}")]
    Seal(String),
    /// The ciphertext could not be opened with the given identities.
    #[error("could not decrypt: the data is damaged or not addressed to this identity")]
    Open,
    /// The bytes are not an age file.
    #[error("not an age-encrypted file")]
    NotAge,
    /// The writer under a stream failed (usually storage).
    #[error("writing the encrypted stream failed: {0}")]
    Io(#[from] std::io::Error),
}

/// One whole age ciphertext. The store accepts nothing else, so plaintext cannot reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(Vec<u8>);

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

impl Sealed {
    /// Checks that untrusted bytes are a well-formed age file (header and nonce), without
    /// being able to open it. Used for events that team members seal on their machines.
    pub fn parse(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        age::Decryptor::new_buffered(&bytes[..]).map_err(|_| CryptoError::NotAge)?;
        Ok(Sealed(bytes))
    }

    /// Wraps bytes the store wrote earlier as a `Sealed`, unchecked: for the store only
    /// (clippy's `disallowed-methods` keeps it there; see `clippy.toml`).
    pub fn from_stored(bytes: Vec<u8>) -> Self {
        Sealed(bytes)
    }

    /// The ciphertext.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length of the ciphertext in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the ciphertext is empty (never true for a value made by sealing).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Seals `plaintext` to every recipient given.
pub fn seal(recipients: &[&dyn age::Recipient], plaintext: &[u8]) -> Result<Sealed, CryptoError> {
    let encryptor = age::Encryptor::with_recipients(recipients.iter().copied())
        .map_err(|e| CryptoError::Seal(e.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() + 256 + 200 * recipients.len());
    let mut writer = encryptor.wrap_output(&mut out)?;
    writer.write_all(plaintext)?;
    writer.finish()?;
    Ok(Sealed(out))
}

/// Starts sealing one attachment stream to its own key, writing into `sink`. Only the
/// key opens it; the key travels inside the attachment's sealed event.
pub fn blob_sealer<S: ChunkSink>(
    key: &AttachmentKey,
    sink: S,
) -> Result<BlobSealer<S>, CryptoError> {
    BlobSealer::new(&[&key.recipient()], sink)
}

/// How many recipient stanzas a sealed value's header lists, read without opening it;
/// `None` if it has no readable header. Opening tries the member's keys against each
/// stanza (an RSA decryption for an ssh-rsa key, a touch for some hardware), so a
/// server could make one event cost minutes: callers refuse values with far more
/// stanzas than the team has members.
pub fn stanza_count(sealed: &Sealed) -> Option<usize> {
    let mut lines = sealed.0.split(|&b| b == b'\n');
    if lines.next()? != b"age-encryption.org/v1" {
        return None;
    }
    let mut count = 0;
    for line in lines {
        if line.starts_with(b"-> ") {
            count += 1;
        } else if line.starts_with(b"--- ") {
            return Some(count);
        }
    }
    None
}

/// Opens a sealed value with any of `identities`; the plaintext is wiped when dropped.
pub fn open(
    identities: &[&dyn age::Identity],
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let decryptor = age::Decryptor::new_buffered(&sealed.0[..]).map_err(|_| CryptoError::Open)?;
    let mut reader = decryptor
        .decrypt(identities.iter().copied())
        .map_err(|_| CryptoError::Open)?;
    let mut out = Zeroizing::new(Vec::with_capacity(sealed.0.len()));
    reader
        .read_to_end(&mut out)
        .map_err(|_| CryptoError::Open)?;
    Ok(out)
}

/// Parses a reporter's recipient: only ever a native X25519 one (derived from a receipt
/// code), so that text from a server can never make the desk start a plugin program.
pub fn parse_reporter_recipient(text: &str) -> Result<ReporterRecipient, String> {
    let text = text.trim();
    if !text.starts_with("age1") || text.starts_with("age1tag") {
        return Err("not a reporter's recipient (age1…)".into());
    }
    ReporterRecipient::from_str(text).map_err(|_| "not a reporter's recipient (age1…)".into())
}

/// Opens a sealed value with a reporter's key.
pub fn open_as_reporter(
    key: &ReporterKey,
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    open(&[key.identity() as &dyn age::Identity], sealed)
}

/// A new team identity: the text of an identity file (wiped on drop), and the line for
/// the team keys file (its recipient and the public signing key derived from it).
pub fn generate_identity(created: &str) -> (Zeroizing<String>, String) {
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let line = match SigningKey::from_age_identity(&identity) {
        Some(key) => format!("{recipient} {}", key.public()),
        None => recipient.clone(),
    };
    let secret = identity.to_string();
    let text = Zeroizing::new(format!(
        "# created: {created}\n# public key: {recipient}\n# keys-file line: {line}\n{}\n",
        secret.expose_secret()
    ));
    (text, line)
}

/// The signing key derived from the first native identity (`AGE-SECRET-KEY-1…`) in an
/// identity file's text, if it has one.
pub fn native_signing_key(identity_file: &str) -> Option<SigningKey> {
    identity_file
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .find_map(|l| age::x25519::Identity::from_str(l).ok())
        .and_then(|i| SigningKey::from_age_identity(&i))
}

/// The recipients (`age1…`) of the native identities in an identity file's text.
pub fn native_recipients(identity_file: &str) -> Vec<String> {
    identity_file
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .filter_map(|l| age::x25519::Identity::from_str(l).ok())
        .map(|i| i.to_public().to_string())
        .collect()
}

/// Encrypts an identity file's text with a passphrase (armored, as `age -p -a` does).
/// `work_factor` is scrypt's log2(N); `None` lets age pick about a second's work.
pub fn protect_identity(
    text: &str,
    passphrase: &str,
    work_factor: Option<u8>,
) -> Result<Vec<u8>, CryptoError> {
    let mut recipient =
        age::scrypt::Recipient::new(age::secrecy::SecretString::from(passphrase.to_string()));
    if let Some(log_n) = work_factor {
        recipient.set_work_factor(log_n);
    }
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
        .map_err(|e| CryptoError::Seal(e.to_string()))?;
    let mut out = Vec::new();
    let armor = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)?;
    let mut writer = encryptor.wrap_output(armor)?;
    writer.write_all(text.as_bytes())?;
    writer.finish()?.finish()?;
    Ok(out)
}

/// Fills a fresh array from the operating system's random number generator.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    use rand::TryRng;
    let mut out = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut out)
        .map_err(|_| CryptoError::Random)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_wrong_key() {
        let a = age::x25519::Identity::generate();
        let b = age::x25519::Identity::generate();
        let sealed = seal(&[&a.to_public()], b"hello").unwrap();
        assert_eq!(&open(&[&a], &sealed).unwrap()[..], b"hello");
        assert!(matches!(open(&[&b], &sealed), Err(CryptoError::Open)));
        assert!(Sealed::parse(sealed.as_bytes().to_vec()).is_ok());
        assert!(Sealed::parse(b"hello".to_vec()).is_err());
        assert!(Sealed::parse(Vec::new()).is_err());
        let two = seal(&[&a.to_public(), &b.to_public()], b"x").unwrap();
        // age may add one "grease" stanza of its own.
        assert!(matches!(stanza_count(&two), Some(2..=3)));
        assert_eq!(stanza_count(&Sealed(b"junk".to_vec())), None);
    }
}
