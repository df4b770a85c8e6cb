//! Keys to one file each: what lets a member share a report without re-encrypting it.
//!
//! Every age file has a random 16-byte file key, wrapped once per recipient in its
//! header; whoever holds it can open that one file and nothing else. Two uses:
//!
//! - an attachment stream is sealed to a fresh X25519 identity of its own
//!   ([`AttachmentKey`]), whose secret travels only inside the small sealed
//!   `attachment` event; opening the event is what opens the file;
//! - a grant hands a member the file keys of earlier events ([`FileKey`]), taken as
//!   the granting member opened them, so a grant re-seals a few small keys, never the
//!   events or the attachments.
//!
//! Both go through age's own `Identity` trait (the joint age offers plugins): age still
//! parses the header, checks its MAC with the key, and decrypts. Nothing here touches a
//! cipher.

use std::cell::RefCell;
use std::io::Read;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use age_core::format::{FILE_KEY_BYTES, Stanza};
use base64::Engine;
use zeroize::Zeroizing;

use super::{CryptoError, Sealed};

/// The file key of one age file: opens that file, nothing else. No `Debug`; wiped on
/// drop.
#[derive(Clone)]
pub struct FileKey(Zeroizing<[u8; FILE_KEY_BYTES]>);

impl FileKey {
    /// As text (base64) for a sealed grant; wiped on drop.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(24));
        base64::engine::general_purpose::STANDARD.encode_string(&self.0[..], &mut out);
        out
    }

    /// Reads [`FileKey::to_text`]'s form.
    pub fn from_text(text: &str) -> Option<Self> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .ok()?,
        );
        let array: [u8; FILE_KEY_BYTES] = bytes.as_slice().try_into().ok()?;
        Some(FileKey(Zeroizing::new(array)))
    }
}

impl age::Identity for FileKey {
    // Every stanza of a header wraps the same file key, so the first one is as good as
    // any; age checks the header's MAC with it before decrypting anything.
    fn unwrap_stanza(
        &self,
        _stanza: &Stanza,
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        Some(Ok(age_core::format::FileKey::new(Box::new(*self.0))))
    }
}

/// The member's identities, keeping a copy of the file key that one of them unwraps.
struct Keeping<'a> {
    identities: &'a [&'a dyn age::Identity],
    kept: RefCell<Option<FileKey>>,
}

impl Keeping<'_> {
    fn keep(
        &self,
        found: Option<Result<age_core::format::FileKey, age::DecryptError>>,
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        if let Some(Ok(key)) = &found {
            *self.kept.borrow_mut() = Some(FileKey(Zeroizing::new(*key.expose_secret())));
        }
        found
    }
}

impl age::Identity for Keeping<'_> {
    fn unwrap_stanza(
        &self,
        stanza: &Stanza,
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        let found = self.identities.iter().find_map(|i| i.unwrap_stanza(stanza));
        self.keep(found)
    }

    fn unwrap_stanzas(
        &self,
        stanzas: &[Stanza],
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        // As age itself tries identities: each against every stanza, in order.
        let found = self
            .identities
            .iter()
            .find_map(|i| i.unwrap_stanzas(stanzas));
        self.keep(found)
    }
}

/// Opens a sealed value like [`super::open`], and gives its file key too (for a grant).
pub fn open_keeping_key(
    identities: &[&dyn age::Identity],
    sealed: &Sealed,
) -> Result<(Zeroizing<Vec<u8>>, FileKey), CryptoError> {
    let keeping = Keeping {
        identities,
        kept: RefCell::new(None),
    };
    let plain = super::open(&[&keeping], sealed)?;
    let key = keeping.kept.into_inner().ok_or(CryptoError::Open)?;
    Ok((plain, key))
}

/// The file key of an age stream, from its beginning (the header; the rest is never
/// read), with the member's identities. For granting attachments stored before each had
/// a key of its own.
pub fn stream_file_key(
    identities: &[&dyn age::Identity],
    start: impl Read,
) -> Result<FileKey, CryptoError> {
    let keeping = Keeping {
        identities,
        kept: RefCell::new(None),
    };
    let decryptor = age::Decryptor::new(start).map_err(|_| CryptoError::Open)?;
    // Unwrapping the key and checking the header's MAC reads no payload.
    drop(
        decryptor
            .decrypt(std::iter::once(&keeping as &dyn age::Identity))
            .map_err(|_| CryptoError::Open)?,
    );
    keeping.kept.into_inner().ok_or(CryptoError::Open)
}

/// The random identity one attachment stream is sealed to. No `Debug`; the secret is
/// wiped on drop (age's X25519 secret zeroises itself).
#[derive(Clone)]
pub struct AttachmentKey(age::x25519::Identity);

impl AttachmentKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Self {
        AttachmentKey(age::x25519::Identity::generate())
    }

    /// As text (`AGE-SECRET-KEY-1…`, so that `age -d -i` opens the stream too); wiped
    /// on drop.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.to_string().expose_secret().to_string())
    }

    /// Reads [`AttachmentKey::to_text`]'s form.
    pub fn from_text(text: &str) -> Option<Self> {
        age::x25519::Identity::from_str(text.trim())
            .ok()
            .map(AttachmentKey)
    }

    pub(super) fn recipient(&self) -> age::x25519::Recipient {
        self.0.to_public()
    }
}

impl age::Identity for AttachmentKey {
    fn unwrap_stanza(
        &self,
        stanza: &Stanza,
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        self.0.unwrap_stanza(stanza)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{open, open_stream, seal};

    #[test]
    fn a_kept_file_key_opens_that_file_and_no_other() {
        let alice = age::x25519::Identity::generate();
        let bob = age::x25519::Identity::generate();
        let one = seal(&[&alice.to_public(), &bob.to_public()], b"one").unwrap();
        let two = seal(&[&alice.to_public()], b"two").unwrap();
        let (plain, key) = open_keeping_key(&[&bob], &one).unwrap();
        assert_eq!(&plain[..], b"one");
        let back = FileKey::from_text(&key.to_text()).unwrap();
        assert_eq!(&open(&[&back], &one).unwrap()[..], b"one");
        assert!(open(&[&back], &two).is_err());
        assert!(open_keeping_key(&[&bob], &two).is_err());
        assert!(FileKey::from_text("AAAA").is_none());
        assert!(FileKey::from_text("not base64!").is_none());
    }

    #[test]
    fn an_attachment_key_and_a_stream_file_key_open_the_stream() {
        struct Sink(Vec<u8>);
        impl crate::crypto::ChunkSink for Sink {
            fn put(&mut self, chunk: crate::crypto::SealedChunk<'_>) -> std::io::Result<()> {
                self.0.extend_from_slice(chunk.as_bytes());
                Ok(())
            }
        }
        let key = AttachmentKey::generate();
        let mut sealer = crate::crypto::blob_sealer(&key, Sink(Vec::new())).unwrap();
        let data = vec![7u8; 200_000];
        sealer.write(&data).unwrap();
        let stream = sealer.finish().unwrap().0;
        let again = AttachmentKey::from_text(&key.to_text()).unwrap();
        let mut out = Vec::new();
        open_stream(&[&again], &stream[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        // The file key from the header alone opens the whole stream.
        let file_key = stream_file_key(&[&key], &stream[..4096]).unwrap();
        let mut out = Vec::new();
        open_stream(&[&file_key], &stream[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let stranger = age::x25519::Identity::generate();
        assert!(stream_file_key(&[&stranger], &stream[..4096]).is_err());
    }
}
