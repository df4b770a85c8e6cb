//! The team API under `/api/v1/` (shapes in [`crate::api`]): login, the roster, reports
//! and their sealed events, the feed, attachment ciphertext, appending sealed events,
//! purging. The server never sees a plaintext here: team members seal on their own
//! machines, and the server only checks that what they send is a well-formed age file.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::AppState;

mod error;

use super::auth::{AuthError, Member};
use crate::api;
use crate::crypto::Sealed;
use crate::store::{BlobId, NewEvent, ReportId, StoreError};
pub(super) use error::ApiError;
use error::{ApiJson, Ids, error};

/// Largest JSON body the API accepts (logins).
const JSON_BODY: usize = 16 * 1024;
/// Most feed entries in one answer.
const FEED_PAGE: usize = 500;

/// The API's routes, to be nested under `/api/v1`.
pub(super) fn routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let event_limit = state.limits.max_event_kib.bytes() + 1024;
    let authed = Router::new()
        .route("/team", get(team))
        .route("/reports", get(reports))
        .route("/reports/{id}", get(report).delete(purge))
        .route(
            "/reports/{id}/events",
            post(append).layer(DefaultBodyLimit::max(event_limit)),
        )
        .route(
            "/events",
            post(append_batch).layer(DefaultBodyLimit::max(api::BATCH_BYTES)),
        )
        .route("/reports/{id}/attachments/{blob}", get(attachment))
        .route("/feed", get(feed))
        .layer(middleware::from_fn_with_state(state, require_token));
    Router::new()
        .route("/login/challenge", post(challenge))
        .route("/login", post(login))
        .merge(authed)
        .layer(DefaultBodyLimit::max(JSON_BODY))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such API route") })
}

async fn require_token(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AuthError::Unauthorized)?;
    let member = state.auth.member(&state.keys(), bearer)?;
    request.extensions_mut().insert(member);
    Ok(next.run(request).await)
}

/// A login challenge. Junk (not JSON, not a recipient, a name that is not this
/// server's) is refused before any rate-limit token is taken; then members draw from a
/// bucket each and strangers from one of their own.
async fn challenge(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<api::ChallengeRequest>,
) -> Result<Json<api::Challenge>, ApiError> {
    let origin = state.origins.of(&headers).ok_or(AuthError::UnknownOrigin)?;
    let (challenge_id, sealed) =
        state
            .auth
            .challenge(&state.keys(), request.recipient.trim(), &origin)?;
    Ok(Json(api::Challenge {
        challenge_id,
        sealed: api::encode(sealed.as_bytes()),
    }))
}

async fn login(
    State(state): State<Arc<AppState>>,
    ApiJson(request): ApiJson<api::LoginRequest>,
) -> Result<Json<api::LoginResponse>, ApiError> {
    let (token, name) = state.auth.login(
        &state.keys(),
        &request.challenge_id,
        request.answer.as_deref(),
        request.signature.as_deref(),
    )?;
    Ok(Json(api::LoginResponse {
        token: token.to_string(),
        expires_in: state.auth.token_seconds(),
        name,
    }))
}

async fn team(State(state): State<Arc<AppState>>) -> Json<api::TeamResponse> {
    Json(api::TeamResponse::new(
        &state.keys(),
        state.site.promises,
        &state.site.name,
        Some(state.closing.clone()),
    ))
}

async fn reports(
    State(state): State<Arc<AppState>>,
) -> Result<Json<api::ReportsResponse>, ApiError> {
    let reports = state
        .store
        .reports()
        .map_err(|e| state.api_storage(e))?
        .into_iter()
        .map(|(id, record)| api::ReportSummary::new(id, record))
        .collect();
    Ok(Json(api::ReportsResponse { reports }))
}

async fn report(
    State(state): State<Arc<AppState>>,
    Ids(id): Ids<ReportId>,
) -> Result<Json<api::ReportResponse>, ApiError> {
    let record = state
        .store
        .report(id)
        .map_err(|e| state.api_storage(e))?
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "no such report"))?;
    let events = state
        .store
        .events(id)
        .map_err(|e| state.api_storage(e))?
        .into_iter()
        .map(|(seq, sealed)| api::SealedEvent {
            seq,
            sealed: api::encode(sealed.as_bytes()),
        })
        .collect();
    Ok(Json(api::ReportResponse {
        report: api::ReportSummary::new(id, record),
        events,
    }))
}

#[derive(Deserialize)]
struct FeedQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

