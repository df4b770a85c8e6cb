//! The config file and the command-line flags become one checked [`Config`]. Each
//! setting is declared once, in its section's struct, with a type that carries its unit
//! and range ([`units`]), its default and its reason; every error names the setting and
//! says how to fix it.

mod acme;
mod closing;
mod limits;
mod notify;
pub mod policy;
mod programme;
mod server;
#[cfg(test)]
mod tests;
pub mod text;
pub mod units;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

pub use closing::Closing;
pub use limits::Limits;
pub use notify::{Notify, SecretUrl, Smtp, SmtpTls, Webhook, WebhookFormat};
pub use programme::{Programme, ProgrammeName};
pub use server::{
    AcmeContact, AcmeDomain, HostnameFile, HttpUrl, OnionAddress, RedirectListen, Server, TlsFiles,
};
use units::BadValue;

/// A setting was missing or wrong.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    /// The setting, as written in the config file (`section.key`), or the file itself
    /// when it cannot be read.
    pub setting: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn err(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_string(),
        message: message.into(),
    }
}

/// The whole configuration, one struct a section, as the rest of the code uses it. Every
/// setting has a default; `deploy/agedrop.example.toml` shows them all (a test holds it
/// equal to [`Config::default`]).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[server]`
    pub server: Server,
    /// `[programme]`
    pub programme: Programme,
    /// `[limits]`
    pub limits: Limits,
    /// `[closing]`
    pub closing: Closing,
    /// `[notify]`
    pub notify: Notify,
}

/// Command-line overrides for the common `[server]` settings.
#[derive(Default, Clone)]
pub struct Overrides {
    /// `--listen`, for `server.listen`.
    pub listen: Option<String>,
    /// `--data`, for `server.data`.
    pub data: Option<PathBuf>,
    /// `--keys`, for `server.keys`.
    pub keys: Option<PathBuf>,
    /// `--tls-cert`, for `server.tls_cert`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`, for `server.tls_key`.
    pub tls_key: Option<PathBuf>,
    /// `--allow-plain-http`, turning `server.allow_plain_http` on.
    pub allow_plain_http: bool,
}

impl Overrides {
    /// Puts the flags given in place of the file's settings.
    fn apply(&self, server: &mut Server) -> Result<(), ConfigError> {
        if let Some(listen) = &self.listen {
            server.listen = server::parse_listen(listen).map_err(|e| err("server.listen", e.0))?;
        }
        if let Some(data) = &self.data {
            server.data.clone_from(data);
        }
        if let Some(keys) = &self.keys {
            server.keys.clone_from(keys);
        }
        if self.tls_cert.is_some() {
            server.tls_cert.clone_from(&self.tls_cert);
        }
        if self.tls_key.is_some() {
            server.tls_key.clone_from(&self.tls_key);
        }
        server.allow_plain_http |= self.allow_plain_http;
        Ok(())
    }
}

