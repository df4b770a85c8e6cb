//! Raw TOML and command-line flags become one validated [`Config`]; every error names
//! the setting and says how to fix it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// A setting was missing or wrong.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    /// The setting, as written in the config file (`section.key`).
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

/// The config file as written. Every field has a default; see
/// `deploy/agedrop.example.toml` for what each means.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// `[server]`
    pub server: RawServer,
    /// `[programme]`
    pub programme: RawProgramme,
    /// `[limits]`
    pub limits: RawLimits,
}

/// `[server]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: String,
    pub data: PathBuf,
    pub keys: PathBuf,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub allow_plain_http: bool,
    pub onion_address: Option<String>,
    pub public_url: Option<String>,
    pub cache_mib: u64,
    pub shutdown_grace_seconds: u64,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: "127.0.0.1:8080".into(),
            data: PathBuf::from("/var/lib/agedrop"),
            keys: PathBuf::from("/etc/agedrop/keys.txt"),
            tls_cert: None,
            tls_key: None,
            allow_plain_http: false,
            onion_address: None,
            public_url: None,
            cache_mib: 64,
            shutdown_grace_seconds: 30,
        }
    }
}

/// `[programme]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawProgramme {
    pub name: String,
    pub scope: String,
    pub acknowledge_hours: u32,
    pub embargo_days: u32,
    pub policy_url: String,
    pub security_txt_expires: String,
    pub languages: String,
}

impl Default for RawProgramme {
    fn default() -> Self {
        RawProgramme {
            name: "Security".into(),
            scope: String::new(),
            acknowledge_hours: 72,
            embargo_days: 90,
            policy_url: String::new(),
            security_txt_expires: String::new(),
            languages: "en".into(),
        }
    }
}

/// `[limits]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    pub max_upload_mib: u64,
    pub max_file_mib: u64,
    pub max_files: usize,
    pub max_text_kib: usize,
    pub max_line_chars: usize,
    pub idle_timeout_seconds: u64,
    pub header_timeout_seconds: u64,
    pub max_concurrent_requests: usize,
    pub max_concurrent_uploads: usize,
    pub max_concurrent_api: usize,
    pub request_timeout_seconds: u64,
    pub min_upload_bytes_per_second: u64,
    pub upload_rate_window_seconds: u64,
    pub submissions_per_minute: u32,
    pub follow_ups_per_minute: u32,
    pub receipt_attempts_per_minute: u32,
    pub storage_max_mib: u64,
    pub storage_min_free_mib: u64,
    pub storage_reserve_mib: u64,
    pub session_idle_seconds: u64,
    pub session_max_seconds: u64,
    pub max_sessions: usize,
    pub team_token_seconds: u64,
    pub team_logins_per_minute: u32,
    pub max_event_kib: usize,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            max_upload_mib: 1024,
            max_file_mib: 1024,
            max_files: 20,
            max_text_kib: 64,
            max_line_chars: 300,
            idle_timeout_seconds: 60,
            header_timeout_seconds: 30,
            max_concurrent_requests: 128,
            max_concurrent_uploads: 32,
            max_concurrent_api: 32,
            request_timeout_seconds: 60,
            min_upload_bytes_per_second: 2048,
            upload_rate_window_seconds: 60,
            submissions_per_minute: 20,
            follow_ups_per_minute: 30,
            receipt_attempts_per_minute: 60,
            storage_max_mib: 0,
            storage_min_free_mib: 1024,
            storage_reserve_mib: 64,
            session_idle_seconds: 15 * 60,
            session_max_seconds: 2 * 60 * 60,
            max_sessions: 10_000,
            team_token_seconds: 60 * 60,
            team_logins_per_minute: 300,
            max_event_kib: 1024,
        }
    }
}

/// Command-line overrides for the common settings.
#[derive(Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data: Option<PathBuf>,
    pub keys: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub allow_plain_http: bool,
}

/// What the programme promises and asks, shown to reporters.
#[derive(Clone, Debug)]
pub struct Programme {
    /// Name shown in titles, e.g. "Example Corp Security".
    pub name: String,
    /// What is in scope, as prose.
    pub scope: String,
    /// Initial acknowledgement promised within this many hours.
    pub acknowledge_hours: u32,
    /// Days a reporter is asked to wait before public disclosure.
    pub embargo_days: u32,
    /// A published policy page, if any.
    pub policy_url: String,
    /// `Expires` for security.txt (RFC 3339), or empty to use one year from start-up.
    pub security_txt_expires: String,
    /// `Preferred-Languages` for security.txt.
    pub languages: String,
}

