//! The team keys file's text: `TeamKeys::parse` (names, age recipients of every kind,
//! signing keys) and the line reader `read_keys_file` that `agedrop trust` uses.
#![no_main]

use agedrop::crypto::{TeamKeys, read_keys_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = TeamKeys::parse(text);
    let _ = read_keys_file(text);
});
