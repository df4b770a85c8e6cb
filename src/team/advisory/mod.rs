//! The advisory on the desk: the revisions of a thread that members of the pinned roster
//! signed, and the reporter's answer to the credit (`report::Review`); drafting a revision
//! as TOML (`draft.rs`) and posting it; the exports, OSV (`osv.rs`) and CSAF (`csaf.rs`);
//! the acknowledgements list (`credits.rs`); and how `show` prints advisory events
//! (`print.rs`).
//!
//! An export names the reporter only when the reporter accepted exactly the words the
//! current revision offers them; a forged or unsigned revision is never current.

mod credits;
mod csaf;
mod draft;
mod osv;
mod print;
mod tree;

use zeroize::Zeroizing;

use crate::report::{Advisory, AdvisoryCredit, CreditState, EventBody, Review, Revision};
use crate::store::ReportId;

use super::inbox::Publisher;
use super::{Desk, Posted, TeamError, Thread};

pub use credits::{Acknowledged, acknowledgements};
pub use draft::{parse_draft, problems, write_draft};
pub use print::{AdvisoryView, IgnoredAnswer};
pub(super) use print::{print_event, print_summary};

impl Thread {
    /// The advisory's revisions that members of the pinned roster signed, and the
    /// reporter's answer to the credit.
    pub fn review(&self) -> Review<'_> {
        Review::of(self.events.iter().filter_map(|e| {
            e.event
                .as_ref()
                .map(|ev| (e.seq, ev.at, &ev.body, e.verified()))
        }))
    }
}

/// The advisory's id in OSV: `x_` (a database OSV does not aggregate), the programme's
/// name in capitals (other characters as `-`), the year the report arrived, and the first
/// eight hex digits of the report's id: `x_EXAMPLE-SECURITY-2026-3f9a0c12`. Stable across
/// revisions, and the same on every desk of the team.
pub fn osv_id(programme: &str, received: i64, report: ReportId) -> String {
    let mut slug = String::new();
    for c in programme.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_uppercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug = slug.trim_end_matches('-').to_string();
    slug.truncate(40);
    let slug = match slug.trim_end_matches('-') {
        "" => "AGEDROP",
        s => s,
    };
    let year = time::OffsetDateTime::from_unix_timestamp(received).map_or(1970, |t| t.year());
    let report = report.to_string();
    format!("x_{slug}-{year}-{}", &report[..8.min(report.len())])
}

/// What the exports of one report's advisory are made from.
pub struct Export<'t> {
    /// The report.
    pub report: ReportId,
    /// The id in OSV ([`osv_id`]); CSAF's tracking id is the same without `x_`.
    pub osv_id: String,
    /// The programme's name, as the server gives it (`agedrop` when it does not).
    pub programme: String,
    /// The server's public origin, if known.
    pub origin: Option<String>,
    /// The current revision.
    pub revision: Revision<'t>,
    /// Every revision that counts: its number and when it was written.
    pub history: Vec<(usize, i64)>,
    /// The credits that may be published.
    pub credits: Vec<&'t AdvisoryCredit>,
    /// Where the reporter's credit stands.
    pub credit: CreditState,
    /// When the reporter's answer that stands was written down, if one does.
    pub answered: Option<i64>,
    /// When the report was disclosed, if it was.
    pub disclosed: Option<i64>,
}

impl<'t> Export<'t> {
    /// The export of `thread`'s current advisory; an error when no member of the pinned
    /// roster signed one.
    pub fn new(thread: &'t Thread, publisher: &Publisher) -> Result<Self, TeamError> {
        let review = thread.review();
        let revision = *review.current().ok_or(TeamError::NoAdvisory(thread.id))?;
        let received = thread.received().ok_or(TeamError::NoAdvisory(thread.id))?;
        let credit = review.credit();
        let programme = match publisher.name.trim() {
            "" => "agedrop".to_string(),
            name => crate::text::one_line(name),
        };
        Ok(Export {
            report: thread.id,
            osv_id: osv_id(&programme, received, thread.id),
            origin: publisher.origin.clone(),
            revision,
            history: review.revisions.iter().map(|r| (r.number, r.at)).collect(),
            credits: review.published_credits(),
            answered: review.answer.as_ref().map(|a| a.at).filter(|_| {
                matches!(
                    credit,
                    CreditState::Accepted | CreditState::Declined | CreditState::ChangeAsked
                )
            }),
            credit,
            disclosed: thread.progress().and_then(|p| p.disclosed),
            programme,
        })
    }

    /// CSAF's tracking id: the OSV id without `x_`.
    pub fn tracking_id(&self) -> &str {
        self.osv_id.strip_prefix("x_").unwrap_or(&self.osv_id)
    }

