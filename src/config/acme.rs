//! The names and the contact address of ACME certificates (`server.acme_domains`,
//! `server.acme_contact`), checked as the file is read: a typo fails at start, not at
//! the certificate authority an hour later.

use std::fmt;

use serde::Deserialize;

use super::units::BadValue;

/// A DNS name to get a certificate for: lower-case letters, digits and hyphens in
/// dot-separated labels, at least two of them. No wildcard (TLS-ALPN-01 cannot prove
/// one) and no IP address.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AcmeDomain(String);

impl TryFrom<String> for AcmeDomain {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        let name = text.trim().trim_end_matches('.').to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        let labels: Vec<&str> = name.split('.').collect();
        let numeric = labels
            .last()
            .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()));
        if name.len() <= 253 && labels.len() >= 2 && labels.iter().all(|l| label_ok(l)) && !numeric
        {
            Ok(AcmeDomain(name))
        } else {
            Err(BadValue(format!(
                "`{text}` is not a DNS name a certificate can be issued for by TLS-ALPN-01, \
                 e.g. security.example.com (no wildcard, no IP address)"
            )))
        }
    }
}

impl AcmeDomain {
    /// The name, in lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AcmeDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address for the certificate authority, kept as a `mailto:` URI.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AcmeContact(String);

impl TryFrom<String> for AcmeContact {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        let address = text.trim();
        let address = address.strip_prefix("mailto:").unwrap_or(address);
        match address.split_once('@') {
            Some((user, host))
                if !user.is_empty()
                    && host.contains('.')
                    && !address
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "<>\",;".contains(c)) =>
            {
                Ok(AcmeContact(format!("mailto:{address}")))
            }
            _ => Err(BadValue(format!(
                "`{text}` is not an e-mail address, e.g. security@example.com"
            ))),
        }
    }
}

impl AcmeContact {
    /// The `mailto:` URI.
    pub fn as_uri(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_lower_cased() {
        let ok = |t: &str| AcmeDomain::try_from(t.to_string()).map(|d| d.0);
        assert_eq!(ok("Security.Example.COM.").unwrap(), "security.example.com");
        assert_eq!(ok("agedrop.test").unwrap(), "agedrop.test");
        for bad in [
            "*.example.com",
            "localhost",
            "192.0.2.1",
            "a..b",
            "-a.example",
            "a b.c",
            "",
        ] {
            assert!(ok(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_contact_becomes_a_mailto_uri() {
        let ok = |t: &str| AcmeContact::try_from(t.to_string()).map(|c| c.0);
        assert_eq!(ok("sec@example.com").unwrap(), "mailto:sec@example.com");
        assert_eq!(
            ok("mailto:sec@example.com").unwrap(),
            "mailto:sec@example.com"
        );
        for bad in ["sec", "sec@localhost", "a@b.c,d@e.f", "@example.com"] {
            assert!(ok(bad).is_err(), "{bad} accepted");
        }
    }
}
