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
    redirect: Option<std::net::TcpListener>,
    acme: Option<super::acme::Acme>,
    signals: std::io::Result<Signals>,
    notifier: Option<crate::notify::Notifier>,
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
        let redirect = match &config.server.redirect_http {
            Some(at) => Some(std::net::TcpListener::bind(at.0).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("server.redirect_http: cannot listen on {}: {e}", at.0),
                )
            })?),
            None => None,
        };
        let acme = match config.server.acme_domains.is_empty() {
            true => None,
            false => Some(
                super::acme::Acme::new(
                    &config.server,
                    config.limits.header_timeout_seconds.duration(),
                )
                .map_err(std::io::Error::other)?,
            ),
        };
        // The SMTP password and CA files are read now: a mistake stops the start.
        let notifier = crate::notify::Notifier::new(&config).map_err(std::io::Error::other)?;
        Ok(Server {
            state: AppState::new(&config, keys, store, bound),
            config,
            listener,
            redirect,
            acme,
            signals,
            notifier,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The URL reporters open.
    pub fn url(&self) -> std::io::Result<String> {
        let scheme = if self.config.server.serves_tls() {
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
        redirect,
        acme,
        signals,
        notifier,
    } = server;
    if let Some(notifier) = notifier {
        let (signal, inbox) = notifier.queue();
        state.notify_through(signal);
        tokio::spawn(notifier.run(inbox, state.clone()));
    }
    let handle: Handle<SocketAddr> = Handle::new();
    let certificates = match config.server.tls() {
        Some(files) => Some(Certificates {
            config: RustlsConfig::from_pem_file(files.cert, files.key)
                .await
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("server.tls_cert / server.tls_key: cannot load them: {e}"),
                    )
                })?,
            cert: files.cert.to_path_buf(),
            key: files.key.to_path_buf(),
        }),
        None => None,
    };
    match signals {
        Ok(signals) => {
            tokio::spawn(watch_signals(
                signals,
                handle.clone(),
                state.clone(),
                Watched {
                    keys: config.server.keys.clone(),
                    certificates: certificates.clone(),
                },
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
    let days = config.limits.retention_days.get();
    if days > 0 {
        let keeper = state.clone();
        tokio::spawn(async move {
            // At start, then hourly: the day is all the server knows of a report's time.
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every.tick().await;
                keeper.purge_quiet(days as u32).await;
            }
        });
    }
    // `agedrop backup` on this host asks the running server for a consistent snapshot.
    tokio::spawn(crate::backup::listen(
        config.server.data.clone(),
        state.clone(),
    ));
    let router = app(state.clone());
    let header_timeout = config.limits.header_timeout_seconds.duration();
    if let (Some(listener), Some(public)) = (redirect, &config.server.public_url) {
        let redirects = super::redirect::app(public.url());
        let server = with_timeouts(
            axum_server::from_tcp(listener)?,
            handle.clone(),
            header_timeout,
        );
        tokio::spawn(async move {
            if let Err(e) = server.serve(redirects.into_make_service()).await {
                tracing::error!("server.redirect_http stopped: {e}");
            }
        });
    }
    let served = match (certificates, acme) {
        (_, Some(acme)) => {
            let server = axum_server::from_tcp(listener)?.acceptor(acme.acceptor());
            tokio::spawn(acme.run());
            with_timeouts(server, handle, header_timeout)
                .serve(router.into_make_service())
                .await
        }
        (Some(certificates), None) => {
            let server = axum_server::from_tcp_rustls(listener, certificates.config)?;
            with_timeouts(server, handle, header_timeout)
                .serve(router.into_make_service())
                .await
        }
        (None, None) => {
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

/// How often the keys file and the certificate files are checked for changes (a reload
/// without SIGHUP: certbot's renewals, a member removed).
const KEYS_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// What identifies a version of a file on disk.
fn keys_stamp(path: &std::path::Path) -> Option<(std::time::SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The TLS certificate being served, and where it is read from.
#[derive(Clone)]
struct Certificates {
    config: RustlsConfig,
    cert: PathBuf,
    key: PathBuf,
}

impl Certificates {
    fn stamp(&self) -> Option<[(std::time::SystemTime, u64); 2]> {
        Some([keys_stamp(&self.cert)?, keys_stamp(&self.key)?])
    }

    /// Serves the pair on disk from the next handshake on; a pair that does not load
    /// (half written, mismatched, damaged) leaves the old one serving.
    async fn reload(&self) {
        match self
            .config
            .reload_from_pem_file(&self.cert, &self.key)
            .await
        {
            Ok(()) => tracing::info!("TLS certificate reloaded"),
            Err(e) => tracing::error!(
                "TLS certificate not reloaded, the old one keeps serving: {e}; check \
                 server.tls_cert and server.tls_key"
            ),
        }
    }
}

/// The files a running server follows.
struct Watched {
    keys: PathBuf,
    certificates: Option<Certificates>,
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
    watched: Watched,
    grace: std::time::Duration,
) {
    let Signals { mut term, mut hup } = signals;
    let keys_path = watched.keys;
    let mut stamp = keys_stamp(&keys_path);
    let mut cert_stamp = watched.certificates.as_ref().and_then(Certificates::stamp);
    let mut poll = tokio::time::interval(KEYS_POLL);
    loop {
        let (reload, reload_certificates) = tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = state.failed.notified() => break,
            _ = hup.recv() => (true, true),
            _ = poll.tick() => {
                // Edited without a reload: removing a member must not wait for one,
                // and a renewed certificate must not wait for a restart.
                let now = keys_stamp(&keys_path);
                let certs = watched.certificates.as_ref().and_then(Certificates::stamp);
                (now.is_some() && now != stamp, certs.is_some() && certs != cert_stamp)
            }
        };
        if let (true, Some(certificates)) = (reload_certificates, &watched.certificates) {
            cert_stamp = certificates.stamp();
            certificates.reload().await;
        }
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
