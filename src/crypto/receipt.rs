//! Receipt codes: 128 random bits a reporter keeps, and the two keys derived from them.
//!
//! A code is the 16 random bytes plus a 12-bit checksum, written as 28 Crockford
//! base32 characters in seven groups of four. HKDF-SHA256 with a fixed, versioned
//! salt derives a [`LookupKey`] (stored, maps to the report) and a [`ReporterKey`]
//! (an age X25519 identity; only its recipient is stored). Nothing here derives
//! `Debug`, and every secret is wiped when it is dropped.

use std::str::FromStr;

use hkdf::Hkdf;
use rand::TryRng;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::CryptoError;

/// Versioned salt for every key derived from a receipt code.
const HKDF_SALT: &[u8] = b"agedrop/receipt/v1";
const LOOKUP_INFO: &[u8] = b"lookup key";
const REPORTER_INFO: &[u8] = b"reporter identity";
const CHECKSUM: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_12_CDMA2000);

/// Characters in a code, without dashes.
const CODE_CHARS: usize = 28;
const GROUP: usize = 4;

/// A receipt code's secret: 128 bits from the operating system.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Receipt([u8; 16]);

/// Why a typed receipt code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The input is not 28 characters of the code alphabet.
    #[error("this is not a receipt code: it should be seven groups of four letters and digits")]
    Malformed,
    /// The characters are valid but the checksum does not match: almost surely a typo.
    #[error("this code has a typo: check each group against your copy")]
    Typo,
}

impl Receipt {
    /// A new code from the operating system's random number generator.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut bytes = [0u8; 16];
        rand::rngs::SysRng
            .try_fill_bytes(&mut bytes)
            .map_err(|_| CryptoError::Random)?;
        Ok(Receipt(bytes))
    }

    /// Parses what a person typed: case, spaces and dashes do not matter, and the
    /// look-alikes `I`/`L` and `O` read as `1` and `0`.
    pub fn parse(input: &str) -> Result<Self, ReceiptError> {
        let mut chars = Zeroizing::new(String::with_capacity(CODE_CHARS + 1));
        for c in input.chars() {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            if chars.len() == CODE_CHARS || !c.is_ascii_alphanumeric() {
                return Err(ReceiptError::Malformed);
            }
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                'U' => return Err(ReceiptError::Malformed),
                c => c,
            };
            chars.push(c);
        }
        if chars.len() != CODE_CHARS {
            return Err(ReceiptError::Malformed);
        }
        // The 28 characters hold 140 bits; the 29th character of an 18-byte encoding
        // carries only the four zero bits after the checksum.
        chars.push('0');
        let bytes = Zeroizing::new(
            base32::decode(base32::Alphabet::Crockford, &chars).ok_or(ReceiptError::Malformed)?,
        );
        if bytes.len() != 18 || bytes[17] & 0x0f != 0 {
            return Err(ReceiptError::Malformed);
        }
        let mut secret = [0u8; 16];
        secret.copy_from_slice(&bytes[..16]);
        let receipt = Receipt(secret);
        secret.zeroize();
        let expected = receipt.checksum();
        if bool::from(bytes[16..18].ct_eq(&expected)) {
            Ok(receipt)
        } else {
            Err(ReceiptError::Typo)
        }
    }

    /// The code to show the reporter, e.g. `7KQM-3XZA-…`.
    pub fn code(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new([0u8; 18]);
        raw[..16].copy_from_slice(&self.0);
        raw[16..].copy_from_slice(&self.checksum());
        let encoded = Zeroizing::new(base32::encode(base32::Alphabet::Crockford, &raw[..]));
        let mut out = Zeroizing::new(String::with_capacity(CODE_CHARS + CODE_CHARS / GROUP));
        for (i, c) in encoded.chars().take(CODE_CHARS).enumerate() {
            if i > 0 && i % GROUP == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }

    /// Derives the stored lookup key and the reporter's age identity.
    pub fn derive(&self) -> Result<(LookupKey, ReporterKey), CryptoError> {
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), &self.0);
        let mut lookup = [0u8; 32];
        hk.expand(LOOKUP_INFO, &mut lookup)
            .map_err(|_| CryptoError::Derive)?;
        let mut reporter = Zeroizing::new([0u8; 32]);
        hk.expand(REPORTER_INFO, &mut reporter[..])
            .map_err(|_| CryptoError::Derive)?;
        Ok((LookupKey(lookup), ReporterKey::from_bytes(&reporter)?))
    }

    /// CRC-12 of the secret, left-aligned in two bytes so it follows the secret's bits.
    ///
    /// A CRC rather than a hash: it catches *every* error burst of up to 12 bits, so
    /// every mistyped character (5 bits) and every swap of neighbours (10 bits) is
    /// reported as a typo, where a truncated hash would miss one typo in 4096.
    fn checksum(&self) -> [u8; 2] {
        let crc = CHECKSUM.checksum(&self.0);
        [(crc >> 4) as u8, ((crc & 0x0f) << 4) as u8]
    }
}

