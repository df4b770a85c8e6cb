//! `[programme]`: what the programme promises and asks, shown to reporters and in
//! security.txt. Each setting is declared once, with its default and reason.

use std::fmt;

use serde::{Deserialize, Deserializer};

use super::server::HttpUrl;
use super::units::BadValue;
use crate::report::Promises;

/// What the programme promises and asks.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Programme {
    /// Shown on every page, e.g. "Example Corp Security".
    pub name: ProgrammeName,
    /// What is in scope, in a sentence or two (trimmed); shown on the policy page.
    #[serde(deserialize_with = "trimmed")]
    pub scope: String,
    /// Initial acknowledgement promised within this many hours (shown to reporters and
    /// tracked by `agedrop team`).
    pub acknowledge_hours: u32,
    /// A first assessment (valid, needs more information, or closed with a reason)
    /// promised within this many days.
    pub assessment_days: u32,
    /// While a report is open, an update promised at least every this many days.
    pub update_days: u32,
    /// Days reporters are asked to wait before public disclosure (the default embargo:
    /// the team and the reporter may agree another instant).
    pub embargo_days: u32,
    /// The published disclosure policy, linked from the policy page and security.txt.
    /// Empty: security.txt points to this site's `/policy`.
    #[serde(deserialize_with = "super::empty_is_none")]
    pub policy_url: Option<HttpUrl>,
    /// security.txt's `Expires`. Empty: one year from each start.
    #[serde(deserialize_with = "super::empty_is_none")]
    pub security_txt_expires: Option<Rfc3339>,
    /// security.txt's `Preferred-Languages`.
    pub languages: String,
}

impl Default for Programme {
    fn default() -> Self {
        let promises = Promises::default();
        Programme {
            name: ProgrammeName("Security".into()),
            scope: String::new(),
            acknowledge_hours: promises.acknowledge_hours,
            assessment_days: promises.assessment_days,
            update_days: promises.update_days,
            embargo_days: promises.embargo_days,
            policy_url: None,
            security_txt_expires: None,
            languages: "en".into(),
        }
    }
}

impl Programme {
    /// What the programme promises, as the desk and the reporter's page track it.
    pub fn promises(&self) -> Promises {
        Promises {
            acknowledge_hours: self.acknowledge_hours,
            assessment_days: self.assessment_days,
            update_days: self.update_days,
            embargo_days: self.embargo_days,
        }
    }
}

fn trimmed<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(String::deserialize(d)?.trim().to_string())
}

/// The programme's name: 1 to 100 characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ProgrammeName(String);

impl TryFrom<String> for ProgrammeName {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        let name = text.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(BadValue("give a name of 1 to 100 characters".into()));
        }
        Ok(ProgrammeName(name.to_string()))
    }
}

impl ProgrammeName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProgrammeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An RFC 3339 time (`2027-12-31T23:59:59Z`), kept as written.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Rfc3339(String);

impl TryFrom<String> for Rfc3339 {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        match time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339) {
            Ok(_) => Ok(Rfc3339(text)),
            Err(_) => Err(BadValue(
                "expected an RFC 3339 time such as 2027-12-31T23:59:59Z, or leave it empty".into(),
            )),
        }
    }
}

impl Rfc3339 {
    /// The time as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
