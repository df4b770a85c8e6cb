//! Helpers: a real `agedrop serve` process on 127.0.0.1 with a fresh team key and data
//! folder, and an HTTP client.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Settings a test may change; everything else is the server's default.
#[derive(Clone)]
pub struct Options {
    /// Extra lines for the `[limits]` table.
    pub limits: Vec<String>,
    /// Data folder, if not `data` inside the test's folder.
    pub data: Option<PathBuf>,
    /// Extra lines for the `[server]` table.
    pub server: Vec<String>,
    /// Extra environment for the server process.
    pub env: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: vec!["storage_min_free_mib = 0".into()],
            data: None,
            server: Vec::new(),
            env: Vec::new(),
        }
    }
}

impl Options {
    /// The default settings plus these `[limits]` lines.
    pub fn limits(lines: &[&str]) -> Options {
        let mut options = Options::default();
        options.limits.extend(lines.iter().map(|l| l.to_string()));
        options
    }
}

/// One team member's identity, made with `agedrop keygen`.
pub struct Member {
    pub identity: PathBuf,
    /// The age recipient.
    pub recipient: String,
    /// The keys-file line `keygen` printed: the recipient and the signing key.
    pub line: String,
}

/// A running server with its own folder.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub member: Member,
    pub options: Options,
    child: Option<Child>,
    log: PathBuf,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_agedrop")
}

/// Makes a new identity with `agedrop keygen --out`.
pub fn keygen(dir: &Path, name: &str) -> Member {
    let identity = dir.join(format!("{name}.identity"));
    let out = Command::new(bin())
        .args(["keygen", "--out"])
        .arg(&identity)
        .output()
        .unwrap();
    assert!(out.status.success(), "keygen failed: {out:?}");
    let line = String::from_utf8(out.stdout).unwrap().trim().to_string();
    Member {
        identity,
        recipient: line.split_whitespace().next().unwrap().to_string(),
        line,
    }
}

/// Makes a signing key of its own with `agedrop keygen --signing-key --out` (for SSH and
/// plugin identities); gives the file and its public key.
pub fn signing_keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let file = dir.join(format!("{name}.signing"));
    let out = Command::new(bin())
        .args(["keygen", "--signing-key", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "keygen --signing-key failed: {out:?}");
    let public = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(public.starts_with("agedropsig1"), "{public}");
    (file, public)
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let member = keygen(dir.path(), "alice");
        std::fs::write(
            dir.path().join("keys.txt"),
            format!("# Alice Example\n{}\n", member.line),
        )
        .unwrap();
        let mut server = TestServer {
            log: dir.path().join("server.log"),
            dir,
            url: String::new(),
            member,
            options,
            child: None,
        };
        server.launch();
        server
    }

    pub fn data(&self) -> PathBuf {
        self.options
            .data
            .clone()
            .unwrap_or_else(|| self.dir.path().join("data"))
    }

    pub fn keys_path(&self) -> PathBuf {
        self.dir.path().join("keys.txt")
    }

    fn write_config(&self) -> PathBuf {
        let path = self.dir.path().join("agedrop.toml");
        let config = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndata = {:?}\nkeys = {:?}\nshutdown_grace_seconds = 5\n{}\n\
             [programme]\nname = \"Test Programme\"\n[limits]\n{}\n",
            self.data(),
            self.keys_path(),
            self.options.server.join("\n"),
            self.options.limits.join("\n")
        );
        std::fs::write(&path, config).unwrap();
        path
    }

    /// Starts the process and waits for its "Listening on" line.
    pub fn launch(&mut self) {
        let config = self.write_config();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut child = Command::new(bin())
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("AGEDROP_LOG", "debug")
            .envs(self.options.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.strip_prefix("Listening on ") {
                        break rest.split_whitespace().next().unwrap().to_string();
                    }
                }
                _ => panic!("server did not start; log:\n{}", self.log_text()),
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.url = url.trim_end_matches('/').to_string();
        self.child = Some(child);
    }

    /// Sends a signal to the server process.
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Graceful stop (SIGTERM), waiting for the process to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            for _ in 0..200 {
                if child.try_wait().unwrap().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("server did not stop on SIGTERM within 10 s");
        }
    }

    /// Stops and starts again on the same folder.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Waits up to `timeout` for the process to exit on its own; its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A client like a browser with JavaScript off: no redirects followed automatically
/// (tests look at each answer), no proxy, a cookie store.
pub fn client() -> reqwest::Client {
    client_builder().build().unwrap()
}

/// The builder behind [`client`], for tests that change something.
pub fn client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(120))
}

/// The fields of a complete report, each holding `canary` plus its own name.
pub fn report_fields(canary: &str) -> Vec<(&'static str, String)> {
    [
        "title",
        "product",
        "versions",
        "description",
        "steps",
        "expected",
        "actual",
        "impact",
        "contact",
        "credit_name",
        "credit_handle",
        "credit_link",
    ]
    .into_iter()
    .map(|name| (name, format!("{canary}-{name}")))
    .collect()
}

