//! The advisory the team drafts and reviews with the reporter: each revision of the draft
//! is a member's signed event ([`Advisory`]); the reporter comments on a revision
//! ([`AdvisoryComment`]) and accepts or declines the credit it offers them, or asks for
//! other words ([`CreditDecision`]). Which revision is current and where the credit stands
//! is worked out in `review.rs`; the OSV and CSAF exports are made on the desk.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::Submission;

/// One revision of the advisory draft, written and signed by a member. Every posting is
/// a new revision; the latest verified one is current.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop, Default, PartialEq, Eq)]
pub struct Advisory {
    /// The member who wrote the revision (filled in when it is posted).
    #[serde(default)]
    pub author: String,
    /// One line saying what is wrong.
    pub title: String,
    /// What is affected, and which versions.
    #[serde(default)]
    pub affected: Vec<Affected>,
    /// The weakness: `CWE-79`, `CWE-79: <its name in the CWE list>`, or words.
    #[serde(default)]
    pub weakness: String,
    /// A CVSS v3.0, v3.1 or v4.0 vector.
    #[serde(default)]
    pub severity: String,
    /// What the problem is.
    #[serde(default)]
    pub description: String,
    /// What an attacker could do.
    #[serde(default)]
    pub impact: String,
    /// What users can do until they have the fix.
    #[serde(default)]
    pub workarounds: String,
    /// The fix: the version or change that removes the problem.
    #[serde(default)]
    pub fix: String,
    /// Other ids of the same vulnerability (`CVE-2026-12345`, `GHSA-…`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Links with more: the fix, the release notes.
    #[serde(default)]
    pub references: Vec<String>,
    /// Who is credited, and for what.
    #[serde(default)]
    pub credits: Vec<AdvisoryCredit>,
}

/// An affected product or asset and its versions.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop, Default, PartialEq, Eq)]
pub struct Affected {
    /// The product, component or package.
    pub product: String,
    /// The OSV ecosystem of a package (`crates.io`, `npm`, …); empty for a product of
    /// the programme's own.
    #[serde(default)]
    pub ecosystem: String,
    /// Affected versions, each as the product names it.
    #[serde(default)]
    pub versions: Vec<String>,
    /// The first affected version (`0`: every version before `fixed`).
    #[serde(default)]
    pub introduced: String,
    /// The first version with the fix.
    #[serde(default)]
    pub fixed: String,
}

/// Someone credited in the advisory.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop, Default, PartialEq, Eq)]
pub struct AdvisoryCredit {
    /// What for (OSV's credit types).
    #[serde(rename = "type", default)]
    #[zeroize(skip)]
    pub kind: CreditType,
    /// The name, handle or other words the credited person gave.
    pub name: String,
    /// Where to find them: URLs (`https://…`, `mailto:…`).
    #[serde(default)]
    pub contact: Vec<String>,
    /// Whether this credit names the reporter: then it is published only once the
    /// reporter has accepted exactly these words.
    #[serde(default)]
    pub reporter: bool,
}

impl AdvisoryCredit {
    /// A copy (plaintext types have no `Clone`: every copy is made on purpose).
    pub fn copy(&self) -> Self {
        AdvisoryCredit {
            kind: self.kind,
            name: self.name.clone(),
            contact: self.contact.clone(),
            reporter: self.reporter,
        }
    }

    /// How the credit reads for people: `Jane Doe (https://jane.example), finder`.
    pub fn describe(&self) -> String {
        let mut out = self.name.clone();
        if !self.contact.is_empty() {
            out.push_str(&format!(" ({})", self.contact.join(", ")));
        }
        out.push_str(&format!(", {}", self.kind.label()));
        out
    }
}

