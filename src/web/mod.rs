//! The web server: reporter pages and their guards. `app(state)` builds the router so
//! that tests and `serve` share it.

mod acme;
mod advisory;
mod api;
mod auth;
mod check;
mod error;
#[cfg(test)]
mod failure_tests;
mod follow_up;
mod guard;
mod host;
mod origin;
mod pace;
mod pages;
mod redirect;
mod security_txt;
mod serve;
mod session;
mod submit;
mod thread;
mod upload;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::config::{Config, Limits, Programme};
use crate::crypto::TeamKeys;
use crate::report::human_size;
use crate::store::Store;

pub use acme::{certificate_file as acme_certificate_file, state_dir as acme_state_dir};
pub use error::PageError;
pub use serve::{Server, serve};

/// Bodies of ordinary forms (the receipt form) are small.
const SMALL_BODY: usize = 64 * 1024;

/// Everything a request handler may use. The web layer holds no team identity.
pub struct AppState {
    site: Site,
    limits: Limits,
    keys: RwLock<Arc<TeamKeys>>,
    store: Store,
    submissions: guard::RateLimit,
    follow_ups: guard::KeyedRateLimit<crate::store::ReportId>,
    receipt_attempts: guard::RateLimit,
    origins: origin::Origins,
    sessions: session::Sessions,
    auth: auth::TeamAuth,
    requests: Arc<Semaphore>,
    uploads: Arc<Semaphore>,
    live_uploads: pace::Uploads,
    api_requests: Arc<Semaphore>,
    tls: bool,
    onion: Option<String>,
    security_txt: security_txt::SecurityTxt,
    /// The canned closing texts, for the team API.
    closing: crate::config::Closing,
    /// Set once storage has failed: the server then stops (see [`AppState::storage_error`]).
    failed: tokio::sync::Notify,
    has_failed: std::sync::atomic::AtomicBool,
    /// Where new reports and messages are signalled (set by `serve` when `[notify]` has
    /// a receiver): a content-free [`Kind`](crate::notify::Kind), never awaited.
    notices: std::sync::OnceLock<crate::notify::Signal>,
}

/// What every page shows about the programme.
#[derive(Clone)]
pub struct Site {
    pub name: String,
    /// The whole `[programme]`: scope, lists, statements and the policy file.
    pub programme: Programme,
    pub policy_url: String,
    pub promises: crate::report::Promises,
    pub max_files: usize,
    pub max_file: String,
    pub max_upload: String,
    pub max_line_chars: usize,
    /// Days a report with no activity is kept (0: until the team purges it).
    pub retention_days: usize,
}

impl AppState {
    /// Builds the state from a validated config, the team's keys, an open store and the
    /// address actually bound.
    pub fn new(
        config: &Config,
        keys: TeamKeys,
        store: Store,
        listen: std::net::SocketAddr,
    ) -> Arc<Self> {
        let limits = config.limits.clone();
        if let Some(file) = &config.programme.policy_file
            && file.dropped_html > 0
        {
            tracing::warn!(
                "programme.policy_file: {} has {} piece(s) of raw HTML, which the policy page \
                 does not show: write Markdown only",
                file.path.display(),
                file.dropped_html
            );
        }
        Arc::new(AppState {
            site: Site::new(&config.programme, &limits),
            keys: RwLock::new(Arc::new(keys)),
            store,
            submissions: guard::RateLimit::per_minute(limits.submissions_per_minute.get()),
            follow_ups: guard::KeyedRateLimit::per_minute(
                limits.follow_ups_per_minute.get(),
                100_000,
            ),
            receipt_attempts: guard::RateLimit::per_minute(
                limits.receipt_attempts_per_minute.get(),
            ),
            origins: origin::Origins::new(config, listen),
            sessions: session::Sessions::new(
                limits.session_idle_seconds.duration(),
                limits.session_max_seconds.duration(),
                limits.max_sessions.get(),
                config.server.serves_tls(),
            ),
            auth: auth::TeamAuth::new(
                limits.team_token_seconds.duration(),
                limits.team_logins_per_minute.get(),
            ),
            requests: Arc::new(Semaphore::new(limits.max_concurrent_requests.get())),
            uploads: Arc::new(Semaphore::new(limits.max_concurrent_uploads.get())),
            live_uploads: pace::Uploads::default(),
            api_requests: Arc::new(Semaphore::new(limits.max_concurrent_api.get())),
            tls: config.server.serves_tls(),
            onion: config.server.onion_address.as_ref().map(|o| o.to_string()),
            security_txt: security_txt::SecurityTxt::new(config),
            closing: config.closing.clone(),
            limits,
            failed: tokio::sync::Notify::new(),
            has_failed: std::sync::atomic::AtomicBool::new(false),
            notices: std::sync::OnceLock::new(),
        })
    }

    /// Turns a storage error into the reporter's page (which logs it).
    pub fn storage_error(&self, e: crate::store::StoreError) -> PageError {
        PageError::Storage(self.fail_stop(e))
    }

