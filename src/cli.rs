//! The subcommands (clap derive) and what each one wires together.

mod advisory;
mod backup;
mod compose;
mod grant;
mod keygen;
mod notify;
mod purge;
mod read;
mod status;
mod team;
mod trust;

use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};

use agedrop::config::{Config, Overrides, ProgrammeName};
use agedrop::crypto::{self, TeamKeys};
use agedrop::report::human_size;
use agedrop::store::{Store, StoreOptions};
use agedrop::team::LocalInbox;
use agedrop::web;

/// An encrypted, anonymous drop-box for vulnerability reports.
#[derive(Parser)]
#[command(name = "agedrop", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new age identity for a team member (keep it on your own machine); it
    /// prints the member's line for the team keys file.
    Keygen {
        /// Write the identity to this file (mode 0600; never overwritten) instead of stdout.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Protect the file with a passphrase (asked for twice on the terminal).
        #[arg(long, requires = "out")]
        passphrase: bool,
        /// Make a signing key of your own instead, for an identity that cannot give one
        /// (an SSH key, a hardware plugin); pass it to the desk with --signing-key.
        #[arg(long, requires = "out")]
        signing_key: bool,
    },
    /// Run the drop-box server.
    Serve(ServeArgs),
    /// Try agedrop on this machine: a demo team key, a local server on 127.0.0.1:8080.
    Demo {
        /// Folder for the demo's identity, keys file and data (created if absent).
        #[arg(long, default_value = "agedrop-demo")]
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// The team's desk: list, read, answer and close reports from your own machine.
    Team(team::TeamArgs),
    /// On the server host: write every report (ciphertext only) to one bundle file, for
    /// `agedrop team --bundle FILE` on a machine without network.
    Export {
        /// The server's config file (for its data folder, keys file and promises).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Data folder [default: from the config, or /var/lib/agedrop].
        #[arg(long)]
        data: Option<PathBuf>,
        /// Team keys file [default: from the config, or /etc/agedrop/keys.txt].
        #[arg(long)]
        keys: Option<PathBuf>,
        /// The bundle to write (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// On the server host: list or purge the reports quiet for the retention period.
    ///
    /// A report with no activity for limits.retention_days (or --days) is listed with
    /// --dry-run (its id and days, nothing else) or purged with --yes. A running server
    /// purges such reports itself every hour; stop it to purge by hand.
    #[command(group(clap::ArgGroup::new("mode").required(true).args(["dry_run", "yes"])))]
    Purge {
        /// The server's config file (for its data folder and limits.retention_days).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Data folder [default: from the config, or /var/lib/agedrop].
        #[arg(long)]
        data: Option<PathBuf>,
        /// Days without activity [default: limits.retention_days].
        #[arg(long)]
        days: Option<u32>,
        /// Only list what would go: report ids and days, nothing else.
        #[arg(long)]
        dry_run: bool,
        /// Purge them, for good.
        #[arg(long)]
        yes: bool,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    Backup(backup::BackupArgs),
    Restore(backup::RestoreArgs),
    /// Send a test notice to every receiver in the config's [notify] and say how each went.
    NotifyTest(notify::NotifyTestArgs),
    Status(status::StatusArgs),
    /// Read a data folder copied from the server, decrypting on this machine.
    Open {
        /// The server's data folder (or a copy of it).
        #[arg(long)]
        data: PathBuf,
        /// Your age identity file or SSH private key.
        #[arg(long, short)]
        identity: PathBuf,
        /// The team keys file whose signing keys team events are checked against (a data
        /// folder holds no roster; without it every team event shows as unverified).
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
        /// The server's config file, for the programme's promises (without it, `list`
        /// shows no acknowledgement deadlines rather than guessed ones).
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        what: Option<team::ReadCommand>,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML config file (see deploy/agedrop.example.toml).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<String>,
    /// Data folder [default: /var/lib/agedrop].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Team keys file [default: /etc/agedrop/keys.txt].
    #[arg(long)]
    keys: Option<PathBuf>,
    /// TLS certificate chain (PEM).
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (only behind something that adds TLS).
    #[arg(long)]
    allow_plain_http: bool,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen {
            out,
            passphrase,
            signing_key,
        } => keygen::keygen(out.as_deref(), passphrase, signing_key),
        Command::Serve(args) => {
            let overrides = Overrides {
                listen: args.listen,
                data: args.data,
                keys: args.keys,
                tls_cert: args.tls_cert,
                tls_key: args.tls_key,
                allow_plain_http: args.allow_plain_http,
            };
            let config = Config::load(args.config.as_deref(), &overrides)?;
            serve(config, None)
        }
        Command::Demo { dir, listen } => demo(&dir, listen),
        Command::Team(args) => team::run(args),
        Command::Export {
            config,
            data,
            keys,
            out,
        } => export(config.as_deref(), data, keys, &out),
        Command::Purge {
            config,
            data,
            days,
            dry_run: _,
            yes,
            json,
        } => purge::purge(config.as_deref(), data, days, yes, json),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
        Command::NotifyTest(args) => notify::notify_test(args),
        Command::Status(args) => status::status(args),
        Command::Open {
            data,
            identity,
            keys,
            config,
            json,
            what,
        } => read::open(
            &data,
            &identity,
            keys.as_deref(),
            config.as_deref(),
            what.unwrap_or(team::ReadCommand::List {
                statuses: Vec::new(),
                overdue: false,
            }),
            json,
        ),
    }
}

fn serve(config: Config, demo: Option<DemoInfo>) -> anyhow::Result<()> {
    let keys = TeamKeys::load(&config.server.keys)
        .map_err(|e| anyhow!("server.keys ({}): {e}", config.server.keys.display()))?;
    let store = Store::open(
        &config.server.data,
        &StoreOptions {
            cache_bytes: config.server.cache_mib.bytes(),
            reserve_bytes: config.limits.storage_reserve_mib.bytes(),
            sweep: true,
        },
    )
    .with_context(|| format!("server.data: cannot open {}", config.server.data.display()))?;
    let members = keys.members().len();
    for advice in keys.advice() {
        tracing::warn!("{advice}");
    }
    let programme = config.programme.name.to_string();
    let limit = human_size(config.limits.max_upload_mib.bytes());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let server = web::Server::bind(config, keys, store)?;
        let url = server.url()?;
        match demo {
            Some(info) => info.announce(&url),
            None => {
                println!("agedrop: serving {programme:?} for {members} team recipient(s), uploads up to {limit}");
                println!("Listening on {url}");
            }
        }
        std::io::stdout().flush()?;
        web::serve(server).await?;
        anyhow::Ok(())
    })
}

