//! The report as submitted (the sealed `submitted` event) and the checks its typed
//! fields get at intake: the weakness (a CWE id or words) and the reporter's own
//! severity estimate (a CVSS v3.x or v4.0 vector, parsed and scored with RustSec's
//! `cvss` crate).
//!
//! Fields added after the first release are `#[serde(default)]`, so that reports
//! stored before them still read, and are left out of the JSON while empty, so that
//! those reports also read back exactly as before.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The form's value for "something else" in the list of assets (no asset can be named
/// so: names need a letter or a digit).
pub const OTHER_ASSET: &str = "*";

/// The text fields of a report.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop, Default)]
pub struct Submission {
    /// One line saying what is wrong.
    pub title: String,
    /// Affected product or component.
    pub product: String,
    /// Affected versions.
    pub versions: String,
    /// What the problem is.
    pub description: String,
    /// Steps to reproduce.
    pub steps: String,
    /// What the reporter expected to happen.
    pub expected: String,
    /// What happened instead.
    pub actual: String,
    /// What an attacker could do.
    pub impact: String,
    /// Optional way to reach the reporter outside agedrop.
    pub contact: String,
    /// How the reporter wants to be credited.
    pub credit: Credit,
    /// The asset picked from the programme's scope list, by name as the list gave it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub asset: String,
    /// An asset not in the list, in the reporter's words ("something else").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub asset_other: String,
    /// The weakness: a CWE id (`CWE-79`, normalised) or words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub weakness: String,
    /// The reporter's own severity estimate: a CVSS vector, checked and written the way
    /// the `cvss` crate writes it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub severity_vector: String,
    /// Its score as computed at intake, e.g. `9.8 critical (CVSS v3.1 base score)`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub severity_score: String,
    /// How the reporter found it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub how_found: String,
    /// Whether AI tools were used to find, check or write it up; `None`: not said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_used: Option<bool>,
    /// How AI tools were used.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ai_how: String,
    /// The reporter confirmed that the report is about one finding.
    #[serde(default, skip_serializing_if = "is_false")]
    pub confirmed_one_finding: bool,
    /// The reporter confirmed testing within the programme's rules.
    #[serde(default, skip_serializing_if = "is_false")]
    pub confirmed_within_rules: bool,
    /// The reporter's public recipient (`age1…`), bound inside the sealed report so
    /// that the desk can check the server's clear-text copy before it seals a reply to
    /// it. Empty in reports stored before agedrop bound it.
    #[serde(default)]
    pub reporter: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Submission {
    /// The descriptive fields with their labels, in form order (title and credit apart);
    /// the reporter's page and the desk show those that are not empty.
    pub fn fields(&self) -> [(&'static str, &str); 17] {
        let ai_used = match self.ai_used {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        let confirmed = match (self.confirmed_one_finding, self.confirmed_within_rules) {
            (true, true) => "one finding; tested within the programme's rules",
            (true, false) => "one finding",
            (false, true) => "tested within the programme's rules",
            (false, false) => "",
        };
        [
            ("Affected asset", &self.asset),
            ("Affected asset (not in the scope list)", &self.asset_other),
            ("Affected product or component", &self.product),
            ("Affected versions", &self.versions),
            ("Weakness", &self.weakness),
            ("Description", &self.description),
            ("Steps to reproduce", &self.steps),
            ("Expected result", &self.expected),
            ("Actual result", &self.actual),
            ("Impact", &self.impact),
            ("Severity estimate (CVSS)", &self.severity_vector),
            ("Severity estimate (score)", &self.severity_score),
            ("How it was found", &self.how_found),
            ("AI tools used", ai_used),
            ("How AI tools were used", &self.ai_how),
            ("Confirmed", confirmed),
            ("Contact", &self.contact),
        ]
    }
}

/// The finder's choice of credit.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop, Default)]
pub struct Credit {
    /// True when the reporter asked not to be credited.
    pub declined: bool,
    /// Name to credit.
    pub name: String,
    /// Handle to credit.
    pub handle: String,
    /// Link to credit.
    pub link: String,
}

impl Credit {
    /// How the credit reads in a thread or an advisory draft.
    pub fn describe(&self) -> String {
        if self.declined {
            return "no credit, please".to_string();
        }
        let parts: Vec<&str> = [&self.name, &self.handle, &self.link]
            .into_iter()
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            "not stated".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// A CVSS vector that parsed, with its score; wiped when dropped, like the report.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Severity {
    /// The vector as the `cvss` crate writes it (upper case, metrics in standard order).
    pub vector: String,
    /// The score, its rating and what it is: `9.8 critical (CVSS v3.1 base score)`.
    pub score: String,
}

impl Severity {
    /// Checks and scores a CVSS v3.0, v3.1 or v4.0 vector; the error says what is wrong
    /// in words a reporter can act on (and may quote part of the input).
    pub fn parse(text: &str) -> Result<Severity, String> {
        let text = zeroize::Zeroizing::new(text.trim().to_ascii_uppercase());
        let version = ["3.0", "3.1", "4.0"]
            .into_iter()
            .find(|v| text.starts_with(&format!("CVSS:{v}/")))
            .ok_or_else(|| {
                "it does not start with CVSS:3.1/ or CVSS:4.0/ (CVSS v2 vectors are not \
                 accepted)"
                    .to_string()
            })?;
        let parsed: cvss::Cvss = text.parse().map_err(|e: cvss::Error| e.to_string())?;
        let score = match &parsed {
            cvss::Cvss::CvssV30(v) | cvss::Cvss::CvssV31(v) => {
                use cvss::v3::metric::MetricType::*;
                let missing: Vec<&str> = [AV, AC, PR, UI, S, C, I, A]
                    .into_iter()
                    .filter(|m| !v.metrics().any(|(have, _)| have == *m))
                    .map(|m| m.name())
                    .collect();
                if !missing.is_empty() {
                    return Err(format!(
                        "it lacks the base metric(s) {}",
                        missing.join(", ")
                    ));
                }
                let score = v.base_score();
                format!(
                    "{:.1} {} (CVSS v{version} base score)",
                    score.value(),
                    score.severity().as_str()
                )
            }
            cvss::Cvss::CvssV40(v) => {
                format!(
                    "{:.1} {} (CVSS v4.0, {})",
                    v.score().value(),
                    v.score().severity().as_str(),
                    v.nomenclature()
                )
            }
            _ => return Err("this version of CVSS is not accepted".into()),
        };
        Ok(Severity {
            vector: parsed.to_string(),
            score,
        })
    }
}

/// A weakness as the reporter gave it: a CWE id in any common spelling (`cwe-79`,
/// `CWE 79`, `CWE-79: Cross-site scripting`) becomes `CWE-79…`; words stay as written.
/// Something that starts like a CWE id but is not one is refused, with the reason.
pub fn weakness(text: &str) -> Result<String, String> {
    let text = text.trim();
    let Some(rest) = text
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("cwe"))
        .and_then(|_| text.get(3..))
    else {
        return Ok(text.to_string());
    };
    // "CWEs in general" and other words that merely begin with the letters.
    if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Ok(text.to_string());
    }
    let rest = rest.trim_start_matches(['-', ' ', ':']);
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let tail = &rest[digits..];
    if digits == 0 || digits > 7 || tail.starts_with(|c: char| c.is_alphanumeric()) {
        return Err(
            "it starts like a CWE id but is not one: give it as CWE-79, or \
                    describe the weakness in words"
                .into(),
        );
    }
    Ok(format!("CWE-{}{tail}", &rest[..digits]))
}

#[cfg(test)]
mod tests;
