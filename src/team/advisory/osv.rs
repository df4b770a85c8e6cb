//! The advisory as an OSV record (schema 1.7.5): the id in the `x_` form OSV keeps for
//! databases it does not aggregate, `modified`/`published` in UTC with `Z`, affected
//! ranges where the versions allow, the severity vector, and only the credits that may
//! be published (the reporter's only once they accepted them).

use serde::Serialize;
use zeroize::Zeroizing;

use crate::report::{AdvisoryCredit, score};

use super::Export;

/// The OSV schema version written.
pub const SCHEMA_VERSION: &str = "1.7.5";

/// OSV's ecosystems (schema 1.7.5); a name may carry a `:suffix`.
const ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpaquita",
    "Alpine",
    "Android",
    "Azure Linux",
    "BellSoft Hardened Containers",
    "Bioconductor",
    "Bitnami",
    "Chainguard",
    "CleanStart",
    "ConanCenter",
    "CRAN",
    "crates.io",
    "Debian",
    "Docker Hardened Images",
    "Echo",
    "FreeBSD",
    "GHC",
    "GitHub Actions",
    "Go",
    "Hackage",
    "Hex",
    "Julia",
    "Kubernetes",
    "Linux",
    "Mageia",
    "Maven",
    "MinimOS",
    "npm",
    "NuGet",
    "opam",
    "openEuler",
    "openSUSE",
    "OSS-Fuzz",
    "Packagist",
    "Photon OS",
    "Pub",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "Root",
    "RubyGems",
    "SUSE",
    "SwiftURL",
    "TuxCare",
    "Ubuntu",
    "VSCode",
    "Wolfi",
    "GIT",
];

/// Whether `name` is an OSV ecosystem (with an optional `:suffix`).
pub fn known_ecosystem(name: &str) -> bool {
    let (base, suffix) = match name.split_once(':') {
        Some((base, suffix)) => (base, Some(suffix)),
        None => (name, None),
    };
    ECOSYSTEMS.contains(&base) && suffix.is_none_or(|s| !s.is_empty())
}

/// Whether `v` is a semantic version (`1.2.3`, `1.2.3-rc.1+build`), as OSV's `SEMVER`
/// ranges need.
pub fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let number = |p: &&str| {
        !p.is_empty()
            && p.chars().all(|c| c.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'))
    };
    let rest_ok = v[core.len()..]
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.'));
    parts.len() == 3 && parts.iter().all(number) && rest_ok
}

#[derive(Serialize)]
struct Record<'a> {
    schema_version: &'static str,
    id: &'a str,
    modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    published: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    aliases: &'a [String],
    summary: &'a str,
    details: Zeroizing<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    severity: Vec<Severity<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    affected: Vec<Affected<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    credits: Vec<Credit<'a>>,
    database_specific: DatabaseSpecific<'a>,
}

#[derive(Serialize)]
struct Severity<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    score: &'a str,
}

#[derive(Serialize)]
struct Affected<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<Package<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ranges: Vec<Range<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    versions: &'a [String],
    #[serde(skip_serializing_if = "AffectedSpecific::is_empty")]
    database_specific: AffectedSpecific<'a>,
}

#[derive(Serialize)]
struct Package<'a> {
    ecosystem: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct Range<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    events: Vec<RangeEvent<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum RangeEvent<'a> {
    Introduced(&'a str),
    Fixed(&'a str),
}

/// What OSV has no field for: the product of an entry without a package, and a range
/// that is neither SemVer nor in an ecosystem.
#[derive(Serialize, Default)]
struct AffectedSpecific<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    introduced: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    fixed: &'a str,
}

impl AffectedSpecific<'_> {
    fn is_empty(&self) -> bool {
        self.product.is_none() && self.introduced.is_empty() && self.fixed.is_empty()
    }
}

#[derive(Serialize)]
struct Reference<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct Credit<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    contact: &'a [String],
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct DatabaseSpecific<'a> {
    /// The programme that published it.
    programme: &'a str,
    /// The advisory's revision (1, 2, …).
    revision: usize,
    /// `draft` until the report is disclosed, then `disclosed`.
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cwe_ids: Vec<&'a str>,
}

