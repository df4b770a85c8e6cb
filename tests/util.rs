//! Helpers for every area: the settings a test server starts with, team members'
//! keys, canaries and how to look for them, and what a command said. Real server
//! processes are in `server`, the router in-process in `app`, HTTP as a browser speaks
//! it in `http`, the `agedrop team` command in `desk`, and the validators of exported
//! advisories in `validators`; notification receivers in `receiver`.

mod app;
mod desk;
mod http;
mod receiver;
mod server;
mod validators;
pub use app::*;
pub use desk::{Desk, reports_in, reports_in_where};
pub use http::*;
pub use receiver::*;
pub use server::*;
pub use validators::*;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Settings a test may change; everything else is the server's default.
#[derive(Clone)]
pub struct Options {
    /// Extra lines for the `[limits]` table.
    pub limits: Vec<String>,
    /// Data folder, if not `data` inside the test's folder.
    pub data: Option<PathBuf>,
    /// `server.listen`, if not a free port on 127.0.0.1.
    pub listen: Option<String>,
    /// Extra lines for the `[server]` table.
    pub server: Vec<String>,
    /// Extra lines for the `[programme]` table (and `[[programme.assets]]` tables,
    /// which must come last).
    pub programme: Vec<String>,
    /// Extra environment for the server process.
    pub env: Vec<(String, String)>,
    /// Lines for the `[notify]` table (and a `[notify.smtp]` table, last).
    pub notify: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: vec!["storage_min_free_mib = 0".into()],
            data: None,
            listen: None,
            server: Vec::new(),
            programme: Vec::new(),
            env: Vec::new(),
            notify: Vec::new(),
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

    /// The default settings plus these `[notify]` lines.
    pub fn notify(lines: Vec<String>) -> Options {
        Options {
            notify: lines,
            ..Default::default()
        }
    }

    /// The default settings plus these `[programme]` lines.
    pub fn programme(lines: &[&str]) -> Options {
        let mut options = Options::default();
        options
            .programme
            .extend(lines.iter().map(|l| l.to_string()));
        options
    }

    /// The default settings, served over TLS with the test certificate (for 127.0.0.1,
    /// signed by `tests/fixtures/tls-ca.pem`, a CA made for these tests only).
    pub fn tls() -> Options {
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        Options {
            server: vec![
                format!("tls_cert = \"{fixtures}/tls-cert.pem\""),
                format!("tls_key = \"{fixtures}/tls-key.pem\""),
            ],
            ..Default::default()
        }
    }

    /// The config file for a server on `listen` with this data folder and keys file.
    pub fn config(&self, listen: &str, data: &Path, keys: &Path) -> String {
        // The programme is "Test Programme" unless the test names it (a `name` before any
        // table of its own, such as an asset's).
        let named = self
            .programme
            .iter()
            .take_while(|l| !l.starts_with('['))
            .any(|l| l.starts_with("name "));
        format!(
            "[server]\nlisten = {listen:?}\ndata = {data:?}\nkeys = {keys:?}\n\
             shutdown_grace_seconds = 5\n{}\n\
             [limits]\n{}\n[programme]\n{}{}\n[notify]\n{}\n",
            self.server.join("\n"),
            self.limits.join("\n"),
            if named {
                ""
            } else {
                "name = \"Test Programme\"\n"
            },
            self.programme.join("\n"),
            self.notify.join("\n")
        )
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

/// What a careless program might write of `needle`: the bytes, hex, and base64
/// (standard and URL-safe) at each of the three alignments, without the characters
/// that mix in what stands before or after it.
pub fn encodings(needle: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine;
    let mut forms = vec![
        needle.to_vec(),
        hex::encode(needle).into_bytes(),
        hex::encode_upper(needle).into_bytes(),
    ];
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ] {
        for pad in 0..3 {
            let mut shifted = vec![b'x'; pad];
            shifted.extend_from_slice(needle);
            let text = engine.encode(&shifted);
            let inner = &text[(pad * 4).div_ceil(3)..text.len().saturating_sub(4)];
            forms.push(inner.as_bytes().to_vec());
        }
    }
    forms.retain(|f| !f.is_empty());
    forms
}

/// Whether `needle` appears in `hay` in any of its [`encodings`].
pub fn leaked(hay: &[u8], needle: &[u8]) -> bool {
    encodings(needle)
        .iter()
        .any(|form| memchr::memmem::find(hay, form).is_some())
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

/// The standard error of a command that must have failed saying `says`.
#[track_caller]
pub fn failed(out: std::process::Output, says: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "it succeeded; expected it to say {says:?}"
    );
    assert!(stderr.contains(says), "expected {says:?} in:\n{stderr}");
    stderr
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

/// Runs `command` with `input` on its standard input; what it did.
pub fn run_with_input(command: &mut Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}
