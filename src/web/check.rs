//! `GET/POST /check`: the receipt form, the named entry point for receipt codes.
//! A valid code opens the report with the reporter's derived key.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::submit::internal;
use super::{AppState, PageError, Site, pages::render};
use crate::crypto::{self, Receipt, ReceiptError, ReporterKey};
use crate::report::{Event, EventBody, Status, human_size, human_time};
use crate::store::ReportId;

#[derive(Template)]
#[template(path = "check.html")]
struct CheckPage<'a> {
    site: &'a Site,
    message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    site: &'a Site,
    title: &'a str,
    status: &'a str,
    status_text: &'a str,
    received: String,
    fields: Vec<(&'static str, &'a str)>,
    attachments: Vec<(&'a str, String)>,
}

/// The receipt form as posted. The code is wiped when the form is dropped.
#[derive(Deserialize)]
pub(super) struct ReceiptForm {
    receipt: Zeroizing<String>,
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
    state.receipt_attempts.check()?;
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
    let (lookup, key) = receipt.derive().map_err(internal)?;
    drop(receipt);
    let Some(report) = state
        .store
        .find(&lookup)
        .map_err(|e| state.storage_error(e))?
    else {
        return again(
            &state,
            StatusCode::NOT_FOUND,
            "No report matches this code. Check it against your copy; if you are sure it is \
             right, the report may have been removed after it was closed.",
        );
    };
    show_report(&state, report, &key)
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
fn again(state: &AppState, status: StatusCode, message: &str) -> Result<Response, PageError> {
    let page = render(&CheckPage {
        site: &state.site,
        message: Some(message),
    })?;
    Ok((status, page).into_response())
}

/// Opens every event the reporter's key can open and shows the report.
fn show_report(state: &AppState, id: ReportId, key: &ReporterKey) -> Result<Response, PageError> {
    let mut events = Vec::new();
    for (_, sealed) in state.store.events(id).map_err(|e| state.storage_error(e))? {
        // Internal team notes are not sealed to the reporter: skip what does not open.
        let Ok(plain) = crypto::open_as_reporter(key, &sealed) else {
            continue;
        };
        events.push(Event::decode(&plain).map_err(internal)?);
    }
    let mut submission = None;
    let mut received = 0;
    let mut status = Status::Received;
    let mut attachments = Vec::new();
    for event in &events {
        match &event.body {
            EventBody::Submitted(s) => {
                submission = Some(s);
                received = event.at;
            }
            EventBody::Attachment(a) => attachments.push((a.name.as_str(), human_size(a.size))),
            EventBody::Status(change) => status = change.status,
            _ => {}
        }
    }
    let Some(s) = submission else {
        return Err(PageError::Internal(
            "report without a submission event".into(),
        ));
    };
    let fields = [
        ("Affected product or component", s.product.as_str()),
        ("Affected versions", s.versions.as_str()),
        ("Description", s.description.as_str()),
        ("Steps to reproduce", s.steps.as_str()),
        ("Expected result", s.expected.as_str()),
        ("Actual result", s.actual.as_str()),
        ("Impact", s.impact.as_str()),
        ("How to reach you", s.contact.as_str()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let credit = s.credit.describe();
    let mut fields: Vec<(&str, &str)> = fields;
    fields.push(("Credit", credit.as_str()));
    let page = render(&ReportPage {
        site: &state.site,
        title: &s.title,
        status: status.as_str(),
        status_text: status.explain(),
        received: human_time(received),
        fields,
        attachments,
    })?;
    Ok(page.into_response())
}
