//! `GET/POST /check`: the receipt form, the named entry point for receipt codes. A
//! valid code starts a session (the first and only place a cookie is set) and sends
//! the reporter to their thread.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{AppState, PageError, Site, pages::render};
use crate::crypto::{Receipt, ReceiptError};

#[derive(Template)]
#[template(path = "check.html")]
struct CheckPage<'a> {
    site: &'a Site,
    message: Option<&'a str>,
}

/// The receipt form as posted. The code is wiped when the form is dropped.
#[derive(Deserialize)]
pub(super) struct ReceiptForm {
    receipt: Zeroizing<String>,
}

/// The logout form as posted.
#[derive(Deserialize)]
pub(super) struct LogoutForm {
    csrf: String,
}

pub(super) async fn form(State(state): State<Arc<AppState>>) -> Result<Html<String>, PageError> {
    render(&CheckPage {
        site: &state.site,
        message: None,
    })
}

pub(super) async fn check(
    State(state): State<Arc<AppState>>,
    form: Result<Form<ReceiptForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Ok(Form(form)) = form else {
        return Err(PageError::BadInput(
            "The receipt form did not arrive as expected.".into(),
        ));
    };
    let receipt = match Receipt::parse(&form.receipt) {
        Ok(receipt) => receipt,
        Err(e) => return again(&state, StatusCode::BAD_REQUEST, receipt_message(e)),
    };
    drop(form);
    let (lookup, key) = receipt.derive().map_err(PageError::internal)?;
    drop(receipt);
    let Some(report) = state
        .store
        .find(&lookup)
        .map_err(|e| state.storage_error(e))?
    else {
        // Only a well-formed code that opens nothing takes a token. Junk and typos
        // cost nothing, and a code that opens a report is never refused, so no flood of
        // any kind keeps a reporter from their report. (A code carries 128 random bits:
        // the limit bounds work, not guessing.)
        state.receipt_attempts.check()?;
        return again(
            &state,
            StatusCode::NOT_FOUND,
            "No report matches this code. Check it against your copy; if you are sure it is \
             right, the report may have been removed after it was closed.",
        );
    };
    let cookie = state
        .sessions
        .start(report, key)
        .map_err(PageError::internal)?;
    // Post, then redirect: reloading the thread never re-sends the code.
    Ok((
        StatusCode::SEE_OTHER,
        [(header::SET_COOKIE, cookie)],
        [(header::LOCATION, "/thread")],
    )
        .into_response())
}

pub(super) async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Some(session) = state.sessions.get(&headers) else {
        return again(
            &state,
            StatusCode::OK,
            "You are logged out. Enter your receipt code to open your report again.",
        );
    };
    let valid = form
        .map(|Form(f)| session.csrf_matches(&f.csrf))
        .unwrap_or(false);
    if !valid {
        return Err(PageError::Forbidden);
    }
    let cookie = state.sessions.end(&headers);
    let mut response = again(
        &state,
        StatusCode::OK,
        "You are logged out, and the server has forgotten your key. Enter your receipt \
         code to open your report again.",
    )?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

fn receipt_message(e: ReceiptError) -> &'static str {
    match e {
        ReceiptError::Typo => {
            "This code has a typo: one of its characters does not match. Check each group of \
             four against your copy."
        }
        ReceiptError::Malformed => {
            "That is not a receipt code. A code is seven groups of four letters and digits, \
             like 7KQM-3XZA-…"
        }
    }
}

/// The check form again, with a calm message and the given status.
pub(super) fn again(
    state: &AppState,
    status: StatusCode,
    message: &str,
) -> Result<Response, PageError> {
    let page = render(&CheckPage {
        site: &state.site,
        message: Some(message),
    })?;
    Ok((status, page).into_response())
}
