//! `agedrop team …` and `agedrop open …`: the desk commands, their text and JSON output.

use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;

use agedrop::report::{Status, human_size};
use agedrop::team::{
    self, Bundle, Desk, Identities, LocalInbox, Seen, Shown, ShownEvent, Source, TeamClient,
};

/// The team's desk: read and answer reports, decrypting on this machine.
#[derive(clap::Args)]
#[command(
    after_help = "The server and identity may also come from AGEDROP_SERVER and \
AGEDROP_IDENTITY, or from `server = \"…\"` and `identity = \"…\"` in \
~/.config/agedrop/team.toml."
)]
pub struct TeamArgs {
    /// Server address, e.g. https://security.example.com [env: AGEDROP_SERVER]
    #[arg(long, global = true)]
    server: Option<String>,
    /// Your age identity file or SSH private key [env: AGEDROP_IDENTITY]
    #[arg(long, short, global = true)]
    identity: Option<PathBuf>,
    /// Read an offline bundle made by `agedrop export` instead of a server
    #[arg(long, global = true, conflicts_with = "server")]
    bundle: Option<PathBuf>,
    /// Print JSON for scripts
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: TeamCommand,
}

/// What `agedrop open` can do with a data folder (a subset of the desk).
#[derive(Subcommand, Clone)]
pub enum ReadCommand {
    /// List the reports: status, unread events, the acknowledgement deadline.
    List {
        /// Only reports with this status (repeatable), e.g. --status received
        #[arg(long = "status", value_name = "STATUS")]
        statuses: Vec<String>,
    },
    /// Show one report's whole thread.
    Show {
        /// Report id, or a unique prefix of at least 4 hex digits
        id: String,
    },
    /// Download and decrypt a report's attachments into a folder.
    Attachments {
        /// Report id, or a unique prefix
        id: String,
        /// Folder to write into (created if absent) [default: ./<report id>]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overwrite files that already exist
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum TeamCommand {
    #[command(flatten)]
    Read(ReadCommand),
    /// Reply to the reporter (sealed here to the team and the reporter).
    Reply {
        /// Report id, or a unique prefix
        id: String,
        #[command(flatten)]
        text: TextArgs,
    },
    /// Change a report's status, optionally with a note the reporter sees.
    Status {
        /// Report id, or a unique prefix
        id: String,
        /// received, acknowledged, triaged, fixing, fixed, disclosed, duplicate,
        /// out-of-scope, not-applicable, wont-fix or spam
        status: String,
        /// A note shown with the change
        #[arg(long, short)]
        message: Option<String>,
        /// Planned public disclosure date (YYYY-MM-DD)
        #[arg(long, value_name = "DATE")]
        disclosure: Option<String>,
    },
    /// Add an internal note, sealed to the team only (the reporter never sees it).
    Note {
        /// Report id, or a unique prefix
        id: String,
        #[command(flatten)]
        text: TextArgs,
    },
    /// Remove a report and everything of it from the server, for good.
    Purge {
        /// Report id, or a unique prefix
        id: String,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
}

/// Where a message's text comes from; with neither, `$EDITOR` opens.
#[derive(clap::Args)]
struct TextArgs {
    /// The text
    #[arg(long, short, conflicts_with = "file")]
    message: Option<String>,
    /// Read the text from a file (`-` for standard input)
    #[arg(long)]
    file: Option<PathBuf>,
}

/// Runs `agedrop team …`.
pub fn run(args: TeamArgs) -> anyhow::Result<()> {
    let resolved = team::resolve(args.server, args.identity)?;
    let identities = Identities::load(&resolved.identity)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (source, key) = match (&args.bundle, &resolved.server) {
            (Some(path), _) => {
                let bundle = Bundle::open(path)?;
                let key = format!("bundle:{}", path.canonicalize()?.display());
                (Source::Bundle(bundle), key)
            }
            (None, Some(server)) => {
                let client = TeamClient::login(server, &identities).await?;
                (Source::Server(client), server.clone())
            }
            (None, None) => bail!(
                "no server given: pass --server https://…, set AGEDROP_SERVER, put \
                 `server = \"…\"` in {}, or read a bundle with --bundle FILE",
                team::config_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "~/.config/agedrop/team.toml".into())
            ),
        };
        let mut desk = Desk::new(source, identities, Seen::load(&key));
        match args.command {
            TeamCommand::Read(command) => read(&mut desk, command, args.json).await,
            TeamCommand::Reply { id, text } => {
                let id = desk.resolve(&id).await?;
                let text = compose(&text, "reply to the reporter")?;
                let client = desk.client()?;
                let seq = client.reply(&client.roster().await?, &id, &text).await?;
                desk.mark_own(&id, seq)?;
                done(args.json, &id, seq, "Reply sent")
            }
            TeamCommand::Note { id, text } => {
                let id = desk.resolve(&id).await?;
                let text = compose(&text, "internal note (the reporter never sees it)")?;
                let client = desk.client()?;
                let seq = client.note(&client.roster().await?, &id, &text).await?;
                desk.mark_own(&id, seq)?;
                done(args.json, &id, seq, "Note added")
            }
            TeamCommand::Status {
                id,
                status,
                message,
                disclosure,
            } => {
                let status = parse_status(&status)?;
                let disclosure = disclosure.map(|d| parse_date(&d)).transpose()?;
                let id = desk.resolve(&id).await?;
                let client = desk.client()?;
                let seq = client
                    .set_status(
                        &client.roster().await?,
                        &id,
                        status,
                        message.as_deref().unwrap_or_default(),
                        disclosure.as_deref().unwrap_or_default(),
                    )
                    .await?;
                done(
                    args.json,
                    &id,
                    seq,
                    &format!("Status set to {}", status.as_str()),
                )
            }
            TeamCommand::Purge { id, yes } => {
                let id = desk.resolve(&id).await?;
                let title = desk.thread(&id).await?.title().to_string();
                if !yes {
                    confirm_purge(&id, &title)?;
                }
                desk.client()?.purge(&id).await?;
                if args.json {
                    println!("{}", serde_json::json!({ "id": id, "purged": true }));
                } else {
                    println!("Report {id} and everything of it are removed from the server.");
                }
                Ok(())
            }
        }
    })
}

