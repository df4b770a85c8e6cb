//! `[programme]`: what the programme promises and asks, shown to reporters and in
//! security.txt. Each setting is declared once, with its default and reason.

use std::fmt;

use serde::Deserialize;

use super::policy::PolicyFile;
use super::server::HttpUrl;
use super::text::{Asset, Item, Languages, Prose};
use super::units::{BadValue, Count};
use crate::report::Promises;

/// What the programme promises and asks.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Programme {
    /// Shown on every page, e.g. "Example Corp Security".
    pub name: ProgrammeName,
    /// What is in scope, in a sentence or two, above the list of assets on the policy
    /// page. Empty: a sentence that fits the assets (or, with none, "our own products").
    pub scope: Prose,
    /// What is in scope, one asset each; reporters pick one on the form (or "something
    /// else"). None: the form asks for the product in words.
    pub assets: Vec<Asset>,
    /// What is out of scope, one item each.
    pub out_of_scope: Vec<Item>,
    /// What this programme does not treat as a vulnerability, one item each.
    pub not_vulnerabilities: Vec<Item>,
    /// The promise not to pursue research done within the policy. Empty: no such promise
    /// is shown (only for a team that cannot make it).
    pub safe_harbour: Prose,
    /// How finders are credited.
    pub credit_policy: Prose,
    /// Whether and how reports are rewarded. Empty: nothing is said.
    pub reward: Prose,
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
    /// The policy in the operator's words, a Markdown file shown on the policy page
    /// (rendered and sanitised once, at start-up).
    #[serde(deserialize_with = "super::empty_is_none")]
    pub policy_file: Option<PolicyFile>,
    /// The published disclosure policy elsewhere, linked from the policy page and
    /// security.txt. Empty: security.txt points to this site's `/policy`.
    #[serde(deserialize_with = "super::empty_is_none")]
    pub policy_url: Option<HttpUrl>,
    /// The team's CSAF provider metadata (`https://…/provider-metadata.json`), for
    /// security.txt's `CSAF`. Empty: no such line.
    #[serde(deserialize_with = "super::empty_is_none")]
    pub csaf_provider_url: Option<HttpUrl>,
    /// Serve the team's age recipients at `/age-recipients.txt` and name them in
    /// security.txt's `Encryption`. Off: neither, and a login prober cannot learn who is
    /// a member from this site (the recipients are public keys, but listing them tells
    /// a stranger which keys belong to the team).
    pub publish_recipients: bool,
    /// security.txt's `Expires`, in days from the day it is served.
    pub security_txt_days: Count<1, 364>,
    /// security.txt's `Preferred-Languages`.
    pub languages: Languages,
}

/// The safe-harbour statement a team gets by default, in the spirit of disclose.io's.
const SAFE_HARBOUR: &str = "If you make a good-faith effort to follow this policy while \
you look for and report a vulnerability, we consider your research authorised. We will \
not take legal action against you for it, nor ask anyone else to, including under \
anti-hacking or anti-circumvention laws or our terms of service, and if someone else \
takes such action over research that followed this policy, we will say publicly that \
we authorised it. If you are unsure whether something is allowed, ask us here first.";

/// How finders are credited by default.
const CREDIT_POLICY: &str = "We credit the finder of every vulnerability we fix in its \
advisory, with the name, handle or link you give with your report, or not at all if \
you prefer. You can change how you are credited until the advisory is published.";

/// What a team says about rewards by default.
const REWARD: &str = "This programme does not pay rewards. We are grateful for every \
report, and credit you as you choose.";

/// Out of scope by default.
const OUT_OF_SCOPE: [&str; 2] = [
    "Services we use but do not run (hosting, e-mail, payment): report problems in them \
     to their owners.",
    "Our people, offices and devices: no social engineering, phishing or physical attacks.",
];

/// Not treated as vulnerabilities by default.
const NOT_VULNERABILITIES: [&str; 6] = [
    "Problems that only affect outdated or unsupported browsers and platforms.",
    "Clickjacking on pages without sensitive actions, or that needs social engineering to work.",
    "Guessing passwords at a login form as fast as its rate limits allow.",
    "Information that is public anyway, such as version numbers and software banners.",
    "Missing security headers, cookie flags or e-mail settings (SPF, DKIM, DMARC) \
     without a way to exploit them.",
    "Output of automated scanners without a working proof of concept.",
];

impl Default for Programme {
    fn default() -> Self {
        let promises = Promises::default();
        Programme {
            name: ProgrammeName("Security".into()),
            scope: Prose::default(),
            assets: Vec::new(),
            out_of_scope: OUT_OF_SCOPE.iter().map(|t| Item::of(t)).collect(),
            not_vulnerabilities: NOT_VULNERABILITIES.iter().map(|t| Item::of(t)).collect(),
            safe_harbour: Prose::of(SAFE_HARBOUR),
            credit_policy: Prose::of(CREDIT_POLICY),
            reward: Prose::of(REWARD),
            acknowledge_hours: promises.acknowledge_hours,
            assessment_days: promises.assessment_days,
            update_days: promises.update_days,
            embargo_days: promises.embargo_days,
            policy_file: None,
            policy_url: None,
            csaf_provider_url: None,
            publish_recipients: true,
            security_txt_days: Count::of::<180>(),
            languages: Languages::of("en"),
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

    /// The asset named `name` exactly, if the scope lists it.
    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.name.as_str() == name)
    }

    /// Checks what no single setting can: asset names are unique (the form tells them
    /// apart by name), and the CSAF address is what security.txt may carry.
    pub(super) fn validate(&self) -> Result<(), super::ConfigError> {
        for (i, asset) in self.assets.iter().enumerate() {
            if !asset.name.as_str().chars().any(char::is_alphanumeric) {
                return Err(super::err(
                    "programme.assets",
                    format!("“{}” is not a name: use letters or digits", asset.name),
                ));
            }
            if self.assets[..i].iter().any(|a| a.name == asset.name) {
                return Err(super::err(
                    "programme.assets",
                    format!(
                        "two assets are named “{}”: give each its own name",
                        asset.name
                    ),
                ));
            }
        }
        if let Some(csaf) = &self.csaf_provider_url {
            let url = csaf.url();
            if url.scheme() != "https" || !url.path().ends_with("/provider-metadata.json") {
                return Err(super::err(
                    "programme.csaf_provider_url",
                    "give the https:// address of your provider-metadata.json (CSAF 2.0 and \
                     RFC 9116 both require https)",
                ));
            }
        }
        Ok(())
    }
}

/// Settings agedrop no longer reads, and what to do instead: named when a config file
/// still has one, instead of a bare "unknown field".
pub(super) const REMOVED: &[(&str, &str)] = &[(
    "security_txt_expires",
    "security.txt's Expires is now renewed every day: delete this line, and set \
     programme.security_txt_days (1 to 364, default 180) if you want another lead",
)];

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
