//! Team logins: challenge-response with the member's own keys, then a bearer token held
//! in memory. The server stores no team secret; a member removed from the keys file can
//! neither log in nor use a token issued before.
//!
//! A challenge is `agedrop-login-v1`, this server's origin and 32 random bytes
//! ([`crypto::challenge_text`]), sealed to the recipient asked for; the member answers
//! with a hash of it ([`crypto::challenge_answer`]). A recipient that only a plugin
//! program can seal to (`age1yubikey1…`) is never sealed to here, since that would run
//! the plugin for anyone who asks: its challenge is sealed to a throwaway key, and the
//! member answers with their signing key instead. Every answer looks the same whether
//! or not the recipient is a member, rate limits included: each recipient, member or
//! not, has a bucket of its own, so a flood for other recipients changes nothing for a
//! member, and nothing tells a prober which recipients are members.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::PageError;
use super::guard::KeyedRateLimit;
use crate::crypto::{self, CryptoError, Purpose, Sealed, TeamKeys};

/// How long a challenge may be answered.
const CHALLENGE_LIFE: Duration = Duration::from_secs(60);
/// Recipients whose rate-limit buckets are kept at once.
const MAX_BUCKETS: usize = 10_000;
/// Outstanding challenges of one member at once.
const MAX_CHALLENGES_PER_MEMBER: usize = 64;

/// Why a login or a token was refused. Deliberately coarse: an unknown recipient, a
/// wrong answer and an expired challenge all read the same.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AuthError {
    /// The login failed, for whatever reason.
    LoginFailed,
    /// No valid token.
    Unauthorized,
    /// The submitted recipient is not an age recipient at all.
    NotARecipient,
    /// The request did not reach one of this server's own names.
    UnknownOrigin,
    /// Too many challenges for this recipient; retry after this many seconds.
    RateLimited(u64),
    /// The server could not make a challenge.
    Internal,
}

/// What proves a member answered.
enum Proof {
    /// The hash of the challenge's plaintext.
    Answer(Zeroizing<[u8; 32]>),
    /// A signature by the member's signing key over the origin and the challenge id.
    Signature { origin: String },
}

struct Challenge {
    recipient: String,
    proof: Proof,
    expires: Instant,
}

struct Token {
    recipient: String,
    expires: Instant,
}

/// A member who presented a valid token.
#[derive(Clone, Debug)]
pub(super) struct Member {
    pub name: String,
}

/// Outstanding challenges (members' only: a stranger's can never succeed, so it is not
/// kept) and live tokens.
pub(super) struct TeamAuth {
    challenges: Mutex<HashMap<[u8; 16], Challenge>>,
    tokens: Mutex<HashMap<[u8; 32], Token>>,
    token_life: Duration,
    buckets: KeyedRateLimit<String>,
}

fn rate(result: Result<(), PageError>) -> Result<(), AuthError> {
    match result {
        Ok(()) => Ok(()),
        Err(PageError::RateLimited(seconds)) => Err(AuthError::RateLimited(seconds)),
        Err(_) => Err(AuthError::Internal),
    }
}

impl TeamAuth {
    pub(super) fn new(token_life: Duration, per_recipient: u32) -> Self {
        TeamAuth {
            challenges: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            token_life,
            buckets: KeyedRateLimit::per_minute(per_recipient, MAX_BUCKETS),
        }
    }

    /// A challenge for `recipient`, naming `origin` (this server, as the request reached
    /// it). Gives the challenge id and the sealed challenge.
    pub(super) fn challenge(
        &self,
        keys: &TeamKeys,
        recipient: &str,
        origin: &str,
    ) -> Result<(String, Sealed), AuthError> {
        // The cheap check first: junk that is not a recipient takes no token.
        let native =
            crypto::parse_for_challenge(recipient).map_err(|_| AuthError::NotARecipient)?;
        let canonical =
            crypto::canonical_recipient(recipient).map_err(|_| AuthError::NotARecipient)?;
        rate(self.buckets.check(&canonical))?;
        let member = keys.find(recipient);
        let secret = Zeroizing::new(crypto::random_bytes::<32>()?);
        let id = crypto::random_bytes::<16>()?;
        let plaintext = crypto::challenge_text(origin, &secret);
        let sealed = match &native {
            Some(recipient) => crypto::seal(&[recipient.as_ref()], &plaintext)?,
            None => crypto::seal(&[&crypto::throwaway_recipient()], &plaintext)?,
        };
        if let Some(member) = member {
            let proof = match native {
                Some(_) => Proof::Answer(Zeroizing::new(crypto::challenge_answer(&plaintext))),
                None => Proof::Signature {
                    origin: origin.to_string(),
                },
            };
            let recipient = member.recipient_text().to_string();
            let now = Instant::now();
            let mut challenges = crate::lock(&self.challenges);
            challenges.retain(|_, c| c.expires > now);
            let outstanding = challenges
                .values()
                .filter(|c| c.recipient == recipient)
                .count();
            if outstanding >= MAX_CHALLENGES_PER_MEMBER {
                // Someone asking for this member's challenges without answering: drop
                // the oldest, so the member answering within a second is never refused.
                super::evict_first(&mut challenges, |c| c.recipient == recipient, |c| c.expires);
            }
            challenges.insert(
                id,
                Challenge {
                    recipient,
                    proof,
                    expires: now + CHALLENGE_LIFE,
                },
            );
        }
        Ok((hex::encode(id), sealed))
    }

