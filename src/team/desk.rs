//! The team's desk: the same reading commands over a server, an offline bundle or a
//! local data folder, with everything decrypted here and written to disk only where
//! the member asks (attachments into `--out`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::api::{self, ReportSummary};
use crate::crypto::{self, Sealed};
use crate::report::{Event, Status};
use crate::store::{BlobId, ReportId};

use super::bundle::Bundle;
use super::files::{safe_file_name, write_attachment};
use super::settings::Seen;
use super::{Identities, LocalInbox, TeamClient, TeamError, Thread};

/// Where the reports come from.
pub enum Source {
    /// A live server, logged in.
    Server(TeamClient),
    /// An offline bundle written by `agedrop export`.
    Bundle(Bundle),
    /// A data folder copied from the server.
    Local(LocalInbox),
}

/// One line of `list`.
#[derive(Serialize)]
pub struct ListItem {
    /// Report id.
    pub id: String,
    /// Its title, or a note that this identity cannot read it.
    pub title: String,
    /// Latest status.
    pub status: &'static str,
    /// When it arrived (Unix seconds; RFC 3339 in JSON).
    #[serde(serialize_with = "as_rfc3339")]
    pub received: Option<i64>,
    /// Newest event this identity can read.
    #[serde(serialize_with = "as_rfc3339")]
    pub last_activity: Option<i64>,
    /// Events not yet shown to this member with `show`.
    pub unread: u32,
    /// While unacknowledged: when the programme promised to acknowledge it by.
    #[serde(serialize_with = "as_rfc3339")]
    pub acknowledge_by: Option<i64>,
    /// Unacknowledged past that promise.
    pub overdue: bool,
    /// Number of attachments.
    pub attachments: usize,
}

/// One event of `show --json`.
#[derive(Serialize)]
pub struct ShownEvent<'a> {
    /// Position in the thread.
    pub seq: u32,
    /// The opened event, or null when not sealed to this identity.
    pub event: Option<&'a Event>,
}

/// `show --json`.
#[derive(Serialize)]
pub struct Shown<'a> {
    /// Report id.
    pub id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Latest status.
    pub status: &'static str,
    /// Every event, oldest first.
    pub events: Vec<ShownEvent<'a>>,
}

/// One file written by `attachments`.
#[derive(Serialize)]
pub struct Written {
    /// Where it was written.
    pub path: PathBuf,
    /// The name the reporter gave it.
    pub name: String,
    /// Plaintext size.
    pub size: u64,
    /// Its SHA-256, checked.
    pub sha256: String,
}

/// The desk: a source, the member's identities, and what they have read.
pub struct Desk {
    source: Source,
    identities: Arc<Identities>,
    seen: Seen,
}

fn as_rfc3339<S: serde::Serializer>(at: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match at.and_then(rfc3339) {
        Some(text) => s.serialize_some(&text),
        None => s.serialize_none(),
    }
}

/// RFC 3339 for JSON output.
pub fn rfc3339(at: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
}

impl Desk {
    /// A desk over `source`.
    pub fn new(source: Source, identities: Identities, seen: Seen) -> Self {
        Desk {
            source,
            identities: Arc::new(identities),
            seen,
        }
    }

    /// The logged-in client, for commands that change the server.
    pub fn client(&self) -> Result<&TeamClient, TeamError> {
        match &self.source {
            Source::Server(client) => Ok(client),
            _ => Err(TeamError::Io(
                "this works only against a server (--server), not a bundle or a data folder".into(),
            )),
        }
    }

    /// Every report's record; ids are checked, since a hostile server (or bundle) could
    /// send ids that are paths or terminal escapes.
    async fn summaries(&self) -> Result<Vec<ReportSummary>, TeamError> {
        let summaries = self.raw_summaries().await?;
        for summary in &summaries {
            if summary.id.parse::<ReportId>().is_err() {
                return Err(TeamError::Server(format!(
                    "the source sent a malformed report id ({:?})",
                    super::terminal_safe(&summary.id.chars().take(40).collect::<String>())
                )));
            }
        }
        Ok(summaries)
    }

