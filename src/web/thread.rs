//! The reporter's thread: `GET /thread` shows the status and every event the reporter
//! can open, oldest first; `POST /thread` adds a message and files, sealed to the team
//! and the reporter.

use std::sync::Arc;

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::check::again;
use super::session::ActiveSession;
use super::upload::{self, FileBudget};
use super::{AppState, PageError, Site, pages::render};
use crate::crypto;
use crate::report::{DAY, Event, EventBody, Opened, Status, Text, human_size, human_time, now};
use crate::store::NewEvent;

/// Text on the page: borrowed from an opened event, or made from one (and then wiped
/// when the page is dropped), so that the reporter's words are never copied into an
/// ordinary `String` on their way to the template.
enum Words<'e> {
    Of(&'e str),
    Made(Zeroizing<String>),
}

impl Words<'_> {
    fn made(text: String) -> Self {
        Words::Made(Zeroizing::new(text))
    }

    fn is_empty(&self) -> bool {
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
struct Entry<'e> {
    class: &'static str,
    heading: String,
    when: String,
    fields: Vec<(&'static str, Words<'e>)>,
    text: Words<'e>,
}

#[derive(Template)]
#[template(path = "thread.html")]
struct ThreadPage<'a> {
    site: &'a Site,
    title: &'a str,
    status: &'static str,
    status_text: &'static str,
    received: String,
    disclosure: Words<'a>,
    awaiting_acknowledgement: bool,
    entries: Vec<Entry<'a>>,
    csrf: String,
    notice: Option<&'static str>,
    session_minutes: u64,
}

#[derive(Deserialize)]
pub(super) struct ThreadQuery {
    sent: Option<String>,
}

const ENDED: &str = "Your session has ended (you logged out, or it was left idle or open \
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

/// Every event the session's key can open, in order (internal team notes are sealed to
/// the team only and never open here); `None` for one that opened but cannot be read.
/// The events wipe their text when dropped.
fn open_events(state: &AppState, session: &ActiveSession) -> Result<Vec<Option<Event>>, PageError> {
    let sealed = state
        .store
        .events(session.report)
        .map_err(|e| state.storage_error(e))?;
    Ok(sealed
        .into_iter()
        .filter_map(|(_, sealed)| crypto::open_as_reporter(&session.key, &sealed).ok())
        // Team events come in a signed envelope; either way only the event is shown.
        .map(|plain| Opened::decode(&plain).ok().map(|o| o.event))
        .collect())
}

/// Lays out the page over the opened events, borrowing their text.
fn thread_page<'a>(
    state: &'a AppState,
    session: &ActiveSession,
    events: &'a [Option<Event>],
    notice: Option<&'static str>,
) -> ThreadPage<'a> {
    let mut title = "";
    let mut received = 0;
    let mut status = Status::Received;
    let mut disclosure = Words::Of("");
    let mut entries = Vec::new();
    for event in events {
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
                status = change.status;
                let mut fields = Vec::new();
                if let Some(day) = change.disclosure.and_then(|d| d.format(DAY).ok()) {
                    disclosure = Words::made(day.clone());
                    fields.push(("Planned disclosure", Words::made(day)));
                }
                Entry {
                    class: "team status-change",
                    heading: format!(
                        "{} set the status to “{}”",
                        team_author(&change.author),
                        change.status.as_str()
                    ),
                    when,
                    fields,
                    text: Words::Of(&change.note),
                }
            }
            // Sealed to the team only; a reporter key never opens one.
            EventBody::Note(_) | EventBody::Grant(_) => continue,
        };
        entries.push(entry);
    }
    ThreadPage {
        site: &state.site,
        title,
        status: status.as_str(),
        status_text: status.explain(),
        received: human_time(received),
        disclosure,
        awaiting_acknowledgement: status == Status::Received,
        entries,
        csrf: session.csrf(),
        notice,
        session_minutes: state.limits.session_idle_seconds.duration().as_secs() / 60,
    }
}

fn team_author(author: &str) -> String {
    if author.is_empty() {
        "The security team".into()
    } else {
        format!("{author} (security team)")
    }
}

pub(super) async fn follow_up(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let Some(session) = state.sessions.get(&headers) else {
        return again(&state, StatusCode::UNAUTHORIZED, ENDED);
    };
    let mut multipart = multipart.map_err(|_| {
        PageError::BadInput("The form did not arrive as a file upload form.".into())
    })?;
    // As for new reports: refuse early when the limit is reached, take the token only
    // for a follow-up that arrived whole. Each report has a bucket of its own, so one
    // reporter's follow-ups never hold up another's, nor new reports.
    let result = match state.follow_ups.peek(&session.report) {
        Ok(()) => read_follow_up(&state, &session, &mut multipart).await,
        Err(e) => Err(e),
    };
    let events = match result {
        Ok(events) => events,
        Err(e) => {
            upload::drain(&mut multipart).await;
            return Err(e);
        }
    };
    state.follow_ups.check(&session.report)?;
    state
        .store
        .append(session.report, events)
        .await
        .map_err(|e| state.storage_error(e))?;
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/thread?sent=1")],
    )
        .into_response())
}

/// Reads the follow-up form: the CSRF token first (nothing is read or stored without
/// it), then a message and files.
async fn read_follow_up(
    state: &AppState,
    session: &ActiveSession,
    multipart: &mut Multipart,
) -> Result<Vec<NewEvent>, PageError> {
    let Some(mut first) = multipart.next_field().await.map_err(upload::broken)? else {
        return Err(PageError::Forbidden);
    };
    if first.name() != Some("csrf") {
        return Err(PageError::Forbidden);
    }
    let token = upload::read_text(&mut first, "csrf", 128).await?;
    if !session.csrf_matches(&token) {
        return Err(PageError::Forbidden);
    }
    drop(first);
    upload::check_space(state, 0)?;

    let recipient = session.key.recipient();
    let mut message = None;
    let mut files = Vec::new();
    let mut budget = FileBudget::default();
    while let Some(mut field) = multipart.next_field().await.map_err(upload::broken)? {
        match field.name() {
            Some("files") => {
                if let Some(file) = upload::read_file(state, &mut field, &mut budget).await? {
                    files.push(file);
                }
            }
            Some("message") if message.is_none() => {
                let text = upload::read_long_text(
                    &mut field,
                    "Message to the team",
                    state.limits.max_text_kib.bytes(),
                )
                .await?;
                message = Some(text);
            }
            _ => {
                return Err(PageError::BadInput(
                    "The form sent a field this site does not expect.".into(),
                ));
            }
        }
    }
    let message = message.filter(|m| !m.trim().is_empty());
    if message.is_none() && files.is_empty() {
        return Err(PageError::BadInput(
            "Write a message or choose a file to send.".into(),
        ));
    }
    let at = now();
    // The keys file as it is now: a member removed during a long upload gets nothing.
    let keys = state.keys();
    let mut events = Vec::new();
    if let Some(text) = message {
        let event = Event::new(
            at,
            EventBody::Message(Text {
                author: String::new(),
                text: text.to_string(),
            }),
        );
        events.push(NewEvent {
            sealed: keys
                .seal(Some(&recipient), &event.encode())
                .map_err(PageError::internal)?,
            blob: None,
        });
    }
    events.extend(upload::attachment_events(&keys, &recipient, at, files)?);
    Ok(events)
}
