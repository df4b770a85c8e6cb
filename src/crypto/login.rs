//! The one exact form of a team login challenge, shared by the server that makes it and
//! the desk that answers it.
//!
//! The server seals `agedrop-login-v1\n<origin>\n<64 hex digits>\n` to the member's
//! recipient. The desk opens it, refuses any other plaintext (so a server cannot hand it
//! a stored report as a "challenge" and read the answer), and answers with
//! SHA-256 of a second label and the plaintext: proof of possession, bound to the
//! server's origin, that never echoes what was decrypted.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const LABEL: &str = "agedrop-login-v1";
const ANSWER_LABEL: &[u8] = b"agedrop-login-answer-v1\n";

/// The largest sealed challenge the desk will try to open: a few recipient stanzas
/// around a ~150-byte plaintext, far below any stored event or attachment worth having.
pub const MAX_SEALED_CHALLENGE: usize = 8 * 1024;

/// The plaintext of a new challenge for `origin` (e.g. `https://drop.example.com`).
pub fn challenge_text(origin: &str, secret: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(format!("{LABEL}\n{origin}\n{}\n", hex::encode(secret)).into_bytes())
}

/// Whether `plaintext` is exactly a challenge for `origin`, and nothing else.
pub fn is_challenge(plaintext: &[u8], origin: &str) -> bool {
    let Ok(text) = std::str::from_utf8(plaintext) else {
        return false;
    };
    let mut lines = text.split('\n');
    let (Some(label), Some(said_origin), Some(secret), Some(""), None) = (
        lines.next(),
        lines.next(),
        lines.next(),
        lines.next(),
        lines.next(),
    ) else {
        return false;
    };
    label == LABEL
        && said_origin == origin
        && secret.len() == 64
        && secret
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The answer to a challenge: SHA-256 of the answer label and the plaintext.
pub fn challenge_answer(plaintext: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(ANSWER_LABEL);
    hash.update(plaintext);
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_form_is_a_challenge() {
        let origin = "https://drop.example.com";
        let text = challenge_text(origin, &[7; 32]);
        assert!(is_challenge(&text, origin));
        assert!(!is_challenge(&text, "https://evil.example"));
        let s = String::from_utf8(text.to_vec()).unwrap();
        for bad in [
            s.replace("-v1", "-v2"),
            s.trim_end().to_string(),
            format!("{s}x"),
            s.replace("0707", "0G07"),
            s.replace("0707", "0A07"),
            format!("{{\"v\":1}}\n{origin}\n{}\n", "0".repeat(64)),
            String::new(),
        ] {
            assert!(!is_challenge(bad.as_bytes(), origin), "{bad:?}");
        }
        assert_ne!(challenge_answer(&text), challenge_answer(b"other"));
    }
}
