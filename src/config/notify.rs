//! `[notify]`: who hears that a report or a reporter's message arrived (webhooks, e-mail
//! over SMTP), how long the notice waits so that it does not date the reporter's act,
//! and how long before an acknowledgement is due the team is reminded of it. What a
//! notice says is decided in `crate::notify`, never here.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use super::units::{BadValue, Count, Seconds};

/// Notices to the team: content-free, delayed, coalesced.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Notify {
    /// Webhooks to POST a notice to, each in the shape its receiver takes.
    pub webhooks: Vec<Webhook>,
    /// E-mail over SMTP. Absent: no e-mail.
    pub smtp: Option<Smtp>,
    /// The longest wait before a notice is sent; the wait is random between half of it
    /// and all of it, so a notice does not tell when a reporter acted. 0 sends at once.
    pub delay_seconds: Seconds<0>,
    /// Events within one wait give one notice ("3 new reports and 1 message"); off,
    /// each event gives its own (still after the wait).
    pub coalesce: bool,
    /// Remind the team of a report no member has written to yet this many hours before
    /// its acknowledgement is due (`programme.acknowledge_hours`), and daily while it
    /// waits. 0: no reminders.
    pub remind_before_hours: Count<0, 8760>,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            webhooks: Vec::new(),
            smtp: None,
            delay_seconds: Seconds::of::<300>(),
            coalesce: true,
            remind_before_hours: Count::of::<24>(),
        }
    }
}

impl Notify {
    /// Whether any receiver is configured.
    pub fn any(&self) -> bool {
        !self.webhooks.is_empty() || self.smtp.is_some()
    }
}

/// One webhook.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// Where to POST. Often holds a token, so it is never logged or printed.
    pub url: SecretUrl,
    /// The body's shape.
    #[serde(default)]
    pub format: WebhookFormat,
}

/// The body a webhook receiver takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// `{"text": …, "events": {"reports": n, "messages": m}}`
    #[default]
    Json,
    /// `{"text": …}`: Slack's incoming webhooks and the many that copy them
    /// (Mattermost, Rocket.Chat, Discord's `/slack` endpoint).
    Slack,
    /// `{"msgtype": "m.text", "body": …}`: a Matrix `m.room.message` content.
    Matrix,
    /// The text alone, `text/plain` (ntfy and its kind).
    Text,
}

impl WebhookFormat {
    /// The name as the config file writes it.
    pub fn name(self) -> &'static str {
        match self {
            WebhookFormat::Json => "json",
            WebhookFormat::Slack => "slack",
            WebhookFormat::Matrix => "matrix",
            WebhookFormat::Text => "text",
        }
    }
}

/// An `http(s)://` address whose path and query may hold a token: `Debug` shows the
/// host only.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct SecretUrl(url::Url);

impl TryFrom<String> for SecretUrl {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        // The message must not quote the address: it may hold a token.
        url::Url::parse(text.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .map(SecretUrl)
            .ok_or_else(|| BadValue("is not an http:// or https:// address".into()))
    }
}

impl SecretUrl {
    /// The whole address, to send to.
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The host alone: what logs and `notify-test` may show.
    pub fn host(&self) -> String {
        self.0.host_str().unwrap_or_default().to_string()
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({}, path hidden)", self.host())
    }
}

/// E-mail over SMTP.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// The mail server's host name (checked against its certificate).
    pub host: String,
    /// Its port. 0: 587 for STARTTLS, 465 for TLS.
    #[serde(default)]
    pub port: u16,
    /// How the connection is secured; never in the clear.
    #[serde(default)]
    pub tls: SmtpTls,
    /// The user to log in as. Empty: no login.
    #[serde(default)]
    pub username: String,
    /// A file holding the password (its first line), so the config holds no secret.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// A PEM file of CA certificates to trust instead of the system's (a private CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The sender, `agedrop@example.com` or `Security <agedrop@example.com>`.
    pub from: String,
    /// The team's addresses.
    pub to: Vec<String>,
}

impl Smtp {
    /// The port to connect to.
    pub fn port(&self) -> u16 {
        match (self.port, self.tls) {
            (0, SmtpTls::Starttls) => 587,
            (0, SmtpTls::Tls) => 465,
            (port, _) => port,
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[cfg(test)]
mod tests {
    use super::super::tests::fields_of;
    use super::super::{Config, Overrides};
    use super::*;

    /// The lines of the example config's commented `#   ` block that starts with
    /// `first`, uncommented.
    fn example_block(first: &str) -> String {
        let example = include_str!("../../deploy/agedrop.example.toml");
        let start = example.find(first).unwrap();
        example[start..]
            .lines()
            .take_while(|l| l.starts_with("#   "))
            .map(|l| l.trim_start_matches('#').trim())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_example_receivers_are_valid_and_show_every_key() {
        let text = format!(
            "[notify]\n{}\n{}",
            example_block("#   webhooks = ["),
            example_block("#   [notify.smtp]")
        );
        let config = Config::parse(&text, "example").unwrap();
        let notify = &config.notify;
        assert_eq!(notify.webhooks.len(), 2);
        assert_eq!(notify.webhooks[1].format, WebhookFormat::Text);
        let smtp = notify.smtp.as_ref().unwrap();
        assert_eq!((smtp.port(), smtp.tls), (587, SmtpTls::Starttls));
        for key in fields_of::<Smtp>() {
            assert!(
                text.contains(&format!("\n{key} = ")),
                "smtp.{key} is not shown"
            );
        }
        for key in fields_of::<Webhook>() {
            assert!(
                text.contains(&format!("{key} = ")),
                "webhook {key} is not shown"
            );
        }
        config.validate(&Overrides::default()).unwrap();
    }

    #[test]
    fn a_webhook_address_is_never_shown() {
        let e = Config::parse(
            "[notify]\nwebhooks = [{ url = \"ftp://x/secret-token\" }]",
            "t.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("notify.webhooks"), "{e}");
        assert!(!e.to_string().contains("secret-token"), "{e}");
        let c = Config::parse(
            "[notify]\nwebhooks = [{ url = \"https://h.example/secret-token\" }]",
            "t.toml",
        )
        .unwrap();
        let debug = format!("{c:?}");
        assert!(debug.contains("h.example") && !debug.contains("secret-token"));
    }

    #[test]
    fn smtp_settings_are_checked_and_named() {
        let refused = |table: &str| {
            let text = format!("[notify.smtp]\n{table}");
            Config::parse(&text, "t.toml")
                .and_then(|c| c.validate(&Overrides::default()))
                .unwrap_err()
                .setting
        };
        assert_eq!(
            refused("host = \"\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]"),
            "notify.smtp.host"
        );
        assert_eq!(
            refused("host = \"h\"\nfrom = \"a@b.c\"\nto = []"),
            "notify.smtp.to"
        );
        assert_eq!(
            refused("host = \"h\"\nfrom = \"nobody\"\nto = [\"d@e.f\"]"),
            "notify.smtp.from"
        );
        assert_eq!(
            refused("host = \"h\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\ntls = \"none\""),
            "notify.smtp.tls"
        );
        let tls = Config::parse(
            "[notify.smtp]\nhost = \"h\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\ntls = \"tls\"",
            "t.toml",
        )
        .unwrap();
        assert_eq!(tls.notify.smtp.unwrap().port(), 465);
    }
}
