//! agedrop's integration tests: one binary, each module a user-facing area. `router`
//! drives the web app in-process; the rest run real `agedrop` processes on 127.0.0.1
//! (durability, signals, TLS, the browser, the command line).

#![allow(clippy::unwrap_used)]
// Tests build hostile sealed events on purpose, which the store itself never would.
#![allow(clippy::disallowed_methods)]

mod util;

// In-process: headers, cross-site forms, sessions, receipt codes, rate limits, bad input.
mod router;

// A hostile server: a double in front of a real one that rewrites what it is told to.
mod hostile;

// A report goes in, only ciphertext is stored, the team decrypts it.
mod submit;
// Reporter and team talk under the receipt: replies, notes, follow-ups, purging.
mod conversation;
// Team logins: failures look alike; the keys file decides who logs in.
mod logins;
// The programme's promises for both sides: deadlines, the team's question, the embargo,
// duplicates.
mod promises;
// The advisory reviewed with the reporter, the credit they agree to, OSV and CSAF exports
// checked by their validators, and what a compromised server cannot make count.
mod advisory;
// The whole seed journey, once for each shape of programme.
mod journey;
// Quiet reports go after the retention period, by the server or `agedrop purge`.
mod retention;
// agedrop team against a real server: two members, hostile names, bundles.
mod desk;
// Members come and go: grants without re-encryption, removal, old-format reports.
mod members;
// The threat model, played: a compromised server learns nothing old and forges nothing.
mod threats;
// ...and what it sends is capped, made inert, and never breaks a whole view.
mod hostile_answers;
// One client cannot lock everyone out: bad input and junk floods cost nothing, strangers'
// logins, trickled uploads.
mod floods;
// The team hears of new reports and messages: delayed, coalesced, content-free.
mod notify;
// ...and of acknowledgements coming due, counts only; answered reports are left alone.
mod reminders;
// `agedrop status` on the host: counts, disk, certificate, the last notice; no report.
mod status;
// Nothing personal in logs; storage errors logged once.
mod hygiene;
// Durability: restarts, concurrent commits, quotas, a full disk, slow uploads.
mod storage;
// SIGKILL at random moments, 20 times: nothing acknowledged is lost, nothing is partial.
mod crash;
// Backups taken while reports arrive restore every earlier receipt; tampered archives
// are refused.
mod backup;
// Certificates by ACME against pebble, renewed without a restart; the port-80 redirect.
mod acme;
// The command line as data (trycmd cases over a fixed bundle).
mod cli_cases;
// The command line: keygen, and serve refusing bad settings; TLS.
mod cli;
// The reporter's path in headless Chromium with JavaScript off.
mod browser;
