//! The `agedrop` binary: parse the command line, run the command, map errors to exit
//! codes.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A crash must not write memory to disk: the server holds sessions' keys and
    // plaintext on its way to being sealed, the desk holds decrypted reports. Not
    // dumpable also means no core even through a core_pattern pipe, and no ptrace or
    // /proc/PID/mem for other processes of the same user.
    let cores_off = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )
    .and_then(|()| {
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    });
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AGEDROP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,agedrop=info")),
        )
        .init();
    if let Err(e) = cores_off {
        tracing::warn!("could not disable core dumps ({e}); set LimitCORE=0 or ulimit -c 0");
    }
    // One TLS provider for the whole process (ring: far cheaper to build than aws-lc-rs).
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors can quote a server, a bundle or a file: never let them drive the
            // terminal.
            eprintln!(
                "agedrop: {}",
                agedrop::text::terminal_safe(&format!("{e:#}"))
            );
            ExitCode::from(1)
        }
    }
}
