//! `age-plugin-agedroptest`: a minimal age plugin for agedrop's tests, standing in for
//! hardware plugins such as age-plugin-yubikey. NOT SECURE: it wraps file keys with a
//! XOR. Recipient and identity both carry the same 32 random bytes.
//!
//! Run with no arguments, it prints a new identity file (with its recipient in a
//! comment, as real plugins do).

#![forbid(unsafe_code)]

use std::collections::{HashMap, HashSet};
use std::io;

use age_core::format::{FileKey, Stanza};
use age_core::secrecy::ExposeSecret;
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{Callbacks, PluginHandler, run_state_machine};

const TAG: &str = "agedroptest";

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Wrap;
    type IdentityV1 = Unwrap;

    fn recipient_v1(self) -> io::Result<Wrap> {
        Ok(Wrap(Vec::new()))
    }

    fn identity_v1(self) -> io::Result<Unwrap> {
        Ok(Unwrap(Vec::new()))
    }
}

fn key(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

fn xor(file_key: &[u8; 16], key: &[u8; 32]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for i in 0..16 {
        out[i] = file_key[i] ^ key[i];
    }
    out
}

struct Wrap(Vec<[u8; 32]>);

impl RecipientPluginV1 for Wrap {
    fn add_recipient(
        &mut self,
        index: usize,
        _: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        let k = key(bytes).ok_or(recipient::Error::Recipient {
            index,
            message: "bad recipient".into(),
        })?;
        self.0.push(k);
        Ok(())
    }

    fn add_identity(
        &mut self,
        index: usize,
        _: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        let k = key(bytes).ok_or(recipient::Error::Identity {
            index,
            message: "bad identity".into(),
        })?;
        self.0.push(k);
        Ok(())
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        _: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        Ok(Ok(file_keys
            .iter()
            .map(|fk| {
                self.0
                    .iter()
                    .map(|k| Stanza {
                        tag: TAG.into(),
                        args: vec![],
                        body: xor(fk.expose_secret(), k).to_vec(),
                    })
                    .collect()
            })
            .collect()))
    }
}

struct Unwrap(Vec<[u8; 32]>);

impl IdentityPluginV1 for Unwrap {
    fn add_identity(&mut self, index: usize, _: &str, bytes: &[u8]) -> Result<(), identity::Error> {
        let k = key(bytes).ok_or(identity::Error::Identity {
            index,
            message: "bad identity".into(),
        })?;
        self.0.push(k);
        Ok(())
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        _: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        let mut out = HashMap::new();
        for (i, stanzas) in files.iter().enumerate() {
            for stanza in stanzas
                .iter()
                .filter(|s| s.tag == TAG && s.body.len() == 16)
            {
                if let Some(k) = self.0.first() {
                    let body: [u8; 16] = stanza.body[..].try_into().unwrap_or_default();
                    out.insert(i, Ok(FileKey::new(Box::new(xor(&body, k)))));
                }
            }
        }
        Ok(out)
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    // Tests that must show a plugin did not run read this log of every run.
    if let Some(log) = std::env::var_os("AGEDROPTEST_PLUGIN_LOG") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        writeln!(file, "{}", args[1..].join(" "))?;
    }
    if let Some(machine) = args.iter().find_map(|a| a.strip_prefix("--age-plugin=")) {
        return run_state_machine(machine, Handler);
    }
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).map_err(io::Error::other)?;
    age_plugin::print_new_identity(TAG, &k, &k);
    Ok(())
}
