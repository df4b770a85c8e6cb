//! `POST /submit` through the whole router in-process (as tests/util/app.rs drives it):
//! the multipart body is the input, after the boundary `fuzzboundary`. Every answer is a
//! page: never a panic, and never a 5xx but 503 (busy) and 507 (storage full).
//!
//! `AGEDROP_FUZZ_SHOW=1` prints each answer (to check that the seeds are accepted).
//!
//! One app per process, over a data folder of its own in the temporary folder (removed
//! when the next run starts), with rate limits high enough that inputs reach the form.
#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use agedrop::config::{Config, Overrides};
use agedrop::crypto::{TeamKeys, generate_identity};
use agedrop::store::{Store, StoreOptions};
use agedrop::web::{AppState, app};
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const LISTEN: &str = "127.0.0.1:8080";
const BOUNDARY: &str = "fuzzboundary";
const PREFIX: &str = "agedrop-fuzz-submit-";

struct Fuzzed {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    _state: Arc<AppState>,
}

/// Removes the folders of earlier runs whose process has ended.
fn sweep(tmp: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(pid) = name.strip_prefix(PREFIX)
            && !PathBuf::from(format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn fuzzed() -> &'static Fuzzed {
    static APP: OnceLock<Fuzzed> = OnceLock::new();
    APP.get_or_init(|| {
        let tmp = std::env::temp_dir();
        sweep(&tmp);
        let dir = tmp.join(format!("{PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a data folder");
        let (_identity, line) = generate_identity("2026-01-01T00:00:00Z");
        let keys_text = format!("# Alice Example\n{line}\n");
        let keys_path = dir.join("keys.txt");
        std::fs::write(&keys_path, &keys_text).expect("the keys file");
        let data = dir.join("data");
        let config_path = dir.join("agedrop.toml");
        std::fs::write(
            &config_path,
            format!(
                "[server]\nlisten = {LISTEN:?}\ndata = {data:?}\nkeys = {keys_path:?}\n\
                 [limits]\nsubmissions_per_minute = 4000000000\n\
                 follow_ups_per_minute = 4000000000\n\
                 receipt_attempts_per_minute = 4000000000\n\
                 [programme]\nname = \"Fuzz Programme\"\n"
            ),
        )
        .expect("the config file");
        let config = Config::load(Some(&config_path), &Overrides::default()).expect("the config");
        let keys = TeamKeys::parse(&keys_text).expect("the keys");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (router, state) = runtime.block_on(async {
            let store = Store::open(
                &data,
                &StoreOptions {
                    cache_bytes: 8 << 20,
                    reserve_bytes: 0,
                    sweep: true,
                },
            )
            .expect("the store");
            let state = AppState::new(&config, keys, store, LISTEN.parse().expect("an address"));
            (app(state.clone()), state)
        });
        Fuzzed {
            runtime,
            router,
            _state: state,
        }
    })
}

fuzz_target!(|body: &[u8]| {
    let fuzzed = fuzzed();
    let request = Request::post("/submit")
        .header(header::HOST, LISTEN)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body.to_vec()))
        .expect("a request");
    let status = fuzzed.runtime.block_on(async {
        let response = fuzzed
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let body = response.into_body().collect().await;
        // For checking seeds: `AGEDROP_FUZZ_SHOW=1 …/submit corpus/submit/*`.
        if std::env::var_os("AGEDROP_FUZZ_SHOW").is_some()
            && let Ok(body) = body
        {
            eprintln!("{status}\n{}", String::from_utf8_lossy(&body.to_bytes()));
        }
        status
    });
    assert!(
        !status.is_server_error() || status == 503 || status == 507,
        "POST /submit answered {status}"
    );
});
