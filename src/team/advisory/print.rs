//! How `show` prints the advisory: a summary line at the top (the current revision and
//! where the reporter's credit stands), and each revision, comment and answer in the
//! thread, made safe for the terminal like everything else a source sent.

use std::fmt::Write;

use serde::Serialize;

use crate::report::{Advisory, CreditState, Decision, Event, EventBody, Review, describe_severity};
use crate::text::{one_line, terminal_safe};

use super::super::print::team_heading;
use super::super::{OpenedEvent, Thread};

/// The advisory in `show --json`: the current revision (signed by a member of the pinned
/// roster), how many count, where the reporter's credit stands, and the reporter's
/// answers that do not count, with why.
#[derive(Serialize)]
pub struct AdvisoryView {
    /// The current revision's position in the thread.
    pub current: u32,
    /// Its number (1 for the first revision).
    pub revision: usize,
    /// How many revisions count.
    pub revisions: usize,
    /// `not-offered`, `pending`, `accepted`, `declined` or `change-asked`.
    pub credit: CreditState,
    /// The reporter's answer that stands: its position in the thread.
    pub answer: Option<u32>,
    /// Answers that do not count: their position and why.
    pub ignored_answers: Vec<IgnoredAnswer>,
}

/// An answer that does not count.
#[derive(Serialize)]
pub struct IgnoredAnswer {
    /// Its position in the thread.
    pub seq: u32,
    /// Why.
    pub why: &'static str,
}

impl AdvisoryView {
    /// The view of `thread`'s advisory; `None` when no revision counts.
    pub fn of(thread: &Thread) -> Option<Self> {
        let review = thread.review();
        let current = review.current()?;
        Some(AdvisoryView {
            current: current.seq,
            revision: current.number,
            revisions: review.revisions.len(),
            credit: review.credit(),
            answer: review.answer.as_ref().map(|a| a.seq),
            ignored_answers: review
                .ignored
                .iter()
                .map(|(seq, why)| IgnoredAnswer { seq: *seq, why })
                .collect(),
        })
    }
}

fn credit_words(state: CreditState) -> &'static str {
    match state {
        CreditState::NotOffered => "none offered to the reporter",
        CreditState::Pending => "offered, awaiting the reporter's answer (not published)",
        CreditState::Accepted => "accepted by the reporter (published)",
        CreditState::Declined => "declined by the reporter (never published)",
        CreditState::ChangeAsked => "the reporter asks for other words (not published)",
    }
}

/// The summary line under the status.
pub fn print_summary(out: &mut String, review: &Review) {
    if let Some(current) = review.current() {
        let _ = writeln!(
            out,
            "Advisory: revision {} of {} is current (event {}); credit: {}",
            current.number,
            review.revisions.len(),
            current.seq,
            credit_words(review.credit())
        );
    }
}

/// One advisory event of the thread; `false` if `event` is not one.
pub fn print_event(
    out: &mut String,
    review: &Review,
    opened: &OpenedEvent,
    event: &Event,
    when: &str,
) -> bool {
    let seq = opened.seq;
    let number = |revision: u32| match review.revision(revision) {
        Some(r) => format!("revision {}", r.number),
        None => format!("event {revision} (not a revision that counts)"),
    };
    match &event.body {
        EventBody::Advisory(a) => {
            let what = match review.revision(seq) {
                Some(r) => format!("Advisory revision {} by", r.number),
                None => "Advisory revision by".to_string(),
            };
            let _ = writeln!(
                out,
                "\n## [{seq}] {}, {when}",
                team_heading(&what, &a.author, opened)
            );
            if !opened.verified() {
                let _ = writeln!(
                    out,
                    "(an unverified revision: never current, never exported)"
                );
            }
            print_advisory(out, a);
        }
        EventBody::AdvisoryComment(c) => {
            let _ = writeln!(
                out,
                "\n## [{seq}] The reporter comments on advisory {}, {when}\n{}",
                number(c.revision),
                terminal_safe(&c.text)
            );
        }
        EventBody::CreditDecision(d) => {
            let verb = match d.decision {
                Decision::Accept => "accepts",
                Decision::Decline => "declines",
                Decision::Change => "asks for other words for",
            };
            let _ = writeln!(
                out,
                "\n## [{seq}] The reporter {verb} the credit offered in advisory {}, {when}",
                number(d.revision)
            );
            for credit in &d.credits {
                let _ = writeln!(out, "  - {}", one_line(&credit.describe()));
            }
            if let Some((_, why)) = review.ignored.iter().find(|(s, _)| *s == seq) {
                let _ = writeln!(out, "(does not count: {why})");
            }
            if !d.note.is_empty() {
                let _ = writeln!(out, "{}", terminal_safe(&d.note));
            }
        }
        _ => return false,
    }
    true
}

fn print_advisory(out: &mut String, a: &Advisory) {
    let _ = writeln!(out, "Title: {}", one_line(&a.title));
    for p in &a.affected {
        let mut line = one_line(&p.product);
        if !p.ecosystem.is_empty() {
            line.push_str(&format!(" ({})", one_line(&p.ecosystem)));
        }
        if !p.versions.is_empty() {
            line.push_str(&format!(" versions {}", one_line(&p.versions.join(", "))));
        }
        if !p.introduced.is_empty() {
            line.push_str(&format!("; introduced in {}", one_line(&p.introduced)));
        }
        if !p.fixed.is_empty() {
            line.push_str(&format!("; fixed in {}", one_line(&p.fixed)));
        }
        let _ = writeln!(out, "Affected: {line}");
    }
    for (label, value) in [
        ("Weakness", a.weakness.clone()),
        ("Severity", describe_severity(&a.severity)),
        ("Aliases", a.aliases.join(", ")),
        ("References", a.references.join(" ")),
    ] {
        if !value.is_empty() {
            let _ = writeln!(out, "{label}: {}", one_line(&value));
        }
    }
    for (label, value) in [
        ("Description", &a.description),
        ("Impact", &a.impact),
        ("Workarounds", &a.workarounds),
        ("Fix", &a.fix),
    ] {
        if !value.is_empty() {
            let _ = writeln!(out, "{label}:\n{}", terminal_safe(value));
        }
    }
    if !a.credits.is_empty() {
        let _ = writeln!(out, "Credits:");
    }
    for credit in &a.credits {
        let mark = if credit.reporter {
            " [the reporter's]"
        } else {
            ""
        };
        let _ = writeln!(out, "  - {}{mark}", one_line(&credit.describe()));
    }
}
