//! The team roster a member trusts, pinned on their own machine for each server: whom
//! the desk seals to, and whose signatures it accepts. A server (or a bundle) that lists
//! someone new gets nothing sealed to them until the member accepts the change with
//! `agedrop team trust`; the first roster seen is pinned and announced (trust on first
//! use), or taken from a keys file the member already has (`trust --keys FILE`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::api::TeamMember;
use crate::crypto::{self, VerifyingKey};
use crate::text::one_line;

use super::TeamError;

/// Most members a roster may list (far above any team; bounds what a server can send).
const MAX_MEMBERS: usize = 1000;
/// Longest member name accepted, in characters.
const MAX_NAME: usize = 200;

/// A checked roster: every recipient and signing key well formed, none listed twice.
#[derive(Clone)]
pub struct Roster {
    members: Vec<TeamMember>,
    keys: Vec<Option<VerifyingKey>>,
}

impl Roster {
    /// Checks a roster from a server, a bundle or a keys file; the error says what is
    /// wrong, quoting nothing raw.
    pub fn check(members: Vec<TeamMember>) -> Result<Roster, TeamError> {
        let bad =
            |what: String| TeamError::Server(format!("the team roster is not usable: {what}"));
        if members.is_empty() || members.len() > MAX_MEMBERS {
            return Err(bad(format!("it lists {} members", members.len())));
        }
        let mut keys = Vec::with_capacity(members.len());
        for (i, m) in members.iter().enumerate() {
            let who = format!(
                "member {} ({})",
                i + 1,
                one_line(&crate::text::excerpt(&m.name, 40))
            );
            if m.name.trim().is_empty() || m.name.chars().count() > MAX_NAME {
                return Err(bad(format!("{who} has no usable name")));
            }
            match crypto::canonical_recipient(&m.recipient) {
                Ok(canonical) if canonical == m.recipient => {}
                _ => return Err(bad(format!("{who} has a malformed recipient"))),
            }
            let key = match &m.signing_key {
                Some(text) => Some(
                    text.parse::<VerifyingKey>()
                        .map_err(|_| bad(format!("{who} has a malformed signing key")))?,
                ),
                None => None,
            };
            if members[..i].iter().any(|o| o.recipient == m.recipient) {
                return Err(bad(format!("{who}'s recipient is listed twice")));
            }
            if key.is_some() && keys.contains(&key) {
                return Err(bad(format!("{who}'s signing key is listed twice")));
            }
            keys.push(key);
        }
        Ok(Roster { members, keys })
    }

    /// The roster of a keys file's text (read without running any plugin).
    pub fn from_keys_file(text: &str) -> Result<Roster, TeamError> {
        let lines = crypto::read_keys_file(text)
            .map_err(|e| TeamError::Io(format!("the keys file is not usable: {e}")))?;
        Roster::check(
            lines
                .into_iter()
                .map(|l| TeamMember {
                    name: l.name,
                    recipient: l.recipient,
                    signing_key: l.signing.map(|k| k.to_string()),
                })
                .collect(),
        )
    }

    /// Every member.
    pub fn members(&self) -> &[TeamMember] {
        &self.members
    }

    /// The name of the member whose signing key is `signer` (`agedropsig1…`), with the
    /// key to check a signature with.
    pub fn signer(&self, signer: &str) -> Option<(&str, &VerifyingKey)> {
        let wanted = signer.parse::<VerifyingKey>().ok()?;
        self.members
            .iter()
            .zip(&self.keys)
            .find_map(|(m, k)| match k {
                Some(k) if *k == wanted => Some((m.name.as_str(), k)),
                _ => None,
            })
    }

    /// Parses every recipient for sealing (a plugin recipient needs its program here).
    pub fn recipients(&self) -> Result<Vec<Box<dyn age::Recipient + Send + Sync>>, TeamError> {
        self.members
            .iter()
            .map(|m| {
                crypto::parse_recipient(&m.recipient)
                    .map(|p| p.recipient)
                    .map_err(|e| {
                        TeamError::Io(format!(
                            "cannot seal to {}: {}",
                            one_line(&m.name),
                            one_line(&e)
                        ))
                    })
            })
            .collect()
    }
}

/// How one roster differs from another.
#[derive(Default, Serialize)]
pub struct Change {
    /// Listed now, not before.
    pub added: Vec<TeamMember>,
    /// Listed before, not now.
    pub removed: Vec<TeamMember>,
    /// The same recipient with another name or signing key: (before, now).
    pub changed: Vec<(TeamMember, TeamMember)>,
}

impl Change {
    /// The difference from `pinned` to `now`.
    pub fn between(pinned: &[TeamMember], now: &[TeamMember]) -> Change {
        let mut change = Change::default();
        for m in now {
            match pinned.iter().find(|p| p.recipient == m.recipient) {
                None => change.added.push(m.clone()),
                Some(p) if p != m => change.changed.push((p.clone(), m.clone())),
                Some(_) => {}
            }
        }
        for p in pinned {
            if !now.iter().any(|m| m.recipient == p.recipient) {
                change.removed.push(p.clone());
            }
        }
        change
    }

    /// Whether the rosters are the same.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// The difference as lines for a terminal, every name and key made safe.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for m in &self.added {
            out.push_str(&format!("  + added:   {}\n", describe(m)));
        }
        for m in &self.removed {
            out.push_str(&format!("  - removed: {}\n", describe(m)));
        }
        for (before, now) in &self.changed {
            out.push_str(&format!(
                "  ~ changed: {}\n         to: {}\n",
                describe(before),
                describe(now)
            ));
        }
        out
    }
}

