//! What the server tells its own host, and nobody else: the days of the reports that
//! wait for an answer (for the deadline reminders), its store (for `agedrop backup`)
//! and its status (for `agedrop status`), the last two over the socket in its data
//! folder.

use crate::store::Store;

use super::AppState;

/// The reminders read the days of last activity of unanswered reports, nothing else.
impl crate::notify::Unanswered for AppState {
    fn unanswered_days(&self) -> Option<Vec<u32>> {
        match self.store.unanswered_days() {
            Ok(days) => Some(days),
            Err(e) => {
                self.fail_stop(e).log();
                None
            }
        }
    }
}

/// For the backup socket, which snapshots the running server's store.
impl AsRef<Store> for AppState {
    fn as_ref(&self) -> &Store {
        &self.store
    }
}

impl crate::backup::Host for AppState {
    fn status_line(&self) -> Result<String, String> {
        let mut live = crate::status::Live::of(&self.store).map_err(|e| {
            let why = e.to_string();
            self.fail_stop(e).log();
            format!("storage: {why}; see the server's log")
        })?;
        live.storage_failed = self.has_failed();
        live.last_notice = self.notices.get().and_then(|s| s.last_notice());
        serde_json::to_string(&live).map_err(|e| e.to_string())
    }
}
