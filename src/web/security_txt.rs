//! `/.well-known/security.txt` (RFC 9116) and the team's age recipients it points to.
//!
//! The file is made per request from what was fixed at start-up, so that `Expires`
//! moves on by itself: it is `programme.security_txt_days` after the start of the day
//! it is served (UTC), always in the future and under a year ahead. RFC 9116 wants
//! `https://` for every web address in it; an onion service served over plain HTTP
//! (Tor already encrypts it end to end) is named in a comment instead, unless it is the
//! only address there is.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::config::Config;

const DAY_SECONDS: i64 = 86_400;

/// Where the team's recipients are served, for security.txt's `Encryption`. Not under
/// `/.well-known/`: names there are registered with IANA (RFC 8615), and this one is
/// agedrop's own.
pub(super) const RECIPIENTS_PATH: &str = "/age-recipients.txt";

/// What security.txt says, fixed at start-up but for `Expires`.
pub(super) struct SecurityTxt {
    /// Addresses of the drop-box, most preferred first (RFC 9116 `Contact`).
    contacts: Vec<String>,
    /// An address named only in a comment (a plain-HTTP onion service).
    comment: Option<String>,
    /// Where this file lives (`Canonical`), https addresses only.
    canonical: Vec<String>,
    policy: String,
    encryption: Option<String>,
    csaf: Option<String>,
    languages: String,
    days: i64,
}

impl SecurityTxt {
    pub(super) fn new(config: &Config) -> Self {
        let server = &config.server;
        let tls = server.serves_tls();
        let public = server
            .public_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_string());
        // The onion service points at this server's one listener: https if it has TLS.
        let onion = server.onion_address.as_ref().map(|o| {
            let scheme = if tls { "https" } else { "http" };
            format!("{scheme}://{o}")
        });
        let mut contacts = Vec::new();
        let mut comment = None;
        contacts.extend(public.clone());
        match onion {
            Some(onion) if onion.starts_with("https:") || contacts.is_empty() => {
                contacts.push(onion)
            }
            Some(onion) => comment = Some(onion),
            None => {}
        }
        if contacts.is_empty() {
            // A trial on one machine: the address it listens on.
            let scheme = if tls { "https" } else { "http" };
            contacts.push(format!("{scheme}://{}", server.listen));
        }
        let canonical = contacts
            .iter()
            .filter(|c| c.starts_with("https:") || Some(*c) == public.as_ref())
            .map(|c| format!("{c}/.well-known/security.txt"))
            .collect();
        let base = &contacts[0];
        let programme = &config.programme;
        SecurityTxt {
            policy: match &programme.policy_url {
                Some(url) => url.to_string(),
                None => format!("{base}/policy"),
            },
            encryption: programme
                .publish_recipients
                .then(|| format!("{base}{RECIPIENTS_PATH}")),
            csaf: programme.csaf_provider_url.as_ref().map(|u| u.to_string()),
            languages: programme.languages.to_string(),
            days: programme.security_txt_days.get() as i64,
            contacts: contacts.iter().map(|c| format!("{c}/")).collect(),
            comment,
            canonical,
        }
    }

    /// The file as served at `now` (seconds since the Unix epoch).
    pub(super) fn render(&self, now: i64) -> String {
        let midnight = now - now.rem_euclid(DAY_SECONDS);
        let expires = crate::text::rfc3339(midnight + self.days * DAY_SECONDS).unwrap_or_default();
        let mut text = String::from(
            "# Report security problems through our encrypted drop-box: no account, no\n\
             # e-mail address and no JavaScript needed.\n",
        );
        for contact in &self.contacts {
            let _ = writeln!(text, "Contact: {contact}");
        }
        if let Some(onion) = &self.comment {
            let _ = writeln!(text, "# Also as a Tor onion service: {onion}/");
        }
        let _ = writeln!(text, "Expires: {expires}");
        if let Some(encryption) = &self.encryption {
            let _ = writeln!(text, "Encryption: {encryption}");
        }
        let _ = writeln!(text, "Policy: {}", self.policy);
        for canonical in &self.canonical {
            let _ = writeln!(text, "Canonical: {canonical}");
        }
        let _ = writeln!(text, "Preferred-Languages: {}", self.languages);
        if let Some(csaf) = &self.csaf {
            let _ = writeln!(text, "CSAF: {csaf}");
        }
        text
    }
}

