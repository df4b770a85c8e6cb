//! What the desk trusts about a source, pinned on the member's machine: the team roster
//! (whom to seal to, whose signatures count) and each report's reporter key. The first
//! roster seen is pinned and announced; a later difference stops anything from being
//! sealed until the member accepts it (`agedrop team trust`).

use std::sync::MutexGuard;

use super::desk::Desk;
use super::roster::{Change, Pins, Roster};
use super::{TeamError, Thread};
use crate::crypto;
use crate::store::ReportId;

/// What [`Desk::check_roster`] found.
pub enum RosterNews {
    /// No roster was pinned for this source: this one is now (trust on first use).
    FirstUse,
    /// The source lists exactly the pinned roster.
    Same,
    /// The source lists another roster: nothing is sealed until `agedrop team trust`.
    Changed,
    /// The source has no roster (a data folder read without `--keys`).
    Missing,
}

impl Desk {
    /// The pins, even if a thread panicked while holding them.
    pub(super) fn pins(&self) -> MutexGuard<'_, Pins> {
        crate::lock(&self.pins)
    }

    /// The source's own roster (a server's `/team`, a bundle's index).
    async fn source_roster(&self) -> Result<Option<Roster>, TeamError> {
        self.source.roster().await?.map(Roster::check).transpose()
    }

    /// The roster pinned for this source, if any: for a bundle, the one pinned for its
    /// server if the member has met that server, else the one pinned for the bundle.
    pub fn pinned(&self) -> Result<Option<Roster>, TeamError> {
        let pins = self.pins();
        if let Some(origin) = self.source.exported_from()
            && let Some(server_pin) = pins.get(origin)
        {
            return server_pin.map(Some);
        }
        pins.get(&self.roster_key).transpose()
    }

    /// Pins `roster` for this source (`agedrop team trust`). A bundle of a server the
    /// member pinned from the server itself is checked against that pin, which only the
    /// server's own roster may change.
    pub fn trust(&mut self, roster: Roster, now: &str) -> Result<(), TeamError> {
        if let Some(origin) = self.source.exported_from()
            && self.pins().get(origin).is_some()
        {
            return Err(TeamError::RosterChanged(format!(
                "this bundle comes from {}, whose roster you pinned from the server itself; \
                 review a change there: agedrop team --server {} trust",
                crate::text::one_line(origin),
                crate::text::one_line(origin)
            )));
        }
        self.pins().pin(&self.roster_key, &roster, now)?;
        self.roster = Some(roster);
        self.pending = None;
        Ok(())
    }

    /// Compares the source's roster with the one pinned for it: pins it on first use,
    /// and remembers a difference (then nothing is sealed until it is trusted).
    pub async fn check_roster(&mut self, now: &str) -> Result<RosterNews, TeamError> {
        let Some(current) = self.source_roster().await? else {
            return Ok(RosterNews::Missing);
        };
        match self.pinned()? {
            None => {
                self.pins().pin(&self.roster_key, &current, now)?;
                self.roster = Some(current);
                Ok(RosterNews::FirstUse)
            }
            Some(pinned) => {
                let change = Change::between(pinned.members(), current.members());
                self.roster = Some(pinned);
                if change.is_empty() {
                    Ok(RosterNews::Same)
                } else {
                    self.pending = Some((current, change));
                    Ok(RosterNews::Changed)
                }
            }
        }
    }

    /// Uses `roster` (from a keys file the member named) as the trusted one.
    pub fn use_roster(&mut self, roster: Roster) {
        self.roster = Some(roster);
        self.pending = None;
    }

    /// The pinned roster, if any.
    pub fn roster(&self) -> Option<&Roster> {
        self.roster.as_ref()
    }

    /// The source's roster and how it differs, when it is not the pinned one.
    pub fn pending(&self) -> Option<&(Roster, Change)> {
        self.pending.as_ref()
    }

    /// Which pinned roster this source uses (a server's origin).
    pub fn roster_key(&self) -> &str {
        &self.roster_key
    }

    /// The roster to seal to: the pinned one, and only if the source still lists
    /// exactly it.
    pub(super) fn sealing_roster(&self) -> Result<&Roster, TeamError> {
        if let Some((_, change)) = &self.pending {
            return Err(TeamError::RosterChanged(format!(
                "the team roster the server lists differs from the one you pinned:\n{}\
                 Nothing was sealed or sent. If you expected this change (someone joined, \
                 left or has a new key), check it with them and run `agedrop team trust`.",
                change.describe()
            )));
        }
        self.roster.as_ref().ok_or_else(|| {
            TeamError::RosterChanged(
                "there is no pinned team roster to seal to; run `agedrop team trust`".into(),
            )
        })
    }

    /// Pins a server's report's reporter key the first time this desk sees it, so that a
    /// server compromised later cannot swap it (reports sealed before agedrop bound the
    /// key inside them have nothing else to check against).
    pub(super) fn remember_reporter(&self, thread: &Thread) {
        self.remember_reporter_key(thread.id, &thread.reporter);
    }

    /// [`Desk::remember_reporter`] for report `id`, whose reporter key the source gives
    /// as `reporter`.
    pub(super) fn remember_reporter_key(&self, id: ReportId, reporter: &str) {
        if self.source.server().is_none() || crypto::parse_reporter_recipient(reporter).is_err() {
            return;
        }
        let mut pins = self.pins();
        if pins.reporter(&self.roster_key, id).is_none() {
            pins.pin_reporter(&self.roster_key, id, reporter);
        }
    }
}
