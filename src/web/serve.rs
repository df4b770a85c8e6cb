//! Binding and running the server: plain HTTP on loopback or rustls TLS, header and
//! body timeouts, graceful shutdown on SIGTERM/ctrl-c, team keys reloaded on SIGHUP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

use super::{AppState, app};
use crate::config::Config;
use crate::crypto::TeamKeys;
use crate::store::Store;

/// A server that is bound and ready to run.
pub struct Server {
    state: Arc<AppState>,
    config: Config,
    listener: std::net::TcpListener,
    signals: std::io::Result<Signals>,
}

impl Server {
    /// Binds the listening socket (so that an address in use is reported before
    /// anything else starts), and installs the signal handlers: from here on the port
    /// accepts connections, so a SIGHUP or SIGTERM must already reload or drain rather
    /// than end the process by the default action. Call it inside the Tokio runtime.
    pub fn bind(config: Config, keys: TeamKeys, store: Store) -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let signals = signal(SignalKind::terminate())
            .and_then(|term| signal(SignalKind::hangup()).map(|hup| Signals { term, hup }));
        let listener = std::net::TcpListener::bind(config.server.listen).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "server.listen: cannot listen on {}: {e}",
                    config.server.listen
                ),
            )
        })?;
        let bound = listener.local_addr()?;
        Ok(Server {
            state: AppState::new(&config, keys, store, bound),
            config,
            listener,
            signals,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The URL reporters open.
    pub fn url(&self) -> std::io::Result<String> {
        let scheme = if self.config.server.tls().is_some() {
            "https"
        } else {
            "http"
        };
        Ok(format!("{scheme}://{}/", self.local_addr()?))
    }
}

/// Runs until SIGTERM or ctrl-c, then lets requests in flight finish (up to the grace
/// period) before returning.
pub async fn serve(server: Server) -> std::io::Result<()> {
    let Server {
        state,
        config,
        listener,
        signals,
    } = server;
    let handle: Handle<SocketAddr> = Handle::new();
    match signals {
        Ok(signals) => {
            tokio::spawn(watch_signals(
                signals,
                handle.clone(),
                state.clone(),
                config.server.keys.clone(),
                config.server.shutdown_grace_seconds.duration(),
            ));
        }
        Err(e) => {
            tracing::error!("cannot install signal handlers ({e}); stop the server with SIGKILL")
        }
    }
    let sweeper = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            every.tick().await;
            sweeper.sweep_sessions();
        }
    });
    // `agedrop backup` on this host asks the running server for a consistent snapshot.
    tokio::spawn(crate::backup::listen(
        config.server.data.clone(),
        state.clone(),
    ));
    let router = app(state.clone());
    let header_timeout = config.limits.header_timeout_seconds.duration();
    let served = match config.server.tls() {
        Some(files) => {
            let tls = RustlsConfig::from_pem_file(files.cert, files.key)
                .await
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("server.tls_cert / server.tls_key: cannot load them: {e}"),
                    )
                })?;
            let server = axum_server::from_tcp_rustls(listener, tls)?;
            with_timeouts(server, handle, header_timeout)
                .serve(router.into_make_service())
                .await
        }
        None => {
            with_timeouts(axum_server::from_tcp(listener)?, handle, header_timeout)
                .serve(router.into_make_service())
                .await
        }
    };
    served?;
    let _ = std::fs::remove_file(crate::backup::socket_path(&config.server.data));
    if state.has_failed() {
        return Err(std::io::Error::other(
            "storage failed (see the log above); free disk space if it is full and start \
             agedrop again: reports stored before are intact",
        ));
    }
    // Make sure everything acknowledged is on disk before the process ends.
    state
        .store()
        .sync()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// A server that answers shutdown through `handle`, and gives a client `timeout` to
/// send its first request and each request's headers (slowloris).
fn with_timeouts<A>(
    server: axum_server::Server<SocketAddr, A>,
    handle: Handle<SocketAddr>,
    timeout: std::time::Duration,
) -> axum_server::Server<SocketAddr, A> {
    let mut server = server.handle(handle).first_request_timeout(timeout);
    server.http_builder().http1().header_read_timeout(timeout);
    server
}

/// How often the keys file is checked for changes (a reload without SIGHUP).
const KEYS_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// What identifies a version of the keys file on disk.
fn keys_stamp(path: &std::path::Path) -> Option<(std::time::SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The signals the server acts on, their handlers already installed.
struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

async fn watch_signals(
    signals: Signals,
    handle: Handle<SocketAddr>,
    state: Arc<AppState>,
    keys_path: PathBuf,
    grace: std::time::Duration,
) {
    let Signals { mut term, mut hup } = signals;
    let mut stamp = keys_stamp(&keys_path);
    let mut poll = tokio::time::interval(KEYS_POLL);
    loop {
        let reload = tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = state.failed.notified() => break,
            _ = hup.recv() => true,
            _ = poll.tick() => {
                // Edited without a reload: removing a member must not wait for one.
                let now = keys_stamp(&keys_path);
                now.is_some() && now != stamp
            }
        };
        if reload {
            stamp = keys_stamp(&keys_path);
            match TeamKeys::load(&keys_path) {
                Ok(keys) => {
                    let members = keys.members().len();
                    for advice in keys.advice() {
                        tracing::warn!("{advice}");
                    }
                    state.replace_keys(keys);
                    tracing::info!(members, "team keys file reloaded");
                }
                Err(e) => tracing::error!("team keys file not reloaded, keeping the old one: {e}"),
            }
        }
    }
    tracing::info!("shutting down: finishing requests in flight");
    handle.graceful_shutdown(Some(grace));
}