    /// Checks an answer (the challenge's hash, hex) or a signature (base64); on success
    /// issues a token for the member.
    pub(super) fn login(
        &self,
        keys: &TeamKeys,
        challenge_id: &str,
        answer: Option<&str>,
        signature: Option<&str>,
    ) -> Result<(Zeroizing<String>, String), AuthError> {
        let mut id = [0u8; 16];
        hex::decode_to_slice(challenge_id, &mut id).map_err(|_| AuthError::LoginFailed)?;
        // Single use: taken out whatever the outcome.
        let challenge = crate::lock(&self.challenges)
            .remove(&id)
            .ok_or(AuthError::LoginFailed)?;
        let fresh = challenge.expires > Instant::now();
        let member = keys
            .find(&challenge.recipient)
            .ok_or(AuthError::LoginFailed)?;
        let proven = match &challenge.proof {
            Proof::Answer(expected) => {
                let mut given = Zeroizing::new([0u8; 32]);
                let decoded =
                    answer.is_some_and(|a| hex::decode_to_slice(a.trim(), &mut given[..]).is_ok());
                decoded && bool::from(given.ct_eq(&expected[..]))
            }
            Proof::Signature { origin } => {
                let signature = signature.and_then(crate::api::decode);
                match (member.signing_key(), signature) {
                    (Some(key), Some(signature)) => key.verify(
                        Purpose::Login,
                        &[origin.as_bytes(), challenge_id.as_bytes()],
                        &signature,
                    ),
                    _ => false,
                }
            }
        };
        if !(proven && fresh) {
            return Err(AuthError::LoginFailed);
        }
        let token = Zeroizing::new(crypto::random_bytes::<32>()?);
        let now = Instant::now();
        let mut tokens = crate::lock(&self.tokens);
        tokens.retain(|_, t| t.expires > now);
        tokens.insert(
            digest(&token[..]),
            Token {
                recipient: member.recipient_text().to_string(),
                expires: now + self.token_life,
            },
        );
        Ok((
            Zeroizing::new(hex::encode(&token[..])),
            member.name().to_string(),
        ))
    }

    /// The member a bearer token belongs to, if it is live and the member is still in
    /// the keys file.
    pub(super) fn member(&self, keys: &TeamKeys, bearer: &str) -> Result<Member, AuthError> {
        let mut token = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(bearer.trim(), &mut token[..]).map_err(|_| AuthError::Unauthorized)?;
        let key = digest(&token[..]);
        let mut tokens = crate::lock(&self.tokens);
        let Some(entry) = tokens.get(&key) else {
            return Err(AuthError::Unauthorized);
        };
        if entry.expires <= Instant::now() {
            tokens.remove(&key);
            return Err(AuthError::Unauthorized);
        }
        match keys.find(&entry.recipient) {
            Some(member) => Ok(Member {
                name: member.name().to_string(),
            }),
            None => {
                // Removed from the keys file: the token dies with the membership.
                tokens.remove(&key);
                Err(AuthError::Unauthorized)
            }
        }
    }

    /// Drops tokens and challenges of members no longer in `keys` (after a reload).
    pub(super) fn revoke_missing(&self, keys: &TeamKeys) {
        crate::lock(&self.tokens).retain(|_, t| keys.find(&t.recipient).is_some());
        crate::lock(&self.challenges).retain(|_, c| keys.find(&c.recipient).is_some());
    }

    /// Seconds a new token lives.
    pub(super) fn token_seconds(&self) -> u64 {
        self.token_life.as_secs()
    }
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

impl From<CryptoError> for AuthError {
    fn from(_: CryptoError) -> Self {
        AuthError::Internal
    }
}