async fn feed(
    State(state): State<Arc<AppState>>,
    query: Result<Query<FeedQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<api::FeedResponse>, ApiError> {
    let Query(query) = query.map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "expected ?after=<cursor>&limit=<n>",
        )
    })?;
    let limit = query.limit.unwrap_or(FEED_PAGE).clamp(1, FEED_PAGE);
    let entries = state
        .store
        .feed_after(query.after, limit)
        .map_err(|e| state.api_storage(e))?;
    let mut items = Vec::with_capacity(entries.len());
    for entry in entries {
        // A purged report leaves no feed entries; anything missing is skipped.
        let Some(sealed) = state
            .store
            .event(entry.report, entry.seq)
            .map_err(|e| state.api_storage(e))?
        else {
            continue;
        };
        items.push(api::FeedItem {
            cursor: entry.cursor,
            report: entry.report,
            seq: entry.seq,
            sealed: api::encode(sealed.as_bytes()),
        });
    }
    let next = items.last().map_or(query.after, |i| i.cursor);
    Ok(Json(api::FeedResponse { items, next }))
}

async fn attachment(
    State(state): State<Arc<AppState>>,
    Ids((id, blob)): Ids<(ReportId, BlobId)>,
) -> Result<Response, ApiError> {
    if !state
        .store
        .has_blob(id, blob)
        .map_err(|e| state.api_storage(e))?
    {
        return Err(error(StatusCode::NOT_FOUND, "no such attachment"));
    }
    let file = match state.store.blob_file(blob) {
        Ok(file) => file,
        // Purged while this request ran.
        Err(StoreError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(error(StatusCode::NOT_FOUND, "no such attachment"));
        }
        Err(e) => return Err(state.api_storage(e)),
    };
    let length = file
        .metadata()
        .map_err(|e| state.api_storage(StoreError::Io(e)))?
        .len();
    let stream =
        tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::from_std(file), 128 * 1024);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn append(
    State(state): State<Arc<AppState>>,
    Ids(id): Ids<ReportId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<api::AppendResponse>), ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the event is larger than limits.max_event_kib ({} KiB)",
                    state.limits.max_event_kib.get()
                ),
            )
        } else {
            error(StatusCode::BAD_REQUEST, "the body could not be read")
        }
    })?;
    if body.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "the body is empty: send one age-encrypted event",
        ));
    }
    if body.len() > state.limits.max_event_kib.bytes() {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the event is larger than limits.max_event_kib ({} KiB)",
                state.limits.max_event_kib.get()
            ),
        ));
    }
    let sealed = Sealed::parse(body.to_vec()).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "the body is not an age-encrypted file",
        )
    })?;
    // Whatever it is (reply, status change, advisory, note: all ciphertext here), a
    // member wrote to the report: no reminder of its acknowledgement from now on.
    let seqs = state
        .store
        .append_from_team(id, vec![NewEvent { sealed, blob: None }])
        .await
        .map_err(|e| state.api_storage(e))?;
    let seq = seqs.first().copied().unwrap_or_default();
    Ok((StatusCode::CREATED, Json(api::AppendResponse { seq })))
}

/// Events for several reports in one atomic, durable batch (a member's grants): each
/// checked as [`append`] checks one, and all refused if any is refused.
async fn append_batch(
    State(state): State<Arc<AppState>>,
    ApiJson(request): ApiJson<api::BatchRequest>,
) -> Result<(StatusCode, Json<api::BatchResponse>), ApiError> {
    if request.events.is_empty() || request.events.len() > api::BATCH_EVENTS {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("send between 1 and {} events at once", api::BATCH_EVENTS),
        ));
    }
    let mut items = Vec::with_capacity(request.events.len());
    for (n, event) in request.events.iter().enumerate() {
        let id = event.report;
        let bytes = api::decode(&event.sealed)
            .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("event {n} is not base64")))?;
        if bytes.len() > state.limits.max_event_kib.bytes() {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "event {n} is larger than limits.max_event_kib ({} KiB)",
                    state.limits.max_event_kib.get()
                ),
            ));
        }
        let sealed = Sealed::parse(bytes).map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                format!("event {n} is not an age-encrypted file"),
            )
        })?;
        items.push((id, sealed));
    }
    let seqs = state
        .store
        .append_each(items)
        .await
        .map_err(|e| state.api_storage(e))?;
    Ok((StatusCode::CREATED, Json(api::BatchResponse { seqs })))
}

async fn purge(
    State(state): State<Arc<AppState>>,
    Ids(id): Ids<ReportId>,
    Extension(member): Extension<Member>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .purge(id)
        .await
        .map_err(|e| state.api_storage(e))?;
    // Team actions may be logged; which report (and so when it was removed) is not.
    tracing::info!(member = %member.name, "a report was purged");
    Ok(StatusCode::NO_CONTENT)
}
