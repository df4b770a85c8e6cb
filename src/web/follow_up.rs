//! `POST /thread`: the reporter adds a message, files, a proposed disclosure date, or an
//! answer to the advisory draft (a comment, the credit's decision: `advisory.rs`) to their
//! report, sealed to the team (as the keys file is now) and to the reporter.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::advisory::{AnswerForm, answer_events};
use super::check::again;
use super::session::ActiveSession;
use super::thread::ENDED;
use super::upload::{self, FileBudget};
use super::{AppState, PageError};
use crate::report::{Event, EventBody, Proposal, Text, now};
use crate::store::NewEvent;

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
    // Arrived whole: other commits may wait (briefly) for this one to share a flush.
    let _active = state.store.begin();
    state
        .store
        .append(session.report, events)
        .await
        .map_err(|e| state.storage_error(e))?;
    state.notify(crate::notify::Kind::Message);
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/thread?sent=1")],
    )
        .into_response())
}

/// Reads the follow-up form: the CSRF token first (nothing is read or stored without
/// it), then a message and files, or an answer to the advisory draft.
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
    let mut proposal = None;
    let mut files = Vec::new();
    let mut budget = FileBudget::default();
    let mut answer = AnswerForm::default();
    let max_text = state.limits.max_text_kib.bytes();
    while let Some(mut field) = multipart.next_field().await.map_err(upload::broken)? {
        match field.name() {
            Some("files") => {
                if let Some(file) = upload::read_file(state, &mut field, &mut budget).await? {
                    files.push(file);
                }
            }
            Some("disclosure") if proposal.is_none() => {
                let text = upload::read_line(&mut field, "Proposed disclosure date", 40).await?;
                proposal = proposed_instant(&text)?;
            }
            Some("revision") if answer.revision.is_none() => {
                answer.revision = Some(upload::read_line(&mut field, "Revision", 12).await?);
            }
            Some("credit") if answer.credit.is_none() => {
                answer.credit = Some(upload::read_line(&mut field, "Credit", 12).await?);
            }
            Some("credit_note") if answer.note.is_none() => {
                let label = "Other words for your credit";
                answer.note = Some(upload::read_long_text(&mut field, label, max_text).await?);
            }
            Some("advisory_comment") if answer.comment.is_none() => {
                let label = "Your comment on the draft";
                answer.comment = Some(upload::read_long_text(&mut field, label, max_text).await?);
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
    let mut message = message.filter(|m| !m.trim().is_empty());
    if message.is_none() && files.is_empty() && proposal.is_none() && answer.is_empty() {
        return Err(PageError::BadInput(
            "Write a message, choose a file, propose a disclosure date, or answer the \
             advisory draft to send."
                .into(),
        ));
    }
    let at = now();
    // The keys file as it is now: a member removed during a long upload gets nothing.
    let keys = state.keys();
    let mut events = Vec::new();
    if let Some(disclosure) = proposal {
        // The message, if any, says why; it goes with the proposal, not apart.
        let note = message.take().map(|m| m.to_string()).unwrap_or_default();
        let event = Event::new(at, EventBody::Proposal(Proposal { disclosure, note }));
        events.push(NewEvent {
            sealed: keys
                .seal(Some(&recipient), &event.encode())
                .map_err(PageError::internal)?,
            blob: None,
        });
    }
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
    if !answer.is_empty() {
        events.extend(answer_events(
            state, session, &keys, &recipient, at, answer,
        )?);
    }
    events.extend(upload::attachment_events(&keys, &recipient, at, files)?);
    Ok(events)
}

/// A date the reporter proposes for public disclosure (`YYYY-MM-DD`, as a date field
/// sends it, meaning 00:00 UTC; or an RFC 3339 time): empty is none; it must be ahead.
fn proposed_instant(text: &str) -> Result<Option<time::OffsetDateTime>, PageError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    match crate::report::parse_instant(text) {
        Some(at) if at.unix_timestamp() > now() => Ok(Some(at)),
        Some(_) => Err(PageError::BadInput(
            "The proposed disclosure date is in the past; propose a date ahead.".into(),
        )),
        None => Err(PageError::BadInput(
            "The proposed disclosure date is not a date: write it as YYYY-MM-DD, for \
             example 2027-03-01."
                .into(),
        )),
    }
}
