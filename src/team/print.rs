//! Text output of threads for a terminal. Everything a reporter, a server or a bundle
//! wrote passes through [`terminal_safe`], so a report cannot move the cursor, recolour
//! or rewrite the member's terminal.

use std::fmt::Write;

use crate::report::{EventBody, Progress, Promises, countdown, human_size, human_time};

use super::{EventState, ListItem, OpenedEvent, Thread};
use crate::text::{one_line, terminal_safe};

fn time_or_dash(at: Option<i64>) -> String {
    at.map(human_time).unwrap_or_else(|| "-".into())
}

/// A table of reports, one a line.
pub fn print_list(items: &[ListItem]) -> zeroize::Zeroizing<String> {
    let mut out = zeroize::Zeroizing::new(String::new());
    let _ = writeln!(
        out,
        "{:<16}  {:<16}  {:<16}  {:<26}  {:>4}  {:<33}  {:>5}  TITLE",
        "ID", "RECEIVED (UTC)", "LAST ACTIVITY", "STATUS", "NEW", "NEXT DEADLINE (UTC)", "FILES"
    );
    for item in items {
        let next = match item.next {
            Some(d) => format!(
                "{} {}{}",
                d.promise.as_str(),
                short_time(d.due),
                if d.overdue { " OVERDUE" } else { "" }
            ),
            None => "-".into(),
        };
        let status = match (item.status, item.reason) {
            (_, Some(reason)) => format!("closed/{}", reason.as_str()),
            (Some(status), None) => status.as_str().to_string(),
            (None, None) => "unknown".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<16}  {:<16}  {:<16}  {:<26}  {:>4}  {:<33}  {:>5}  {}",
            item.id.to_string(),
            item.received.map(short_time).unwrap_or_else(|| "-".into()),
            item.last_activity
                .map(short_time)
                .unwrap_or_else(|| "-".into()),
            status,
            item.unread,
            next,
            item.attachments,
            title_with_marks(item),
        );
    }
    if items.is_empty() {
        out.push_str("(no reports)\n");
    }
    out
}

/// The title, with a note of events that could not be read.
fn title_with_marks(item: &ListItem) -> String {
    match item.unreadable {
        0 => one_line(&item.title),
        n => format!("{}  [{n} unreadable]", one_line(&item.title)),
    }
}

fn short_time(at: i64) -> String {
    human_time(at).trim_end_matches(" UTC").to_string()
}

/// The deadlines the programme's promises give the report, and the embargo.
fn print_promises(out: &mut String, t: &Thread, progress: &Progress, promises: &Promises) {
    let now = crate::report::now();
    let end = progress.embargo_end(promises);
    let whose = if progress.disclosure.is_some() {
        "set by the team"
    } else {
        "the programme's default embargo"
    };
    if progress.open {
        // Past instants say so without a count, so that the text is the same tomorrow.
        let when = if end > now {
            countdown(end, now)
        } else {
            "passed".to_string()
        };
        let _ = writeln!(out, "Disclose: {} ({when}; {whose})", human_time(end));
    }
    if let Some((_, proposed)) = t.proposal().filter(|_| progress.open) {
        let _ = writeln!(out, "Reporter proposes: {}", human_time(proposed));
    }
    for d in progress.deadlines(promises) {
        let state = match d.met {
            Some(at) => format!("kept {}", human_time(at)),
            None if d.overdue(now) => format!("OVERDUE since {}", human_time(d.due)),
            None => format!("due {} ({})", human_time(d.due), countdown(d.due, now)),
        };
        let _ = writeln!(out, "  {:<18} {state}", d.promise.describe());
    }
}

/// "Reply from Alice", or, for words no pinned member verifiably wrote,
/// "Reply claimed to be from Alice, UNVERIFIED (why)".
pub(super) fn team_heading(what: &str, claimed: &str, opened: &OpenedEvent) -> String {
    match &opened.signer {
        Some(name) => format!("{what} {}", one_line(name)),
        None => format!(
            "{what} {} — UNVERIFIED ({})",
            one_line(claimed),
            one_line(&opened.verification)
        ),
    }
}

