//! `agedrop team …`: the desk commands and their output (the reading ones, shared with
//! `agedrop open`, in `read.rs`).

use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;

use agedrop::report::{Reason, Status};
use agedrop::store::ReportId;
use agedrop::team::{
    self, Bundle, Desk, Identities, Inbox, NewStatus, Pins, Posted, Seen, TeamClient,
};
use agedrop::text::terminal_safe;

use super::advisory::AdvisoryArgs;
use super::compose::{TextArgs, compose, confirm_purge, edit_canned, parse_when};

/// The team's desk: read and answer reports, decrypting on this machine.
#[derive(clap::Args)]
#[command(
    after_help = "The server, identity and signing key may also come from AGEDROP_SERVER, \
AGEDROP_IDENTITY and AGEDROP_SIGNING_KEY, or from `server = \"…\"`, `identity = \"…\"` and \
`signing_key = \"…\"` in ~/.config/agedrop/team.toml.\n\nThe first time the desk meets a \
server it pins the server's team roster on this machine and says so; from then on it seals \
only to that roster, checks every team event's signature against it, and stops before \
sealing anything if the server's roster changes, until you accept the change with \
`agedrop team trust`.\n\nSo that `list` stays fast, the desk keeps what it shows of every \
report it has opened in ~/.cache/agedrop/desk (or $XDG_CACHE_HOME/agedrop/desk), sealed to \
your own recipient: no plaintext is written to disk. Reports whose event count the server \
says changed are fetched and opened again; deleting the folder is always safe."
)]
pub struct TeamArgs {
    /// Server address, e.g. https://security.example.com [env: AGEDROP_SERVER]
    #[arg(long, global = true)]
    server: Option<String>,
    /// Your age identity file or SSH private key [env: AGEDROP_IDENTITY]
    #[arg(long, short, global = true)]
    identity: Option<PathBuf>,
    /// Your signing key file, if your identity cannot give one (SSH keys, hardware
    /// plugins); made by `agedrop keygen --signing-key` [env: AGEDROP_SIGNING_KEY]
    #[arg(long, global = true, value_name = "FILE")]
    signing_key: Option<PathBuf>,
    /// Read an offline bundle made by `agedrop export` instead of a server
    #[arg(long, global = true, conflicts_with = "server")]
    bundle: Option<PathBuf>,
    /// Print JSON for scripts
    #[arg(long, global = true)]
    json: bool,
    /// Neither read nor write the desk's cache: fetch and open every report again
    #[arg(long, global = true)]
    no_cache: bool,
    #[command(subcommand)]
    command: TeamCommand,
}