/// OSV's credit types (the CVE record's): what a credited person did.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CreditType {
    /// Identified the vulnerability.
    #[default]
    Finder,
    /// Notified the vendor.
    Reporter,
    /// Validated the vulnerability.
    Analyst,
    /// Facilitated the coordinated response.
    Coordinator,
    /// Prepared the fix.
    RemediationDeveloper,
    /// Reviewed the fix.
    RemediationReviewer,
    /// Tested the fix.
    RemediationVerifier,
    /// A tool used to find it.
    Tool,
    /// Supported the work.
    Sponsor,
    /// Anything else.
    Other,
}

impl CreditType {
    /// The name in OSV and in the draft (`FINDER`).
    pub fn as_str(self) -> &'static str {
        match self {
            CreditType::Finder => "FINDER",
            CreditType::Reporter => "REPORTER",
            CreditType::Analyst => "ANALYST",
            CreditType::Coordinator => "COORDINATOR",
            CreditType::RemediationDeveloper => "REMEDIATION_DEVELOPER",
            CreditType::RemediationReviewer => "REMEDIATION_REVIEWER",
            CreditType::RemediationVerifier => "REMEDIATION_VERIFIER",
            CreditType::Tool => "TOOL",
            CreditType::Sponsor => "SPONSOR",
            CreditType::Other => "OTHER",
        }
    }

    /// How it reads for people (`finder`).
    pub fn label(self) -> &'static str {
        match self {
            CreditType::Finder => "finder",
            CreditType::Reporter => "reporter",
            CreditType::Analyst => "analyst",
            CreditType::Coordinator => "coordinator",
            CreditType::RemediationDeveloper => "developed the fix",
            CreditType::RemediationReviewer => "reviewed the fix",
            CreditType::RemediationVerifier => "verified the fix",
            CreditType::Tool => "tool",
            CreditType::Sponsor => "sponsor",
            CreditType::Other => "other",
        }
    }
}

/// The reporter's comment on one revision of the draft.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct AdvisoryComment {
    /// The revision commented on: its position in the thread.
    pub revision: u32,
    /// The comment.
    pub text: String,
}

/// The reporter's answer to the credit one revision offers them.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct CreditDecision {
    /// The revision answered: its position in the thread.
    pub revision: u32,
    /// Accept, decline, or ask for other words.
    #[zeroize(skip)]
    pub decision: Decision,
    /// The reporter's credits exactly as that revision offered them (copied by the
    /// server from the revision shown): an answer applies only to these words.
    #[serde(default)]
    pub credits: Vec<AdvisoryCredit>,
    /// The words the reporter asks for, or why.
    #[serde(default)]
    pub note: String,
}

/// What the reporter answered.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Publish the credit as offered.
    Accept,
    /// Publish no credit naming the reporter.
    Decline,
    /// Publish it only in other words (the note says which).
    Change,
}

impl Decision {
    /// The name in forms and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Decline => "decline",
            Decision::Change => "change",
        }
    }

    /// Reads the name a form sends.
    pub fn parse(name: &str) -> Option<Self> {
        [Decision::Accept, Decision::Decline, Decision::Change]
            .into_iter()
            .find(|d| d.as_str() == name)
    }
}

impl Advisory {
    /// The first draft for a report: its title, product, versions, description and impact,
    /// and the credit the reporter asked for (a `FINDER` credit naming the reporter, unless
    /// they declined or gave nothing). The team edits it before posting.
    pub fn draft_from(s: &Submission) -> Advisory {
        let versions: Vec<String> = s
            .versions
            .split([',', ';', '\n'])
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
            .collect();
        let mut draft = Advisory::default();
        draft.title = s.title.trim().to_string();
        draft.description = s.description.trim().to_string();
        draft.impact = s.impact.trim().to_string();
        // The reporter's weakness and severity estimate start the team's: edited, not
        // retyped.
        draft.weakness = s.weakness.trim().to_string();
        draft.severity = s.severity_vector.trim().to_string();
        draft.credits = reporter_credit(&s.credit).into_iter().collect();
        // The product as the reporter named it, else the asset they picked from scope.
        let product = [&s.product, &s.asset, &s.asset_other]
            .into_iter()
            .map(|p| p.trim())
            .find(|p| !p.is_empty())
            .unwrap_or_default();
        if !product.is_empty() || !versions.is_empty() {
            let mut affected = Affected::default();
            affected.product = product.to_string();
            affected.versions = versions;
            draft.affected.push(affected);
        }
        draft
    }

