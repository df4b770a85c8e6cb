//! agedrop: a self-hosted, encrypted, anonymous drop-box for a vulnerability-disclosure
//! programme. Reports are sealed with age to the team's keys before they touch storage;
//! team members read them on their own machines.
//!
//! Imports run one way: `web` / `team` → `status`, `backup`, `store`, `report`,
//! `notify`, `config` → `crypto`; `backup` uses only `store`, `status` only `store` and
//! `notify`, `notify` of `report` only its deadline wording; `certificate` uses nothing
//! of ours.
//! `crypto` is the only module that calls `age`, `store` the only one that calls `sled`,
//! and `web` never sees a team identity.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod backup;
pub mod certificate;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod notify;
pub mod report;
pub mod status;
pub mod store;
pub mod team;
pub mod text;
pub mod web;

/// The value behind `mutex`, even if a thread panicked while holding it: every value
/// agedrop keeps under a lock (sessions, rate-limit buckets, pins) stays consistent
/// between statements, so a panic elsewhere must not stop the rest of the server.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
