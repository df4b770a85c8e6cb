//! Where the desk finds its server and identity (flags, then `AGEDROP_SERVER` and
//! `AGEDROP_IDENTITY`, then `~/.config/agedrop/team.toml`), and the little it keeps
//! between runs: how many events of each report the member has read (ids and counts,
//! never content).

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
}

/// The server and identity to use, once flags, environment and file are combined.
pub struct Resolved {
    /// Server URL, if any source named one.
    pub server: Option<String>,
    /// Identity file.
    pub identity: PathBuf,
}

fn home_dir(var: &str, fallback: &str) -> Option<PathBuf> {
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
pub fn resolve(server: Option<String>, identity: Option<PathBuf>) -> Result<Resolved, TeamError> {
    let file = match config_path() {
        Some(path) if path.is_file() => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| TeamError::Io(format!("cannot read {}: {e}", path.display())))?;
            toml::from_str::<TeamFile>(&text).map_err(|e| {
                TeamError::Io(format!(
                    "{}: {} (it may hold `server = \"https://…\"` and `identity = \"/path\"`)",
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
    Ok(Resolved { server, identity })
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
        let path =
            home_dir("XDG_STATE_HOME", ".local/state").map(|d| d.join("agedrop").join("seen.json"));
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

    /// Events of `report` seen so far.
    pub fn get(&self, report: &str) -> u32 {
        self.all
            .get(&self.source)
            .and_then(|m| m.get(report))
            .copied()
            .unwrap_or(0)
    }

    /// Records that `events` events of `report` have been seen, and saves.
    pub fn mark(&mut self, report: &str, events: u32) -> Result<(), TeamError> {
        let entry = self
            .all
            .entry(self.source.clone())
            .or_default()
            .entry(report.to_string())
            .or_default();
        *entry = (*entry).max(events);
        match &self.path {
            Some(path) => save(path, &self.all),
            None => Ok(()),
        }
    }
}

fn save(path: &Path, all: &BTreeMap<String, BTreeMap<String, u32>>) -> Result<(), TeamError> {
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