/// Resource limits, each with a reason in the example config.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_upload_bytes: u64,
    pub max_file_bytes: u64,
    pub max_files: usize,
    pub max_text_bytes: usize,
    pub max_line_chars: usize,
    pub idle_timeout: Duration,
    pub header_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub max_concurrent_uploads: usize,
    pub max_concurrent_api: usize,
    pub request_timeout: Duration,
    pub min_upload_bytes_per_second: u64,
    pub upload_rate_window: Duration,
    pub submissions_per_minute: u32,
    pub follow_ups_per_minute: u32,
    pub receipt_attempts_per_minute: u32,
    pub storage_max_bytes: u64,
    pub storage_min_free_bytes: u64,
    pub storage_reserve_bytes: u64,
    pub session_idle: Duration,
    pub session_max: Duration,
    pub max_sessions: usize,
    pub team_token: Duration,
    pub team_logins_per_minute: u32,
    pub max_event_bytes: usize,
}

impl Limits {
    /// Largest request body accepted: the uploads plus room for the text fields and
    /// multipart framing.
    pub fn max_body_bytes(&self) -> u64 {
        self.max_upload_bytes + 16 * self.max_text_bytes as u64 + 1024 * 1024
    }
}

/// TLS certificate and key files (PEM).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data: PathBuf,
    pub keys: PathBuf,
    pub tls: Option<TlsFiles>,
    pub onion_address: Option<String>,
    pub public_url: Option<String>,
    pub cache_bytes: u64,
    pub shutdown_grace: Duration,
    pub programme: Programme,
    pub limits: Limits,
}

const MIB: u64 = 1024 * 1024;

impl Config {
    /// Reads the config file (if given), applies the flags and validates the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let raw = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| err("--config", format!("cannot read {}: {e}", path.display())))?;
                toml::from_str::<RawConfig>(&text).map_err(|e| {
                    err(
                        &path.display().to_string(),
                        format!(
                            "{}; compare with deploy/agedrop.example.toml",
                            e.message().trim()
                        ),
                    )
                })?
            }
            None => RawConfig::default(),
        };
        Self::validate(raw, overrides)
    }

    /// Turns raw settings plus flags into a checked `Config`.
    pub fn validate(raw: RawConfig, o: &Overrides) -> Result<Config, ConfigError> {
        let RawConfig {
            server,
            programme,
            limits,
        } = raw;
        let listen_text = o.listen.clone().unwrap_or(server.listen);
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            err(
                "server.listen",
                format!("`{listen_text}` is not an address and port, e.g. 127.0.0.1:8080"),
            )
        })?;
        let tls = match (
            o.tls_cert.clone().or(server.tls_cert),
            o.tls_key.clone().or(server.tls_key),
        ) {
            (Some(cert), Some(key)) => {
                for (setting, path) in [("server.tls_cert", &cert), ("server.tls_key", &key)] {
                    if !path.is_file() {
                        return Err(err(
                            setting,
                            format!("{} does not exist or is not a file", path.display()),
                        ));
                    }
                }
                Some(TlsFiles { cert, key })
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(err("server.tls_key", "tls_cert is set, so set tls_key too"));
            }
            (None, Some(_)) => {
                return Err(err(
                    "server.tls_cert",
                    "tls_key is set, so set tls_cert too",
                ));
            }
        };
        let allow_plain = o.allow_plain_http || server.allow_plain_http;
        if tls.is_none() && !listen.ip().is_loopback() && !allow_plain {
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
        let onion_address = match server.onion_address.filter(|s| !s.trim().is_empty()) {
            Some(a) => {
                let a = a.trim().trim_start_matches("http://").trim_end_matches('/');
                if !a.ends_with(".onion")
                    || !a.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
                {
                    return Err(err(
                        "server.onion_address",
                        "expected a host name ending in .onion, e.g. abc…xyz.onion",
                    ));
                }
                Some(a.to_string())
            }
            None => None,
        };
        let public_url = server.public_url.filter(|s| !s.trim().is_empty());
        if let Some(url) = &public_url {
            check_url("server.public_url", url)?;
        }
        if public_url.is_none() && !listen.ip().is_loopback() {
            return Err(err(
                "server.public_url",
                format!(
                    "{listen} is not a loopback address, so set the address reporters and the \
                     team reach this server at, e.g. public_url = \"https://security.example.com\": \
                     team logins are bound to it"
                ),
            ));
        }
        if !programme.policy_url.is_empty() {
            check_url("programme.policy_url", &programme.policy_url)?;
        }
        if server.cache_mib < 8 {
            return Err(err("server.cache_mib", "use at least 8 (MiB)"));
        }
        let limits = validate_limits(limits)?;
        if programme.name.trim().is_empty() || programme.name.chars().count() > 100 {
            return Err(err("programme.name", "give a name of 1 to 100 characters"));
        }
        if !programme.security_txt_expires.is_empty()
            && time::OffsetDateTime::parse(
                &programme.security_txt_expires,
                &time::format_description::well_known::Rfc3339,
            )
            .is_err()
        {
            return Err(err(
                "programme.security_txt_expires",
                "expected an RFC 3339 time such as 2027-12-31T23:59:59Z, or leave it empty",
            ));
        }
        Ok(Config {
            listen,
            data: o.data.clone().unwrap_or(server.data),
            keys: o.keys.clone().unwrap_or(server.keys),
            tls,
            onion_address,
            public_url,
            cache_bytes: server.cache_mib * MIB,
            shutdown_grace: Duration::from_secs(server.shutdown_grace_seconds),
            programme: Programme {
                name: programme.name.trim().to_string(),
                scope: programme.scope.trim().to_string(),
                acknowledge_hours: programme.acknowledge_hours,
                embargo_days: programme.embargo_days,
                policy_url: programme.policy_url,
                security_txt_expires: programme.security_txt_expires,
                languages: programme.languages,
            },
            limits,
        })
    }
}

