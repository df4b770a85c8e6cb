//! `[server]`: where agedrop listens and keeps its data, its TLS files, and the names it
//! is reached at. Each setting is declared once, with its default and reason.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

pub use super::acme::{AcmeContact, AcmeDomain};
use super::units::{BadValue, Mib, Seconds};

/// Where and how the server runs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Address and port. Plain HTTP is allowed only on loopback (an onion service or a
    /// local trial); any other address needs TLS or `allow_plain_http`.
    #[serde(deserialize_with = "listen_address")]
    pub listen: SocketAddr,
    /// Where the encrypted reports live (a sled database).
    pub data: PathBuf,
    /// The team keys file: one age recipient a line.
    pub keys: PathBuf,
    /// A PEM certificate chain, for TLS without a reverse proxy; both or neither with
    /// `tls_key` (see [`Server::tls`]).
    pub tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key.
    pub tls_key: Option<PathBuf>,
    /// Certificates by ACME (TLS-ALPN-01 on `listen`, which must be reachable on port
    /// 443 under these names): the names to get one certificate for. Empty: no ACME.
    /// Not with `tls_cert`/`tls_key`.
    pub acme_domains: Vec<AcmeDomain>,
    /// Who the certificate authority may write to about the certificates (an e-mail
    /// address). Empty: nobody.
    #[serde(deserialize_with = "super::empty_is_none")]
    pub acme_contact: Option<AcmeContact>,
    /// Use Let's Encrypt's staging directory (certificates browsers do not trust, and
    /// generous rate limits) to try the set-up.
    pub acme_staging: bool,
    /// Another ACME directory (a company's own CA, e.g. step-ca): its URL, which
    /// overrides `acme_staging`. Empty: Let's Encrypt.
    #[serde(deserialize_with = "super::empty_is_none")]
    pub acme_directory: Option<HttpUrl>,
    /// A PEM CA certificate to trust for the ACME directory's own HTTPS instead of the
    /// system's roots (a private CA's directory). Empty: the system's roots.
    pub acme_ca_file: Option<PathBuf>,
    /// Also listen for plain HTTP here (e.g. `0.0.0.0:80`), only to redirect every
    /// request to `public_url` over HTTPS. Empty: no such listener.
    #[serde(deserialize_with = "super::empty_is_none")]
    pub redirect_http: Option<RedirectListen>,
    /// Serve plain HTTP on a non-loopback address: only when something in front adds
    /// TLS, or reports would cross the network in the clear.
    pub allow_plain_http: bool,
    /// The onion service's address; team logins are bound to it. Empty: none (or the
    /// one in `onion_hostname_file`).
    #[serde(deserialize_with = "super::empty_is_none")]
    pub onion_address: Option<OnionAddress>,
    /// Tor's `hostname` file in the onion service's HiddenServiceDir (e.g.
    /// `/var/lib/tor/agedrop/hostname`), read at start for `onion_address`, so that the
    /// address is never typed in by hand. Empty: none.
    #[serde(deserialize_with = "super::empty_is_none")]
    pub onion_hostname_file: Option<HostnameFile>,
    /// The public address reporters and the team use; team logins are bound to it.
    /// Required when `listen` is not loopback. Empty: none.
    #[serde(deserialize_with = "super::empty_is_none")]
    pub public_url: Option<HttpUrl>,
    /// Memory for sled's page cache (sled's own default would be 1 GiB).
    pub cache_mib: Mib<8>,
    /// On SIGTERM, how long requests in flight (a slow upload) may take to finish.
    pub shutdown_grace_seconds: Seconds<0>,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            data: PathBuf::from("/var/lib/agedrop"),
            keys: PathBuf::from("/etc/agedrop/keys.txt"),
            tls_cert: None,
            tls_key: None,
            acme_domains: Vec::new(),
            acme_contact: None,
            acme_staging: false,
            acme_directory: None,
            acme_ca_file: None,
            redirect_http: None,
            allow_plain_http: false,
            onion_address: None,
            onion_hostname_file: None,
            public_url: None,
            cache_mib: Mib::of::<64>(),
            shutdown_grace_seconds: Seconds::of::<30>(),
        }
    }
}

