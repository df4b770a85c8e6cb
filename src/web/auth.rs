//! Team logins: challenge-response with the member's own age identity, then a bearer
//! token held in memory. The server stores no team secret; a member removed from the
//! keys file can neither log in nor use a token issued before.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::{self, CryptoError, Sealed, TeamKeys};

/// How long a challenge may be answered.
const CHALLENGE_LIFE: Duration = Duration::from_secs(60);
/// Challenges outstanding at once, across everyone.
const MAX_CHALLENGES: usize = 10_000;

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
    /// The server could not make a challenge.
    Internal,
}

struct Challenge {
    /// The member's recipient, or `None` when it is not in the keys file.
    recipient: Option<String>,
    nonce: Zeroizing<[u8; 32]>,
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

/// Outstanding challenges and live tokens.
pub(super) struct TeamAuth {
    challenges: Mutex<HashMap<[u8; 16], Challenge>>,
    tokens: Mutex<HashMap<[u8; 32], Token>>,
    token_life: Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl TeamAuth {
    pub(super) fn new(token_life: Duration) -> Self {
        TeamAuth {
            challenges: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            token_life,
        }
    }

    /// Seals a fresh nonce to `recipient`. The answer has the same shape whether or not
    /// the recipient is in the keys file (the nonce is sealed to the recipient asked
    /// for); only the login step refuses.
    pub(super) fn challenge(
        &self,
        keys: &TeamKeys,
        recipient: &str,
    ) -> Result<(String, Sealed), AuthError> {
        let nonce = Zeroizing::new(crypto::random_bytes::<32>().map_err(|_| AuthError::Internal)?);
        let known = keys.find(recipient);
        let sealed = match known {
            Some(member) => crypto::seal(&[member.recipient()], &nonce[..])?,
            None => {
                // Seal to what was asked for, so the answer looks like a member's; but
                // never run a plugin program for a stranger: a throwaway key instead.
                let parsed = crypto::parse_native_recipient(recipient)
                    .map_err(|_| AuthError::NotARecipient)?;
                crypto::seal(&[parsed.as_ref()], &nonce[..])?
            }
        };
        let known = known.map(|m| m.recipient_text().to_string());
        let id = crypto::random_bytes::<16>().map_err(|_| AuthError::Internal)?;
        let now = Instant::now();
        let mut challenges = lock(&self.challenges);
        challenges.retain(|_, c| c.expires > now);
        if challenges.len() >= MAX_CHALLENGES {
            // Full (someone asking for challenges they never answer): drop the oldest,
            // so a member answering within a second or two is never crowded out.
            if let Some(oldest) = challenges
                .iter()
                .min_by_key(|(_, c)| c.expires)
                .map(|(k, _)| *k)
            {
                challenges.remove(&oldest);
            }
        }
        challenges.insert(
            id,
            Challenge {
                recipient: known,
                nonce,
                expires: now + CHALLENGE_LIFE,
            },
        );
        Ok((hex::encode(id), sealed))
    }

    /// Checks an answer; on success issues a token for the member.
    pub(super) fn login(
        &self,
        keys: &TeamKeys,
        challenge_id: &str,
        answer: &str,
    ) -> Result<(Zeroizing<String>, String), AuthError> {
        let mut id = [0u8; 16];
        hex::decode_to_slice(challenge_id, &mut id).map_err(|_| AuthError::LoginFailed)?;
        // Single use: taken out whatever the outcome.
        let challenge = lock(&self.challenges)
            .remove(&id)
            .ok_or(AuthError::LoginFailed)?;
        let mut given = Zeroizing::new([0u8; 32]);
        let decoded = hex::decode_to_slice(answer.trim(), &mut given[..]).is_ok();
        let matches = decoded && bool::from(given.ct_eq(&challenge.nonce[..]));
        let fresh = challenge.expires > Instant::now();
        let member = challenge
            .recipient
            .as_deref()
            .and_then(|r| keys.find(r))
            .filter(|_| matches && fresh)
            .ok_or(AuthError::LoginFailed)?;
        let token = Zeroizing::new(crypto::random_bytes::<32>().map_err(|_| AuthError::Internal)?);
        let now = Instant::now();
        let mut tokens = lock(&self.tokens);
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
        let mut tokens = lock(&self.tokens);
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

    /// Drops tokens of members no longer in `keys` (after a reload).
    pub(super) fn revoke_missing(&self, keys: &TeamKeys) {
        lock(&self.tokens).retain(|_, t| keys.find(&t.recipient).is_some());
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