/// What `agedrop open` can do with a data folder (a subset of the desk).
#[derive(Subcommand, Clone)]
pub enum ReadCommand {
    /// List the reports: status, unread events, the acknowledgement deadline.
    List {
        /// Only reports with this status (repeatable), e.g. --status received
        #[arg(long = "status", value_name = "STATUS", ignore_case = true)]
        statuses: Vec<Status>,
        /// Only reports with a promise past its deadline (acknowledgement, assessment,
        /// update or disclosure)
        #[arg(long)]
        overdue: bool,
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
        /// The new status: received → needs-more-information or valid → accepted → fix-ready
        /// → disclosed, or closed with a --reason
        #[arg(ignore_case = true)]
        status: Status,
        /// Why it is closed (with `closed`)
        #[arg(long, ignore_case = true)]
        reason: Option<Reason>,
        /// A note the reporter sees with the change; for needs-more-information, the
        /// question to ask them
        #[arg(long, short)]
        message: Option<String>,
        /// The planned public disclosure instant: 2027-03-01T15:00Z, or a date alone
        /// (00:00 UTC); replaces the programme's default embargo
        #[arg(long, value_name = "WHEN", value_parser = parse_when)]
        disclosure: Option<time::OffsetDateTime>,
        /// With `closed --reason duplicate`: the earlier report (id or prefix); both
        /// threads get a team-only note linking them
        #[arg(long, value_name = "ID")]
        of: Option<String>,
        /// With `closed --reason duplicate`: the earlier report's public advisory (an id
        /// or a URL), shown to the reporter
        #[arg(long, value_name = "REF")]
        advisory: Option<String>,
    },
    /// Draft the advisory with the reporter: edit a revision in $EDITOR and post it; or
    /// print it as OSV or CSAF.
    Advisory(AdvisoryArgs),
    /// Print the acknowledgements (Markdown): disclosed reports whose finders accepted
    /// credit, with exactly the words and links they accepted.
    Credits,
    /// Add an internal note, sealed to the team only (the reporter never sees it).
    Note {
        /// Report id, or a unique prefix
        id: String,
        #[command(flatten)]
        text: TextArgs,
    },
    /// Give another member of your pinned roster the keys to reports you can read (a
    /// new member, or a member's new key), without re-encrypting anything.
    #[command(
        after_help = "For each report, one `grant` event goes to the server: signed \
by you, sealed to the team (never the reporter), naming the member and the events it \
covers; inside it, the keys to those events (and to attachments stored before each file had \
a key of its own), sealed to that member alone. Nothing is decrypted on the server, \
attachments are not re-encrypted, and the reporter's view and receipt code do not change. \
Running it again skips what earlier grants to the member cover, so an interrupted run is \
finished by running it again.\n\nThe member must be in the keys file on the server and in \
your pinned roster (`agedrop team trust`) first."
    )]
    Grant {
        /// The member: their name or recipient, as `agedrop team trust` lists them
        member: String,
        /// Report ids, or unique prefixes
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        /// Every report on the server
        #[arg(long)]
        all: bool,
        /// Reports per round: opened, sealed and stored as one atomic batch before the
        /// next (an interruption loses at most one round's work)
        #[arg(long, value_name = "REPORTS", default_value_t = team::GRANT_ROUND as u64,
              value_parser = clap::value_parser!(u64).range(1..=100_000))]
        batch: u64,
    },
    /// Remove a report and everything of it from the server, for good.
    Purge {
        /// Report id, or a unique prefix
        id: String,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Review the server's team roster and pin it: the members the desk seals to and
    /// whose signatures it accepts.
    Trust {
        /// Pin the roster of this keys file instead (one you got from the operator)
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
        /// Accept without asking
        #[arg(long)]
        yes: bool,
    },
    /// Print the line that lists you in the team keys file (your recipient and signing
    /// key), for whoever keeps it. Needs no server.
    Whoami,
}

