//! agedrop: a self-hosted, encrypted, anonymous drop-box for a vulnerability-disclosure
//! programme. Reports are sealed with age to the team's keys before they touch storage;
//! team members read them on their own machines.
//!
//! Imports run one way: `web` / `team` → `store`, `report`, `config` → `crypto`.
//! `crypto` is the only module that calls `age`, `store` the only one that calls `sled`,
//! and `web` never sees a team identity.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod config;
pub mod crypto;
pub mod report;
pub mod store;
pub mod team;
pub mod text;
pub mod web;
