//! The envelope around an event a member writes: the event's exact bytes, the
//! member's public signing key, and their signature over the report's id and those
//! bytes ([`Event::encode_signed`]). The desk checks it against the roster it pinned
//! ([`Signed::verify`]); a bare event is one the server wrote for the reporter.

use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{DecodeError, Event, exact_json};
use crate::crypto::{Purpose, SigningKey, VerifyingKey};

/// Version of the envelope around a member's signed event.
const SIGNED_VERSION: u8 = 2;

impl Event {
    /// The bytes to seal for an event a member writes to report `report`: the event in
    /// an envelope with the member's signature over the report id and its exact bytes.
    pub fn encode_signed(&self, report: &str, key: &SigningKey) -> Zeroizing<Vec<u8>> {
        let bytes = self.encode();
        let signature = key.sign(Purpose::Event, &[report.as_bytes(), &bytes]);
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut event = Zeroizing::new(String::with_capacity(bytes.len().div_ceil(3) * 4));
        b64.encode_string(&bytes[..], &mut event);
        exact_json(&Envelope {
            v: SIGNED_VERSION,
            event,
            signer: key.public().to_string(),
            signature: b64.encode(signature),
        })
    }
}

/// What a member's event is sealed as.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    v: u8,
    /// The event's exact bytes, base64.
    event: Zeroizing<String>,
    /// The signer's public key, `agedropsig1…`.
    signer: String,
    /// Ed25519 over the report id and the event's bytes, base64.
    signature: String,
}

/// A member's signature on an event, as found inside the sealed event: not yet checked.
pub struct Signed {
    /// The public key that claims to have signed (`agedropsig1…`).
    pub signer: String,
    signature: Vec<u8>,
    bytes: Zeroizing<Vec<u8>>,
}

impl Signed {
    /// Whether `key` signed exactly this event for report `report`.
    pub fn verify(&self, report: &str, key: &VerifyingKey) -> bool {
        key.verify(
            Purpose::Event,
            &[report.as_bytes(), &self.bytes],
            &self.signature,
        )
    }

    /// The signature's bytes (two events with the same signature are one event twice).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

/// An opened event and, if a member wrote it, their (unchecked) signature.
pub struct Opened {
    /// The event.
    pub event: Event,
    /// The envelope's signature, if the event came in one.
    pub signed: Option<Signed>,
}

impl Opened {
    /// Reads an opened event: a member's envelope, or a bare event the server wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let Ok(envelope) = serde_json::from_slice::<Envelope>(bytes) else {
            return Ok(Opened {
                event: Event::decode(bytes)?,
                signed: None,
            });
        };
        if envelope.v != SIGNED_VERSION {
            return Err(DecodeError::Version(envelope.v));
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let inner = Zeroizing::new(
            b64.decode(envelope.event.as_bytes())
                .map_err(|_| DecodeError::Malformed)?,
        );
        let signature = b64
            .decode(envelope.signature.as_bytes())
            .map_err(|_| DecodeError::Malformed)?;
        Ok(Opened {
            event: Event::decode(&inner)?,
            signed: Some(Signed {
                signer: envelope.signer,
                signature,
                bytes: inner,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{EventBody, Text};

    #[test]
    fn signed_events_verify_only_as_written() {
        let key = SigningKey::generate().unwrap();
        let reply = |text: &str| {
            Event::new(
                7,
                EventBody::Reply(Text {
                    author: "A".into(),
                    text: text.into(),
                }),
            )
        };
        let bytes = reply("hello").encode_signed("0123456789abcdef", &key);
        let opened = Opened::decode(&bytes).unwrap();
        let signed = opened.signed.as_ref().unwrap();
        assert_eq!(signed.signer, key.public().to_string());
        assert!(signed.verify("0123456789abcdef", &key.public()));
        assert!(!signed.verify("fedcba9876543210", &key.public()));
        let other = SigningKey::generate().unwrap().public();
        assert!(!signed.verify("0123456789abcdef", &other));
        // The same envelope around altered text no longer verifies.
        let mut envelope: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD;
        envelope["event"] = b64.encode(reply("goodbye").encode()).into();
        let forged = Opened::decode(&serde_json::to_vec(&envelope).unwrap()).unwrap();
        assert!(matches!(&forged.event.body, EventBody::Reply(t) if t.text == "goodbye"));
        assert!(
            !forged
                .signed
                .unwrap()
                .verify("0123456789abcdef", &key.public())
        );
        // A bare event has no signature; junk is an error, not a panic.
        assert!(
            Opened::decode(&reply("x").encode())
                .unwrap()
                .signed
                .is_none()
        );
        assert!(
            Opened::decode(b"{\"v\":2,\"event\":\"!!\",\"signer\":\"\",\"signature\":\"\"}")
                .is_err()
        );
        assert!(Opened::decode(b"\xff").is_err());
    }
}
