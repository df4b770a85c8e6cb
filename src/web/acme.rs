//! Certificates by ACME (RFC 8555), proved by TLS-ALPN-01 (RFC 8737) on the server's
//! own port: rustls-acme orders, caches and renews them (a third of their lifetime
//! before they end); this module gives it the directory, the roots to trust, a state
//! folder readable by agedrop alone, and an acceptor that answers the authority's
//! validation connections apart from everyone else's. Works with `config` (the
//! `server.acme_*` settings) and `serve` (which runs [`Acme::run`] and serves through
//! [`Acme::acceptor`]).

use std::future::Future;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use rustls::crypto::CryptoProvider;
use rustls::server::Acceptor;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_acme::{AcmeConfig, AcmeState, EventOk, is_tls_alpn_challenge};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::Server;

/// The folder under the data folder that holds the ACME account key and the
/// certificates with their keys (mode 0700, files 0600).
pub fn state_dir(data: &Path) -> PathBuf {
    data.join("acme")
}

/// The file the current certificate (with its key) is kept in, for these settings.
pub fn certificate_file(server: &Server) -> PathBuf {
    let names: Vec<String> = server.acme_domains.iter().map(|d| d.to_string()).collect();
    state_dir(&server.data).join(format!(
        "certificate-{}.pem",
        fingerprint(&names, server.acme_directory_url())
    ))
}

/// Certificates from an ACME directory, and how to serve them.
pub struct Acme {
    state: AcmeState<io::Error>,
    acceptor: AcmeAcceptor,
}

impl Acme {
    /// Prepares the ACME client for `server`'s settings: reads the CA file, makes the
    /// state folder. Nothing is ordered until [`Acme::run`].
    pub fn new(server: &Server, handshake: Duration) -> Result<Acme, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = client_config(server, provider.clone())?;
        let dir = state_dir(&server.data);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)))
            .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        let mut config = AcmeConfig::new_with_client_config(
            server.acme_domains.iter().map(|d| d.as_str()),
            client,
        )
        .directory(server.acme_directory_url())
        .cache(StateDir(dir));
        if let Some(contact) = &server.acme_contact {
            config = config.contact_push(contact.as_uri());
        }
        let state = config.state();
        let mut tls = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(state.resolver());
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = AcmeAcceptor {
            tls: Arc::new(tls),
            challenge: state.challenge_rustls_config_with_provider(provider),
            handshake,
        };
        Ok(Acme { state, acceptor })
    }

    /// What accepts connections: TLS with the current certificate, and the authority's
    /// validation handshakes.
    pub fn acceptor(&self) -> AcmeAcceptor {
        self.acceptor.clone()
    }

    /// Loads the cached certificate or orders one, then renews it, for as long as the
    /// server runs; logs each step without anything but the outcome.
    pub async fn run(self) {
        let mut state = self.state;
        while let Some(event) = state.next().await {
            match event {
                Ok(EventOk::DeployedCachedCert) => {
                    tracing::info!("TLS certificate from the ACME state folder is served")
                }
                Ok(EventOk::DeployedNewCert) => {
                    tracing::info!("TLS certificate newly issued by ACME is served")
                }
                Ok(EventOk::CertCacheStore | EventOk::AccountCacheStore) => {}
                Err(e) => tracing::error!(
                    "ACME: {e}; trying again later (check that server.acme_domains point at \
                     this host and that port 443 reaches server.listen)"
                ),
            }
        }
    }
}

