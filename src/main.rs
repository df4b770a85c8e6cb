//! The `agedrop` binary: parse the command line, run the command, map errors to exit
//! codes.

#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AGEDROP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,agedrop=info")),
        )
        .init();
    // One TLS provider for the whole process (ring: far cheaper to build than aws-lc-rs).
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agedrop: {e:#}");
            ExitCode::from(1)
        }
    }
}
