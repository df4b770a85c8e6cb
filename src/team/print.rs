//! Text output of threads for a terminal. Everything a reporter wrote passes through
//! [`terminal_safe`], so a report cannot move the cursor, recolour or rewrite the
//! member's terminal.

use std::fmt::Write;

use crate::report::{EventBody, human_size, human_time};

use super::{ListItem, Thread};

/// Replaces control characters (other than newline and tab) and text-direction
/// overrides with visible escapes.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let hidden = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}');
        if hidden {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn one_line(text: &str) -> String {
    terminal_safe(text).replace(['\n', '\t'], " ")
}

fn time_or_dash(at: Option<i64>) -> String {
    at.map(human_time).unwrap_or_else(|| "-".into())
}

/// A table of reports, one a line.
pub fn print_list(items: &[ListItem]) -> String {
    let mut out = String::new();
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
            one_line(&item.id),
            item.received.map(short_time).unwrap_or_else(|| "-".into()),
            item.last_activity
                .map(short_time)
                .unwrap_or_else(|| "-".into()),
            item.status,
            item.unread,
            ack,
            item.attachments,
            one_line(&item.title),
        );
    }
    if items.is_empty() {
        out.push_str("(no reports)\n");
    }
    out
}

fn short_time(at: i64) -> String {
    human_time(at).trim_end_matches(" UTC").to_string()
}

/// The whole thread as text.
pub fn print_thread(t: &Thread) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Report {}", one_line(&t.id));
    let _ = writeln!(out, "Title:    {}", one_line(t.title()));
    let _ = writeln!(out, "Status:   {}", t.status().as_str());
    let _ = writeln!(out, "Received: {}", time_or_dash(t.received()));
    for opened in &t.events {
        let Some(event) = &opened.event else {
            let _ = writeln!(out, "\n## [{}] (not sealed to this identity)", opened.seq);
            continue;
        };
        let when = human_time(event.at);
        match &event.body {
            EventBody::Submitted(s) => {
                let _ = writeln!(out, "\n## [{}] Report submitted, {when}", opened.seq);
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
                    "\n## [{}] Attachment, {when}\n{}  ({}, {})\nsha256 {}  id {}",
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
                    "\n## [{}] Message from the reporter, {when}\n{}",
                    opened.seq,
                    terminal_safe(&m.text)
                );
            }
            EventBody::Reply(m) => {
                let _ = writeln!(
                    out,
                    "\n## [{}] Reply from {}, {when}\n{}",
                    opened.seq,
                    one_line(&m.author),
                    terminal_safe(&m.text)
                );
            }
            EventBody::Status(s) => {
                let _ = writeln!(
                    out,
                    "\n## [{}] Status set to {} by {}, {when}",
                    opened.seq,
                    s.status.as_str(),
                    one_line(&s.author)
                );
                if !s.disclosure.is_empty() {
                    let _ = writeln!(out, "Disclosure date: {}", one_line(&s.disclosure));
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
                    one_line(&m.author),
                    terminal_safe(&m.text)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(terminal_safe("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(terminal_safe("x\u{202E}y\nz"), "x\\u{202e}y\nz");
    }
}
