//! Guards around every request: security headers, the concurrency cap, the declared
//! body length, and global rate limits (no per-address state: behind Tor every visitor
//! is 127.0.0.1).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppState, PageError};

/// Sets the design's headers on every response, error pages included. Each has its
/// reason beside it.
pub(super) async fn security_headers(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    // No script, no other origin, no framing, forms only to us.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    // Never tell another site where a reporter came from.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Do not guess types: an upload can never be sniffed into HTML or script.
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Older browsers that ignore frame-ancestors.
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Keep other origins' windows and fetches away from our pages.
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    // No powerful features for any page.
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    // Pages can hold a receipt code or a report: never keep them in any cache. Only
    // the stylesheet, which is the same for everyone, may be cached.
    if is_static {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=86400"),
        );
    } else {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    // Under TLS, never let a browser fall back to plain HTTP.
    if state.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    // Tell Tor Browser about the onion service for this page.
    if let Some(onion) = &state.onion
        && let Ok(value) = HeaderValue::from_str(&format!("http://{onion}{path}"))
    {
        h.insert(HeaderName::from_static("onion-location"), value);
    }
    response
}

/// How long a new upload waits for the slot of one cut off to make room for it.
const MAKE_ROOM_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Which pool of request slots a request draws from.
enum Class {
    /// New reports and follow-ups: may take long while they keep moving.
    Upload,
    /// The team API.
    Api,
    /// Everything else.
    Page,
}

fn class(request: &Request) -> Class {
    let path = request.uri().path();
    if path.starts_with("/api/") {
        Class::Api
    } else if request.method() == Method::POST && (path == "/submit" || path == "/thread") {
        Class::Upload
    } else {
        Class::Page
    }
}

/// Refuses a request when too many of its kind are in flight, instead of queueing
/// without bound. Uploads, pages and the team API have separate slots, so that one kind
/// held open (slow uploads over Tor) never locks out the others; and every request but
/// an upload must finish within the request timeout, so that a body trickled a byte at
/// a time cannot hold a slot for ever.
pub(super) async fn concurrency(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let (slots, deadline) = match class(&request) {
        Class::Upload => (&state.uploads, None),
        Class::Api => (
            &state.api_requests,
            Some(state.limits.request_timeout_seconds.duration()),
        ),
        Class::Page => (
            &state.requests,
            Some(state.limits.request_timeout_seconds.duration()),
        ),
    };
    let _permit = match slots.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) if matches!(class(&request), Class::Upload) => {
            // Every upload slot is taken: make room by cutting off the slowest upload
            // that crawls (see `pace`), and wait a moment for its slot.
            let crawling = state
                .limits
                .min_upload_bytes_per_second
                .get()
                .saturating_mul(super::pace::FAIR_FACTOR);
            if !state.live_uploads.evict_slowest(crawling) {
                return PageError::Busy.into_response();
            }
            match tokio::time::timeout(MAKE_ROOM_WAIT, slots.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => return PageError::Busy.into_response(),
            }
        }
        Err(_) => return PageError::Busy.into_response(),
    };
    match deadline {
        None => next.run(request).await,
        Some(deadline) => match tokio::time::timeout(deadline, next.run(request)).await {
            Ok(response) => response,
            Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
        },
    }
}

/// Refuses a form posted from another site (login CSRF: a hostile page posting its own
/// receipt code so that the victim later writes into the attacker's report). A post is
/// accepted where the browser proves it same-origin (`Sec-Fetch-Site: same-origin`, or
/// `none` for one the user typed), or, from a browser without Fetch Metadata, an
/// `Origin` that names this host. `Origin: null` proves nothing (a sandboxed frame on
/// any site sends it), so without `Sec-Fetch-Site` it is refused. A client that sends
/// neither header is not a browser a hostile page can drive, and passes. The team API
/// is not a browser target and is left alone.
pub(super) async fn same_origin_posts(request: Request, next: Next) -> Response {
    let is_form = request.method() == Method::POST && !request.uri().path().starts_with("/api/");
    if is_form && is_cross_site(request.headers()) {
        return PageError::Forbidden.into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &axum::http::HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site") {
        return site != "same-origin" && site != "none";
    }
    match (value("origin"), value("host")) {
        (None, _) => false,
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest);
            !origin_host.is_some_and(|h| h.eq_ignore_ascii_case(host))
        }
        (Some(_), None) => true,
    }
}

/// How much of a refused upload is still read (and thrown away) so that the browser
/// sees the error page: closing a socket with unread data resets the connection, and
/// the browser then shows its own error instead of ours.
pub(super) const DRAIN_BYTES: u64 = 64 * 1024 * 1024;