/// The whole thread as text; the promises' deadlines when the source knows them.
pub fn print_thread(t: &Thread, promises: Option<&Promises>) -> zeroize::Zeroizing<String> {
    let mut out = zeroize::Zeroizing::new(String::new());
    let _ = writeln!(out, "Report {}", t.id);
    let _ = writeln!(out, "Title:    {}", one_line(t.title()));
    let progress = t.progress();
    let status = match progress.and_then(|p| p.reason) {
        Some(reason) => format!("closed ({})", reason.as_str()),
        None => t.status().as_str().to_string(),
    };
    let _ = writeln!(out, "Status:   {status}");
    let _ = writeln!(out, "Received: {}", time_or_dash(t.received()));
    if let (Some(progress), Some(promises)) = (progress, promises) {
        print_promises(&mut out, t, &progress, promises);
    }
    if let Some(question) = t.question() {
        let _ = writeln!(out, "Asked the reporter: {}", one_line(question));
    }
    let review = t.review();
    super::advisory::print_summary(&mut out, &review);
    for opened in &t.events {
        let Some(event) = &opened.event else {
            let what = match opened.state {
                EventState::Unreadable => {
                    "(unreadable event: it opens, but is not one this agedrop can read)"
                }
                _ => "(not sealed to this identity)",
            };
            let _ = writeln!(out, "\n## [{}] {what}", opened.seq);
            continue;
        };
        // An event sealed before the member joined, opened with a colleague's grant.
        let when = match &opened.granted_by {
            Some(granter) => format!(
                "{} (key granted by {})",
                human_time(event.at),
                one_line(granter)
            ),
            None => human_time(event.at),
        };
        // A reporter's event someone signed (a member re-sharing it) says who.
        let signed = match &opened.signer {
            Some(name) => format!(" (signed by {})", one_line(name)),
            None => String::new(),
        };
        if super::advisory::print_event(&mut out, &review, opened, event, &when) {
            continue;
        }
        match &event.body {
            EventBody::Submitted(s) => {
                let _ = writeln!(
                    out,
                    "\n## [{}] Report submitted, {when}{signed}",
                    opened.seq
                );
                for (label, value) in s.fields() {
                    if !value.is_empty() {
                        let _ = writeln!(out, "\n{label}:\n{}", terminal_safe(value));
                    }
                }
                let _ = writeln!(out, "\nCredit: {}", one_line(&s.credit.describe()));
            }
            EventBody::Attachment(a) => {
                let _ = writeln!(
                    out,
                    "\n## [{}] Attachment, {when}{signed}\n{}  ({}, {})\nsha256 {}  id {}",
                    opened.seq,
                    one_line(&a.name),
                    human_size(a.size),
                    one_line(&a.media_type),
                    one_line(&a.sha256),
                    one_line(&a.blob)
                );
            }
            EventBody::Message(m) => {
                let _ = writeln!(
                    out,
                    "\n## [{}] Message from the reporter, {when}{signed}\n{}",
                    opened.seq,
                    terminal_safe(&m.text)
                );
            }
            EventBody::Reply(m) => {
                let _ = writeln!(
                    out,
                    "\n## [{}] {}, {when}\n{}",
                    opened.seq,
                    team_heading("Reply from", &m.author, opened),
                    terminal_safe(&m.text)
                );
            }
            EventBody::Status(s) => {
                let status = match s.reason {
                    Some(reason) => format!("closed ({})", reason.as_str()),
                    None => s.status.as_str().to_string(),
                };
                let _ = writeln!(
                    out,
                    "\n## [{}] Status set to {status} by {}, {when}",
                    opened.seq,
                    team_heading("", &s.author, opened).trim_start()
                );
                if !opened.verified() {
                    let _ = writeln!(out, "(an unverified change: the status above ignores it)");
                }
                if let Some(at) = s.disclosure {
                    let _ = writeln!(
                        out,
                        "Planned disclosure: {}",
                        human_time(at.unix_timestamp())
                    );
                }
                if !s.advisory.is_empty() {
                    let _ = writeln!(out, "Public advisory: {}", one_line(&s.advisory));
                }
                if !s.note.is_empty() {
                    let _ = writeln!(out, "{}", terminal_safe(&s.note));
                }
            }
            EventBody::Proposal(p) => {
                let _ = writeln!(
                    out,
                    "\n## [{}] The reporter proposes public disclosure on {}, {when}{signed}",
                    opened.seq,
                    human_time(p.disclosure.unix_timestamp())
                );
                if !p.note.is_empty() {
                    let _ = writeln!(out, "{}", terminal_safe(&p.note));
                }
            }
            EventBody::Note(m) => {
                let _ = writeln!(
                    out,
                    "\n## [{}] Internal note by {} (team only), {when}\n{}",
                    opened.seq,
                    team_heading("", &m.author, opened).trim_start(),
                    terminal_safe(&m.text)
                );
            }
            EventBody::Grant(g) => {
                let blobs = match g.blobs.len() {
                    0 => String::new(),
                    1 => " and 1 attachment".into(),
                    n => format!(" and {n} attachments"),
                };
                let _ = writeln!(
                    out,
                    "\n## [{}] Keys granted by {} (team only), {when}\n{} ({}) may now read \
                     {} earlier event(s){blobs}; the keys are sealed to them alone.",
                    opened.seq,
                    team_heading("", &g.author, opened).trim_start(),
                    one_line(&g.name),
                    one_line(&g.to),
                    g.events.len()
                );
            }
            // Printed above.
            EventBody::Advisory(_)
            | EventBody::AdvisoryComment(_)
            | EventBody::CreditDecision(_) => {}
        }
    }
    out
}