    /// The credits that name the reporter.
    pub fn reporter_credits(&self) -> impl Iterator<Item = &AdvisoryCredit> {
        self.credits.iter().filter(|c| c.reporter)
    }

    /// Whether `offered` are exactly this revision's credits naming the reporter.
    pub fn offers(&self, offered: &[AdvisoryCredit]) -> bool {
        self.reporter_credits().eq(offered.iter())
    }
}

/// The reporter's choice on the form as a typed credit: the name (or the handle) as the
/// name, with the handle beside a name and a link that is not a URL kept in the words,
/// and a URL as the contact. Nothing is invented or left out.
fn reporter_credit(credit: &super::Credit) -> Option<AdvisoryCredit> {
    let (name, handle, link) = (credit.name.trim(), credit.handle.trim(), credit.link.trim());
    if credit.declined || (name.is_empty() && handle.is_empty() && link.is_empty()) {
        return None;
    }
    let url = is_contact_url(link).then(|| link.to_string());
    let mut words: Vec<&str> = [name, handle]
        .into_iter()
        .filter(|w| !w.is_empty())
        .collect();
    if url.is_none() && !link.is_empty() {
        words.push(link);
    }
    let name = match words.as_slice() {
        [] => url.clone().unwrap_or_default(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} ({})", rest.join(", ")),
    };
    Some(AdvisoryCredit {
        kind: CreditType::Finder,
        name,
        contact: url.into_iter().collect(),
        reporter: true,
    })
}

/// Whether `text` is a URL a credit may give as a contact (`https:`, `http:`, `mailto:`).
pub fn is_contact_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| {
        (matches!(u.scheme(), "https" | "http") && u.host().is_some()) || u.scheme() == "mailto"
    })
}

/// A severity vector, parsed and scored.
pub struct Scored {
    /// `3.0`, `3.1` or `4.0`.
    pub version: &'static str,
    /// The vector with its metrics in the standard's order (as OSV and CSAF want it).
    pub vector: String,
    /// The base score (v3) or the score (v4), 0.0 to 10.0.
    pub score: f64,
    /// `none`, `low`, `medium`, `high` or `critical`.
    pub severity: &'static str,
}

/// Parses and scores a complete CVSS v3.0, v3.1 or v4.0 vector (every base metric given);
/// `None` for anything else.
pub fn score(vector: &str) -> Option<Scored> {
    let parsed: cvss::Cvss = vector.trim().parse().ok()?;
    let version = match &parsed {
        cvss::Cvss::CvssV30(v) | cvss::Cvss::CvssV31(v) => {
            let base = [
                v.av.is_some(),
                v.ac.is_some(),
                v.pr.is_some(),
                v.ui.is_some(),
                v.s.is_some(),
                v.c.is_some(),
                v.i.is_some(),
                v.a.is_some(),
            ];
            if !base.iter().all(|given| *given) {
                return None;
            }
            if v.minor_version == 0 { "3.0" } else { "3.1" }
        }
        // The v4 parser refuses a vector without its mandatory metrics.
        cvss::Cvss::CvssV40(_) => "4.0",
        _ => return None,
    };
    Some(Scored {
        version,
        vector: parsed.to_string(),
        score: parsed.score(),
        severity: parsed.severity().as_str(),
    })
}

/// A vector with its score, as people read it: `CVSS:3.1/… (9.8, critical)`.
pub fn describe_severity(vector: &str) -> String {
    match score(vector) {
        Some(s) => format!("{} ({:.1}, {})", vector.trim(), s.score, s.severity),
        None => vector.trim().to_string(),
    }
}