    /// The fail-stop policy: a fatal storage error (sled accepts no more writes after an
    /// I/O failure, a full disk above all) stops the server once requests in flight are
    /// answered, and frees the reserve file so that it can start again; fail-stop keeps
    /// every earlier report intact. Logging is left to the response the failure becomes.
    fn fail_stop(&self, e: crate::store::StoreError) -> error::Failure {
        // Some layers (age's header writer) hide the OS error's kind; a failed write on
        // a disk with (almost) nothing left is a full disk whatever it says.
        let disk_full = matches!(e, crate::store::StoreError::Io(_))
            && self
                .store
                .available_bytes()
                .map_or(true, |free| free < 1024 * 1024);
        let fatal = e.is_fatal() || disk_full;
        let stopping = fatal
            && !self
                .has_failed
                .swap(true, std::sync::atomic::Ordering::SeqCst);
        if stopping {
            self.store.release_reserve();
            self.failed.notify_one();
        }
        error::Failure::new(e, stopping)
    }

    /// Whether storage has failed since start-up.
    pub fn has_failed(&self) -> bool {
        self.has_failed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The current team keys (replaced as a whole when the keys file is reloaded).
    pub fn keys(&self) -> Arc<TeamKeys> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Installs a newly loaded keys file; tokens of members no longer in it end.
    pub fn replace_keys(&self, keys: TeamKeys) {
        self.auth.revoke_missing(&keys);
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
    }

    /// Purges every report quiet for `days` days or more (`limits.retention_days`). The
    /// log says how many, never which.
    pub async fn purge_quiet(&self, days: u32) {
        let quiet = match self.store.quiet_reports(crate::clock::today(), days) {
            Ok(quiet) => quiet,
            Err(e) => return self.fail_stop(e).log(),
        };
        let mut purged = 0;
        for (id, _) in quiet {
            match self.store.purge(id).await {
                Ok(()) => purged += 1,
                // Purged by a member meanwhile.
                Err(crate::store::StoreError::NotFound) => {}
                Err(e) => return self.fail_stop(e).log(),
            }
        }
        if purged > 0 {
            tracing::info!(
                purged,
                days,
                "reports with no activity for the retention period were purged"
            );
        }
    }

    /// Signals new reports and messages to `signal` from now on.
    pub fn notify_through(&self, signal: crate::notify::Signal) {
        let _ = self.notices.set(signal);
    }

    /// Tells the notifier, if any, that `kind` happened: never waits, never fails.
    fn notify(&self, kind: crate::notify::Kind) {
        if let Some(signal) = self.notices.get() {
            signal.send(kind);
        }
    }

    /// Ends sessions that have expired (their keys are wiped).
    pub fn sweep_sessions(&self) {
        self.sessions.sweep();
    }

    /// The store (the server syncs it at shutdown).
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl Site {
    fn new(p: &Programme, l: &Limits) -> Self {
        Site {
            name: p.name.to_string(),
            programme: p.clone(),
            policy_url: p
                .policy_url
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default(),
            promises: p.promises(),
            max_files: l.max_files.get(),
            max_file: human_size(l.max_file_mib.bytes()),
            max_upload: human_size(l.max_upload_mib.bytes()),
            max_line_chars: l.max_line_chars.get(),
            retention_days: l.retention_days.get(),
        }
    }
}

/// `GET /healthz`, for the operator's monitoring: 200 while the server takes reports,
/// 503 once storage has failed (the server is then stopping). Nothing else: no counts,
/// no versions, nothing about any report.
async fn health(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if state.has_failed() {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "storage failed\n",
        )
            .into_response()
    } else {
        "ok\n".into_response()
    }
}

/// Makes room in a full table: removes the entry ranked first by `rank` (the oldest,
/// the idlest) among those `eligible` selects. Used where a table has a fixed size so
/// that no one client can grow it (sessions, login challenges).
fn evict_first<K: Clone + Eq + std::hash::Hash, V, R: Ord>(
    table: &mut std::collections::HashMap<K, V>,
    eligible: impl Fn(&V) -> bool,
    rank: impl Fn(&V) -> R,
) {
    if let Some(first) = table
        .iter()
        .filter(|(_, v)| eligible(v))
        .min_by_key(|(_, v)| rank(v))
        .map(|(k, _)| k.clone())
    {
        table.remove(&first);
    }
}

/// The router with every route and guard.
pub fn app(state: Arc<AppState>) -> Router {
    let upload_limit = usize::try_from(state.limits.max_body_bytes()).unwrap_or(usize::MAX);
    let submit = Router::new()
        .route("/submit", post(submit::submit))
        .layer(DefaultBodyLimit::max(upload_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            pace::min_rate,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::declared_length,
        ));
    let follow_up = Router::new()
        .route("/thread", get(thread::show))
        .route(
            "/thread",
            post(follow_up::follow_up).layer(middleware::from_fn_with_state(
                state.clone(),
                pace::min_rate,
            )),
        )
        .layer(DefaultBodyLimit::max(upload_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::declared_length,
        ));
    Router::new()
        .route("/", get(pages::index))
        .route("/check", get(check::form).post(check::check))
        .route("/logout", post(check::logout))
        .route("/policy", get(pages::policy))
        .route("/.well-known/security.txt", get(security_txt::security_txt))
        .route(security_txt::RECIPIENTS_PATH, get(security_txt::recipients))
        .route("/static/style.css", get(pages::stylesheet))
        .route("/healthz", get(health))
        .layer(DefaultBodyLimit::max(SMALL_BODY))
        .merge(submit)
        .merge(follow_up)
        .nest("/api/v1", api::routes(state.clone()))
        .fallback(pages::not_found)
        .layer(RequestBodyTimeoutLayer::new(
            state.limits.idle_timeout_seconds.duration(),
        ))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::concurrency,
        ))
        .layer(middleware::from_fn(guard::same_origin_posts))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            error::render_errors,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::security_headers,
        ))
        .with_state(state)
}