/// Reads an optional text setting: empty (or only spaces) means none.
fn empty_is_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String, Error = BadValue>,
{
    let text = String::deserialize(d)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    T::try_from(text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

const COMPARE: &str = "compare with deploy/agedrop.example.toml";

impl Config {
    /// Reads the config file (if given), applies the flags and validates the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| err("--config", format!("cannot read {}: {e}", path.display())))?;
                Self::parse(&text, &path.display().to_string())?
            }
            None => Config::default(),
        };
        config.validate(overrides)
    }

    /// Reads a config file's text (`file` names it in errors). A value of the wrong type
    /// or out of its range is refused here, named by its key.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let document = toml::Deserializer::parse(text)
            .map_err(|e| err(file, format!("{}; {COMPARE}", e.message().trim())))?;
        serde_path_to_error::deserialize(document).map_err(|e| {
            let setting = e.path().to_string();
            let e = e.into_inner();
            let message = e.message().trim();
            let line = e
                .span()
                .and_then(|span| text.get(..span.start))
                .map(|before| format!(", line {}", before.matches('\n').count() + 1))
                .unwrap_or_default();
            if setting == "." {
                err(file, format!("{message}{line}; {COMPARE}"))
            } else if let Some((key, advice)) = programme::REMOVED
                .iter()
                .find(|(key, _)| message.starts_with(&format!("unknown field `{key}`")))
            {
                err(
                    &format!("programme.{key}"),
                    format!("{advice} (in {file}{line})"),
                )
            } else if message.starts_with("unknown field") {
                err(file, format!("{message} (at `{setting}`{line}); {COMPARE}"))
            } else {
                err(&setting, format!("{message} (in {file}{line})"))
            }
        })
    }

    /// Applies the flags, then checks what no single setting can check alone: TLS files
    /// come in pairs and exist, a public address is neither plain HTTP by accident nor
    /// nameless, and no limit is set where a larger one makes it unreachable.
    pub fn validate(mut self, o: &Overrides) -> Result<Config, ConfigError> {
        o.apply(&mut self.server)?;
        if let Some(file) = &self.server.onion_hostname_file {
            let read = file
                .read()
                .map_err(|why| err("server.onion_hostname_file", why))?;
            match &self.server.onion_address {
                Some(given) if *given != read => {
                    return Err(err(
                        "server.onion_address",
                        format!(
                            "is {given}, but server.onion_hostname_file holds {read}: set \
                             one of them"
                        ),
                    ));
                }
                _ => self.server.onion_address = Some(read),
            }
        }
        let server = &self.server;
        validate_acme(server)?;

        match (&server.tls_cert, &server.tls_key) {
            (Some(cert), Some(key)) => {
                for (setting, path) in [("server.tls_cert", cert), ("server.tls_key", key)] {
                    if !path.is_file() {
                        return Err(err(
                            setting,
                            format!("{} does not exist or is not a file", path.display()),
                        ));
                    }
                }
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(err("server.tls_key", "tls_cert is set, so set tls_key too"));
            }
            (None, Some(_)) => {
                return Err(err(
                    "server.tls_cert",
                    "tls_key is set, so set tls_cert too",
                ));
            }
        }
        let listen = server.listen;
        if !server.serves_tls() && !listen.ip().is_loopback() && !server.allow_plain_http {
            return Err(err(
                "server.listen",
                format!(
                    "{listen} is not a loopback address and no TLS is configured: reporters' \
                     reports would cross the network in the clear. Set server.tls_cert and \
                     server.tls_key, listen on 127.0.0.1 behind an onion service, or (only if \
                     something else terminates TLS) set server.allow_plain_http = true"
                ),
            ));
        }
        if server.public_url.is_none() && !listen.ip().is_loopback() {
            return Err(err(
                "server.public_url",
                format!(
                    "{listen} is not a loopback address, so set the address reporters and the \
                     team reach this server at, e.g. public_url = \"https://security.example.com\": \
                     team logins are bound to it"
                ),
            ));
        }

        self.programme.validate()?;
        if let Some(smtp) = &self.notify.smtp {
            validate_smtp(smtp)?;
        }

        let limits = &self.limits;
        if limits.max_file_mib.get() > limits.max_upload_mib.get() {
            return Err(err(
                "limits.max_file_mib",
                format!(
                    "is larger than limits.max_upload_mib ({}), so it could never be reached",
                    limits.max_upload_mib.get()
                ),
            ));
        }
        if limits.session_idle_seconds.duration() > limits.session_max_seconds.duration() {
            return Err(err(
                "limits.session_idle_seconds",
                "is longer than limits.session_max_seconds, so it could never apply",
            ));
        }
        Ok(self)
    }
}

/// ACME excludes certificate files, its names include the public address's, and the
/// redirect listener has somewhere to send people.
fn validate_acme(server: &Server) -> Result<(), ConfigError> {
    if !server.acme_domains.is_empty() {
        if server.tls_cert.is_some() {
            return Err(err(
                "server.acme_domains",
                "is set, and so is server.tls_cert: choose certificates from ACME or from \
                 files, not both",
            ));
        }
        if let Some(host) = server.public_url.as_ref().and_then(|u| u.url().host_str())
            && !server.acme_domains.iter().any(|d| d.as_str() == host)
        {
            return Err(err(
                "server.acme_domains",
                format!("does not hold {host}, the host of server.public_url: add it"),
            ));
        }
        if let Some(ca) = &server.acme_ca_file
            && !ca.is_file()
        {
            return Err(err(
                "server.acme_ca_file",
                format!("{} does not exist or is not a file", ca.display()),
            ));
        }
    }
    if let Some(redirect) = &server.redirect_http {
        let Some(public) = server
            .public_url
            .as_ref()
            .filter(|u| u.url().scheme() == "https")
        else {
            return Err(err(
                "server.redirect_http",
                "redirects to server.public_url, so set that to the https:// address",
            ));
        };
        if !server.serves_tls() {
            return Err(err(
                "server.redirect_http",
                format!(
                    "redirects to {public}, but this server has no TLS: set server.tls_cert \
                     and server.tls_key, or server.acme_domains"
                ),
            ));
        }
        if redirect.0 == server.listen {
            return Err(err(
                "server.redirect_http",
                "is the same address as server.listen: use another port (80)",
            ));
        }
    }
    Ok(())
}

/// The mail settings no type checks: a host, and addresses lettre can send to.
fn validate_smtp(smtp: &Smtp) -> Result<(), ConfigError> {
    if smtp.host.trim().is_empty() {
        return Err(err("notify.smtp.host", "set the mail server's host name"));
    }
    if smtp.to.is_empty() {
        return Err(err(
            "notify.smtp.to",
            "name at least one address to send to",
        ));
    }
    for (setting, address) in std::iter::once(("notify.smtp.from", &smtp.from))
        .chain(smtp.to.iter().map(|a| ("notify.smtp.to", a)))
    {
        if address.parse::<lettre::message::Mailbox>().is_err() {
            return Err(err(
                setting,
                format!(
                    "`{}` is not an e-mail address (name@example.com, or Name <name@example.com>)",
                    crate::text::terminal_safe(address)
                ),
            ));
        }
    }
    if smtp.password_file.is_some() && smtp.username.is_empty() {
        return Err(err(
            "notify.smtp.username",
            "password_file is set, so set the user name to log in as",
        ));
    }
    Ok(())
}
