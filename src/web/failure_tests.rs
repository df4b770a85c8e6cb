//! Regression tests for issue 9's logging bug: a storage failure is logged exactly once,
//! where it becomes the answer, whether a reporter's page or the team API meets it; the
//! fail-stop policy stops the server once and logs nothing itself.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::response::IntoResponse;

use super::api::ApiError;
use super::error::Failure;
use super::{AppState, PageError};
use crate::config::Config;
use crate::crypto::TeamKeys;
use crate::store::{Store, StoreError, StoreOptions};

/// Everything logged while `f` runs.
fn logged(f: impl FnOnce()) -> String {
    #[derive(Clone)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            crate::lock(&self.0).extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer(Arc::new(Mutex::new(Vec::new())));
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = crate::lock(&buffer.0).clone();
    String::from_utf8(bytes).unwrap()
}

fn state(dir: &std::path::Path) -> Arc<AppState> {
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let keys = TeamKeys::parse(&format!("{recipient}\n")).unwrap();
    let options = StoreOptions {
        cache_bytes: 8 * 1024 * 1024,
        reserve_bytes: 0,
        sweep: false,
    };
    let store = Store::open(dir, &options).unwrap();
    let config = Config::parse("", "test").unwrap();
    AppState::new(&config, keys, store, "127.0.0.1:0".parse().unwrap())
}

fn engine_failure() -> StoreError {
    StoreError::Durability("the flush failed".into())
}

#[test]
fn api_storage_errors_are_logged_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let log = logged(|| {
        let error = state.api_storage(StoreError::Io(std::io::Error::other("EIO-like")));
        let response = error.into_response();
        assert_eq!(response.status(), 503);
    });
    assert_eq!(log.matches("storage failed").count(), 1, "{log}");
    assert!(log.contains("EIO-like"), "{log}");
}

#[test]
fn a_fatal_storage_error_is_logged_once_and_stops_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let log = logged(|| {
        // The policy alone: it trips the stop, and logs nothing itself.
        let first = state.fail_stop(engine_failure());
        assert!(state.has_failed());
        let second = state.fail_stop(engine_failure());
        let _ = PageError::Storage(first).into_response();
        let _ = ApiError::Storage(second).into_response();
    });
    assert_eq!(log.matches("stopping the server").count(), 1, "{log}");
    assert_eq!(log.matches("storage failed").count(), 2, "{log}");
}

#[test]
fn a_missing_report_is_a_404_and_no_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let log = logged(|| {
        let response = state.api_storage(StoreError::NotFound).into_response();
        assert_eq!(response.status(), 404);
    });
    assert!(log.is_empty(), "{log}");
    assert!(!state.has_failed());
}

#[test]
fn a_failure_names_its_detail_only_in_the_log() {
    let failure = Failure::new(engine_failure(), false);
    let response = PageError::Storage(failure).into_response();
    assert_eq!(response.status(), 503);
}
