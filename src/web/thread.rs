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

use super::check::again;
use super::session::ActiveSession;
use super::upload::{self, FileBudget, internal};
use super::{AppState, PageError, Site, pages::render};
use crate::crypto;
use crate::report::{Event, EventBody, Opened, Status, Text, human_size, human_time, now};
use crate::store::NewEvent;

/// One entry of the timeline as shown.
struct Entry {
    class: &'static str,
    heading: String,
    when: String,
    fields: Vec<(&'static str, String)>,
    text: String,
}

#[derive(Template)]
#[template(path = "thread.html")]
struct ThreadPage<'a> {
    site: &'a Site,
    title: String,
    status: &'static str,
    status_text: &'static str,
    received: String,
    disclosure: String,
    awaiting_acknowledgement: bool,
    entries: Vec<Entry>,
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
    Ok(render(&thread_page(&state, &session, notice)?)?.into_response())
}

/// Opens every event the session's key can open (internal team notes are sealed to the
/// team only and are skipped) and lays out the page.
fn thread_page<'a>(
    state: &'a AppState,
    session: &ActiveSession,
    notice: Option<&'static str>,
) -> Result<ThreadPage<'a>, PageError> {
    let mut title = String::new();
    let mut received = 0;
    let mut status = Status::Received;
    let mut disclosure = String::new();
    let mut entries = Vec::new();
    let sealed = state
        .store
        .events(session.report)
        .map_err(|e| state.storage_error(e))?;
    for (_, sealed) in sealed {
        let Ok(plain) = crypto::open_as_reporter(&session.key, &sealed) else {
            continue;
        };
        // Team events come in a signed envelope; either way only the event is shown.
        // One event that cannot be read (damaged, or written by a newer agedrop) is
        // shown as such, and the rest of the thread still works.
        let Ok(Opened { event, .. }) = Opened::decode(&plain) else {
            entries.push(Entry {
                class: "unreadable",
                heading: "An entry that could not be read".into(),
                when: String::new(),
                fields: Vec::new(),
                text: "This entry of your report's thread is damaged or in a format this \
                       site does not know. The rest of the thread is shown as usual."
                    .into(),
            });
            continue;
        };
        let when = human_time(event.at);
        let entry = match &event.body {
            EventBody::Submitted(s) => {
                title = s.title.clone();
                received = event.at;
                let mut fields: Vec<(&'static str, String)> = s
                    .fields()
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k, v.to_string()))
                    .collect();
                fields.push(("Credit", s.credit.describe()));
                Entry {
                    class: "reporter",
                    heading: "You sent the report".into(),
                    when,
                    fields,
                    text: String::new(),
                }
            }
            EventBody::Attachment(a) => Entry {
                class: "reporter",
                heading: "You attached a file".into(),
                when,
                fields: Vec::new(),
                text: format!("{} ({})", a.name, human_size(a.size)),
            },
            EventBody::Message(m) => Entry {
                class: "reporter",
                heading: "You wrote".into(),
                when,
                fields: Vec::new(),
                text: m.text.clone(),
            },
            EventBody::Reply(m) => Entry {
                class: "team",
                heading: format!("{} replied", team_author(&m.author)),
                when,
                fields: Vec::new(),
                text: m.text.clone(),
            },
            EventBody::Status(change) => {
                status = change.status;
                if !change.disclosure.is_empty() {
                    disclosure = change.disclosure.clone();
                }
                let mut fields = Vec::new();
                if !change.disclosure.is_empty() {
                    fields.push(("Planned disclosure", change.disclosure.clone()));
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
                    text: change.note.clone(),
                }
            }
            // Sealed to the team only; a reporter key never opens one.
            EventBody::Note(_) | EventBody::Grant(_) => continue,
        };
        entries.push(entry);
    }
    Ok(ThreadPage {
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
    })
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
                .map_err(internal)?,
            blob: None,
        });
    }
    events.extend(upload::attachment_events(&keys, &recipient, at, files)?);
    Ok(events)
}