/// Runs `agedrop open --data DIR …`: the reading commands over a data folder.
pub fn open(data: &Path, identity: &Path, command: ReadCommand, json: bool) -> anyhow::Result<()> {
    let identities = Identities::load(identity)?;
    let inbox = LocalInbox::open(data)?;
    let key = format!("data:{}", data.canonicalize()?.display());
    let mut desk = Desk::new(Source::Local(inbox), identities, Seen::load(&key));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(read(&mut desk, command, json))
}

async fn read(desk: &mut Desk, command: ReadCommand, json: bool) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match command {
        ReadCommand::List { statuses } => {
            let statuses = statuses
                .iter()
                .map(|s| parse_status(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let items = desk.list(&statuses).await?;
            if json {
                writeln!(stdout, "{}", serde_json::to_string_pretty(&items)?)?;
            } else {
                write!(stdout, "{}", team::print_list(&items))?;
            }
        }
        ReadCommand::Show { id } => {
            let id = desk.resolve(&id).await?;
            let thread = desk.show(&id).await?;
            if json {
                let shown = Shown {
                    id: &thread.id,
                    title: thread.title(),
                    status: thread.status().as_str(),
                    events: thread
                        .events
                        .iter()
                        .map(|e| ShownEvent {
                            seq: e.seq,
                            event: e.event.as_ref(),
                        })
                        .collect(),
                };
                writeln!(stdout, "{}", serde_json::to_string_pretty(&shown)?)?;
            } else {
                write!(stdout, "{}", team::print_thread(&thread))?;
            }
        }
        ReadCommand::Attachments { id, out, force } => {
            let id = desk.resolve(&id).await?;
            let out = out.unwrap_or_else(|| PathBuf::from(&id));
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let progress = !json && std::io::stderr().is_terminal();
            let written = desk.attachments(&id, &out, force, progress).await?;
            if json {
                writeln!(stdout, "{}", serde_json::to_string_pretty(&written)?)?;
            } else if written.is_empty() {
                writeln!(stdout, "Report {id} has no attachments.")?;
            } else {
                for file in &written {
                    writeln!(
                        stdout,
                        "{}  {}  sha256 {} ok",
                        team::terminal_safe(&file.path.display().to_string()),
                        human_size(file.size),
                        file.sha256
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn done(json: bool, id: &str, seq: u32, what: &str) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::json!({ "id": id, "seq": seq }));
    } else {
        println!("{what} (report {id}, event {seq}).");
    }
    Ok(())
}

fn parse_status(name: &str) -> anyhow::Result<Status> {
    Status::parse(&name.trim().to_ascii_lowercase()).ok_or_else(|| {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        anyhow!("unknown status `{name}`; use one of: {}", names.join(", "))
    })
}

fn parse_date(text: &str) -> anyhow::Result<String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format)
        .map(|_| text.trim().to_string())
        .map_err(|_| anyhow!("`{text}` is not a date: use YYYY-MM-DD, e.g. 2027-03-01"))
}

/// The text of a reply or note: `-m`, `--file` (or `-`), or written in `$EDITOR`.
fn compose(args: &TextArgs, what: &str) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let text = if let Some(message) = &args.message {
        zeroize::Zeroizing::new(message.clone())
    } else if let Some(path) = &args.file {
        let mut text = zeroize::Zeroizing::new(String::new());
        if path.as_os_str() == "-" {
            std::io::stdin().read_to_string(&mut text)?;
        } else {
            std::fs::File::open(path)
                .and_then(|mut f| f.read_to_string(&mut text))
                .with_context(|| format!("cannot read {}", path.display()))?;
        }
        text
    } else {
        edit(what)?
    };
    if text.trim().is_empty() {
        bail!("the text is empty; nothing was sent");
    }
    Ok(text)
}

/// Opens `$EDITOR` on a private temporary file, in memory where the system has
/// `$XDG_RUNTIME_DIR`, and wipes and deletes it afterwards.
fn edit(what: &str) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .map_err(|_| anyhow!("no text given: pass -m TEXT or --file FILE, or set $EDITOR"))?;
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let file = tempfile::Builder::new()
        .prefix("agedrop-")
        .suffix(".txt")
        .tempfile_in(&dir)?;
    std::fs::write(
        file.path(),
        format!("\n# Write the {what} above. Lines starting with # are left out.\n"),
    )?;
    let mut words = editor.split_whitespace();
    let program = words.next().ok_or_else(|| anyhow!("$EDITOR is empty"))?;
    let status = std::process::Command::new(program)
        .args(words)
        .arg(file.path())
        .status()
        .with_context(|| format!("cannot run the editor `{editor}`"))?;
    let raw = zeroize::Zeroizing::new(std::fs::read_to_string(file.path())?);
    let len = raw.len();
    std::fs::write(file.path(), vec![0u8; len])?;
    drop(file);
    if !status.success() {
        bail!("the editor failed; nothing was sent");
    }
    let text: String = raw
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(zeroize::Zeroizing::new(text.trim().to_string()))
}

fn confirm_purge(id: &str, title: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to purge without confirmation: run it on a terminal, or pass --yes");
    }
    eprint!(
        "Purge report {id} ({})? Its events, attachments and receipt are removed for good.\n\
         Type the report id to confirm: ",
        team::terminal_safe(title)
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != id && !(answer.trim().len() >= 4 && id.starts_with(answer.trim())) {
        bail!("not confirmed; nothing was removed");
    }
    Ok(())
}
