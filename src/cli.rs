//! The subcommands (clap derive) and what each one wires together.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};

use agedrop::config::{Config, Overrides, RawConfig};
use agedrop::crypto::{self, TeamKeys};
use agedrop::report::human_size;
use agedrop::store::{Store, StoreOptions};
use agedrop::team::{self, Identities, LocalInbox};
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
    /// Create a new age identity for a team member (keep it on your own machine).
    Keygen {
        /// Write the identity to this file (mode 0600; never overwritten) instead of stdout.
        #[arg(long, short)]
        out: Option<PathBuf>,
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
    /// Read a data folder copied from the server, decrypting on this machine.
    Open {
        /// The server's data folder (or a copy of it).
        #[arg(long)]
        data: PathBuf,
        /// Your age identity file.
        #[arg(long)]
        identity: PathBuf,
        #[command(subcommand)]
        what: Option<OpenCommand>,
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

#[derive(Subcommand)]
enum OpenCommand {
    /// List the reports (the default).
    List,
    /// Show one report's whole thread.
    Show {
        /// Report id (or a unique prefix of at least 4 hex digits).
        id: String,
    },
    /// Decrypt one report's attachments into a folder.
    Attachments {
        /// Report id (or a unique prefix).
        id: String,
        /// Folder to write into (created if absent).
        #[arg(long)]
        out: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen { out } => keygen(out.as_deref()),
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
        Command::Open {
            data,
            identity,
            what,
        } => open(&data, &identity, what.unwrap_or(OpenCommand::List)),
    }
}

fn keygen(out: Option<&Path>) -> anyhow::Result<()> {
    let (text, recipient) = crypto::generate_identity(&now_rfc3339());
    match out {
        Some(path) => {
            write_private(path, text.as_bytes())?;
            eprintln!("Wrote the identity to {} (mode 0600).", path.display());
            eprintln!("Give the team's operator this public recipient for the keys file:");
            println!("{recipient}");
        }
        None => {
            eprintln!("Public key: {recipient}");
            print!("{}", &*text);
        }
    }
    Ok(())
}

/// Creates `path` with mode 0600, refusing to overwrite anything.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                anyhow!(
                    "{} already exists; refusing to overwrite an identity (choose another --out)",
                    path.display()
                )
            } else {
                anyhow!("cannot create {}: {e}", path.display())
            }
        })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

fn serve(config: Config, demo: Option<DemoInfo>) -> anyhow::Result<()> {
    let keys = TeamKeys::load(&config.keys)
        .map_err(|e| anyhow!("server.keys ({}): {e}", config.keys.display()))?;
    let store = Store::open(
        &config.data,
        &StoreOptions {
            cache_bytes: config.cache_bytes,
            reserve_bytes: config.limits.storage_reserve_bytes,
        },
    )
    .with_context(|| format!("server.data: cannot open {}", config.data.display()))?;
    let members = keys.members().len();
    let programme = config.programme.name.clone();
    let limit = human_size(config.limits.max_upload_bytes);
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
    data: PathBuf,
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
            "    {exe} open --data {} --identity {} list",
            self.data.display(),
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
        write_private(&identity, text.as_bytes())?;
        std::fs::write(
            &keys,
            format!(
                "# The demo team's keys file: one age recipient a line.\n\n# Demo team member\n{recipient}\n"
            ),
        )?;
    }
    let mut raw = RawConfig::default();
    raw.programme.name = "agedrop demo".into();
    let overrides = Overrides {
        listen: Some(listen),
        data: Some(dir.join("data")),
        keys: Some(keys),
        ..Default::default()
    };
    let config = Config::validate(raw, &overrides)?;
    let info = DemoInfo {
        identity,
        data: dir.join("data"),
    };
    serve(config, Some(info))
}

fn open(data: &Path, identity: &Path, what: OpenCommand) -> anyhow::Result<()> {
    let identities = Identities::load(identity)?;
    let inbox = LocalInbox::open(data)?;
    let mut stdout = std::io::stdout().lock();
    match what {
        OpenCommand::List => {
            let threads = inbox.threads(&identities)?;
            write!(stdout, "{}", team::print_list(&threads))?;
        }
        OpenCommand::Show { id } => {
            let thread = inbox.thread(&id, &identities)?;
            write!(stdout, "{}", team::print_thread(&thread))?;
        }
        OpenCommand::Attachments { id, out, force } => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let thread = inbox.thread(&id, &identities)?;
            let mut used = std::collections::HashSet::new();
            for attachment in thread.attachments() {
                let name = unique(team::safe_file_name(&attachment.name), &mut used);
                let mut reader = inbox.attachment(&thread.id, &attachment.blob, &identities)?;
                let path = team::write_attachment(
                    &out,
                    &name,
                    force,
                    &mut reader,
                    &attachment.sha256,
                    &mut |_| {},
                )?;
                writeln!(
                    stdout,
                    "{}  {}  sha256 ok",
                    path.display(),
                    human_size(attachment.size)
                )?;
            }
        }
    }
    Ok(())
}

/// `name`, or `name (2)`, `name (3)`… if an earlier file of this run took it.
fn unique(name: String, used: &mut std::collections::HashSet<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while !used.insert(candidate.clone()) {
        candidate = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({n}).{ext}"),
            _ => format!("{name} ({n})"),
        };
        n += 1;
    }
    candidate
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