/// A multipart form with the given text fields and files (name, bytes).
pub fn form(
    fields: &[(&'static str, String)],
    files: &[(String, Vec<u8>)],
) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields {
        form = form.text(*name, value.clone());
    }
    for (name, bytes) in files {
        form = form.part(
            "files",
            reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(name.clone())
                .mime_str("application/octet-stream")
                .unwrap(),
        );
    }
    form
}

/// Posts a report with these text fields and files (name, bytes); the answer.
pub async fn submit_form(
    server: &TestServer,
    fields: &[(&'static str, String)],
    files: &[(String, Vec<u8>)],
) -> reqwest::Response {
    client()
        .post(server.at("/submit"))
        .multipart(form(fields, files))
        .send()
        .await
        .unwrap()
}

/// Submits a minimal report and returns the receipt code.
pub async fn submit_simple(server: &TestServer, title: &str) -> String {
    let fields = vec![
        ("title", title.to_string()),
        ("description", "details".into()),
    ];
    let page = client()
        .post(server.at("/submit"))
        .multipart(form(&fields, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    receipt_code(&page.text().await.unwrap())
}

/// The code inside `<code id="receipt-code">`.
pub fn receipt_code(html: &str) -> String {
    let start = html
        .find("<code id=\"receipt-code\">")
        .unwrap_or_else(|| panic!("no receipt code in page:\n{html}"))
        + "<code id=\"receipt-code\">".len();
    let end = html[start..].find("</code>").unwrap() + start;
    html[start..end].to_string()
}

/// Posts a receipt code to /check; on success follows the redirect to the thread.
/// Returns (status, page) of the last answer.
pub async fn check(server: &TestServer, code: &str) -> (u16, String) {
    let (_, status, page) = login(server, code).await;
    (status, page)
}

/// As [`check`], also giving the client that holds the session cookie.
pub async fn login(server: &TestServer, code: &str) -> (reqwest::Client, u16, String) {
    let c = client_builder().cookie_store(true).build().unwrap();
    let response = c
        .post(server.at("/check"))
        .form(&[("receipt", code)])
        .send()
        .await
        .unwrap();
    if response.status() == 303 {
        assert_eq!(response.headers()["location"], "/thread");
        let thread = c.get(server.at("/thread")).send().await.unwrap();
        let status = thread.status().as_u16();
        let page = thread.text().await.unwrap();
        return (c, status, page);
    }
    let status = response.status().as_u16();
    (c, status, response.text().await.unwrap())
}

/// The value of `<input type="hidden" name="csrf" value="…">` in a page.
pub fn csrf(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("no CSRF token in the page") + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    page[start..end].to_string()
}

/// Pseudo-random bytes (deterministic, fast) with `canary` written in the middle.
pub fn bytes_with_canary(len: usize, canary: &str) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    let at = len / 2;
    out[at..at + canary.len()].copy_from_slice(canary.as_bytes());
    out
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// `PATH` with the test plugin `age-plugin-agedroptest` (an example target, built by
/// `cargo test`) in front.
pub fn path_with_test_plugin() -> String {
    let examples = std::path::Path::new(bin())
        .parent()
        .unwrap()
        .join("examples");
    assert!(
        examples.join("age-plugin-agedroptest").exists(),
        "the test plugin is missing: run `cargo test` (it builds examples) or `cargo build --examples`"
    );
    format!(
        "{}:{}",
        examples.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The report id on the first row of `agedrop … list` output.
pub fn first_id(list: &str) -> String {
    let row = list.lines().nth(1).expect("a report in the list");
    row.split_whitespace().next().unwrap().to_string()
}

/// `agedrop export` of the running server (it reads a copy of the locked folder) into
/// `NAME.bundle` in the server's folder; the bundle's path.
pub fn export(server: &TestServer, name: &str) -> PathBuf {
    let bundle = server.dir.path().join(format!("{name}.bundle"));
    let out = Command::new(bin())
        .args(["export", "--config"])
        .arg(server.dir.path().join("agedrop.toml"))
        .arg("--out")
        .arg(&bundle)
        .output()
        .unwrap();
    succeeded(out, &["export"]);
    bundle
}

/// The standard output of a command that must have succeeded.
pub fn succeeded(out: std::process::Output, what: &[&str]) -> String {
    assert!(
        out.status.success(),
        "{what:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A desk over a server for library-level tests: logged in with `identity`, its roster
/// pinned in memory (nothing touches the test runner's own state folder).
pub async fn team_desk(server: &TestServer, identity: &Path) -> agedrop::team::Desk {
    use agedrop::team::{Desk, Identities, Pins, Seen, TeamClient};
    let identities = Identities::load(identity).unwrap();
    let client = TeamClient::login(&server.url, &identities).await.unwrap();
    let mut desk = Desk::new(Box::new(client), identities, Seen::memory(), Pins::memory());
    desk.check_roster("now").await.unwrap();
    desk
}

/// Posts a multipart body (with `boundary`) to `/submit` a piece at a time, waiting
/// `delay` before each piece: a slow client.
pub async fn submit_slowly(
    server: &TestServer,
    boundary: &str,
    pieces: Vec<Vec<u8>>,
    delay: Duration,
) -> reqwest::Response {
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let stream = futures_util::StreamExt::then(
        futures_util::stream::iter(pieces),
        move |piece| async move {
            tokio::time::sleep(delay).await;
            Ok::<_, std::io::Error>(piece)
        },
    );
    client()
        .post(server.at("/submit"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("content-length", total)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap()
}
