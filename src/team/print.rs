//! Text output of threads for a terminal. Everything a reporter, a server or a bundle
//! wrote passes through [`terminal_safe`], so a report cannot move the cursor, recolour
//! or rewrite the member's terminal.

use std::fmt::Write;

use crate::report::{DAY, EventBody, Status, human_size, human_time};

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
        "{:<16}  {:<16}  {:<16}  {:<14}  {:>4}  {:<30}  {:>5}  TITLE",
        "ID", "RECEIVED (UTC)", "LAST ACTIVITY", "STATUS", "NEW", "ACKNOWLEDGE BY", "FILES"
    );
    for item in items {
        let ack = match item.acknowledge_by {
            Some(at) if item.overdue => format!("OVERDUE since {}", short_time(at)),
            Some(at) => short_time(at),
            None => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:<16}  {:<16}  {:<16}  {:<14}  {:>4}  {:<30}  {:>5}  {}",
            item.id.to_string(),
            item.received.map(short_time).unwrap_or_else(|| "-".into()),
            item.last_activity
                .map(short_time)
                .unwrap_or_else(|| "-".into()),
            item.status.map_or("unknown", Status::as_str),
            item.unread,
            ack,
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

/// "Reply from Alice", or, for words no pinned member verifiably wrote,
/// "Reply claimed to be from Alice, UNVERIFIED (why)".
fn team_heading(what: &str, claimed: &str, opened: &OpenedEvent) -> String {
    match &opened.signer {
        Some(name) => format!("{what} {}", one_line(name)),
        None => format!(
            "{what} {} — UNVERIFIED ({})",
            one_line(claimed),
            one_line(&opened.verification)
        ),
    }
}

/// The whole thread as text.
pub fn print_thread(t: &Thread) -> zeroize::Zeroizing<String> {
    let mut out = zeroize::Zeroizing::new(String::new());
    let _ = writeln!(out, "Report {}", t.id);
    let _ = writeln!(out, "Title:    {}", one_line(t.title()));
    let _ = writeln!(out, "Status:   {}", t.status().as_str());
    let _ = writeln!(out, "Received: {}", time_or_dash(t.received()));
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
                let _ = writeln!(
                    out,
                    "\n## [{}] Status set to {} by {}, {when}",
                    opened.seq,
                    s.status.as_str(),
                    team_heading("", &s.author, opened).trim_start()
                );
                if !opened.verified() {
                    let _ = writeln!(out, "(an unverified change: the status above ignores it)");
                }
                if let Some(day) = s.disclosure.and_then(|d| d.format(DAY).ok()) {
                    let _ = writeln!(out, "Disclosure date: {day}");
                }
                if !s.note.is_empty() {
                    let _ = writeln!(out, "{}", terminal_safe(&s.note));
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
        }
    }
    out
}