    /// When anything exported last changed: a revision, the reporter's answer, the
    /// disclosure (RFC 3339, UTC, `Z`).
    pub fn modified(&self) -> String {
        let latest = self
            .history
            .iter()
            .map(|(_, at)| *at)
            .chain(self.answered)
            .chain(self.disclosed)
            .max()
            .unwrap_or(self.revision.at);
        crate::text::rfc3339(latest).unwrap_or_default()
    }

    /// When it was published: the disclosure.
    pub fn published(&self) -> Option<String> {
        self.disclosed.and_then(crate::text::rfc3339)
    }

    /// The CWE the weakness names: its id, and its name when the revision gives one
    /// (`CWE-79: Improper Neutralization …`).
    pub fn cwe(&self) -> Option<(&'t str, Option<&'t str>)> {
        let weakness = self.revision.advisory.weakness.trim();
        let (id, name) = match weakness.split_once(':') {
            Some((id, name)) => (id.trim(), Some(name.trim()).filter(|n| !n.is_empty())),
            None => (weakness, None),
        };
        let digits = id.strip_prefix("CWE-")?;
        (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then_some((id, name))
    }

    /// OSV's `details`: the description, then the impact, the weakness (in words), the
    /// workarounds and the fix under headings (Markdown).
    pub fn details(&self) -> Zeroizing<String> {
        let a = self.revision.advisory;
        let mut out = Zeroizing::new(a.description.trim().to_string());
        let weakness = if self.cwe().is_some() {
            ""
        } else {
            a.weakness.trim()
        };
        for (heading, text) in [
            ("Impact", a.impact.trim()),
            ("Weakness", weakness),
            ("Workarounds", a.workarounds.trim()),
            ("Fix", a.fix.trim()),
        ] {
            if !text.is_empty() {
                if !out.is_empty() {
                    out.push_str("\n\n");
                }
                out.push_str(&format!("## {heading}\n\n{text}"));
            }
        }
        out
    }

    /// The OSV record, as JSON.
    pub fn osv(&self) -> Result<Zeroizing<String>, TeamError> {
        osv::record(self).map_err(|e| TeamError::Io(format!("cannot write the OSV record: {e}")))
    }

    /// The CSAF document, as JSON; `namespace` is the publisher's URL (the server's
    /// origin when not given).
    pub fn csaf(&self, namespace: Option<&str>) -> Result<Zeroizing<String>, TeamError> {
        let namespace = namespace.or(self.origin.as_deref()).ok_or_else(|| {
            TeamError::BadAdvisory(
                "CSAF names its publisher by URL, and this source does not know the server's: \
                 give it with --namespace https://…"
                    .into(),
            )
        })?;
        csaf::document(self, namespace, crate::report::now()).map_err(TeamError::BadAdvisory)
    }
}

impl Desk {
    /// Who publishes the programme's advisories, as the source says.
    pub async fn publisher(&self) -> Result<Publisher, TeamError> {
        self.source.publisher().await
    }

    /// Posts a revision of the advisory: checked (nothing OSV or CSAF cannot carry),
    /// signed, and sealed to the pinned roster and the reporter.
    pub async fn post_advisory(
        &self,
        id: ReportId,
        mut advisory: Advisory,
    ) -> Result<Posted, TeamError> {
        let problems = problems(&advisory);
        if !problems.is_empty() {
            return Err(TeamError::BadAdvisory(problems.join("; ")));
        }
        self.post(id, false, move |author| {
            advisory.author = author;
            EventBody::Advisory(Box::new(advisory))
        })
        .await
    }
}

/// The draft a member starts from: the current revision's fields, or the report's.
pub fn starting_draft(thread: &Thread) -> Option<Advisory> {
    let review = thread.review();
    if let Some(current) = review.current() {
        let json = crate::report::exact_json(current.advisory);
        let mut copy: Advisory = serde_json::from_slice(&json).ok()?;
        copy.author.clear();
        return Some(copy);
    }
    thread.submission().map(Advisory::draft_from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_osv_id_is_stable_and_has_the_form_osv_keeps_for_local_databases() {
        let report: ReportId = "3f9a0c12deadbeef".parse().unwrap();
        let at = 1_790_000_000; // 2026-09-21
        assert_eq!(
            osv_id("Example Corp. Security!", at, report),
            "x_EXAMPLE-CORP-SECURITY-2026-3f9a0c12"
        );
        assert_eq!(osv_id("  ", at, report), "x_AGEDROP-2026-3f9a0c12");
        assert_eq!(osv_id("Ünïcode", at, report), "x_N-CODE-2026-3f9a0c12");
    }
}