    async fn raw_summaries(&self) -> Result<Vec<ReportSummary>, TeamError> {
        match &self.source {
            Source::Server(client) => client.reports().await,
            Source::Bundle(bundle) => Ok(bundle
                .index
                .reports
                .iter()
                .map(|r| r.report.clone())
                .collect()),
            Source::Local(inbox) => inbox.summaries(),
        }
    }

    /// Hours within which the programme promises to acknowledge.
    async fn acknowledge_hours(&self) -> Result<u32, TeamError> {
        match &self.source {
            Source::Server(client) => Ok(client.roster().await?.acknowledge_hours),
            Source::Bundle(bundle) => Ok(bundle.index.team.acknowledge_hours),
            Source::Local(_) => Ok(crate::config::RawProgramme::default().acknowledge_hours),
        }
    }

    /// The full id of the one report whose id starts with `prefix`.
    pub async fn resolve(&self, prefix: &str) -> Result<String, TeamError> {
        let prefix = prefix.trim().to_ascii_lowercase();
        let unknown = || {
            TeamError::UnknownReport(format!(
                "no report with id `{prefix}`; `list` shows the ids (give at least 4 hex digits)"
            ))
        };
        if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(unknown());
        }
        let matches: Vec<String> = self
            .summaries()
            .await?
            .into_iter()
            .map(|s| s.id)
            .filter(|id| id.starts_with(&prefix))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(unknown()),
            _ => Err(TeamError::UnknownReport(format!(
                "`{prefix}` matches {} reports; give more of the id",
                matches.len()
            ))),
        }
    }

    /// One report's thread, opened here.
    pub async fn thread(&self, id: &str) -> Result<Thread, TeamError> {
        match &self.source {
            Source::Server(client) => client.thread(id, &self.identities).await,
            Source::Bundle(bundle) => {
                let report = bundle
                    .index
                    .reports
                    .iter()
                    .find(|r| r.report.id == id)
                    .ok_or_else(|| TeamError::UnknownReport(format!("no report {id}")))?;
                let mut sealed = Vec::with_capacity(report.events.len());
                for event in &report.events {
                    let bytes = api::decode(&event.sealed).ok_or_else(|| {
                        TeamError::Io(format!("report {id}: an event is not base64"))
                    })?;
                    sealed.push((event.seq, Sealed::from_stored(bytes)));
                }
                Thread::open(
                    id.into(),
                    report.report.reporter.clone(),
                    sealed,
                    &self.identities,
                )
            }
            Source::Local(inbox) => inbox.thread(id, &self.identities),
        }
    }

    /// Every report, oldest first, with what a member needs to triage.
    pub async fn list(&self, statuses: &[Status]) -> Result<Vec<ListItem>, TeamError> {
        let hours = i64::from(self.acknowledge_hours().await?);
        let now = crate::report::now();
        let mut items = Vec::new();
        for summary in self.summaries().await? {
            let thread = self.thread(&summary.id).await?;
            let status = thread.status();
            if !statuses.is_empty() && !statuses.contains(&status) {
                continue;
            }
            let deadline = thread
                .received()
                .filter(|_| status == Status::Received)
                .map(|at| at + hours * 3600);
            items.push(ListItem {
                title: thread.title().to_string(),
                // Nothing readable: the status is unknown, not "received".
                status: if thread.submission().is_some() {
                    status.as_str()
                } else {
                    "unknown"
                },
                received: thread.received(),
                last_activity: thread.last_activity(),
                unread: summary.events.saturating_sub(self.seen.get(&summary.id)),
                acknowledge_by: deadline,
                overdue: deadline.is_some_and(|d| now > d),
                attachments: thread.attachments().len(),
                id: summary.id,
            });
        }
        items.sort_by_key(|item| item.received);
        Ok(items)
    }

    /// One thread; marks its events read.
    pub async fn show(&mut self, id: &str) -> Result<Thread, TeamError> {
        let thread = self.thread(id).await?;
        self.seen.mark(&thread.id, thread.events.len() as u32)?;
        Ok(thread)
    }

    /// After the member added event `seq`: if they had read everything before it, their
    /// own event does not count as unread.
    pub fn mark_own(&mut self, id: &str, seq: u32) -> Result<(), TeamError> {
        if self.seen.get(id) >= seq {
            self.seen.mark(id, seq + 1)?;
        }
        Ok(())
    }

    /// Downloads and decrypts every attachment of a report into `out`.
    pub async fn attachments(
        &self,
        id: &str,
        out: &Path,
        force: bool,
        progress: bool,
    ) -> Result<Vec<Written>, TeamError> {
        let thread = self.thread(id).await?;
        let mut used = std::collections::HashSet::new();
        let mut written = Vec::new();
        for attachment in thread.attachments() {
            // The blob id goes into a URL and a tar path: it must be just an id.
            if attachment.blob.parse::<BlobId>().is_err() {
                return Err(TeamError::Server(format!(
                    "report {id}: an attachment has a malformed id; nothing more was written"
                )));
            }
            let name = unique(safe_file_name(&attachment.name), &mut used);
            let bar = progress.then(|| progress_bar(&name, attachment.size));
            let mut tick = |n: u64| {
                if let Some(bar) = &bar {
                    bar.inc(n);
                }
            };
            let path = match &self.source {
                Source::Server(client) => {
                    let response = client.download(id, &attachment.blob).await?;
                    stream_to_file(
                        response,
                        self.identities.clone(),
                        out.to_path_buf(),
                        name.clone(),
                        force,
                        attachment.sha256.clone(),
                        bar.clone(),
                    )
                    .await?
                }
                Source::Bundle(bundle) => {
                    bundle.with_attachment(&attachment.blob, |reader, _| {
                        let mut plain = crypto::open_stream(&self.identities.as_refs(), reader)?;
                        write_attachment(
                            out,
                            &name,
                            force,
                            &mut plain,
                            &attachment.sha256,
                            &mut tick,
                        )
                    })?
                }
                Source::Local(inbox) => {
                    let mut plain = inbox.attachment(id, &attachment.blob, &self.identities)?;
                    write_attachment(out, &name, force, &mut plain, &attachment.sha256, &mut tick)?
                }
            };
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            written.push(Written {
                path,
                name: attachment.name.clone(),
                size: attachment.size,
                sha256: attachment.sha256.clone(),
            });
        }
        Ok(written)
    }
}

