//! `agedrop team credits`: the acknowledgements of disclosed reports whose finders
//! accepted credit, with exactly the words and links they accepted, in Markdown for a
//! website (every word escaped, so a name cannot become markup) or as JSON.

use std::fmt::Write;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::report::{CreditState, Status, human_time};
use crate::store::ReportId;

use super::{Desk, Export, TeamError};

/// One disclosed report's accepted credits.
#[derive(Serialize)]
pub struct Acknowledged {
    /// The report.
    pub report: ReportId,
    /// Its advisory's OSV id.
    pub advisory: String,
    /// The advisory's title.
    pub title: Zeroizing<String>,
    /// When it was disclosed (RFC 3339).
    pub disclosed: String,
    /// The credits the finder accepted, as accepted.
    pub credits: Vec<CreditView>,
    #[serde(skip)]
    disclosed_at: i64,
}

/// One accepted credit.
#[derive(Serialize)]
pub struct CreditView {
    /// OSV's credit type (`FINDER`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The name, as accepted.
    pub name: Zeroizing<String>,
    /// The contact URLs, as accepted.
    pub contact: Vec<Zeroizing<String>>,
}

impl Desk {
    /// Every disclosed report whose finder accepted the credit its current advisory
    /// offers, oldest disclosure first. Only what verified members wrote counts: the
    /// status, the revision; and only the reporter's answer accepts.
    pub async fn acknowledgements(&self) -> Result<Vec<Acknowledged>, TeamError> {
        let publisher = self.publisher().await?;
        let mut out = Vec::new();
        for summary in self.source.summaries().await? {
            let thread = self.thread(summary.id).await?;
            if thread.status() != Status::Disclosed {
                continue;
            }
            let Ok(export) = Export::new(&thread, &publisher) else {
                continue;
            };
            if export.credit != CreditState::Accepted {
                continue;
            }
            let credits: Vec<CreditView> = export
                .credits
                .iter()
                .filter(|c| c.reporter)
                .map(|c| CreditView {
                    kind: c.kind.as_str(),
                    name: Zeroizing::new(c.name.trim().to_string()),
                    contact: c
                        .contact
                        .iter()
                        .map(|u| Zeroizing::new(u.clone()))
                        .collect(),
                })
                .collect();
            let disclosed_at = export.disclosed.unwrap_or_default();
            out.push(Acknowledged {
                report: thread.id,
                advisory: export.osv_id.clone(),
                title: Zeroizing::new(export.revision.advisory.title.trim().to_string()),
                disclosed: crate::text::rfc3339(disclosed_at).unwrap_or_default(),
                credits,
                disclosed_at,
            });
        }
        out.sort_by_key(|a| a.disclosed_at);
        Ok(out)
    }
}

/// The acknowledgements as Markdown.
pub fn acknowledgements(list: &[Acknowledged]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::from("# Acknowledgements\n\n"));
    if list.is_empty() {
        out.push_str("No disclosed report has an accepted credit yet.\n");
        return out;
    }
    out.push_str(
        "We thank the people who found and reported these vulnerabilities, now fixed and \
         disclosed, and agreed to be credited:\n\n",
    );
    for item in list {
        for credit in &item.credits {
            let _ = write!(out, "- {}", escape(&credit.name));
            for url in &credit.contact {
                let _ = write!(out, " — {}", link(url));
            }
            let _ = writeln!(
                out,
                " ({}): {}, {} (disclosed {})",
                escape(&credit.kind.to_ascii_lowercase().replace('_', " ")),
                escape(&item.advisory),
                escape(&item.title),
                human_time(item.disclosed_at)
            );
        }
    }
    out
}

/// Text that Markdown shows as it is: every ASCII punctuation character escaped, line
/// breaks and hidden characters made inert.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in crate::text::one_line(text).chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A URL as an autolink when it is one; otherwise as escaped text.
fn link(url: &str) -> String {
    let plain = crate::report::is_contact_url(url)
        && !url
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '<' | '>') || crate::text::is_hidden(c));
    if plain {
        format!("<{url}>")
    } else {
        escape(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_become_markup() {
        assert_eq!(
            escape("<img src=x onerror=alert(1)> *Jane* [x](javascript:1)"),
            "\\<img src\\=x onerror\\=alert\\(1\\)\\> \\*Jane\\* \\[x\\]\\(javascript\\:1\\)"
        );
        assert_eq!(link("https://jane.example/"), "<https://jane.example/>");
        assert_eq!(link("javascript:alert(1)"), "javascript\\:alert\\(1\\)");
    }
}
