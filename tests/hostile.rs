//! A hostile server for desk tests: a real HTTP server on 127.0.0.1 in front of a real
//! agedrop server, passing everything through (the `Host` header included, so logins
//! name the double's own origin) except what a test's hook rewrites, as a compromised
//! server could. It records every request body, so a test can look for anything the
//! desk should never have sent.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What the double answers.
pub enum Answer {
    /// This status and body (JSON unless it starts otherwise).
    Bytes(u16, Vec<u8>),
    /// This prefix, then zeros for ever (until the client stops reading).
    Endless(u16, Vec<u8>),
}

/// One request the double received.
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

/// Decides each answer from the request and the real server's answer.
pub type Hook = Arc<dyn Fn(&str, &str, u16, Vec<u8>) -> Answer + Send + Sync>;

struct Shared {
    upstream: String,
    /// Pass the client's `Host` on (a compromised server answering as itself), or not
    /// (a relay in front of someone else's server).
    keep_host: bool,
    http: reqwest::Client,
    hook: Hook,
    seen: Mutex<Vec<Seen>>,
    sent: AtomicU64,
}

/// A running double.
pub struct Hostile {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Hostile {
    /// Starts a double in front of `upstream` (e.g. `http://127.0.0.1:4000`).
    pub async fn start(upstream: &str, hook: Hook) -> Hostile {
        Self::start_with(upstream, hook, true).await
    }

    /// A relay: a server that passes a member's requests on to another server, under
    /// that server's own name, hoping to reuse its login challenges.
    pub async fn relay(upstream: &str) -> Hostile {
        Self::start_with(upstream, honest(), false).await
    }

    async fn start_with(upstream: &str, hook: Hook, keep_host: bool) -> Hostile {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            keep_host,
            http: crate::util::client(),
            hook,
            seen: Mutex::new(Vec::new()),
            sent: AtomicU64::new(0),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Hostile {
            url: format!("http://{addr}"),
            shared,
            task,
        }
    }

    /// Every request body received so far, with its method and path.
    pub fn seen(&self) -> std::sync::MutexGuard<'_, Vec<Seen>> {
        self.shared.seen.lock().unwrap()
    }

    /// Bytes of endless answers handed to the connection so far.
    pub fn endless_sent(&self) -> u64 {
        self.shared.sent.load(Ordering::SeqCst)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A hook that passes everything through.
pub fn honest() -> Hook {
    Arc::new(|_, _, status, body| Answer::Bytes(status, body))
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 256 << 20)
        .await
        .unwrap_or_default();
    shared.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: path.clone(),
        body: body.to_vec(),
    });
    let mut upstream = shared
        .http
        .request(method.clone(), format!("{}{path}", shared.upstream))
        .body(body);
    for name in [header::HOST, header::AUTHORIZATION, header::CONTENT_TYPE] {
        if name == header::HOST && !shared.keep_host {
            continue;
        }
        if let Some(value) = headers.get(&name) {
            upstream = upstream.header(name, value);
        }
    }
    let (status, bytes) = match upstream.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.bytes().await.unwrap_or_default().to_vec())
        }
        Err(_) => (502, b"{\"error\":\"upstream down\"}".to_vec()),
    };
    match (shared.hook)(method.as_str(), &path, status, bytes) {
        Answer::Bytes(status, body) => {
            let kind = if body.first() == Some(&b'{') || body.first() == Some(&b'[') {
                "application/json"
            } else {
                "application/octet-stream"
            };
            let mut response =
                (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            response
        }
        Answer::Endless(status, prefix) => {
            let counter = shared.clone();
            let zeros = Bytes::from(vec![0u8; 64 * 1024]);
            let first = Bytes::from(prefix);
            counter.sent.fetch_add(first.len() as u64, Ordering::SeqCst);
            let rest = futures_util::stream::repeat(zeros).map(move |chunk| {
                counter.sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                Ok::<_, std::io::Error>(chunk)
            });
            let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) })
                .chain(rest);
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                Body::from_stream(stream),
            )
                .into_response()
        }
    }
}

use futures_util::StreamExt;

// Judging what a desk did in front of a hostile server.

/// Output made safe for a terminal: no escape, bell, C1 or text-direction character.
pub fn assert_inert(output: &str) {
    for c in output.chars() {
        let raw_control = c.is_control() && c != '\n' && c != '\t';
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(
            !raw_control && !bidi,
            "a raw {c:?} reached the terminal: {output:?}"
        );
    }
}

/// Bytes a sender can push into a loopback connection that the reader never reads: the
/// kernel's send and receive buffers (net.ipv4.tcp_wmem and tcp_rmem allow 4 and 32 MiB
/// here) and the HTTP stacks' own.
pub const SOCKET_SLACK: u64 = 40 << 20;

/// Runs a command; its output and the peak resident memory seen while it ran (KiB, from
/// /proc's VmHWM, read every few milliseconds).
pub fn run_measuring_peak(mut command: std::process::Command) -> (std::process::Output, u64) {
    use std::process::Stdio;
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    let mut peak = 0;
    while !waiter.is_finished() {
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    (waiter.join().unwrap(), peak)
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}
