//! Reporter sessions: started only by a valid receipt code, held in memory only, ended
//! by logout, idleness or age. A session holds the reporter's derived key, so while it
//! lasts the reporter can read their thread and add to it; the key is wiped when the
//! last request using it ends after the session does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::{self, CryptoError, ReporterKey};
use crate::store::ReportId;

/// What a request gets from a live session.
#[derive(Clone)]
pub(super) struct ActiveSession {
    pub report: ReportId,
    pub key: Arc<ReporterKey>,
    csrf: Arc<Zeroizing<[u8; 32]>>,
}

impl ActiveSession {
    /// The token every state-changing form of this session carries.
    pub fn csrf(&self) -> String {
        hex::encode(&self.csrf[..])
    }

    /// Whether a submitted token is this session's (constant time).
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        let mut bytes = Zeroizing::new([0u8; 32]);
        if hex::decode_to_slice(submitted.trim(), &mut bytes[..]).is_err() {
            return false;
        }
        bool::from(bytes.ct_eq(&self.csrf[..]))
    }
}

struct Entry {
    active: ActiveSession,
    created: Instant,
    last_seen: Instant,
}

/// Every live session, keyed by the SHA-256 of its id (so that a lookup never
/// compares the secret itself).
pub(super) struct Sessions {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    idle: Duration,
    max_age: Duration,
    capacity: usize,
    cookie_name: &'static str,
    secure: bool,
}

impl Sessions {
    pub(super) fn new(idle: Duration, max_age: Duration, capacity: usize, tls: bool) -> Self {
        Sessions {
            entries: Mutex::new(HashMap::new()),
            idle,
            max_age,
            capacity,
            // Under TLS the __Host- prefix makes the browser insist on Secure, Path=/ and
            // no Domain, so no other host can set or shadow it.
            cookie_name: if tls {
                "__Host-agedrop"
            } else {
                "agedrop_session"
            },
            secure: tls,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        crate::lock(&self.entries)
    }

    /// Starts a session for a report; gives the `Set-Cookie` value.
    pub(super) fn start(
        &self,
        report: ReportId,
        key: ReporterKey,
    ) -> Result<HeaderValue, CryptoError> {
        let id = Zeroizing::new(crypto::random_bytes::<32>()?);
        let csrf = Zeroizing::new(crypto::random_bytes::<32>()?);
        let now = Instant::now();
        let mut entries = self.lock();
        self.expire(&mut entries, now);
        if entries.len() >= self.capacity {
            // Full: end the session idle the longest.
            super::evict_first(&mut entries, |_| true, |e| e.last_seen);
        }
        entries.insert(
            digest(&id[..]),
            Entry {
                active: ActiveSession {
                    report,
                    key: Arc::new(key),
                    csrf: Arc::new(csrf),
                },
                created: now,
                last_seen: now,
            },
        );
        drop(entries);
        let value = Zeroizing::new(format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/{}",
            self.cookie_name,
            hex::encode(&id[..]),
            if self.secure { "; Secure" } else { "" }
        ));
        HeaderValue::from_str(&value).map_err(|_| CryptoError::Random)
    }

    /// The live session named by the request's cookie, if any; refreshes its idle time.
    pub(super) fn get(&self, headers: &HeaderMap) -> Option<ActiveSession> {
        let id = self.cookie(headers)?;
        let now = Instant::now();
        let mut entries = self.lock();
        self.expire(&mut entries, now);
        let entry = entries.get_mut(&digest(&id[..]))?;
        entry.last_seen = now;
        Some(entry.active.clone())
    }

    /// Ends the request's session; gives the `Set-Cookie` value that clears the cookie.
    pub(super) fn end(&self, headers: &HeaderMap) -> HeaderValue {
        if let Some(id) = self.cookie(headers) {
            self.lock().remove(&digest(&id[..]));
        }
        let value = format!(
            "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
            self.cookie_name,
            if self.secure { "; Secure" } else { "" }
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Drops expired sessions (also called on every start and lookup).
    pub(super) fn sweep(&self) {
        let mut entries = self.lock();
        self.expire(&mut entries, Instant::now());
    }

    fn expire(&self, entries: &mut HashMap<[u8; 32], Entry>, now: Instant) {
        entries.retain(|_, e| {
            now.duration_since(e.last_seen) < self.idle
                && now.duration_since(e.created) < self.max_age
        });
    }

    /// The session id from the Cookie header, as bytes.
    fn cookie(&self, headers: &HeaderMap) -> Option<Zeroizing<[u8; 32]>> {
        for value in headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            for pair in text.split(';') {
                let Some((name, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                if name == self.cookie_name {
                    let mut id = Zeroizing::new([0u8; 32]);
                    if hex::decode_to_slice(value, &mut id[..]).is_ok() {
                        return Some(id);
                    }
                }
            }
        }
        None
    }
}

fn digest(id: &[u8]) -> [u8; 32] {
    Sha256::digest(id).into()
}
