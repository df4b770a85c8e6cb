//! `agedrop team` as a member runs it: a real desk process with its own identity, home,
//! config and state folders, against a server or a double in front of one.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{TestServer, bin};

/// A member's private corner: an identity and their own config and state folders.
pub struct Desk {
    identity: PathBuf,
    signing_key: Option<PathBuf>,
    pub home: tempfile::TempDir,
    server: String,
    /// Seconds this desk's clock runs ahead (`AGEDROP_CLOCK_OFFSET`).
    ahead: i64,
}

impl Desk {
    pub fn new(server: &TestServer, identity: &Path) -> Desk {
        Desk::at(&server.url, identity)
    }

    /// A desk that talks to `url` (a test double, say).
    pub fn at(url: &str, identity: &Path) -> Desk {
        Desk {
            identity: identity.to_path_buf(),
            signing_key: None,
            home: tempfile::tempdir().unwrap(),
            server: url.to_string(),
            ahead: 0,
        }
    }

    /// The same member, with a clock `seconds` ahead: deadlines pass without waiting.
    pub fn later(mut self, seconds: i64) -> Desk {
        self.ahead = seconds;
        self
    }

    /// The same member with a signing key file of their own.
    pub fn signing_with(mut self, file: &Path) -> Desk {
        self.signing_key = Some(file.to_path_buf());
        self
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(bin());
        c.env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_STATE_HOME", self.home.path().join("state"))
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("XDG_RUNTIME_DIR", self.home.path())
            .env("AGEDROP_SERVER", &self.server)
            .env("AGEDROP_IDENTITY", &self.identity)
            .env_remove("AGEDROP_SIGNING_KEY")
            .env_remove("EDITOR")
            .env_remove("VISUAL")
            .env("AGEDROP_CLOCK_OFFSET", self.ahead.to_string());
        if let Some(file) = &self.signing_key {
            c.env("AGEDROP_SIGNING_KEY", file);
        }
        c.arg("team");
        c
    }

    /// Runs `agedrop team ARGS`, expecting success; its standard output.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "agedrop team {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `agedrop team ARGS`, expecting it to fail saying `says`; its standard error.
    #[track_caller]
    pub fn fails(&self, args: &[&str], says: &str) -> String {
        super::failed(self.command().args(args).output().unwrap(), says)
    }

    /// The id of the report titled `title`, from `list --json`.
    #[track_caller]
    pub fn id_of(&self, title: &str) -> String {
        self.json(&["list"])
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["title"] == title)
            .unwrap_or_else(|| panic!("no report titled {title}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.run(&all)).unwrap()
    }

    /// Runs in a pseudo-terminal (`script`) with `input` typed in (passphrases,
    /// confirmations), expecting success; what the terminal showed.
    pub fn run_in_terminal(&self, args: &[&str], input: &str) -> String {
        let (ok, shown) = self.try_in_terminal(args, input);
        assert!(ok, "in a terminal, {args:?} failed: {shown}");
        shown
    }

    /// As [`Desk::run_in_terminal`], but reports failure instead of asserting.
    pub fn try_in_terminal(&self, args: &[&str], input: &str) -> (bool, String) {
        let mut line = format!("{} team", bin());
        for arg in args {
            line.push_str(&format!(" '{}'", arg.replace('\'', "'\\''")));
        }
        let mut script = Command::new("script");
        if let Some(file) = &self.signing_key {
            script.env("AGEDROP_SIGNING_KEY", file);
        }
        script
            .args(["-qec", &line, "/dev/null"])
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_STATE_HOME", self.home.path().join("state"))
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("AGEDROP_SERVER", &self.server)
            .env("AGEDROP_IDENTITY", &self.identity);
        // `script` (util-linux) runs the command in a terminal.
        let out = super::run_with_input(&mut script, input.as_bytes());
        let shown = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
        (out.status.success(), shown)
    }
}

/// Every report in the data folder `data` (of a stopped server), read by a desk with
/// `identity`: title → the SHA-256 of each attachment as the desk wrote it. Panics on a
/// report that is not whole (no submission, an attachment missing or damaged).
pub async fn reports_in(
    data: &Path,
    identity: &Path,
) -> std::collections::HashMap<String, Vec<String>> {
    reports_in_where(data, identity, |_| true).await
}

/// Every report in the data folder `data` (of a stopped server), read by a desk with
/// `identity`: title → the SHA-256 of each attachment as the desk wrote it. Panics on a
/// report that is not whole (no submission, an attachment missing or damaged). Only the
/// reports whose title is `wanted` have their attachments read.
pub async fn reports_in_where(
    data: &Path,
    identity: &Path,
    wanted: impl Fn(&str) -> bool,
) -> std::collections::HashMap<String, Vec<String>> {
    let identities = agedrop::team::Identities::load(identity).unwrap();
    let inbox = agedrop::team::LocalInbox::open(data).unwrap();
    let desk = agedrop::team::Desk::new(
        Box::new(inbox),
        identities,
        agedrop::team::Seen::memory(),
        agedrop::team::Pins::memory(),
    );
    let out = tempfile::tempdir().unwrap();
    let mut found = std::collections::HashMap::new();
    for summary in desk.list(&[], false).await.unwrap() {
        let thread = desk.thread(summary.id).await.unwrap();
        let title = thread.submission().expect("a whole report").title.clone();
        if !wanted(&title) {
            continue;
        }
        let into = out.path().join(summary.id.to_string());
        std::fs::create_dir(&into).unwrap();
        let written = desk
            .attachments(thread.id, &into, false, false)
            .await
            .unwrap();
        assert_eq!(written.len(), thread.attachments().len(), "{title}");
        let sums = written
            .iter()
            .map(|w| {
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                    std::fs::read(&w.path).unwrap(),
                ))
            })
            .collect();
        found.insert(title, sums);
    }
    found
}
