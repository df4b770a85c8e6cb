//! Notification receivers the tests start on 127.0.0.1: a webhook receiver (axum) that
//! records every request and answers with the statuses it is told, and an SMTP sink
//! (Python's aiosmtpd, from the venv `.ci/run` makes) writing a Maildir.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};

/// One request a webhook receiver got.
#[derive(Clone, Debug)]
pub struct Hooked {
    pub path: String,
    pub content_type: String,
    pub body: String,
}

#[derive(Default)]
struct Book {
    got: Vec<Hooked>,
    /// Statuses to answer with first, in order; then 200.
    fail_first: Vec<u16>,
}

/// A webhook receiver on 127.0.0.1.
pub struct Hooks {
    pub addr: SocketAddr,
    book: Arc<Mutex<Book>>,
}

impl Hooks {
    /// Starts a receiver answering 200 (after `fail_first`, in order).
    pub async fn start(fail_first: &[u16]) -> Hooks {
        let book = Arc::new(Mutex::new(Book {
            got: Vec::new(),
            fail_first: fail_first.to_vec(),
        }));
        let app = axum::Router::new()
            .fallback(record)
            .with_state(book.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Hooks { addr, book }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything received so far.
    pub fn got(&self) -> Vec<Hooked> {
        self.book.lock().unwrap().got.clone()
    }

    /// Waits up to `timeout` until `n` requests have arrived; all of them.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Hooked> {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.got().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.got()
    }
}

async fn record(
    State(book): State<Arc<Mutex<Book>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut book = book.lock().unwrap();
    book.got.push(Hooked {
        path: uri.path().to_string(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    if book.fail_first.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::from_u16(book.fail_first.remove(0)).unwrap()
    }
}

/// A port nothing listens on (bound, then closed).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How the SMTP sink secures its connections.
pub enum SinkTls {
    /// STARTTLS offered and required.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Implicit,
}

/// aiosmtpd on 127.0.0.1 with the test certificate, writing a Maildir.
pub struct SmtpSink {
    pub port: u16,
    pub maildir: PathBuf,
    child: Child,
}

impl SmtpSink {
    /// Starts the sink, or `None` (with a message) where aiosmtpd is not installed and
    /// this is not CI; under `AGEDROP_CI=1` a missing sink fails the test.
    pub fn start(dir: &Path, tls: SinkTls) -> Option<SmtpSink> {
        let python = std::env::var("AGEDROP_SMTP_PYTHON").unwrap_or_else(|_| "python3".into());
        let has = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !has {
            assert!(
                std::env::var("AGEDROP_CI").is_err(),
                "aiosmtpd is missing: .ci/run installs it and sets AGEDROP_SMTP_PYTHON"
            );
            eprintln!(
                "SKIPPED: no aiosmtpd (pip install aiosmtpd==1.4.6 into a venv and set \
                 AGEDROP_SMTP_PYTHON to its python)"
            );
            return None;
        }
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let (cert_flag, key_flag) = match tls {
            SinkTls::Starttls => ("--tlscert", "--tlskey"),
            SinkTls::Implicit => ("--smtpscert", "--smtpskey"),
        };
        let maildir = dir.join("maildir");
        let port = closed_port();
        let mut child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args([cert_flag, &format!("{fixtures}/tls-cert.pem")])
            .args([key_flag, &format!("{fixtures}/tls-key.pem")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(SmtpSink {
                    port,
                    maildir,
                    child,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not start on port {port}");
    }

    /// The messages received so far, whole (headers and body).
    pub fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|d| {
                d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits up to `timeout` for `n` messages.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline && self.messages().len() < n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.messages()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