/// One member on one line: name, recipient, signing key.
pub fn describe(m: &TeamMember) -> String {
    let recipient: String = m.recipient.chars().take(70).collect();
    format!(
        "{}  {}{}  {}",
        one_line(&m.name),
        one_line(&recipient),
        if m.recipient.chars().count() > 70 {
            "…"
        } else {
            ""
        },
        m.signing_key
            .as_deref()
            .map(one_line)
            .unwrap_or_else(|| "(no signing key: their words show as unverified)".into())
    )
}

#[derive(Serialize, Deserialize)]
struct Pinned {
    /// When it was pinned (RFC 3339).
    pinned: String,
    members: Vec<TeamMember>,
}

/// What the desk pins, as saved.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PinFile {
    /// Rosters by source (a server's origin, or `bundle:` and a bundle's).
    #[serde(default)]
    rosters: BTreeMap<String, Pinned>,
    /// The reporter key each report had when this desk first saw it, by source and id.
    #[serde(default)]
    reporters: BTreeMap<String, BTreeMap<String, String>>,
}

/// Everything this member has pinned: the rosters they trust, and each report's
/// reporter key as first seen (so that a server compromised later cannot swap it).
pub struct Pins {
    path: Option<PathBuf>,
    file: PinFile,
    dirty: bool,
}

impl Pins {
    /// Loads `$XDG_STATE_HOME/agedrop/pins.json`. A missing file is empty; anything else
    /// that stops it from being read is an error (silently forgetting a pin would mean
    /// trusting anew).
    pub fn load() -> Result<Self, TeamError> {
        let path = super::settings::state_dir()
            .ok_or_else(|| {
                TeamError::Io(
                    "no folder to keep the pinned team roster in: set HOME (or XDG_STATE_HOME)"
                        .into(),
                )
            })?
            .join("pins.json");
        let file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                TeamError::Io(format!(
                    "{} is damaged ({}); move it away to pin the team's roster anew",
                    path.display(),
                    crate::text::excerpt(&e.to_string(), 200)
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => PinFile::default(),
            Err(e) => {
                return Err(TeamError::Io(format!(
                    "cannot read {}: {e}; the desk will not trust anew without it",
                    path.display()
                )));
            }
        };
        Ok(Pins {
            path: Some(path),
            file,
            dirty: false,
        })
    }

    /// Pins kept in memory only (for scripts and tests that must not touch the member's
    /// state folder).
    pub fn memory() -> Self {
        Pins {
            path: None,
            file: PinFile::default(),
            dirty: false,
        }
    }

    /// The roster pinned for `source`, if any.
    pub fn get(&self, source: &str) -> Option<Result<Roster, TeamError>> {
        self.file
            .rosters
            .get(source)
            .map(|p| Roster::check(p.members.clone()))
    }

    /// Pins `roster` for `source` and saves.
    pub fn pin(&mut self, source: &str, roster: &Roster, now: &str) -> Result<(), TeamError> {
        self.file.rosters.insert(
            source.to_string(),
            Pinned {
                pinned: now.to_string(),
                members: roster.members.clone(),
            },
        );
        self.dirty = true;
        self.save()
    }

    /// The reporter key pinned for a report of `source`, if any.
    pub fn reporter(&self, source: &str, report: crate::store::ReportId) -> Option<&str> {
        self.file
            .reporters
            .get(source)
            .and_then(|r| r.get(&report.to_string()))
            .map(String::as_str)
    }

    /// Pins a report's reporter key (saved by [`Pins::save`]).
    pub fn pin_reporter(&mut self, source: &str, report: crate::store::ReportId, recipient: &str) {
        self.file
            .reporters
            .entry(source.to_string())
            .or_default()
            .insert(report.to_string(), recipient.to_string());
        self.dirty = true;
    }

    /// Saves what changed.
    pub fn save(&mut self) -> Result<(), TeamError> {
        if !self.dirty {
            return Ok(());
        }
        if let Some(path) = &self.path {
            super::settings::save_state(path, &self.file)?;
        }
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str) -> TeamMember {
        let key = crypto::SigningKey::generate().unwrap().public().to_string();
        TeamMember {
            name: name.into(),
            recipient: age::x25519::Identity::generate().to_public().to_string(),
            signing_key: Some(key),
        }
    }

    #[test]
    fn changes_are_seen_and_bad_rosters_refused() {
        let a = member("Alice");
        let b = member("Bob");
        let mallory = member("Mallory\x1b[2J");
        let pinned = vec![a.clone(), b.clone()];
        assert!(Change::between(&pinned, &pinned).is_empty());
        let mut renamed = b.clone();
        renamed.name = "Robert".into();
        let change = Change::between(&pinned, &[a.clone(), renamed, mallory.clone()]);
        assert_eq!(change.added.len(), 1);
        assert_eq!(change.changed.len(), 1);
        let text = change.describe();
        assert!(
            text.contains("Mallory\\u{1b}[2J") && !text.contains('\x1b'),
            "{text}"
        );
        let change = Change::between(&pinned, std::slice::from_ref(&a));
        assert_eq!(change.removed.len(), 1);

        assert!(Roster::check(vec![a.clone(), a.clone()]).is_err());
        let mut upper = a.clone();
        upper.recipient = upper.recipient.to_uppercase();
        assert!(Roster::check(vec![upper]).is_err());
        let mut same_key = b.clone();
        same_key.signing_key = a.signing_key.clone();
        assert!(Roster::check(vec![a.clone(), same_key]).is_err());
        let roster = Roster::check(vec![a.clone(), b]).unwrap();
        let (name, _) = roster.signer(a.signing_key.as_deref().unwrap()).unwrap();
        assert_eq!(name, "Alice");
        assert!(
            roster
                .signer(mallory.signing_key.as_deref().unwrap())
                .is_none()
        );
    }
}