/// Refuses an upload whose declared length is over the limit, without storing any of it.
pub(super) async fn declared_length(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(declared) = declared.filter(|&n| n > state.limits.max_body_bytes()) {
        if declared - state.limits.max_body_bytes() <= DRAIN_BYTES {
            drain(
                request.into_body(),
                DRAIN_BYTES + state.limits.max_body_bytes(),
            )
            .await;
        }
        let mut response = PageError::TooLarge(format!(
            "This upload is larger than the {} the site accepts in one report.",
            crate::report::human_size(state.limits.max_upload_mib.bytes())
        ))
        .into_response();
        // The rest of the body is not read; the connection cannot be reused.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    next.run(request).await
}

/// Reads and discards up to `limit` bytes of a body (the idle timeout still applies).
async fn drain(mut body: axum::body::Body, limit: u64) {
    use http_body_util::BodyExt;
    let mut seen: u64 = 0;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            seen += data.len() as u64;
            if seen > limit {
                return;
            }
        }
    }
}

/// A global token bucket: `per_minute` requests a minute, in bursts of up to that many.
/// Handlers take a token only once the request has passed the cheap checks (it parses,
/// a receipt code has a valid checksum), so junk cannot use up what real visitors need.
pub(super) struct RateLimit {
    capacity: f64,
    per_second: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    pub(super) fn per_minute(per_minute: u32) -> Self {
        let capacity = f64::from(per_minute.max(1));
        RateLimit {
            capacity,
            per_second: capacity / 60.0,
            state: Mutex::new((capacity, Instant::now())),
        }
    }

    /// Takes one token, or says how long until one is free.
    pub(super) fn check(&self) -> Result<(), PageError> {
        self.take(true)
    }

    /// Whether a token is free now, without taking it (checked before a long upload,
    /// which takes its token only once it has arrived whole and well formed).
    pub(super) fn peek(&self) -> Result<(), PageError> {
        self.take(false)
    }

    /// Tokens in the bucket now.
    fn tokens(&self) -> f64 {
        let state = crate::lock(&self.state);
        let (tokens, last) = *state;
        (tokens + last.elapsed().as_secs_f64() * self.per_second).min(self.capacity)
    }

    /// Whether the bucket has refilled (nothing would change if it were forgotten).
    fn is_full(&self) -> bool {
        self.tokens() >= self.capacity
    }

    fn take(&self, consume: bool) -> Result<(), PageError> {
        let mut state = crate::lock(&self.state);
        let now = Instant::now();
        let (tokens, last) = *state;
        let tokens =
            (tokens + now.duration_since(last).as_secs_f64() * self.per_second).min(self.capacity);
        if tokens >= 1.0 {
            *state = (if consume { tokens - 1.0 } else { tokens }, now);
            Ok(())
        } else {
            *state = (tokens, now);
            let wait = ((1.0 - tokens) / self.per_second).ceil().max(1.0);
            Err(PageError::RateLimited(wait as u64))
        }
    }
}

/// A token bucket per key (a report, a recipient), so that one key's flood never
/// touches another's. The map is bounded: past `max_keys`, keys whose buckets have
/// refilled are forgotten first (forgetting one only hands it a full bucket again).
pub(super) struct KeyedRateLimit<K> {
    per_minute: u32,
    max_keys: usize,
    buckets: Mutex<HashMap<K, RateLimit>>,
}

impl<K: Hash + Eq + Clone> KeyedRateLimit<K> {
    pub(super) fn per_minute(per_minute: u32, max_keys: usize) -> Self {
        KeyedRateLimit {
            per_minute,
            max_keys,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, key: &K, f: impl FnOnce(&RateLimit) -> T) -> T {
        let mut buckets = crate::lock(&self.buckets);
        if buckets.len() >= self.max_keys && !buckets.contains_key(key) {
            buckets.retain(|_, bucket| !bucket.is_full());
            if buckets.len() >= self.max_keys {
                // Everyone is busy: forget the one with the most tokens left.
                if let Some(fullest) = buckets
                    .iter()
                    .max_by(|a, b| a.1.tokens().total_cmp(&b.1.tokens()))
                    .map(|(k, _)| k.clone())
                {
                    buckets.remove(&fullest);
                }
            }
        }
        let bucket = buckets
            .entry(key.clone())
            .or_insert_with(|| RateLimit::per_minute(self.per_minute));
        f(bucket)
    }

    /// Takes a token from `key`'s bucket.
    pub(super) fn check(&self, key: &K) -> Result<(), PageError> {
        self.with(key, RateLimit::check)
    }

    /// Whether `key` has a token free now, without taking it.
    pub(super) fn peek(&self, key: &K) -> Result<(), PageError> {
        self.with(key, RateLimit::peek)
    }
}

#[cfg(test)]
mod tests;