/// TLS certificate and key files (PEM).
#[derive(Clone, Copy, Debug)]
pub struct TlsFiles<'a> {
    /// The certificate chain.
    pub cert: &'a Path,
    /// Its private key.
    pub key: &'a Path,
}

impl Server {
    /// The TLS files, if set ([`Config::validate`](super::Config::validate) refuses one
    /// without the other).
    pub fn tls(&self) -> Option<TlsFiles<'_>> {
        Some(TlsFiles {
            cert: self.tls_cert.as_deref()?,
            key: self.tls_key.as_deref()?,
        })
    }
}

impl Server {
    /// Whether the listener speaks TLS: certificate files or ACME.
    pub fn serves_tls(&self) -> bool {
        self.tls().is_some() || !self.acme_domains.is_empty()
    }

    /// The ACME directory: the configured one, or Let's Encrypt's (staging or not).
    pub fn acme_directory_url(&self) -> &str {
        match (&self.acme_directory, self.acme_staging) {
            (Some(url), _) => url.as_str(),
            (None, true) => LETS_ENCRYPT_STAGING,
            (None, false) => LETS_ENCRYPT,
        }
    }
}

/// Let's Encrypt's ACME directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory.
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// The plain-HTTP redirect listener's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct RedirectListen(pub SocketAddr);

impl TryFrom<String> for RedirectListen {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        parse_listen(&text).map(RedirectListen)
    }
}

fn listen_address<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    parse_listen(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// Parses `server.listen` (or `--listen`).
pub(super) fn parse_listen(text: &str) -> Result<SocketAddr, BadValue> {
    text.parse().map_err(|_| {
        BadValue(format!(
            "`{text}` is not an address and port, e.g. 127.0.0.1:8080"
        ))
    })
}

/// The path of Tor's `hostname` file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct HostnameFile(PathBuf);

impl TryFrom<String> for HostnameFile {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        Ok(HostnameFile(PathBuf::from(text.trim())))
    }
}

impl HostnameFile {
    /// The onion address the file holds: Tor writes `abc…xyz.onion` and a newline.
    pub fn read(&self) -> Result<OnionAddress, String> {
        let text = std::fs::read_to_string(&self.0).map_err(|e| {
            format!(
                "cannot read {}: {e}. Is Tor running with HiddenServiceDir there, and may \
                 agedrop's user read it (e.g. add it to the debian-tor group)?",
                self.0.display()
            )
        })?;
        OnionAddress::try_from(text).map_err(|e| {
            format!(
                "{} does not hold an onion address: {}",
                self.0.display(),
                e.0
            )
        })
    }
}

/// An onion service's host name (`abc…xyz.onion`), without scheme or slash.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct OnionAddress(String);

impl TryFrom<String> for OnionAddress {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        let host = text
            .trim()
            .trim_start_matches("http://")
            .trim_end_matches('/');
        if host.ends_with(".onion") && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
            Ok(OnionAddress(host.to_string()))
        } else {
            Err(BadValue(
                "expected a host name ending in .onion, e.g. abc…xyz.onion".into(),
            ))
        }
    }
}

impl OnionAddress {
    /// The host name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OnionAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An `http://` or `https://` address with a host and no user name, kept as written
/// (it is shown in pages and security.txt) beside its parsed form.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct HttpUrl {
    text: String,
    url: url::Url,
}

impl TryFrom<String> for HttpUrl {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        let parsed = url::Url::parse(&text).ok().filter(|u| {
            matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.username().is_empty()
        });
        let plain = !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<');
        match parsed {
            Some(url) if plain => Ok(HttpUrl { text, url }),
            _ => Err(BadValue(format!(
                "`{text}` is not an http:// or https:// address"
            ))),
        }
    }
}

impl HttpUrl {
    /// The address as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The address parsed.
    pub fn url(&self) -> &url::Url {
        &self.url
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