/// Runs `agedrop team …`.
pub fn run(args: TeamArgs) -> anyhow::Result<()> {
    let resolved = team::resolve(args.server, args.identity, args.signing_key)?;
    let mut identities = Identities::load(&resolved.identity)?;
    if let Some(path) = &resolved.signing_key {
        identities.use_signing_key_file(path)?;
    }
    if let TeamCommand::Whoami = args.command {
        return super::trust::whoami(&identities, args.json);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (source, key): (Box<dyn Inbox>, String) = match (&args.bundle, &resolved.server) {
            (Some(path), _) => {
                let bundle = Bundle::open(path)?;
                let key = format!("bundle:{}", path.canonicalize()?.display());
                (Box::new(bundle), key)
            }
            (None, Some(server)) => {
                let client = TeamClient::login(server, &identities).await?;
                (Box::new(client), server.clone())
            }
            (None, None) => bail!(
                "no server given: pass --server https://…, set AGEDROP_SERVER, put \
                 `server = \"…\"` in {}, or read a bundle with --bundle FILE",
                team::config_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "~/.config/agedrop/team.toml".into())
            ),
        };
        let mut desk = Desk::new(source, identities, Seen::load(&key), Pins::load()?);
        if !args.no_cache
            && let Some(dir) = team::cache_dir()
        {
            desk.keep_cache_in(dir);
        }
        desk.show_progress(!args.json);
        if let TeamCommand::Trust { keys, yes } = args.command {
            return super::trust::trust(&mut desk, keys.as_deref(), yes, args.json).await;
        }
        let writes = match &args.command {
            TeamCommand::Read(_) | TeamCommand::Credits => false,
            TeamCommand::Advisory(a) => a.writes(),
            _ => true,
        };
        let news = desk.check_roster(&super::now_rfc3339()).await?;
        super::trust::announce(&desk, &news, writes);
        match args.command {
            TeamCommand::Read(command) => super::read::read(&mut desk, command, args.json).await,
            TeamCommand::Reply { id, text } => {
                let id = desk.resolve(&id).await?;
                let text = compose(&text, "reply to the reporter")?;
                let posted = desk.reply(id, &text).await?;
                done(&mut desk, args.json, id, posted, "Reply sent")
            }
            TeamCommand::Advisory(advisory) => {
                super::advisory::advisory(&mut desk, advisory, args.json).await
            }
            TeamCommand::Credits => super::advisory::credits(&desk, args.json).await,
            TeamCommand::Note { id, text } => {
                let id = desk.resolve(&id).await?;
                let text = compose(&text, "internal note (the reporter never sees it)")?;
                let posted = desk.note(id, &text).await?;
                done(&mut desk, args.json, id, posted, "Note added")
            }
            TeamCommand::Status {
                id,
                status,
                reason,
                message,
                disclosure,
                of,
                advisory,
            } => {
                let id = desk.resolve(&id).await?;
                let duplicate_of = match of {
                    Some(of) => Some(desk.resolve(&of).await?),
                    None => None,
                };
                // Closing without words: the programme's text for the reason, made
                // personal in $EDITOR on a terminal.
                let message = match (message, reason) {
                    (None, Some(reason)) if status == Status::Closed => {
                        match desk.closing_text(reason).await? {
                            Some(canned) => Some(edit_canned(&canned)?),
                            None => None,
                        }
                    }
                    (message, _) => message.map(zeroize::Zeroizing::new),
                };
                let change = NewStatus {
                    status,
                    reason,
                    note: message.as_deref().map_or("", |m| m.as_str()),
                    disclosure,
                    duplicate_of,
                    advisory: advisory.as_deref().unwrap_or_default(),
                };
                let posted = desk.set_status(id, change).await?;
                let what = match reason {
                    Some(reason) => format!("Status set to closed ({})", reason.as_str()),
                    None => format!("Status set to {}", status.as_str()),
                };
                done(&mut desk, args.json, id, posted, &what)
            }
            TeamCommand::Grant {
                member,
                ids,
                all,
                batch,
            } => super::grant::grant(&desk, &member, ids, all, batch as usize, args.json).await,
            TeamCommand::Purge { id, yes } => {
                let id = desk.resolve(&id).await?;
                let title = desk.thread(id).await?.title().to_string();
                if !yes {
                    confirm_purge(id, &title)?;
                }
                desk.client()?.purge(id).await?;
                if args.json {
                    println!(
                        "{}",
                        json_text(&serde_json::json!({ "id": id, "purged": true }))?
                    );
                } else {
                    println!("Report {id} and everything of it are removed from the server.");
                }
                Ok(())
            }
            TeamCommand::Trust { .. } | TeamCommand::Whoami => Ok(()),
        }
    })
}

/// JSON for scripts, pretty, with every hidden character escaped (what came from a
/// server or a reporter may hold terminal controls that serde_json leaves raw).
pub(super) fn json_text<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(agedrop::text::json_safe(&serde_json::to_string_pretty(
        value,
    )?))
}

pub(super) fn done(
    desk: &mut Desk,
    json: bool,
    id: ReportId,
    posted: Posted,
    what: &str,
) -> anyhow::Result<()> {
    desk.mark_own(id, posted.seq)?;
    for warning in &posted.warnings {
        eprintln!("Warning: {}", terminal_safe(warning));
    }
    let seq = posted.seq;
    if json {
        println!(
            "{}",
            json_text(&serde_json::json!({ "id": id, "seq": seq, "warnings": posted.warnings }))?
        );
    } else {
        println!("{what} (report {id}, event {seq}), signed and sealed on this machine.");
    }
    Ok(())
}
