//! The reporter's thread: `GET /thread` shows the status, what the programme promised
//! and what has happened (the deadlines, the agreed disclosure instant), the team's
//! question when it has one, the advisory draft to review (`advisory.rs`), and every
//! event the reporter can open, oldest first. The forms on it post to `follow_up.rs`.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::check::again;
use super::session::ActiveSession;
use super::{AppState, PageError, Site, pages::render};
use crate::crypto;
use crate::report::{
    Deadline, Event, EventBody, Opened, Progress, Promise, Review, Status, countdown, human_size,
    human_time, now,
};

/// Text on the page: borrowed from an opened event, or made from one (and then wiped
/// when the page is dropped), so that the reporter's words are never copied into an
/// ordinary `String` on their way to the template.
pub(super) enum Words<'e> {
    Of(&'e str),
    Made(Zeroizing<String>),
}

impl Words<'_> {
    pub(super) fn made(text: String) -> Self {
        Words::Made(Zeroizing::new(text))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }

    fn as_str(&self) -> &str {
        match self {
            Words::Of(text) => text,
            Words::Made(text) => text,
        }
    }
}

impl std::fmt::Display for Words<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the timeline as shown.
pub(super) struct Entry<'e> {
    pub class: &'static str,
    pub heading: String,
    pub when: String,
    pub fields: Vec<(&'static str, Words<'e>)>,
    pub text: Words<'e>,
}

/// One promise on the page: what, and how it stands.
struct Kept {
    what: &'static str,
    state: String,
    class: &'static str,
}

#[derive(Template)]
#[template(path = "thread.html")]
struct ThreadPage<'a> {
    site: &'a Site,
    title: &'a str,
    status: &'static str,
    status_text: &'static str,
    reason_text: &'static str,
    advisory: Words<'a>,
    question: Words<'a>,
    received: String,
    /// The agreed disclosure instant, in words, and how far off it is.
    disclosure: String,
    disclosure_countdown: String,
    disclosure_whose: &'static str,
    proposal: String,
    promises: Vec<Kept>,
    /// The current advisory draft to review, if the team posted one.
    draft: Option<super::advisory::Draft<'a>>,
    open: bool,
    entries: Vec<Entry<'a>>,
    csrf: String,
    notice: Option<&'static str>,
    session_minutes: u64,
}

#[derive(Deserialize)]
pub(super) struct ThreadQuery {
    sent: Option<String>,
}

pub(super) const ENDED: &str = "Your session has ended (you logged out, or it was left idle or open \
                     too long). Enter your receipt code to open your report again.";

pub(super) async fn show(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Query<ThreadQuery>,
) -> Result<Response, PageError> {
    let Some(session) = state.sessions.get(&headers) else {
        return again(&state, StatusCode::UNAUTHORIZED, ENDED);
    };
    let notice = query
        .sent
        .is_some()
        .then_some("Sent. Your message is encrypted and stored with your report.");
    let events = open_events(&state, &session)?;
    Ok(render(&thread_page(&state, &session, &events, notice))?.into_response())
}

/// Every event the session's key can open, in order, with its position (internal team
/// notes are sealed to the team only and never open here); `None` for one that opened but
/// cannot be read. The events wipe their text when dropped.
fn open_events(
    state: &AppState,
    session: &ActiveSession,
) -> Result<Vec<(u32, Option<Event>)>, PageError> {
    let sealed = state
        .store
        .events(session.report)
        .map_err(|e| state.storage_error(e))?;
    Ok(sealed
        .into_iter()
        .filter_map(|(seq, sealed)| {
            let plain = crypto::open_as_reporter(&session.key, &sealed).ok()?;
            // Team events come in a signed envelope; either way only the event is shown.
            Some((seq, Opened::decode(&plain).ok().map(|o| o.event)))
        })
        .collect())
}