fn plain_text(body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

pub(super) async fn security_txt(State(state): State<Arc<AppState>>) -> Response {
    plain_text(state.security_txt.render(crate::report::now()))
}

/// The team's age recipients from the keys file as it is now, one a line, in the
/// format `age -R` reads. Member names stay out: only the keys are public.
pub(super) async fn recipients(State(state): State<Arc<AppState>>) -> Response {
    if state.security_txt.encryption.is_none() {
        return super::PageError::NotFound.into_response();
    }
    let keys = state.keys();
    let mut text = format!(
        "# The security team's age recipients for {} (https://age-encryption.org).\n\
         # The drop-box encrypts every report to them for you; to send a file another way,\n\
         # encrypt it to all of them:  age -R age-recipients.txt -o report.age report.txt\n",
        crate::text::one_line(&state.site.name)
    );
    for member in keys.members() {
        let _ = writeln!(text, "{}", member.recipient_text());
    }
    plain_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txt(config: &str) -> String {
        let config = crate::config::Config::parse(config, "test.toml").unwrap();
        // 2026-03-01T12:00:00Z
        SecurityTxt::new(&config).render(1_772_366_400)
    }

    #[test]
    fn expires_is_days_after_the_day_served() {
        let text = txt("[programme]\nsecurity_txt_days = 30\n");
        assert!(text.contains("Expires: 2026-03-31T00:00:00Z\n"), "{text}");
    }

    #[test]
    fn a_public_https_address_comes_first_and_a_plain_onion_is_a_comment() {
        let text = txt("[server]\npublic_url = \"https://security.example.com/\"\n\
             onion_address = \"abcdefghijklmnop.onion\"\n");
        assert!(
            text.contains(
                "Contact: https://security.example.com/\n\
                 # Also as a Tor onion service: http://abcdefghijklmnop.onion/\n"
            ),
            "{text}"
        );
        assert!(!text.contains("Contact: http://abcdefghijklmnop"), "{text}");
        assert!(
            text.contains("Canonical: https://security.example.com/.well-known/security.txt\n")
        );
        assert!(text.contains("Encryption: https://security.example.com/age-recipients.txt\n"));
        assert!(text.contains("Policy: https://security.example.com/policy\n"));
        assert!(!text.contains("CSAF"), "{text}");
    }

    #[test]
    fn an_onion_over_tls_is_a_second_contact() {
        let text = txt("[server]\npublic_url = \"https://security.example.com\"\n\
             onion_address = \"abcdefghijklmnop.onion\"\n\
             tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n");
        assert!(
            text.contains(
                "Contact: https://security.example.com/\nContact: https://abcdefghijklmnop.onion/\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("Canonical: https://abcdefghijklmnop.onion/.well-known/security.txt\n")
        );
        assert!(!text.contains("# Also"), "{text}");
    }

    #[test]
    fn an_onion_alone_is_the_contact() {
        let text = txt("[server]\nonion_address = \"abcdefghijklmnop.onion\"\n");
        assert!(
            text.contains("Contact: http://abcdefghijklmnop.onion/\n"),
            "{text}"
        );
        assert!(!text.contains("Canonical"), "{text}");
        assert!(!text.contains("# Also"), "{text}");
    }

    #[test]
    fn csaf_and_policy_url_are_named_when_set() {
        let text = txt(
            "[programme]\npolicy_url = \"https://example.com/security\"\n\
             csaf_provider_url = \"https://example.com/.well-known/csaf/provider-metadata.json\"\n\
             languages = \"en,de\"\n",
        );
        assert!(
            text.contains("Policy: https://example.com/security\n"),
            "{text}"
        );
        assert!(
            text.contains("CSAF: https://example.com/.well-known/csaf/provider-metadata.json\n"),
            "{text}"
        );
        assert!(text.contains("Preferred-Languages: en, de\n"), "{text}");
    }
}
