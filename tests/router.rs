//! The router in-process (`agedrop::web::app(state)` driven with `oneshot`): what every
//! answer carries, what a form must prove, sessions, receipt codes, rate limits and bad
//! input. Nothing here needs a socket or a process, so each case has a router of its own.

// Security headers on every route, error pages included.
mod headers;
// /healthz: ok, or 503 once storage has failed.
mod health;
// Forms posted from another site are refused; our own and non-browser clients pass.
mod cross_site;
// Sessions: the one cookie, the form token, logout, idleness and age.
mod sessions;
// Receipt codes: valid, typo'd, unknown, sloppily typed.
mod receipts;
// Rate limits: junk takes no token, one key's flood never touches another's.
mod limits;
// The policy is the operator's: the policy page, the summary above the form, a policy
// file with nothing active left in it.
mod policy;
// Better reports at intake: assets, weakness, CVSS estimate, how it was found, AI use.
mod intake;
// security.txt passes a real validator; the recipients it points to.
mod security_txt;
// Bad input: each gets its own clear page (the table is also played against a real
// process in `floods`).
pub mod bad_input;