struct DemoInfo {
    identity: PathBuf,
}

impl DemoInfo {
    fn announce(&self, url: &str) {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "agedrop".into());
        println!("agedrop demo: a drop-box for a demo team, on this machine only.");
        println!();
        println!("  Open the report form:  {url}");
        println!("  Team identity (secret): {}", self.identity.display());
        println!("  Read the reports (in another terminal):");
        println!(
            "    {exe} team --server {} --identity {} list",
            url.trim_end_matches('/'),
            self.identity.display()
        );
        println!();
        println!("Listening on {url}  (ctrl-c stops it)");
    }
}

fn demo(dir: &Path, listen: String) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let identity = dir.join("identity.txt");
    let keys = dir.join("keys.txt");
    if !identity.exists() {
        let (text, recipient) = crypto::generate_identity(&now_rfc3339());
        keygen::write_private(&identity, text.as_bytes())?;
        std::fs::write(
            &keys,
            format!(
                "# The demo team's keys file: one age recipient a line.\n\n# Demo team member\n{recipient}\n"
            ),
        )?;
    }
    let mut config = Config::default();
    config.programme.name = ProgrammeName::try_from("agedrop demo".to_string())?;
    let overrides = Overrides {
        listen: Some(listen),
        data: Some(dir.join("data")),
        keys: Some(keys),
        ..Default::default()
    };
    let config = config.validate(&overrides)?;
    let info = DemoInfo { identity };
    serve(config, Some(info))
}

fn export(
    config: Option<&Path>,
    data: Option<PathBuf>,
    keys: Option<PathBuf>,
    out: &Path,
) -> anyhow::Result<()> {
    let overrides = Overrides {
        data,
        keys,
        ..Default::default()
    };
    let config = Config::load(config, &overrides)?;
    let keys = TeamKeys::load(&config.server.keys)
        .map_err(|e| anyhow!("server.keys ({}): {e}", config.server.keys.display()))?;
    let inbox = LocalInbox::open(&config.server.data)?;
    let origin = match (&config.server.public_url, &config.server.onion_address) {
        (Some(url), _) => Some(url.url().origin().ascii_serialization()),
        (None, Some(onion)) => Some(format!("http://{onion}")),
        (None, None) => None,
    };
    let promises = agedrop::team::Exported {
        origin,
        promises: config.programme.promises(),
        closing: Some(config.closing.clone()),
        name: config.programme.name.to_string(),
    };
    let (reports, files) = inbox.export(&keys, &promises, &now_rfc3339(), out)?;
    eprintln!(
        "Wrote {} with {reports} report(s) and {files} attachment(s), ciphertext only.",
        out.display()
    );
    Ok(())
}

pub(crate) fn now_rfc3339() -> String {
    agedrop::text::rfc3339(agedrop::report::now()).unwrap_or_default()
}
