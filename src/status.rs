//! `agedrop status`: what the running server says of itself over its socket on the
//! host ([`Live`]): counts, disk use and free space, whether storage failed, and the
//! last notice's fate. Nothing of any report: no id, no title, no day of any one
//! report. The command adds what it reads itself (the configured floor, the TLS
//! certificate's expiry) and prints it.

use serde::{Deserialize, Serialize};

use crate::notify::LastNotice;
use crate::store::{Census, Store, StoreError};

/// The server's status, as the socket carries it (one line of JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    /// Reports, reports waiting for an answer, events, attachments.
    pub census: Census,
    /// Bytes the data folder occupies.
    pub used_bytes: u64,
    /// Bytes free on the data folder's file system.
    pub free_bytes: u64,
    /// Storage has failed: the server is stopping.
    pub storage_failed: bool,
    /// The last notice since the server started, if any; kept in memory only.
    pub last_notice: Option<LastNotice>,
}

impl Live {
    /// What `store` holds and uses; no notice known, storage not failed.
    pub fn of(store: &Store) -> Result<Live, StoreError> {
        Ok(Live {
            census: store.census()?,
            used_bytes: store.used_bytes()?,
            free_bytes: store.available_bytes()?,
            storage_failed: false,
            last_notice: None,
        })
    }
}