/// The OSV record of an export, as JSON text (wiped when dropped).
pub fn record(x: &Export<'_>) -> Result<Zeroizing<String>, serde_json::Error> {
    let a = x.revision.advisory;
    let scored = score(&a.severity);
    let severity = scored
        .as_ref()
        .map(|s| Severity {
            kind: if s.version == "4.0" {
                "CVSS_V4"
            } else {
                "CVSS_V3"
            },
            score: &s.vector,
        })
        .into_iter()
        .collect();
    let record = Record {
        schema_version: SCHEMA_VERSION,
        id: &x.osv_id,
        modified: x.modified(),
        published: x.published(),
        aliases: &a.aliases,
        summary: a.title.trim(),
        details: x.details(),
        severity,
        affected: a.affected.iter().map(affected).collect(),
        references: a
            .references
            .iter()
            .map(|url| Reference { kind: "WEB", url })
            .collect(),
        credits: x.credits.iter().map(|c| credit(c)).collect(),
        database_specific: DatabaseSpecific {
            programme: &x.programme,
            revision: x.revision.number,
            status: if x.disclosed.is_some() {
                "disclosed"
            } else {
                "draft"
            },
            cwe_ids: x.cwe().map(|(id, _)| id).into_iter().collect(),
        },
    };
    Ok(Zeroizing::new(serde_json::to_string_pretty(&record)?))
}

fn credit(c: &AdvisoryCredit) -> Credit<'_> {
    Credit {
        name: c.name.trim(),
        contact: &c.contact,
        kind: c.kind.as_str(),
    }
}

/// One affected product: a package when it has an OSV ecosystem; a `SEMVER` range when
/// both ends are semantic versions, an `ECOSYSTEM` range in an ecosystem; otherwise the
/// range's ends are kept in `database_specific`.
fn affected(a: &crate::report::Affected) -> Affected<'_> {
    let package = (!a.ecosystem.is_empty()).then(|| Package {
        ecosystem: &a.ecosystem,
        name: a.product.trim(),
    });
    let introduced = match (a.introduced.as_str(), a.fixed.is_empty()) {
        ("", false) => "0",
        (introduced, _) => introduced,
    };
    let has_range = !introduced.is_empty();
    let semver = [introduced, &a.fixed]
        .iter()
        .all(|v| v.is_empty() || *v == "0" || is_semver(v));
    let kind = match (has_range, semver, package.is_some()) {
        (false, _, _) => None,
        (true, true, _) => Some("SEMVER"),
        (true, false, true) => Some("ECOSYSTEM"),
        (true, false, false) => None,
    };
    let mut specific = AffectedSpecific {
        product: package.is_none().then_some(a.product.trim()),
        ..AffectedSpecific::default()
    };
    let ranges = match kind {
        Some(kind) => {
            let mut events = vec![RangeEvent::Introduced(introduced)];
            if !a.fixed.is_empty() {
                events.push(RangeEvent::Fixed(&a.fixed));
            }
            vec![Range { kind, events }]
        }
        None => {
            specific.introduced = &a.introduced;
            specific.fixed = &a.fixed;
            Vec::new()
        }
    };
    Affected {
        package,
        ranges,
        versions: &a.versions,
        database_specific: specific,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantic_versions_and_ecosystems_are_told_apart() {
        for v in ["1.2.3", "0.0.1", "10.20.30-rc.1+build.5"] {
            assert!(is_semver(v), "{v}");
        }
        for v in ["v1.2.3", "1.2", "01.2.3", "1.2.3 beta", "2026.1", ""] {
            assert!(!is_semver(v), "{v}");
        }
        assert!(known_ecosystem("crates.io"));
        assert!(known_ecosystem("Debian:12"));
        assert!(!known_ecosystem("Debian:"));
        assert!(!known_ecosystem("Our product"));
    }

    #[test]
    fn ranges_follow_what_the_versions_allow() {
        let product = |introduced: &str, fixed: &str, ecosystem: &str| crate::report::Affected {
            product: "Widget".into(),
            ecosystem: ecosystem.into(),
            versions: vec!["2.4.1".into()],
            introduced: introduced.into(),
            fixed: fixed.into(),
        };
        let json = |a: &crate::report::Affected| serde_json::to_value(affected(a)).unwrap();
        let semver = json(&product("", "2.4.2", ""));
        assert_eq!(semver["ranges"][0]["type"], "SEMVER");
        assert_eq!(semver["ranges"][0]["events"][0]["introduced"], "0");
        assert_eq!(semver["ranges"][0]["events"][1]["fixed"], "2.4.2");
        assert_eq!(semver["database_specific"]["product"], "Widget");
        assert!(semver.get("package").is_none());
        let ecosystem = json(&product("r1", "r7", "npm"));
        assert_eq!(ecosystem["ranges"][0]["type"], "ECOSYSTEM");
        assert_eq!(ecosystem["package"]["name"], "Widget");
        let neither = json(&product("build 7", "build 9", ""));
        assert!(neither.get("ranges").is_none());
        assert_eq!(neither["database_specific"]["fixed"], "build 9");
        let none = json(&product("", "", ""));
        assert!(none.get("ranges").is_none());
        assert_eq!(none["versions"][0], "2.4.1");
    }
}
