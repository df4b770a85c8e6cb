//! The advisory as a CSAF 2.0 `csaf_security_advisory`: the publisher and tracking (one
//! revision-history entry per revision, `draft` until the report is disclosed, then
//! `final`), a product tree with a branch per affected product and version (a version
//! range as `vers`), and one vulnerability with its notes, product status, CVSS v3 score,
//! remediations, and acknowledgments only for credits that may be published.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::report::score;

use super::Export;
use super::tree::{ProductTree, tree};

#[derive(Serialize)]
struct Csaf<'a> {
    document: Document<'a>,
    product_tree: ProductTree<'a>,
    vulnerabilities: [Vulnerability<'a>; 1],
}

#[derive(Serialize)]
struct Document<'a> {
    category: &'static str,
    csaf_version: &'static str,
    lang: &'static str,
    publisher: Publisher<'a>,
    title: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<Note<'a>>,
    tracking: Tracking<'a>,
}

#[derive(Serialize)]
struct Publisher<'a> {
    category: &'static str,
    name: &'a str,
    namespace: &'a str,
}

#[derive(Serialize)]
struct Tracking<'a> {
    id: &'a str,
    status: &'static str,
    version: String,
    initial_release_date: String,
    current_release_date: String,
    revision_history: Vec<HistoryEntry>,
    generator: Generator,
}

#[derive(Serialize)]
struct HistoryEntry {
    date: String,
    number: String,
    summary: String,
}

#[derive(Serialize)]
struct Generator {
    date: String,
    engine: Engine,
}

#[derive(Serialize)]
struct Engine {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Note<'a> {
    category: &'static str,
    title: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
struct Vulnerability<'a> {
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cve: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cwe: Option<Cwe<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ids: Vec<Id<'a>>,
    notes: Vec<Note<'a>>,
    product_status: ProductStatus,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scores: Vec<Score<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    remediations: Vec<Remediation<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    acknowledgments: Vec<Acknowledgment<'a>>,
}

#[derive(Serialize)]
struct Cwe<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct Id<'a> {
    system_name: &'a str,
    text: &'a str,
}

#[derive(Serialize)]
struct ProductStatus {
    known_affected: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixed: Vec<String>,
}

#[derive(Serialize)]
struct Score<'a> {
    cvss_v3: CvssV3<'a>,
    products: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CvssV3<'a> {
    version: &'static str,
    vector_string: &'a str,
    base_score: f64,
    base_severity: String,
}

#[derive(Serialize)]
struct Remediation<'a> {
    category: &'static str,
    details: &'a str,
    product_ids: Vec<String>,
}

#[derive(Serialize)]
struct Reference<'a> {
    category: &'static str,
    summary: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct Acknowledgment<'a> {
    names: [&'a str; 1],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    urls: &'a [String],
    summary: &'static str,
}

/// The CSAF document of an export, as JSON text (wiped when dropped); `Err` with the
/// reason when CSAF cannot carry the advisory (no affected product, no namespace).
pub fn document(x: &Export<'_>, namespace: &str, now: i64) -> Result<Zeroizing<String>, String> {
    let a = x.revision.advisory;
    if a.affected.is_empty() {
        return Err(
            "a CSAF security advisory names the affected products: add an \
                    [[affected]] table to the advisory"
                .into(),
        );
    }
    let time = |at: i64| crate::text::rfc3339(at).unwrap_or_default();
    let (product_tree, products) = tree(&x.programme, &a.affected);
    let mut notes = Vec::new();
    for (category, title, text) in [
        ("description", "Description", &a.description),
        ("details", "Impact", &a.impact),
    ] {
        if !text.trim().is_empty() {
            notes.push(Note {
                category,
                title,
                text,
            });
        }
    }
    let cwe = x.cwe().and_then(|(id, name)| Some(Cwe { id, name: name? }));
    if cwe.is_none() && !a.weakness.trim().is_empty() {
        notes.push(Note {
            category: "other",
            title: "Weakness",
            text: a.weakness.trim(),
        });
    }
    if notes.is_empty() {
        notes.push(Note {
            category: "summary",
            title: "Summary",
            text: a.title.trim(),
        });
    }
    let mut cves = a.aliases.iter().filter(|id| is_cve(id));
    let cve = cves.next().map(String::as_str);
    let ids = a
        .aliases
        .iter()
        .filter(|id| Some(id.as_str()) != cve)
        .map(|id| Id {
            system_name: id.split('-').next().unwrap_or("alias"),
            text: id,
        })
        .collect();
    let affected = products.affected.clone();
    let scored = score(&a.severity).filter(|s| s.version.starts_with('3'));
    let scores = scored
        .as_ref()
        .map(|s| Score {
            cvss_v3: CvssV3 {
                version: s.version,
                vector_string: &s.vector,
                base_score: s.score,
                base_severity: s.severity.to_ascii_uppercase(),
            },
            products: affected.clone(),
        })
        .into_iter()
        .collect();
    let mut remediations = Vec::new();
    for (category, details) in [("vendor_fix", &a.fix), ("workaround", &a.workarounds)] {
        if !details.trim().is_empty() {
            remediations.push(Remediation {
                category,
                details,
                product_ids: affected.clone(),
            });
        }
    }
    let history: Vec<HistoryEntry> = x
        .history
        .iter()
        .map(|(number, at)| HistoryEntry {
            date: time(*at),
            number: number.to_string(),
            summary: format!("Revision {number}."),
        })
        .collect();
    let draft = x.disclosed.is_none();
    let document = Csaf {
        document: Document {
            category: "csaf_security_advisory",
            csaf_version: "2.0",
            lang: "en",
            publisher: Publisher {
                category: "vendor",
                name: &x.programme,
                namespace,
            },
            title: a.title.trim(),
            notes: if draft {
                vec![Note {
                    category: "general",
                    title: "Draft",
                    text: "A draft under review with the finder: not yet public.",
                }]
            } else {
                Vec::new()
            },
            tracking: Tracking {
                id: x.tracking_id(),
                status: if draft { "draft" } else { "final" },
                version: x.revision.number.to_string(),
                initial_release_date: time(x.history.first().map_or(x.revision.at, |h| h.1)),
                current_release_date: x.modified(),
                revision_history: history,
                generator: Generator {
                    date: time(now),
                    engine: Engine {
                        name: "agedrop",
                        version: env!("CARGO_PKG_VERSION"),
                    },
                },
            },
        },
        product_tree,
        vulnerabilities: [Vulnerability {
            title: a.title.trim(),
            cve,
            cwe,
            ids,
            notes,
            product_status: ProductStatus {
                known_affected: products.affected,
                fixed: products.fixed,
            },
            scores,
            remediations,
            references: a
                .references
                .iter()
                .map(|url| Reference {
                    category: "external",
                    summary: url,
                    url,
                })
                .collect(),
            acknowledgments: x
                .credits
                .iter()
                .map(|c| Acknowledgment {
                    names: [c.name.trim()],
                    urls: &c.contact,
                    summary: c.kind.label(),
                })
                .collect(),
        }],
    };
    serde_json::to_string_pretty(&document)
        .map(Zeroizing::new)
        .map_err(|e| e.to_string())
}

fn is_cve(id: &str) -> bool {
    let mut parts = id.splitn(3, '-');
    let digits = |p: Option<&str>, min: usize| {
        p.is_some_and(|p| p.len() >= min && p.chars().all(|c| c.is_ascii_digit()))
    };
    parts.next() == Some("CVE") && digits(parts.next(), 4) && digits(parts.next(), 4)
}
