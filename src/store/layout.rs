//! Record ids and the byte layout of every key in the one sled tree.
//!
//! All records live in one tree so that a `Batch` (atomic only within a tree) can
//! commit a whole report. A one-byte prefix says what a key is:
//!
//! | prefix | key                              | value                                  |
//! |--------|----------------------------------|----------------------------------------|
//! | `r`    | report id                        | [`super::ReportRecord`]                |
//! | `k`    | lookup key (32 bytes)            | report id                              |
//! | `e`    | report id, seq u32, part u16     | a piece of one sealed event            |
//! | `a`    | report id, blob id               | empty: the blob belongs to the report  |
//! | `f`    | feed seq u64                     | report id, event seq u32               |
//! | `m`    | `feed`                           | highest feed seq ever given, u64       |
//!
//! Integers are big-endian so that keys sort in numeric order. Attachment streams are
//! files named by their blob id (see `blob`).

use std::fmt;
use std::str::FromStr;

pub(super) const REPORT: u8 = b'r';
pub(super) const LOOKUP: u8 = b'k';
pub(super) const EVENT: u8 = b'e';
pub(super) const ATTACHED: u8 = b'a';
pub(super) const FEED: u8 = b'f';
pub(super) const META: u8 = b'm';

/// The key of the feed's high-water mark: positions are never given twice, even after
/// the newest entries are purged.
pub(super) fn feed_mark() -> Vec<u8> {
    key(META, &[b"feed"])
}

/// A report's random id, shown to the team as 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ReportId(pub(super) [u8; 8]);

/// An attachment stream's random id, 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct BlobId(pub(super) [u8; 16]);

/// An id in a request or on a command line was not hex of the right length.
#[derive(Debug, thiserror::Error)]
#[error("not a valid id: expected {0} hexadecimal digits")]
pub struct BadId(usize);

macro_rules! hex_id {
    ($ty:ident, $len:expr) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl FromStr for $ty {
            type Err = BadId;
            fn from_str(s: &str) -> Result<Self, BadId> {
                let mut out = [0u8; $len];
                hex::decode_to_slice(s, &mut out).map_err(|_| BadId($len * 2))?;
                Ok($ty(out))
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        /// Parsed and checked where it is read: a request path, a server's answer or a
        /// bundle never hands on an id that is not exactly this many hex digits.
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $ty {
            /// The raw id bytes.
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }
        }
    };
}

hex_id!(ReportId, 8);
hex_id!(BlobId, 16);

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(prefix);
    for part in parts {
        k.extend_from_slice(part);
    }
    k
}

pub(super) fn report(id: ReportId) -> Vec<u8> {
    key(REPORT, &[&id.0])
}

pub(super) fn lookup(lookup: &[u8; 32]) -> Vec<u8> {
    key(LOOKUP, &[lookup])
}

pub(super) fn event_prefix(id: ReportId) -> Vec<u8> {
    key(EVENT, &[&id.0])
}

pub(super) fn event_part(id: ReportId, seq: u32, part: u16) -> Vec<u8> {
    key(EVENT, &[&id.0, &seq.to_be_bytes(), &part.to_be_bytes()])
}

/// The (seq, part) of an event key.
pub(super) fn parse_event_key(k: &[u8]) -> Option<(u32, u16)> {
    let seq = u32::from_be_bytes(k.get(9..13)?.try_into().ok()?);
    let part = u16::from_be_bytes(k.get(13..15)?.try_into().ok()?);
    Some((seq, part))
}

pub(super) fn attached_prefix(id: ReportId) -> Vec<u8> {
    key(ATTACHED, &[&id.0])
}

pub(super) fn attached(id: ReportId, blob: BlobId) -> Vec<u8> {
    key(ATTACHED, &[&id.0, &blob.0])
}

/// The blob id at the end of an `a` key.
pub(super) fn parse_attached_key(k: &[u8]) -> Option<BlobId> {
    Some(BlobId(k.get(9..25)?.try_into().ok()?))
}

pub(super) fn feed(seq: u64) -> Vec<u8> {
    key(FEED, &[&seq.to_be_bytes()])
}

pub(super) fn parse_feed_key(k: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(k.get(1..9)?.try_into().ok()?))
}

pub(super) fn feed_value(id: ReportId, seq: u32) -> Vec<u8> {
    let mut v = id.0.to_vec();
    v.extend_from_slice(&seq.to_be_bytes());
    v
}

pub(super) fn parse_feed_value(v: &[u8]) -> Option<(ReportId, u32)> {
    let id = ReportId(v.get(..8)?.try_into().ok()?);
    let seq = u32::from_be_bytes(v.get(8..12)?.try_into().ok()?);
    Some((id, seq))
}

pub(super) fn parse_report_id(v: &[u8]) -> Option<ReportId> {
    Some(ReportId(v.try_into().ok()?))
}
