//! A real `agedrop serve` process on 127.0.0.1 with a fresh team key and data folder:
//! started, signalled, restarted, its log read; and the team's API and desk over it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{Member, Options, bin, keygen, succeeded};

/// A running server with its own folder.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub member: Member,
    pub options: Options,
    child: Option<Child>,
    log: PathBuf,
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
        let config = self.options.config(
            self.options.listen.as_deref().unwrap_or("127.0.0.1:0"),
            &self.data(),
            &self.keys_path(),
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

    /// Writes the keys file with these members (name, keys-file line), sends SIGHUP and
    /// waits until the server has reloaded it.
    pub fn set_members(&self, members: &[(&str, &str)]) {
        let text: String = members
            .iter()
            .map(|(name, line)| format!("# {name}\n{line}\n"))
            .collect();
        self.write_keys(&text, "team keys file reloaded");
    }

    /// Writes `text` as the keys file, sends SIGHUP and waits until the log says
    /// `logged` once more than before.
    pub fn write_keys(&self, text: &str, logged: &str) {
        let before = self.log_text().matches(logged).count();
        std::fs::write(self.keys_path(), text).unwrap();
        self.signal("HUP");
        for _ in 0..400 {
            if self.log_text().matches(logged).count() > before {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the server never logged {logged:?}:\n{}", self.log_text());
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

/// Alice (the server's own member) logged in to its team API.
pub async fn team_client(server: &TestServer) -> agedrop::team::TeamClient {
    let identities = agedrop::team::Identities::load(&server.member.identity).unwrap();
    agedrop::team::TeamClient::login(&server.url, &identities)
        .await
        .unwrap()
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

/// Waits up to `seconds` until the server's log has `logged` more often than `before`
/// times; panics with the log otherwise.
pub fn wait_for_log(server: &TestServer, logged: &str, before: usize, seconds: u64) {
    for _ in 0..seconds * 20 {
        if server.log_text().matches(logged).count() > before {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server never logged {logged:?}:\n{}", server.log_text());
}