/// Lays out the page over the opened events, borrowing their text.
fn thread_page<'a>(
    state: &'a AppState,
    session: &ActiveSession,
    events: &'a [(u32, Option<Event>)],
    notice: Option<&'static str>,
) -> ThreadPage<'a> {
    // The reporter cannot check members' signatures: every advisory revision counts, and
    // every answer is the reporter's own.
    let review = Review::of(events.iter().filter_map(|(seq, e)| {
        let e = e.as_ref()?;
        Some((
            *seq,
            e.at,
            &e.body,
            matches!(e.body, EventBody::Advisory(_)),
        ))
    }));
    let mut title = "";
    let mut received = 0;
    let mut question = Words::Of("");
    let mut advisory = Words::Of("");
    let mut proposal = String::new();
    let mut entries = Vec::new();
    for (_, event) in events {
        // One event that cannot be read (damaged, or written by a newer agedrop) is
        // shown as such, and the rest of the thread still works.
        let Some(event) = event else {
            entries.push(Entry {
                class: "unreadable",
                heading: "An entry that could not be read".into(),
                when: String::new(),
                fields: Vec::new(),
                text: Words::Of(
                    "This entry of your report's thread is damaged or in a format this \
                     site does not know. The rest of the thread is shown as usual.",
                ),
            });
            continue;
        };
        let when = human_time(event.at);
        let entry = match &event.body {
            EventBody::Submitted(s) => {
                title = &s.title;
                received = event.at;
                let mut fields: Vec<(&'static str, Words)> = s
                    .fields()
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k, Words::Of(v)))
                    .collect();
                fields.push(("Credit", Words::made(s.credit.describe())));
                Entry {
                    class: "reporter",
                    heading: "You sent the report".into(),
                    when,
                    fields,
                    text: Words::Of(""),
                }
            }
            EventBody::Attachment(a) => Entry {
                class: "reporter",
                heading: "You attached a file".into(),
                when,
                fields: Vec::new(),
                text: Words::made(format!("{} ({})", a.name, human_size(a.size))),
            },
            EventBody::Message(m) => Entry {
                class: "reporter",
                heading: "You wrote".into(),
                when,
                fields: Vec::new(),
                text: Words::Of(&m.text),
            },
            EventBody::Reply(m) => Entry {
                class: "team",
                heading: format!("{} replied", team_author(&m.author)),
                when,
                fields: Vec::new(),
                text: Words::Of(&m.text),
            },
            EventBody::Status(change) => {
                let mut fields = Vec::new();
                if let Some(at) = change.disclosure {
                    fields.push((
                        "Planned disclosure",
                        Words::made(human_time(at.unix_timestamp())),
                    ));
                }
                if let Some(reason) = change.reason {
                    fields.push(("Reason", Words::Of(reason.explain())));
                }
                if !change.advisory.is_empty() {
                    fields.push(("Public advisory", Words::Of(&change.advisory)));
                }
                // The latest change's question and advisory are the current ones.
                question = Words::Of(if change.status == Status::NeedsMoreInformation {
                    &change.note
                } else {
                    ""
                });
                advisory = Words::Of(&change.advisory);
                Entry {
                    class: "team status-change",
                    heading: format!(
                        "{} set the status to “{}”",
                        team_author(&change.author),
                        change.status.label()
                    ),
                    when,
                    fields,
                    text: Words::Of(&change.note),
                }
            }
            EventBody::Proposal(p) => {
                proposal = human_time(p.disclosure.unix_timestamp());
                Entry {
                    class: "reporter",
                    heading: format!(
                        "You proposed public disclosure on {}",
                        human_time(p.disclosure.unix_timestamp())
                    ),
                    when,
                    fields: Vec::new(),
                    text: Words::Of(&p.note),
                }
            }
            // Sealed to the team only; a reporter key never opens one.
            EventBody::Note(_) | EventBody::Grant(_) => continue,
            body => match super::advisory::entry(body, when, &review) {
                Some(entry) => entry,
                None => continue,
            },
        };
        entries.push(entry);
    }
    // The reporter cannot check members' signatures (the server could forge a team
    // event anyway, and the desk would show it as unverified): every team event counts.
    let progress = Progress::of(
        events
            .iter()
            .filter_map(|(_, e)| e.as_ref())
            .map(|e| (e.at, &e.body, true)),
    )
    .unwrap_or(Progress {
        received,
        open: true,
        ..Progress::default()
    });
    let promises = &state.site.promises;
    let now = now();
    let end = progress.embargo_end(promises);
    if progress.status != Status::NeedsMoreInformation {
        question = Words::Of("");
    }
    ThreadPage {
        site: &state.site,
        title,
        status: progress.status.label(),
        status_text: progress.status.explain(),
        reason_text: progress.reason.map_or("", |r| r.explain()),
        advisory,
        question,
        received: human_time(received),
        disclosure: human_time(end),
        disclosure_countdown: countdown(end, now),
        disclosure_whose: if progress.disclosure.is_some() {
            "set by the team"
        } else {
            "the programme's default embargo; you can propose another date below"
        },
        proposal,
        promises: progress
            .deadlines(promises)
            .into_iter()
            .filter(|d| d.promise != Promise::Disclose)
            .map(|d| kept(d, now))
            .collect(),
        open: progress.open,
        draft: super::advisory::draft(&review),
        entries,
        csrf: session.csrf(),
        notice,
        session_minutes: state.limits.session_idle_seconds.duration().as_secs() / 60,
    }
}

/// How one promise stands, in words for the reporter.
fn kept(d: Deadline, now: i64) -> Kept {
    let what = match d.promise {
        Promise::Acknowledge => "Confirmation that your report arrived",
        Promise::Assess => "A first assessment",
        Promise::Update => "The next update",
        Promise::Disclose => "Public disclosure",
    };
    let (state, class) = match d.met {
        Some(at) => (format!("done, {}", human_time(at)), "kept"),
        None if d.overdue(now) => (
            format!("was due {} ({})", human_time(d.due), countdown(d.due, now)),
            "late",
        ),
        None => (
            format!("due by {} ({})", human_time(d.due), countdown(d.due, now)),
            "due",
        ),
    };
    Kept { what, state, class }
}

fn team_author(author: &str) -> String {
    if author.is_empty() {
        "The security team".into()
    } else {
        format!("{author} (security team)")
    }
}
