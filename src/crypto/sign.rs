//! Members' signing keys (Ed25519): every event a member writes is signed, and the desk
//! verifies it against the roster it pinned, so neither the server nor another member
//! can put words in a member's mouth.
//!
//! A member with a native age identity (`AGE-SECRET-KEY-1…`, plain or behind a
//! passphrase) signs with a key derived from it: HKDF-SHA256 with a fixed, versioned
//! salt, so nothing new has to be kept. A member whose identity cannot give one (an
//! OpenSSH key, whose secret age keeps to itself, or a plugin identity that lives in
//! hardware) gets a signing key of their own, in a file (`AGEDROP-SIGNING-KEY-1…`).
//! Public keys are Bech32: `agedropsig1…`.
//!
//! Every signed message starts with a label naming its purpose, then length-prefixed
//! parts, so a signature made for one purpose can never be read as one for another.

use std::str::FromStr;

use ed25519_dalek::Signer;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::CryptoError;

/// Bech32 prefix of a public signing key.
const PUBLIC_HRP: &str = "agedropsig";
/// Bech32 prefix of a secret signing key (written in upper case).
const SECRET_HRP: &str = "agedrop-signing-key-";
/// HKDF salt for signing keys derived from an identity.
const DERIVE_SALT: &[u8] = b"agedrop-signing-key-v1";

/// What a signature is for; each has its own label.
#[derive(Clone, Copy)]
pub enum Purpose {
    /// An event of a report's thread: the report id, then the event's bytes.
    Event,
    /// A login: the server's origin, then the challenge id.
    Login,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Event => b"agedrop-event-signature-v1",
            Purpose::Login => b"agedrop-login-signature-v1",
        }
    }
}

/// The exact bytes signed: the purpose's label, a zero byte, then each part with its
/// length (8 bytes, big-endian) in front.
fn message(purpose: Purpose, parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
    let len = purpose.label().len() + 1 + parts.iter().map(|p| 8 + p.len()).sum::<usize>();
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.extend_from_slice(purpose.label());
    out.push(0);
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// A member's secret signing key. Wiped on drop; deliberately not `Debug` or `Clone`.
pub struct SigningKey(ed25519_dalek::SigningKey);

/// A member's public signing key, as listed in the keys file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

/// A signature (64 bytes).
pub type Signature = [u8; 64];

impl SigningKey {
    /// A new random signing key.
    pub fn generate() -> Result<Self, CryptoError> {
        let seed = Zeroizing::new(super::random_bytes::<32>()?);
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// Derives the signing key of an identity from its secret bytes; `kind` names the
    /// identity's type, so two kinds of key never share a signing key.
    fn derive(kind: &[u8], secret: &[u8]) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(DERIVE_SALT), secret);
        let mut seed = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit; expand cannot fail.
        let _ = hkdf.expand(kind, &mut seed[..]);
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The signing key derived from a native age identity (`AGE-SECRET-KEY-1…`).
    pub fn from_age_identity(identity: &age::x25519::Identity) -> Option<Self> {
        use age::secrecy::ExposeSecret;
        let text = identity.to_string();
        let (_, bytes) = bech32::decode(text.expose_secret()).ok()?;
        let bytes = Zeroizing::new(bytes);
        Some(Self::derive(b"age-x25519", &bytes))
    }

    /// Reads a signing key file's text: one `AGEDROP-SIGNING-KEY-1…` line (comments and
    /// blank lines aside).
    pub fn parse_secret(text: &str) -> Result<Self, String> {
        let mut keys = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let line = keys
            .next()
            .ok_or("no signing key in it (expected a line starting AGEDROP-SIGNING-KEY-1)")?;
        if keys.next().is_some() {
            return Err("more than one line besides comments; expected one signing key".into());
        }
        let (hrp, bytes) = bech32::decode(line)
            .map_err(|_| "not a signing key (expected AGEDROP-SIGNING-KEY-1…)".to_string())?;
        let bytes = Zeroizing::new(bytes);
        if hrp.as_str() != SECRET_HRP.to_ascii_uppercase() && hrp.as_str() != SECRET_HRP {
            return Err("not a signing key (expected AGEDROP-SIGNING-KEY-1…)".into());
        }
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            bytes[..]
                .try_into()
                .map_err(|_| "a signing key has 32 bytes; this one does not".to_string())?,
        );
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// The text of a signing key file, with its public key in a comment.
    pub fn to_file_text(&self, created: &str) -> Zeroizing<String> {
        let seed = Zeroizing::new(self.0.to_bytes());
        let secret = bech32::Hrp::parse(SECRET_HRP)
            .ok()
            .and_then(|hrp| bech32::encode_upper::<bech32::Bech32>(hrp, &seed[..]).ok())
            .map(Zeroizing::new)
            .unwrap_or_default();
        Zeroizing::new(format!(
            "# agedrop signing key, created: {created}\n# public key: {}\n{}\n",
            self.public(),
            *secret
        ))
    }

    /// The public half, for the keys file.
    pub fn public(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// Signs `parts` for `purpose`.
    pub fn sign(&self, purpose: Purpose, parts: &[&[u8]]) -> Signature {
        self.0.sign(&message(purpose, parts)).to_bytes()
    }
}

impl VerifyingKey {
    /// Whether `signature` is this key's over `parts` for `purpose` (strict Ed25519:
    /// no malleable or small-order forms).
    pub fn verify(&self, purpose: Purpose, parts: &[&[u8]], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        self.0
            .verify_strict(&message(purpose, parts), &signature)
            .is_ok()
    }
}

impl std::fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = bech32::Hrp::parse(PUBLIC_HRP)
            .ok()
            .and_then(|hrp| bech32::encode_lower::<bech32::Bech32>(hrp, self.0.as_bytes()).ok())
            .ok_or(std::fmt::Error)?;
        f.write_str(&text)
    }
}

