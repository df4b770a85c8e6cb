//! `agedrop status`: on the server host, how the server is doing: counts, disk use, free
//! space against the floor, the TLS certificate's expiry, the last notice's fate.
//! Nothing about any report's content, and no id: counts only. Asks the running server
//! over the socket in its data folder; with none running, reads the folder itself.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde::Serialize;

use agedrop::config::{Config, Overrides};
use agedrop::notify::{Delivered, LastNotice};
use agedrop::report::{countdown, human_size};
use agedrop::status::Live;
use agedrop::store::{Store, StoreError, StoreOptions};
use agedrop::text::terminal_safe;

/// A certificate expiring sooner than this many days is warned about.
const CERTIFICATE_WARN_DAYS: i64 = 14;

/// What `status` reads and what it leaves out.
const ABOUT: &str = "\
What it shows: whether the server runs; how many reports there are, how many wait for \
the team's first answer (no member has written to them yet), and their events and \
attachments; the data folder's size and the free space beside it against \
limits.storage_min_free_mib (below it, new reports are refused); when the TLS \
certificate in server.tls_cert (or the one ACME got) expires; and how the last notice \
went, receiver by receiver (named by kind and host, as the log names them), with the day \
it went (UTC).

What it never shows: any report's id, title, day or content. The last notice is kept in \
the running server's memory only (a time of the last notice on disk would date the last \
report), so it is unknown when the server is not running, and forgotten when it \
restarts.

The running server answers over the socket backup.sock in its data folder: run this as \
the server's user or root. With no server running, the data folder is read here. The \
exit status is 0 whenever the status could be read; problems are listed as warnings \
(and in --json's \"warnings\").";

/// On the server host: how the server is doing (counts, disk, certificate, last
/// notice), nothing about any report.
#[derive(clap::Args)]
#[command(after_long_help = ABOUT)]
pub(super) struct StatusArgs {
    /// The server's config file (its data folder, the free-space floor, the TLS
    /// certificate, the notice receivers).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Data folder [default: from the config, or /var/lib/agedrop].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

/// The whole status, as `--json` gives it.
#[derive(Serialize)]
struct Status {
    /// `running`, `stopping` (storage failed) or `not running`.
    server: &'static str,
    reports: Counts,
    disk: Disk,
    /// `null` without TLS (plain HTTP).
    certificate: Option<Certificate>,
    notices: Notices,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct Counts {
    total: u64,
    /// No member has written to them yet.
    waiting: u64,
    events: u64,
    attachments: u64,
}

#[derive(Serialize)]
struct Disk {
    data: String,
    used_bytes: u64,
    free_bytes: u64,
    /// `limits.storage_min_free_mib`, in bytes.
    floor_bytes: u64,
}

#[derive(Serialize)]
struct Certificate {
    file: String,
    /// RFC 3339, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    days_left: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct Notices {
    /// Receivers in the config's `[notify]`.
    receivers: usize,
    /// Whether the last notice is known (only a running server knows it).
    known: bool,
    last: Option<LastNotice>,
}

/// Runs `agedrop status`.
pub(super) fn status(args: StatusArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        data: args.data,
        ..Default::default()
    };
    let config = Config::load(args.config.as_deref(), &overrides)?;
    let data = &config.server.data;
    let (live, running) = match agedrop::backup::ask_status(data)? {
        Some(line) => {
            let live: Live = serde_json::from_str(&line).map_err(|e| {
                anyhow!("the running server's status could not be read ({e}); is it the same version of agedrop?")
            })?;
            (live, true)
        }
        None => (read_folder(data)?, false),
    };
    let status = gather(&config, live, running);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", text(&status));
    }
    Ok(())
}

/// The status of a data folder no server is running on, read here.
fn read_folder(data: &Path) -> anyhow::Result<Live> {
    match std::fs::metadata(data.join("db")) {
        Ok(meta) if meta.is_file() => {}
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(anyhow!(
                "cannot read {} ({e}): run `agedrop status` as the server's user or as root",
                data.display()
            ));
        }
        _ => {
            return Err(anyhow!(
                "no agedrop data in {} (no server answered there, and sled's `db` file is \
                 missing): pass the server's config with --config or its data folder with \
                 --data; a server that has never started has no data yet",
                data.display()
            ));
        }
    }
    let options = StoreOptions {
        cache_bytes: 32 * 1024 * 1024,
        reserve_bytes: 0,
        sweep: false,
    };
    let store = Store::open(data, &options).map_err(|e| match e {
        StoreError::Engine(_) | StoreError::Io(_) => anyhow!(
            "cannot open {} ({e}), and no server answered on {}: if `agedrop serve` runs on \
             this folder, restart it so that it listens there (a server older than this \
             command does not), then try again",
            data.display(),
            agedrop::backup::socket_path(data).display()
        ),
        other => anyhow!("cannot open {}: {other}", data.display()),
    })?;
    Ok(Live::of(&store)?)
}

