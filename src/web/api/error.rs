//! The team API's errors: a status and a sentence as JSON, the extractors that refuse
//! bad input with one (a JSON body, ids in the path), and storage failures, logged as
//! they become the answer.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::super::AppState;
use super::super::auth::AuthError;
use super::super::error::Failure;
use crate::api::ErrorResponse;
use crate::store::{BlobId, ReportId, StoreError};

/// An API error: a status and a sentence, sent as JSON (for 429, when to retry); or a
/// storage failure, logged when it becomes the answer.
pub(in crate::web) enum ApiError {
    Refused(StatusCode, String, Option<u64>),
    Storage(Failure),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message, retry) = match self {
            ApiError::Refused(status, message, retry) => (status, message, retry),
            ApiError::Storage(failure) => {
                failure.log();
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage failed; see the server log".into(),
                    None,
                )
            }
        };
        let mut response = (status, Json(ErrorResponse { error: message })).into_response();
        if let Some(seconds) = retry
            && let Ok(value) = header::HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub(super) fn error(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError::Refused(status, message.into(), None)
}

/// A JSON body; anything else is refused with a JSON error saying what is wrong
/// (axum's `examples/error-handling`).
pub(super) struct ApiJson<T>(pub(super) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            // Whatever is wrong (type, syntax, shape, size), a 400 that says it.
            Err(e) => Err(error(
                StatusCode::BAD_REQUEST,
                format!("bad JSON body: {}", e.body_text()),
            )),
        }
    }
}

/// What a path names when its ids are not ids.
pub(super) trait Named {
    const MISSING: &'static str;
}

impl Named for ReportId {
    const MISSING: &'static str = "no such report";
}

impl Named for (ReportId, BlobId) {
    const MISSING: &'static str = "no such attachment";
}

/// Ids from the path, parsed where they are read: a path that does not hold exactly an
/// id names nothing, and is answered as such.
pub(super) struct Ids<T>(pub(super) T);

impl<S: Send + Sync, T: DeserializeOwned + Named + Send> FromRequestParts<S> for Ids<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(ids)) => Ok(Ids(ids)),
            Err(_) => Err(error(StatusCode::NOT_FOUND, T::MISSING)),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::LoginFailed => error(
                StatusCode::UNAUTHORIZED,
                "login failed: the recipient is not in the team keys file, or the answer is wrong or late",
            ),
            AuthError::Unauthorized => error(
                StatusCode::UNAUTHORIZED,
                "no valid token: log in again (tokens expire, and end when a member leaves the keys file)",
            ),
            AuthError::NotARecipient => error(
                StatusCode::BAD_REQUEST,
                "`recipient` is not an age recipient (expected age1…)",
            ),
            AuthError::UnknownOrigin => error(
                StatusCode::BAD_REQUEST,
                "this server does not know itself by the name this request used; its \
                 operator sets server.public_url (or server.onion_address) to the address \
                 the team uses",
            ),
            AuthError::RateLimited(seconds) => ApiError::Refused(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many login attempts for this recipient; try again in {}",
                    super::super::error::wait_text(seconds)
                ),
                Some(seconds),
            ),
            AuthError::Internal => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "could not start a login; try again",
            ),
        }
    }
}

impl AppState {
    /// A storage error as the API answers it: 404 for what is not there; otherwise
    /// through the fail-stop policy, logged as the answer is made.
    pub(in crate::web) fn api_storage(&self, e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => error(StatusCode::NOT_FOUND, "no such report"),
            other => ApiError::Storage(self.fail_stop(other)),
        }
    }
}
