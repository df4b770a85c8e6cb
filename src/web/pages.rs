//! Pages that show the programme: the report form, the policy and the stylesheet.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use super::{AppState, PageError, Site};
// The form template names it.
use crate::report::OTHER_ASSET;

/// The stylesheet, compiled into the binary.
const STYLESHEET: &str = include_str!("../../templates/style.css");

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    site: &'a Site,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage<'a> {
    site: &'a Site,
}

/// Renders a template, or a generic error if rendering fails.
pub(super) fn render(template: &impl Template) -> Result<Html<String>, PageError> {
    template
        .render()
        .map(Html)
        .map_err(|e| PageError::Internal(format!("template: {e}")))
}

pub(super) async fn index(State(state): State<Arc<AppState>>) -> Result<Html<String>, PageError> {
    render(&IndexPage { site: &state.site })
}

pub(super) async fn policy(State(state): State<Arc<AppState>>) -> Result<Html<String>, PageError> {
    render(&PolicyPage { site: &state.site })
}

pub(super) async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    response
}

pub(super) async fn not_found() -> PageError {
    PageError::NotFound
}