/// The stored key that maps a receipt to its report. Knowing it does not open anything.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct LookupKey([u8; 32]);

impl LookupKey {
    /// The bytes the store keys on.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The reporter's age identity, derived from the receipt; lives only as long as a request
/// or a session needs it.
pub struct ReporterKey(age::x25519::Identity);

impl ReporterKey {
    fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        // The age crate builds identities only from their Bech32 text, so encode the
        // derived bytes into a buffer large enough that it never reallocates, then wipe it.
        let hrp = bech32::Hrp::parse("AGE-SECRET-KEY-").map_err(|_| CryptoError::Derive)?;
        let mut text = Zeroizing::new(String::with_capacity(128));
        bech32::encode_upper_to_fmt::<bech32::Bech32, _>(&mut *text, hrp, bytes)
            .map_err(|_| CryptoError::Derive)?;
        let identity = age::x25519::Identity::from_str(&text).map_err(|_| CryptoError::Derive)?;
        Ok(ReporterKey(identity))
    }

    /// The public half, which is stored and sealed to.
    pub fn recipient(&self) -> age::x25519::Recipient {
        self.0.to_public()
    }

    pub(crate) fn identity(&self) -> &age::x25519::Identity {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_round_trips_and_normalises() {
        let r = Receipt::generate().unwrap();
        let code = r.code();
        assert_eq!(code.len(), 34);
        assert_eq!(code.split('-').count(), 7);
        let again = Receipt::parse(&code).unwrap();
        assert_eq!(again.0, r.0);
        let messy = code.to_lowercase().replace('-', " ");
        let messy = messy.replace('0', "o").replace('1', "l");
        assert_eq!(Receipt::parse(&messy).unwrap().0, r.0);
    }

    #[test]
    fn every_substitution_and_neighbour_swap_is_a_typo() {
        for seed in [0u8, 7, 0xff] {
            let r = Receipt([seed; 16]);
            let code: Vec<char> = r.code().chars().filter(|c| *c != '-').collect();
            for i in 0..code.len() {
                for c in "0123456789ABCDEFGHJKMNPQRSTVWXYZ".chars() {
                    if c == code[i] {
                        continue;
                    }
                    let mut typo = code.clone();
                    typo[i] = c;
                    let typo: String = typo.into_iter().collect();
                    assert_eq!(Receipt::parse(&typo).err(), Some(ReceiptError::Typo));
                }
                if i + 1 < code.len() && code[i] != code[i + 1] {
                    let mut swapped = code.clone();
                    swapped.swap(i, i + 1);
                    let swapped: String = swapped.into_iter().collect();
                    assert_eq!(Receipt::parse(&swapped).err(), Some(ReceiptError::Typo));
                }
            }
        }
    }

    #[test]
    fn malformed_inputs() {
        assert_eq!(Receipt::parse("").err(), Some(ReceiptError::Malformed));
        assert_eq!(Receipt::parse("ABCD").err(), Some(ReceiptError::Malformed));
        assert_eq!(
            Receipt::parse(&"A".repeat(29)).err(),
            Some(ReceiptError::Malformed)
        );
        assert_eq!(
            Receipt::parse(&"É".repeat(28)).err(),
            Some(ReceiptError::Malformed)
        );
    }

    #[test]
    fn derivation_is_stable_and_separates_keys() {
        let r = Receipt([1u8; 16]);
        let (l1, k1) = r.derive().unwrap();
        let (l2, k2) = r.derive().unwrap();
        assert_eq!(l1.as_bytes(), l2.as_bytes());
        assert_eq!(k1.recipient().to_string(), k2.recipient().to_string());
        let (l3, _) = Receipt([2u8; 16]).derive().unwrap();
        assert_ne!(l1.as_bytes(), l3.as_bytes());
    }
}