fn check_url(setting: &str, url: &str) -> Result<(), ConfigError> {
    let parsed = url::Url::parse(url).ok();
    let ok = parsed.as_ref().is_some_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.username().is_empty()
    }) && !url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<');
    if ok {
        Ok(())
    } else {
        Err(err(
            setting,
            format!("`{url}` is not an http:// or https:// address"),
        ))
    }
}

fn validate_limits(l: RawLimits) -> Result<Limits, ConfigError> {
    let positive = [
        ("limits.max_upload_mib", l.max_upload_mib),
        ("limits.max_file_mib", l.max_file_mib),
        ("limits.max_text_kib", l.max_text_kib as u64),
        ("limits.max_line_chars", l.max_line_chars as u64),
        ("limits.idle_timeout_seconds", l.idle_timeout_seconds),
        ("limits.header_timeout_seconds", l.header_timeout_seconds),
        (
            "limits.max_concurrent_requests",
            l.max_concurrent_requests as u64,
        ),
        (
            "limits.submissions_per_minute",
            u64::from(l.submissions_per_minute),
        ),
        (
            "limits.receipt_attempts_per_minute",
            u64::from(l.receipt_attempts_per_minute),
        ),
        (
            "limits.follow_ups_per_minute",
            u64::from(l.follow_ups_per_minute),
        ),
        (
            "limits.upload_rate_window_seconds",
            l.upload_rate_window_seconds,
        ),
        (
            "limits.max_concurrent_uploads",
            l.max_concurrent_uploads as u64,
        ),
        ("limits.max_concurrent_api", l.max_concurrent_api as u64),
        ("limits.request_timeout_seconds", l.request_timeout_seconds),
        ("limits.session_idle_seconds", l.session_idle_seconds),
        ("limits.session_max_seconds", l.session_max_seconds),
        ("limits.max_sessions", l.max_sessions as u64),
        ("limits.team_token_seconds", l.team_token_seconds),
        (
            "limits.team_logins_per_minute",
            u64::from(l.team_logins_per_minute),
        ),
        ("limits.max_event_kib", l.max_event_kib as u64),
    ];
    for (setting, value) in positive {
        if value == 0 {
            return Err(err(setting, "must be greater than 0"));
        }
    }
    if l.max_file_mib > l.max_upload_mib {
        return Err(err(
            "limits.max_file_mib",
            format!(
                "is larger than limits.max_upload_mib ({}), so it could never be reached",
                l.max_upload_mib
            ),
        ));
    }
    if l.session_idle_seconds > l.session_max_seconds {
        return Err(err(
            "limits.session_idle_seconds",
            "is longer than limits.session_max_seconds, so it could never apply",
        ));
    }
    if l.max_text_kib > 1024 {
        return Err(err(
            "limits.max_text_kib",
            "use at most 1024 (1 MiB per field)",
        ));
    }
    if l.max_files > 1000 {
        return Err(err("limits.max_files", "use at most 1000"));
    }
    Ok(Limits {
        max_upload_bytes: l.max_upload_mib * MIB,
        max_file_bytes: l.max_file_mib * MIB,
        max_files: l.max_files,
        max_text_bytes: l.max_text_kib * 1024,
        max_line_chars: l.max_line_chars,
        idle_timeout: Duration::from_secs(l.idle_timeout_seconds),
        header_timeout: Duration::from_secs(l.header_timeout_seconds),
        max_concurrent_requests: l.max_concurrent_requests,
        max_concurrent_uploads: l.max_concurrent_uploads,
        max_concurrent_api: l.max_concurrent_api,
        request_timeout: Duration::from_secs(l.request_timeout_seconds),
        min_upload_bytes_per_second: l.min_upload_bytes_per_second,
        upload_rate_window: Duration::from_secs(l.upload_rate_window_seconds),
        submissions_per_minute: l.submissions_per_minute,
        follow_ups_per_minute: l.follow_ups_per_minute,
        receipt_attempts_per_minute: l.receipt_attempts_per_minute,
        storage_max_bytes: l.storage_max_mib * MIB,
        storage_min_free_bytes: l.storage_min_free_mib * MIB,
        storage_reserve_bytes: l.storage_reserve_mib * MIB,
        session_idle: Duration::from_secs(l.session_idle_seconds),
        session_max: Duration::from_secs(l.session_max_seconds),
        max_sessions: l.max_sessions,
        team_token: Duration::from_secs(l.team_token_seconds),
        team_logins_per_minute: l.team_logins_per_minute,
        max_event_bytes: l.max_event_kib * 1024,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::validate(RawConfig::default(), &Overrides::default()).unwrap();
        assert!(c.limits.max_upload_bytes >= 1024 * MIB);
        assert!(c.tls.is_none());
    }

    #[test]
    fn public_plain_http_is_refused_unless_explicit() {
        let o = Overrides {
            listen: Some("0.0.0.0:80".into()),
            ..Default::default()
        };
        let e = Config::validate(RawConfig::default(), &o).err().unwrap();
        assert_eq!(e.setting, "server.listen");
        let o = Overrides {
            allow_plain_http: true,
            ..o
        };
        // A public address also needs the name it is reached at (logins are bound to it).
        let e = Config::validate(RawConfig::default(), &o).err().unwrap();
        assert_eq!(e.setting, "server.public_url");
        let mut raw = RawConfig::default();
        raw.server.public_url = Some("https://security.example.com".into());
        assert!(Config::validate(raw, &o).is_ok());
    }

    #[test]
    fn example_config_states_the_defaults() {
        // Uncommenting every `# key = value` line of the example gives the defaults.
        let example = include_str!("../deploy/agedrop.example.toml");
        let uncommented: String = example
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") && !rest.contains("AmbientCapabilities") => {
                    rest.to_string()
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let raw: RawConfig = toml::from_str(&uncommented).unwrap();
        let defaults = RawConfig::default();
        assert_eq!(raw.server.listen, defaults.server.listen);
        assert_eq!(raw.server.data, defaults.server.data);
        assert_eq!(raw.server.cache_mib, defaults.server.cache_mib);
        assert_eq!(
            raw.programme.acknowledge_hours,
            defaults.programme.acknowledge_hours
        );
        assert_eq!(raw.programme.embargo_days, defaults.programme.embargo_days);
        assert_eq!(raw.limits.max_upload_mib, defaults.limits.max_upload_mib);
        assert_eq!(raw.limits.max_files, defaults.limits.max_files);
        assert_eq!(raw.limits.max_text_kib, defaults.limits.max_text_kib);
        assert_eq!(
            raw.limits.idle_timeout_seconds,
            defaults.limits.idle_timeout_seconds
        );
        assert_eq!(
            raw.limits.storage_min_free_mib,
            defaults.limits.storage_min_free_mib
        );
        assert_eq!(
            raw.limits.storage_reserve_mib,
            defaults.limits.storage_reserve_mib
        );
        assert_eq!(
            raw.limits.receipt_attempts_per_minute,
            defaults.limits.receipt_attempts_per_minute
        );
        assert_eq!(
            raw.limits.follow_ups_per_minute,
            defaults.limits.follow_ups_per_minute
        );
        assert_eq!(
            raw.limits.min_upload_bytes_per_second,
            defaults.limits.min_upload_bytes_per_second
        );
        assert_eq!(
            raw.limits.upload_rate_window_seconds,
            defaults.limits.upload_rate_window_seconds
        );
    }

    #[test]
    fn errors_name_the_setting() {
        let raw: RawConfig =
            toml::from_str("[limits]\nmax_files = 0\nmax_upload_mib = 0\n").unwrap();
        let e = Config::validate(raw, &Overrides::default()).err().unwrap();
        assert_eq!(e.setting, "limits.max_upload_mib");
        assert!(toml::from_str::<RawConfig>("[server]\nlisten_typo = 1\n").is_err());
    }
}
