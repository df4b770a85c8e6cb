//! One error type for reporter pages, and the one place that turns any error status
//! into a page. Server-side detail goes to the log; reporters get a calm, generic text.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::{AppState, Site};

/// Everything that can go wrong in a reporter's request.
#[derive(Debug)]
pub enum PageError {
    /// The request is wrong in a way the reporter can fix.
    BadInput(String),
    /// A body, field or file is over a limit.
    TooLarge(String),
    /// The global rate limit for this kind of request is used up; try again after this
    /// many seconds.
    RateLimited(u64),
    /// Too many requests at once.
    Busy,
    /// The storage quota is reached; nothing new is accepted.
    StorageFull,
    /// Storage failed; logged with its detail when the page is made.
    Storage(Failure),
    /// A form without this session's token (stale, or sent from elsewhere).
    Forbidden,
    /// No such page.
    NotFound,
    /// A bug or an unexpected failure; the detail is for the log only.
    Internal(String),
}

/// A storage failure on its way to the one place that logs it (the response it
/// becomes). Its detail is an I/O error or a sled message, never content.
#[derive(Debug)]
pub struct Failure {
    error: crate::store::StoreError,
    /// This failure is the one that stops the server.
    stopping: bool,
}

impl Failure {
    pub(super) fn new(error: crate::store::StoreError, stopping: bool) -> Self {
        Failure { error, stopping }
    }

    /// Logs it: the reporter's page and the API answer are generic.
    pub(super) fn log(&self) {
        if self.stopping {
            tracing::error!(
                "storage failed ({}); stopping the server. Free disk space if it is full, \
                 then start it again: everything stored before is intact",
                self.error
            );
        } else {
            tracing::error!("storage failed: {}", self.error);
        }
    }
}

impl PageError {
    /// An unexpected failure; the detail goes to the log only.
    pub(super) fn internal(e: impl std::fmt::Display) -> Self {
        PageError::Internal(e.to_string())
    }
}

/// A short, harmless rendering of untrusted text (a file name) for an error message.
pub(super) fn printable(text: &str) -> String {
    crate::text::excerpt(text, 80)
}

/// The text of an error page, attached to the response for [`render_errors`].
#[derive(Clone)]
pub(super) struct ErrorPage {
    heading: &'static str,
    message: String,
    hint: Option<&'static str>,
}

const NOT_LOST: &str = "Nothing from this request was stored. Reports sent earlier are safe.";

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message, hint) = match self {
            PageError::BadInput(m) => (
                StatusCode::BAD_REQUEST,
                "Please check what you sent",
                m,
                Some("Go back, correct it and send again: nothing was stored."),
            ),
            PageError::TooLarge(m) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                m,
                Some(
                    "Go back and send less (you can add files later with your receipt code); nothing was stored.",
                ),
            ),
            PageError::RateLimited(seconds) => {
                let mut response = error_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Please wait a moment",
                    format!(
                        "The site is receiving many requests of this kind right now. Please \
                         try again in {}.",
                        wait_text(seconds)
                    ),
                    Some(NOT_LOST),
                );
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
            PageError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The site is busy",
                "Too many people are using the site at this moment. Try again in a minute.".into(),
                Some(NOT_LOST),
            ),
            PageError::StorageFull => (
                StatusCode::INSUFFICIENT_STORAGE,
                "Cannot store new reports right now",
                "The drop-box has run out of room for new reports. The team has been told in \
                 the server log. Please try again later."
                    .into(),
                Some(NOT_LOST),
            ),
            PageError::Storage(failure) => {
                failure.log();
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "This could not be stored",
                    "The server could not save what you sent safely; a new report gets no \
                 receipt. Please try again later, and check your report with your receipt \
                 code before sending a follow-up again."
                        .into(),
                    Some("Reports sent earlier are safe."),
                )
            }
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form did not come from your open report, or your session has changed. \
                 Open your report again and resend it."
                    .into(),
                Some(NOT_LOST),
            ),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is no page at this address.".into(),
                None,
            ),
            PageError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                generic(StatusCode::INTERNAL_SERVER_ERROR)
            }
        };
        error_response(status, heading, message, hint)
    }
}

/// A bare response carrying the page's text for [`render_errors`].
fn error_response(
    status: StatusCode,
    heading: &'static str,
    message: String,
    hint: Option<&'static str>,
) -> Response {
    let mut response = status.into_response();
    response.extensions_mut().insert(ErrorPage {
        heading,
        message,
        hint,
    });
    response
}

/// "about 20 seconds", "about 2 minutes".
pub(super) fn wait_text(seconds: u64) -> String {
    match seconds {
        0..=1 => "a second".into(),
        2..=90 => format!("about {seconds} seconds"),
        _ => format!("about {} minutes", seconds.div_ceil(60)),
    }
}

fn generic(status: StatusCode) -> (StatusCode, &'static str, String, Option<&'static str>) {
    let (heading, message) = match status.as_u16() {
        404 => ("Page not found", "There is no page at this address."),
        405 => (
            "Not allowed",
            "This page does not accept that kind of request.",
        ),
        408 => (
            "Too slow",
            "The request took too long to arrive. Please try again.",
        ),
        413 => (
            "Too large",
            "What you sent is larger than this site accepts.",
        ),
        400..=499 => (
            "Request not understood",
            "The site could not understand this request.",
        ),
        _ => (
            "Something went wrong",
            "The server could not handle this request. Please try again later.",
        ),
    };
    (status, heading, message.to_string(), Some(NOT_LOST))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    site: &'a Site,
    heading: &'a str,
    message: &'a str,
    hint: Option<&'a str>,
}

/// Renders every error response as a page: those made by [`PageError`], and bare ones
/// from the framework (405, a body over the limit, a panic turned into 500).
pub(super) async fn render_errors(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let page = match response.extensions().get::<ErrorPage>() {
        Some(page) => page.clone(),
        None => {
            // Pages and JSON made on purpose keep their body; the framework's bare or
            // plain-text answers (405, rejected extractors, panics) become pages.
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if content_type.starts_with(b"text/html")
                || content_type.starts_with(b"application/json")
            {
                return response;
            }
            let (_, heading, message, hint) = generic(status);
            ErrorPage {
                heading,
                message,
                hint,
            }
        }
    };
    let body = ErrorTemplate {
        site: &state.site,
        heading: page.heading,
        message: &page.message,
        hint: page.hint,
    }
    .render()
    .unwrap_or_else(|_| page.message.clone());
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, Html(body).into_response().into_body())
}