/// The server's answer (or the folder's), with what the config adds.
fn gather(config: &Config, live: Live, running: bool) -> Status {
    let mut warnings = Vec::new();
    let server = match (running, live.storage_failed) {
        (true, false) => "running",
        (true, true) => {
            warnings.push(
                "storage failed: the server is stopping (see its log); free disk space if it \
                 is full and start it again"
                    .to_string(),
            );
            "stopping"
        }
        (false, _) => "not running",
    };
    let floor_bytes = config.limits.storage_min_free_mib.bytes();
    if live.free_bytes < floor_bytes {
        warnings.push(format!(
            "free space ({}) is below limits.storage_min_free_mib ({}): new reports and files \
             are refused until there is more",
            human_size(live.free_bytes),
            human_size(floor_bytes)
        ));
    }
    // The file the certificate is served from: the configured one, or the one ACME keeps.
    let served = match config.server.tls() {
        Some(files) => Some((files.cert.to_path_buf(), "the server reloads it by itself")),
        None if !config.server.acme_domains.is_empty() => Some((
            agedrop::web::acme_certificate_file(&config.server),
            "ACME renews it a third of its lifetime before it ends: see the server's log",
        )),
        None => None,
    };
    let certificate = served.map(|(path, renewal)| {
        let now = agedrop::clock::now();
        let file = path.display().to_string();
        let read = std::fs::read(&path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound if renewal.starts_with("ACME") => {
                    "not issued yet: see the server's log for ACME's progress".to_string()
                }
                _ => e.to_string(),
            })
            .and_then(|pem| agedrop::certificate::expiry(&pem).map_err(|e| e.to_string()));
        match read {
            Ok(expires) => {
                let days_left = (expires - now).div_euclid(86_400);
                if days_left < CERTIFICATE_WARN_DAYS {
                    warnings.push(format!(
                        "the TLS certificate {} {}: {renewal}",
                        if expires < now { "expired" } else { "expires" },
                        countdown(expires, now)
                    ));
                }
                Certificate {
                    file,
                    expires: agedrop::text::rfc3339(expires),
                    days_left: Some(days_left),
                    error: None,
                }
            }
            Err(why) => {
                warnings.push(format!("cannot read the TLS certificate {file}: {why}"));
                Certificate {
                    file,
                    expires: None,
                    days_left: None,
                    error: Some(why),
                }
            }
        }
    });
    if let Some(last) = &live.last_notice {
        for d in &last.receivers {
            if matches!(d.state, Delivered::Failed | Delivered::Retrying) {
                warnings.push(format!(
                    "the last notice did not reach {}; check it with `agedrop notify-test`",
                    d.receiver
                ));
            }
        }
    }
    let notify = &config.notify;
    Status {
        server,
        reports: Counts {
            total: live.census.reports,
            waiting: live.census.waiting,
            events: live.census.events,
            attachments: live.census.attachments,
        },
        disk: Disk {
            data: config.server.data.display().to_string(),
            used_bytes: live.used_bytes,
            free_bytes: live.free_bytes,
            floor_bytes,
        },
        certificate,
        notices: Notices {
            receivers: notify.webhooks.len() + usize::from(notify.smtp.is_some()),
            known: running,
            last: live.last_notice,
        },
        warnings,
    }
}

/// The status as lines for a person.
fn text(status: &Status) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        out.push_str(&format!("{label:<13}{}\n", terminal_safe(&value)));
    };
    line("server:", status.server.to_string());
    let r = &status.reports;
    line(
        "reports:",
        format!(
            "{}, {} waiting for an answer ({} event(s), {} attachment(s))",
            r.total, r.waiting, r.events, r.attachments
        ),
    );
    let d = &status.disk;
    line(
        "disk:",
        format!(
            "{} used in {}; {} free (floor {}, limits.storage_min_free_mib)",
            human_size(d.used_bytes),
            d.data,
            human_size(d.free_bytes),
            human_size(d.floor_bytes)
        ),
    );
    line(
        "certificate:",
        match &status.certificate {
            None => "none (plain HTTP)".into(),
            Some(c) => match (&c.expires, &c.error) {
                (Some(expires), _) => format!(
                    "expires {} ({} days left): {}",
                    expires.get(..10).unwrap_or(expires),
                    c.days_left.unwrap_or_default(),
                    c.file
                ),
                (None, error) => format!(
                    "{}: cannot read it ({})",
                    c.file,
                    error.as_deref().unwrap_or_default()
                ),
            },
        },
    );
    line("notices:", notices(&status.notices));
    for warning in &status.warnings {
        line("warning:", warning.clone());
    }
    out
}

/// "last 2026-11-25, sent to 1 of 2 receivers; webhook 2 (json, hooks.example) failed: …"
fn notices(n: &Notices) -> String {
    if n.receivers == 0 {
        return "none: no receivers in [notify]".into();
    }
    if !n.known {
        return format!(
            "{} receiver(s); the last notice is unknown: only a running server knows it",
            n.receivers
        );
    }
    let Some(last) = &n.last else {
        return format!(
            "{} receiver(s); none sent since the server started",
            n.receivers
        );
    };
    let mut said = format!(
        "last {}, sent to {} of {} receiver(s)",
        last.day,
        last.sent(),
        last.receivers.len()
    );
    for d in &last.receivers {
        let how = match d.state {
            Delivered::Sent => continue,
            Delivered::Sending => "sending",
            Delivered::Retrying => "failed, trying again",
            Delivered::Failed => "failed, given up",
        };
        said.push_str(&format!("; {} {how}", d.receiver));
        if let Some(why) = &d.error {
            said.push_str(&format!(" ({})", agedrop::text::excerpt(why, 200)));
        }
    }
    said
}
