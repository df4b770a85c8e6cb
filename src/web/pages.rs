//! Pages that show the programme: the report form, the policy, security.txt and the
//! stylesheet.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use super::{AppState, PageError, Site};
use crate::config::Config;

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

pub(super) async fn security_txt_route(State(state): State<Arc<AppState>>) -> Response {
    let mut response = state.security_txt.clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The RFC 9116 file, built once at start-up.
pub(super) fn security_txt(config: &Config) -> String {
    let server = &config.server;
    let base = match (&server.onion_address, &server.public_url) {
        (_, Some(url)) => url.as_str().trim_end_matches('/').to_string(),
        (Some(onion), None) => format!("http://{onion}"),
        (None, None) => {
            let scheme = if server.tls().is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}", server.listen)
        }
    };
    let expires = match &config.programme.security_txt_expires {
        Some(expires) => expires.as_str().to_string(),
        None => crate::text::rfc3339(crate::report::now() + 365 * 86_400).unwrap_or_default(),
    };
    let mut text = format!(
        "# Report security problems through our encrypted drop-box; no account needed.\n\
         Contact: {base}/\n\
         Expires: {expires}\n\
         Preferred-Languages: {}\n",
        config.programme.languages
    );
    if let Some(policy) = &config.programme.policy_url {
        text.push_str(&format!("Policy: {policy}\n"));
    } else {
        text.push_str(&format!("Policy: {base}/policy\n"));
    }
    if server.public_url.is_some() {
        text.push_str(&format!("Canonical: {base}/.well-known/security.txt\n"));
    }
    text
}