/// The roots the ACME directory's own HTTPS is checked against: `acme_ca_file`, or the
/// system's.
fn client_config(
    server: &Server,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<ClientConfig>, String> {
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match &server.acme_ca_file {
        Some(path) => {
            use rustls::pki_types::{CertificateDer, pem::PemObject};
            let mut roots = RootCertStore::empty();
            let fail = |e: &dyn std::fmt::Display| {
                format!("server.acme_ca_file: cannot use {}: {e}", path.display())
            };
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| fail(&e))? {
                roots
                    .add(cert.map_err(|e| fail(&e))?)
                    .map_err(|e| fail(&e))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => {
            use rustls_platform_verifier::BuilderVerifierExt;
            builder
                .with_platform_verifier()
                .map_err(|e| format!("cannot read the system's root certificates: {e}"))?
                .with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// Names a cached item by what it was made for, so that changed settings never pick up
/// an old account or certificate.
fn fingerprint(items: &[String], directory: &str) -> String {
    let mut hash = Sha256::new();
    for item in items {
        hash.update(item.as_bytes());
        hash.update([0]);
    }
    hash.update(directory.as_bytes());
    hex::encode(&hash.finalize()[..12])
}

/// rustls-acme's cache in the state folder: each file written whole (a temporary file,
/// synced, renamed), mode 0600.
struct StateDir(PathBuf);

impl StateDir {
    async fn read(&self, name: String) -> io::Result<Option<Vec<u8>>> {
        let path = self.0.join(name);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn write(&self, name: String, bytes: &[u8]) -> io::Result<()> {
        let dir = self.0.clone();
        let bytes = bytes.to_vec();
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut file = tempfile::NamedTempFile::new_in(&dir)?;
            file.write_all(&bytes)?;
            file.as_file().sync_all()?;
            file.persist(dir.join(name)).map_err(|e| e.error)?;
            std::fs::File::open(&dir)?.sync_all()
        })
        .await
        .map_err(io::Error::other)?
    }
}

#[async_trait]
impl rustls_acme::CertCache for StateDir {
    type EC = io::Error;

    async fn load_cert(&self, domains: &[String], directory: &str) -> io::Result<Option<Vec<u8>>> {
        self.read(format!(
            "certificate-{}.pem",
            fingerprint(domains, directory)
        ))
        .await
    }

    async fn store_cert(&self, domains: &[String], directory: &str, cert: &[u8]) -> io::Result<()> {
        self.write(
            format!("certificate-{}.pem", fingerprint(domains, directory)),
            cert,
        )
        .await
    }
}

#[async_trait]
impl rustls_acme::AccountCache for StateDir {
    type EA = io::Error;

    async fn load_account(
        &self,
        contact: &[String],
        directory: &str,
    ) -> io::Result<Option<Vec<u8>>> {
        self.read(format!("account-{}", fingerprint(contact, directory)))
            .await
    }

    async fn store_account(
        &self,
        contact: &[String],
        directory: &str,
        key: &[u8],
    ) -> io::Result<()> {
        self.write(format!("account-{}", fingerprint(contact, directory)), key)
            .await
    }
}

/// Accepts a TLS connection with the ACME certificate; a TLS-ALPN-01 validation
/// handshake is answered with the challenge certificate and then closed. The whole
/// handshake must end within the header timeout (a client that stalls holds nothing).
#[derive(Clone)]
pub struct AcmeAcceptor {
    tls: Arc<ServerConfig>,
    challenge: Arc<ServerConfig>,
    handshake: Duration,
}

/// What [`AcmeAcceptor`] gives back.
type Accepted<S> = Pin<Box<dyn Future<Output = io::Result<(TlsStream<TcpStream>, S)>> + Send>>;

impl<S: Send + 'static> axum_server::accept::Accept<TcpStream, S> for AcmeAcceptor {
    type Stream = TlsStream<TcpStream>;
    type Service = S;
    type Future = Accepted<S>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let handshake = async {
                let start = LazyConfigAcceptor::new(Acceptor::default(), stream).await?;
                if is_tls_alpn_challenge(&start.client_hello()) {
                    let mut validation = start.into_stream(this.challenge).await?;
                    let _ = validation.shutdown().await;
                    return Err(io::Error::other("an ACME validation handshake, answered"));
                }
                start.into_stream(this.tls).await
            };
            match tokio::time::timeout(this.handshake, handshake).await {
                Ok(stream) => Ok((stream?, service)),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake too slow",
                )),
            }
        })
    }
}
