//! Where the desk finds its server, identity and signing key (flags, then
//! `AGEDROP_SERVER`, `AGEDROP_IDENTITY` and `AGEDROP_SIGNING_KEY`, then
//! `~/.config/agedrop/team.toml`), and the little it keeps between runs: how many events
//! of each report the member has read (ids and counts, never content), and the rosters
//! it pinned (public keys).

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::TeamError;

/// `~/.config/agedrop/team.toml`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TeamFile {
    server: Option<String>,
    identity: Option<PathBuf>,
    signing_key: Option<PathBuf>,
}

/// The server, identity and signing key to use, once flags, environment and file are
/// combined.
pub struct Resolved {
    /// Server URL, if any source named one.
    pub server: Option<String>,
    /// Identity file.
    pub identity: PathBuf,
    /// A signing key file, for identities that cannot give one (SSH keys, plugins).
    pub signing_key: Option<PathBuf>,
}

pub(super) fn home_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(fallback)),
    }
}

/// The team config file's path.
pub fn config_path() -> Option<PathBuf> {
    home_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("agedrop").join("team.toml"))
}

/// Combines flags, environment and config file.
pub fn resolve(
    server: Option<String>,
    identity: Option<PathBuf>,
    signing_key: Option<PathBuf>,
) -> Result<Resolved, TeamError> {
    let file = match config_path() {
        Some(path) if path.is_file() => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| TeamError::Io(format!("cannot read {}: {e}", path.display())))?;
            toml::from_str::<TeamFile>(&text).map_err(|e| {
                TeamError::Io(format!(
                    "{}: {} (it may hold `server = \"https://…\"`, `identity = \"/path\"` \
                     and `signing_key = \"/path\"`)",
                    path.display(),
                    e.message().trim()
                ))
            })?
        }
        _ => TeamFile::default(),
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let server = server.or_else(|| env("AGEDROP_SERVER")).or(file.server);
    let identity = identity
        .or_else(|| env("AGEDROP_IDENTITY").map(PathBuf::from))
        .or(file.identity)
        .ok_or_else(|| {
            TeamError::Identity(format!(
                "no identity given: pass --identity FILE, set AGEDROP_IDENTITY, or put \
                 `identity = \"/path/to/identity.txt\"` in {}",
                config_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "~/.config/agedrop/team.toml".into())
            ))
        })?;
    let signing_key = signing_key
        .or_else(|| env("AGEDROP_SIGNING_KEY").map(PathBuf::from))
        .or(file.signing_key);
    Ok(Resolved {
        server,
        identity,
        signing_key,
    })
}

/// `$XDG_STATE_HOME/agedrop` (or `~/.local/state/agedrop`).
pub(super) fn state_dir() -> Option<PathBuf> {
    home_dir("XDG_STATE_HOME", ".local/state").map(|d| d.join("agedrop"))
}

/// How many events of each report this member has seen, per source.
pub struct Seen {
    path: Option<PathBuf>,
    source: String,
    all: BTreeMap<String, BTreeMap<String, u32>>,
}

impl Seen {
    /// Loads the record for `source` (a server URL or a bundle path); a missing or
    /// unreadable file starts empty.
    pub fn load(source: &str) -> Self {
        let path = state_dir().map(|d| d.join("seen.json"));
        let all = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Seen {
            path,
            source: source.to_string(),
            all,
        }
    }

    /// A record kept in memory only (for scripts and tests that must not touch the
    /// member's state folder).
    pub fn memory() -> Self {
        Seen {
            path: None,
            source: String::new(),
            all: BTreeMap::new(),
        }
    }

    /// Events of `report` seen so far.
    pub fn get(&self, report: crate::store::ReportId) -> u32 {
        self.all
            .get(&self.source)
            .and_then(|m| m.get(&report.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Records that `events` events of `report` have been seen, and saves.
    pub fn mark(&mut self, report: crate::store::ReportId, events: u32) -> Result<(), TeamError> {
        let entry = self
            .all
            .entry(self.source.clone())
            .or_default()
            .entry(report.to_string())
            .or_default();
        *entry = (*entry).max(events);
        match &self.path {
            Some(path) => save_state(path, &self.all),
            None => Ok(()),
        }
    }
}

/// Writes a state file (mode 0600, in a 0700 folder) and renames it into place.
pub(super) fn save_state<T: serde::Serialize>(path: &Path, all: &T) -> Result<(), TeamError> {
    let io = |e: std::io::Error| TeamError::Io(format!("cannot save {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    let json = serde_json::to_vec_pretty(all).map_err(|e| TeamError::Io(e.to_string()))?;
    let temp = path.with_extension("json.new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .map_err(io)?;
    file.write_all(&json).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&temp, path).map_err(io)
}
