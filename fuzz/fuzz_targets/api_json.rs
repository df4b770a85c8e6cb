//! The team API's JSON, both ways: the bodies the server reads (`ChallengeRequest`,
//! `LoginRequest`, `BatchRequest` and each batch event's base64 and age header, as
//! `POST /api/v1/events` checks them) and the answers a member's client reads from a
//! server it may not trust (team, reports, report, feed, append, batch, error).
#![no_main]

use agedrop::api;
use agedrop::crypto::Sealed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<api::ChallengeRequest>(data);
    let _ = serde_json::from_slice::<api::LoginRequest>(data);
    if let Ok(batch) = serde_json::from_slice::<api::BatchRequest>(data) {
        for event in batch.events {
            if let Some(bytes) = api::decode(&event.sealed) {
                let _ = Sealed::parse(bytes);
            }
        }
    }
    let _ = serde_json::from_slice::<api::Challenge>(data);
    let _ = serde_json::from_slice::<api::LoginResponse>(data);
    let _ = serde_json::from_slice::<api::TeamResponse>(data);
    let _ = serde_json::from_slice::<api::ReportsResponse>(data);
    let _ = serde_json::from_slice::<api::ReportResponse>(data);
    let _ = serde_json::from_slice::<api::FeedResponse>(data);
    let _ = serde_json::from_slice::<api::AppendResponse>(data);
    let _ = serde_json::from_slice::<api::BatchResponse>(data);
    let _ = serde_json::from_slice::<api::ErrorResponse>(data);
});
