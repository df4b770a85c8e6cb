//! The router in-process: `agedrop::web::app(state)` over a fresh data folder and team
//! key, driven with `tower::ServiceExt::oneshot` as in axum's `examples/testing`. No
//! socket and no process: for headers, bad input, CSRF, rate limits and sessions.
//! Requests are written with reqwest's builder, as the real-process tests write them.

use std::path::Path;
use std::sync::Arc;

use agedrop::config::{Config, Overrides};
use agedrop::crypto::TeamKeys;
use agedrop::store::{Store, StoreOptions};
use agedrop::web::{AppState, app};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::{Member, Options, form};

/// The address the app believes it listens on; requests are addressed to it.
const LISTEN: &str = "127.0.0.1:8080";

/// The router over its own folder, with Alice as the only team member.
pub struct TestApp {
    router: axum::Router,
    state: Arc<AppState>,
    pub member: Member,
    // Last: the folder outlives the store open in it.
    pub dir: tempfile::TempDir,
}

/// An answer, read whole.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// A header's value; fails the test if it is missing.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header ({})", self.status))
            .to_str()
            .unwrap()
    }

    /// Asserts the status and that the page says `text` (the message a user reads).
    #[track_caller]
    pub fn assert(&self, status: u16, text: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(
            self.body.contains(text),
            "the page does not say {text:?}:\n{}",
            self.body
        );
    }
}

/// A reporter's session, as a browser holds it.
pub struct Session {
    /// `name=value`, for a `Cookie` header.
    pub cookie: String,
    /// The whole `Set-Cookie` header that started it.
    pub set_cookie: String,
    /// The thread page it opened on.
    pub page: String,
}

impl Session {
    /// The form token of this session's pages.
    pub fn csrf(&self) -> String {
        super::csrf(&self.page)
    }
}

impl TestApp {
    pub fn start() -> TestApp {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let member = member(dir.path(), "alice");
        let keys_path = dir.path().join("keys.txt");
        std::fs::write(&keys_path, format!("# Alice Example\n{}\n", member.line)).unwrap();
        let config_path = dir.path().join("agedrop.toml");
        let data = options
            .data
            .clone()
            .unwrap_or_else(|| dir.path().join("data"));
        std::fs::write(&config_path, options.config(LISTEN, &data, &keys_path)).unwrap();
        let config = Config::load(Some(&config_path), &Overrides::default()).unwrap();
        let keys = TeamKeys::load(&keys_path).unwrap();
        let store = Store::open(
            &data,
            &StoreOptions {
                cache_bytes: 8 << 20,
                reserve_bytes: 0,
                sweep: true,
            },
        )
        .unwrap();
        let state = AppState::new(&config, keys, store, LISTEN.parse().unwrap());
        TestApp {
            router: app(state.clone()),
            state,
            member,
            dir,
        }
    }

    /// The URL of `path`, as a browser on this origin addresses it.
    pub fn at(&self, path: &str) -> String {
        format!("http://{LISTEN}{path}")
    }

    /// The state the router runs on (the store, for tests that look inside).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        super::client().get(self.at(path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        super::client().post(self.at(path))
    }

    /// Runs one request through the router; the answer read whole. A request gets the
    /// `Host` header a client would send over a socket.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let request: axum::http::Request<reqwest::Body> =
            request.build().unwrap().try_into().unwrap();
        let mut request = request.map(axum::body::Body::new);
        if !request.headers().contains_key(header::HOST) {
            request
                .headers_mut()
                .insert(header::HOST, LISTEN.parse().unwrap());
        }
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        Page {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Posts a report with these text fields and files (name, bytes).
    pub async fn submit(
        &self,
        fields: &[(&'static str, String)],
        files: &[(String, Vec<u8>)],
    ) -> Page {
        self.send(self.post("/submit").multipart(form(fields, files)))
            .await
    }

    /// Submits a minimal report; its receipt code.
    pub async fn submit_simple(&self, title: &str) -> String {
        let fields = [("title", title.to_string()), ("description", "d".into())];
        let page = self.submit(&fields, &[]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        super::receipt_code(&page.body)
    }

    /// Posts a receipt code to /check; the answer.
    pub async fn check(&self, code: &str) -> Page {
        self.send(self.post("/check").form(&[("receipt", code)]))
            .await
    }

    /// Logs in with a receipt code and opens the thread, as a browser does.
    pub async fn login(&self, code: &str) -> Session {
        let answer = self.check(code).await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        assert_eq!(answer.header("location"), "/thread");
        let set_cookie = answer.header("set-cookie").to_string();
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        let page = self.thread(&cookie).await;
        assert_eq!(page.status, 200, "{}", page.body);
        Session {
            cookie,
            set_cookie,
            page: page.body,
        }
    }

    /// `GET /thread` with this cookie.
    pub async fn thread(&self, cookie: &str) -> Page {
        self.send(self.get("/thread").header("cookie", cookie))
            .await
    }

    /// Posts a follow-up (a message, with this form token) in a session.
    pub async fn follow_up(&self, cookie: &str, csrf: &str, message: &str) -> Page {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.to_string())
            .text("message", message.to_string());
        self.send(
            self.post("/thread")
                .header("cookie", cookie)
                .multipart(form),
        )
        .await
    }
}

/// A team member made in-process (the same format `agedrop keygen` writes).
fn member(dir: &Path, name: &str) -> Member {
    let (text, line) = agedrop::crypto::generate_identity("2026-01-01T00:00:00Z");
    let identity = dir.join(format!("{name}.identity"));
    std::fs::write(&identity, text.as_bytes()).unwrap();
    Member {
        identity,
        recipient: line.split_whitespace().next().unwrap().to_string(),
        line,
    }
}
