//! agedrop's integration tests: one binary, each module a user-facing area, every test
//! against a real `agedrop serve` process on 127.0.0.1.

#![allow(clippy::unwrap_used)]
// Tests build hostile sealed events on purpose, which the store itself never would.
#![allow(clippy::disallowed_methods)]

mod util;
// A hostile server: a double in front of a real one that rewrites what it is told to.
mod hostile;

// A report goes in, only ciphertext is stored, the team decrypts it.
mod submit;
// Receipt codes: valid, typo'd, unknown, sloppily typed.
mod receipt;
// Bad input gets a clear 4xx page and the server keeps serving.
mod bad_input;
// Reporter and team talk under the receipt: sessions, the team API, purging.
mod conversation;
// agedrop team against a real server: two members, hostile names, bundles.
mod desk;
// Members come and go: grants without re-encryption, removal, old-format reports.
mod members;
// The threat model, played: a compromised server learns nothing old and forges nothing.
mod threats;
// ...and what it sends is capped, made inert, and never breaks a whole view.
mod hostile_answers;
// One client cannot lock everyone out: junk floods, strangers' logins, trickled uploads.
mod floods;
// Security headers on every route, error pages included; nothing personal in logs.
mod hygiene;
// Durability: restarts, concurrent commits, quotas, a full disk, slow uploads.
mod storage;
// The command line as data (trycmd cases over a fixed bundle).
mod cli_cases;
// The command line: keygen, and serve refusing bad settings; TLS.
mod cli;
// The reporter's path in headless Chromium with JavaScript off.
mod browser;