impl FromStr for VerifyingKey {
    type Err = String;

    /// Parses `agedropsig1…` (any case).
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || "not a signing key (expected agedropsig1…)".to_string();
        let (hrp, bytes) = bech32::decode(text.trim()).map_err(|_| bad())?;
        if !hrp.as_str().eq_ignore_ascii_case(PUBLIC_HRP) {
            return Err(bad());
        }
        let bytes: [u8; 32] = bytes[..].try_into().map_err(|_| bad())?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .ok()
            .filter(|k| !k.is_weak())
            .map(VerifyingKey)
            .ok_or_else(bad)
    }
}

/// Whether a word of a keys-file line is a public signing key.
pub fn looks_like_signing_key(word: &str) -> bool {
    word.get(..PUBLIC_HRP.len() + 1)
        .is_some_and(|p| p.eq_ignore_ascii_case("agedropsig1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_purposes_do_not_mix() {
        let key = SigningKey::generate().unwrap();
        let public = key.public();
        let text = public.to_string();
        assert!(text.starts_with("agedropsig1"), "{text}");
        assert_eq!(text.parse::<VerifyingKey>().unwrap(), public);
        assert_eq!(text.to_uppercase().parse::<VerifyingKey>().unwrap(), public);
        let file = key.to_file_text("now");
        let again = SigningKey::parse_secret(&file).unwrap();
        assert_eq!(again.public(), public);

        let signature = key.sign(Purpose::Event, &[b"report", b"bytes"]);
        assert!(public.verify(Purpose::Event, &[b"report", b"bytes"], &signature));
        assert!(!public.verify(Purpose::Login, &[b"report", b"bytes"], &signature));
        assert!(!public.verify(Purpose::Event, &[b"reportb", b"ytes"], &signature));
        assert!(!public.verify(Purpose::Event, &[b"report", b"bytes!"], &signature));
        let other = SigningKey::generate().unwrap().public();
        assert!(!other.verify(Purpose::Event, &[b"report", b"bytes"], &signature));
        assert!("age1xyz".parse::<VerifyingKey>().is_err());
        assert!(SigningKey::parse_secret("AGE-SECRET-KEY-1QQQ").is_err());
    }

    #[test]
    fn derived_keys_are_stable_and_differ_per_identity() {
        let id = age::x25519::Identity::generate();
        let a = SigningKey::from_age_identity(&id).unwrap().public();
        let b = SigningKey::from_age_identity(&id).unwrap().public();
        assert_eq!(a, b);
        let other = age::x25519::Identity::generate();
        assert_ne!(a, SigningKey::from_age_identity(&other).unwrap().public());
    }
}
