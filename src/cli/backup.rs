//! `agedrop backup` and `agedrop restore`: thin wiring over [`agedrop::backup`].

use std::path::PathBuf;

use agedrop::backup::{self, Summary};
use agedrop::config::{Config, Overrides};

/// What a backup reveals, and how to keep it encrypted at rest (shown by both commands).
const REVEALS: &str = "\
What a backup reveals: it holds only what the data folder holds, ciphertext and the few \
values the server keeps in the clear: how many reports there are, how many events and \
attachments each has and their sizes, the day each report was last active and whether \
the team has written to it, random ids, the reporters' public keys and the receipts' \
look-up keys (from which no receipt can be recovered). No report text, file name, reply, \
status or receipt code is in it.

To keep even that private at rest, encrypt the file to a key kept off the server, e.g. \
`age -r age1... -o backup.tar.age backup.tar && rm backup.tar` (and `age -d -i KEY \
backup.tar.age > backup.tar` before restoring).";

/// On the server host: write a consistent backup of the data folder (ciphertext only),
/// also while the server runs.
///
/// With the server running, it takes the snapshot itself (asked over the socket
/// `backup.sock` in its data folder), so no report is torn and every attachment the
/// backup's reports name is in it. Without a running server, the data folder is opened
/// here. The result is one tar file (mode 0600, never overwritten), checked by reading it
/// back; restore it with `agedrop restore`.
#[derive(clap::Args)]
#[command(after_long_help = REVEALS)]
pub struct BackupArgs {
    /// The server's config file (for its data folder).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Data folder [default: from the config, or /var/lib/agedrop].
    #[arg(long)]
    data: Option<PathBuf>,
    /// The backup file to write (never overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Print the summary as JSON (reports, attachments, bytes).
    #[arg(long)]
    json: bool,
}

/// Make a new data folder from a backup written by `agedrop backup`.
///
/// The whole archive is checked before anything is written: it must hold exactly what a
/// backup writes (no other names, no links, no absolute paths or `..`), and every
/// attachment its reports name. Then start the server with server.data set to DIR.
#[derive(clap::Args)]
#[command(after_long_help = REVEALS)]
pub struct RestoreArgs {
    /// The backup file.
    file: PathBuf,
    /// The data folder to create (must be absent or empty).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Print the summary as JSON (reports, attachments, bytes).
    #[arg(long)]
    json: bool,
}

pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        data: args.data,
        ..Default::default()
    };
    let config = Config::load(args.config.as_deref(), &overrides)?;
    let summary = backup::take(&config.server.data, &args.out)?;
    report(
        &summary,
        args.json,
        &format!("Wrote {}", args.out.display()),
    )?;
    if !args.json {
        eprintln!(
            "It holds ciphertext only, but shows counts, sizes and days: encrypt it at rest \
             (see `agedrop backup --help`)."
        );
    }
    Ok(())
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let summary = backup::restore(&args.file, &args.data)?;
    report(
        &summary,
        args.json,
        &format!(
            "Restored {} into {}",
            args.file.display(),
            args.data.display()
        ),
    )?;
    if !args.json {
        eprintln!(
            "Set server.data to {} (owned by the server's user) and start agedrop.",
            args.data.display()
        );
    }
    Ok(())
}

fn report(summary: &Summary, json: bool, done: &str) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(summary)?);
    } else {
        println!(
            "{done}: {} report(s), {} attachment(s), {} bytes.",
            summary.reports, summary.attachments, summary.bytes
        );
    }
    Ok(())
}
