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

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(10);
    const MAX: Duration = Duration::from_secs(20);

    /// Starts a session; the request headers that carry its cookie.
    fn start(sessions: &Sessions) -> HeaderMap {
        let (_, key) = crypto::Receipt::generate().unwrap().derive().unwrap();
        let set_cookie = sessions
            .start("0123456789abcdef".parse().unwrap(), key)
            .unwrap();
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, pair.parse().unwrap());
        headers
    }

    /// Moves every session's clock back: last used `idle` ago, started `age` ago.
    fn rewind(sessions: &Sessions, idle: Duration, age: Duration) {
        let now = Instant::now();
        for entry in sessions.lock().values_mut() {
            entry.last_seen = now.checked_sub(idle).unwrap();
            entry.created = now.checked_sub(age).unwrap();
        }
    }

    #[test]
    fn a_session_lasts_while_it_is_used_within_its_idle_time() {
        let sessions = Sessions::new(IDLE, MAX, 10, false);
        let cookie = start(&sessions);
        rewind(&sessions, IDLE - Duration::from_secs(1), IDLE);
        assert!(sessions.get(&cookie).is_some());
        // That use counted: it is as fresh as new again.
        let entry_idle = sessions.lock().values().next().unwrap().last_seen.elapsed();
        assert!(entry_idle < Duration::from_secs(1));
    }

    #[test]
    fn a_session_left_idle_ends_and_is_forgotten() {
        let sessions = Sessions::new(IDLE, MAX, 10, false);
        let cookie = start(&sessions);
        rewind(&sessions, IDLE, IDLE);
        assert!(sessions.get(&cookie).is_none());
        assert!(sessions.lock().is_empty());
    }

    #[test]
    fn a_busy_session_still_ends_at_its_maximum_age() {
        let sessions = Sessions::new(IDLE, MAX, 10, false);
        let cookie = start(&sessions);
        rewind(&sessions, Duration::ZERO, MAX - Duration::from_secs(1));
        assert!(sessions.get(&cookie).is_some());
        rewind(&sessions, Duration::ZERO, MAX);
        assert!(sessions.get(&cookie).is_none());
    }

    #[test]
    fn a_sweep_drops_ended_sessions_and_keeps_live_ones() {
        let sessions = Sessions::new(IDLE, MAX, 10, false);
        start(&sessions);
        start(&sessions);
        sessions.sweep();
        assert_eq!(sessions.lock().len(), 2);
        rewind(&sessions, IDLE, IDLE);
        sessions.sweep();
        assert!(sessions.lock().is_empty());
    }

    #[test]
    fn when_full_the_session_idle_longest_makes_room() {
        let sessions = Sessions::new(IDLE, MAX, 2, false);
        let oldest = start(&sessions);
        rewind(&sessions, Duration::from_secs(5), Duration::from_secs(5));
        let recent = start(&sessions);
        let newest = start(&sessions);
        assert!(sessions.get(&oldest).is_none());
        assert!(sessions.get(&recent).is_some());
        assert!(sessions.get(&newest).is_some());
    }

    #[test]
    fn logging_out_forgets_the_session_and_clears_the_cookie() {
        let sessions = Sessions::new(IDLE, MAX, 10, true);
        let cookie = start(&sessions);
        let cleared = sessions.end(&cookie);
        assert_eq!(
            cleared,
            "__Host-agedrop=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure"
        );
        assert!(sessions.get(&cookie).is_none());
    }

    #[test]
    fn only_this_servers_cookie_with_a_whole_id_names_a_session() {
        let sessions = Sessions::new(IDLE, MAX, 10, false);
        let real = start(&sessions);
        let value = real[header::COOKIE].to_str().unwrap().to_string();
        let id = value.split_once('=').unwrap().1.to_string();
        let with = |cookie: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::COOKIE, cookie.parse().unwrap());
            sessions.get(&h).is_some()
        };
        assert!(with(&value));
        assert!(with(&format!("theme=dark; {value}")));
        assert!(!with(&format!("__Host-agedrop={id}")));
        assert!(!with(&format!("agedrop_session={}", &id[..62])));
        assert!(!with(&format!("agedrop_session={}", "00".repeat(32))));
        assert!(!with("agedrop_session=not-hex"));
    }

    #[test]
    fn a_form_token_matches_only_its_own_session() {
        let sessions = Sessions::new(IDLE, MAX, 10, false);
        let mine = sessions.get(&start(&sessions)).unwrap();
        let theirs = sessions.get(&start(&sessions)).unwrap();
        assert!(mine.csrf_matches(&mine.csrf()));
        assert!(mine.csrf_matches(&format!(" {} ", mine.csrf())));
        assert!(!mine.csrf_matches(&theirs.csrf()));
        assert!(!mine.csrf_matches(""));
        assert!(!mine.csrf_matches(&mine.csrf()[..62]));
        assert!(!mine.csrf_matches("not hex at all"));
    }
}