fn progress_bar(name: &str, size: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:30!} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(super::print::terminal_safe(name));
    bar
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

/// Reads the pieces a download task sends, as one stream.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<bytes::Bytes>,
    current: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(next) => self.current = next,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// Downloads on this task while a thread decrypts and writes, so both cores work.
async fn stream_to_file(
    mut response: reqwest::Response,
    identities: Arc<Identities>,
    out: PathBuf,
    name: String,
    force: bool,
    sha256: String,
    bar: Option<indicatif::ProgressBar>,
) -> Result<PathBuf, TeamError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(32);
    let worker = std::thread::spawn(move || {
        let reader = ChannelReader {
            rx,
            current: bytes::Bytes::new(),
        };
        let mut plain = crypto::open_stream(&identities.as_refs(), reader)?;
        write_attachment(&out, &name, force, &mut plain, &sha256, &mut |n| {
            if let Some(bar) = &bar {
                bar.inc(n);
            }
        })
    });
    let mut failed = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if tx.send(chunk).is_err() {
                    break; // the thread stopped on an error; it says which below
                }
            }
            Ok(None) => break,
            Err(e) => {
                failed = Some(TeamError::Server(format!("the download broke off: {e}")));
                break;
            }
        }
    }
    drop(tx);
    let result = worker
        .join()
        .map_err(|_| TeamError::Io("the decryption thread failed".into()))?;
    match failed {
        // A broken download also makes the stream fail to decrypt; say why.
        Some(e) if result.is_err() => Err(e),
        _ => result,
    }
}
