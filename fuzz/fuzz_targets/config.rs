//! The config file's text: `Config::parse` (TOML, every setting's type and range). Only
//! the parse: `validate` reads the files the config names (keys, policy, TLS).
#![no_main]

use agedrop::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = Config::parse(text, "fuzz.toml");
});
