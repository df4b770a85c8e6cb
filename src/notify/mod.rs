//! Notices to the team that a report or a reporter's message arrived (content-free,
//! sent after a random wait, coalesced, retried), and reminders of acknowledgements
//! coming due (`remind`). The web handlers only drop a [`Kind`] into a bounded queue
//! through a [`Signal`] (never awaiting the network); the [`Notifier`] task does the
//! rest. Works with `config` (the receivers), `crypto` (random numbers for the wait)
//! and `report` (deadlines in words).
//!
//! A notice says how many reports and messages arrived, or how many reports wait, and
//! links to the server's public address: never a title, an id, a receipt code, a time
//! to the second, or a byte a reporter wrote. Nothing reaches this module that could
//! carry them: reminders are given the days of last activity, nothing else.

mod last;
mod mail;
mod notice;
mod remind;
mod webhook;

pub use last::{Delivered, Delivery, LastNotice};
pub use notice::{Notice, Tally, Waiting};
pub use remind::Unanswered;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::Config;

/// Signals the queue holds; more are dropped (and counted) rather than wait.
const QUEUE: usize = 1024;
/// Attempts to reach one receiver with one notice.
const ATTEMPTS: u32 = 5;
/// The wait after the first failed attempt; it doubles after each.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);

/// What happened, and nothing more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A new report arrived.
    Report,
    /// A reporter added to their report (a message, files, an answer).
    Message,
}

/// The web layer's end of the queue: [`Signal::send`] never waits and never fails.
#[derive(Clone)]
pub struct Signal {
    queue: mpsc::Sender<Kind>,
    dropped: Arc<AtomicU64>,
    ledger: Arc<last::Ledger>,
}

impl Signal {
    /// Queues `kind` for the notifier. A full queue drops it and counts it: a
    /// submission is never delayed or refused for a notice.
    pub fn send(&self, kind: Kind) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.queue.try_send(kind) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The last notice sent since the server started, and how each receiver took it
    /// (for `agedrop status`).
    pub fn last_notice(&self) -> Option<LastNotice> {
        self.ledger.last()
    }
}

/// Why the notifier cannot be set up; names the setting.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct SetupError {
    /// The setting, e.g. `notify.smtp.password_file`.
    pub setting: &'static str,
    /// What is wrong.
    pub message: String,
}

/// One place a notice goes.
enum Receiver {
    Webhook(webhook::Hook),
    Mail(Box<mail::Mailer>),
}

impl Receiver {
    /// Its name for logs and `notify-test`: kind, format, host; never a path or token.
    fn name(&self) -> String {
        match self {
            Receiver::Webhook(hook) => hook.name(),
            Receiver::Mail(mailer) => mailer.name(),
        }
    }

    async fn send(&self, notice: &Notice, link: Option<&str>) -> Result<(), String> {
        match self {
            Receiver::Webhook(hook) => hook.send(notice, link).await,
            Receiver::Mail(mailer) => mailer.send(notice, link).await,
        }
    }
}

/// What `notify-test` reports for one receiver.
pub struct Outcome {
    /// The receiver by kind and host ("webhook 2 (slack, hooks.example.com)").
    pub receiver: String,
    /// `Err` with a content-free reason.
    pub result: Result<(), String>,
}

/// The task that waits, coalesces and sends.
pub struct Notifier {
    receivers: Vec<Receiver>,
    link: Option<String>,
    delay: Duration,
    coalesce: bool,
    dropped: Arc<AtomicU64>,
    ledger: Arc<last::Ledger>,
    /// The programme's promise, for the reminders' deadlines.
    acknowledge_hours: u32,
    /// The reminders' window; 0: no reminders.
    remind_before_hours: u32,
}

impl Notifier {
    /// The notifier for `config`, or `None` when no receiver is configured. Reads the
    /// SMTP password and CA files now, so that a mistake stops the start.
    pub fn new(config: &Config) -> Result<Option<Notifier>, SetupError> {
        let notify = &config.notify;
        if !notify.any() {
            return Ok(None);
        }
        let mut receivers = Vec::new();
        if !notify.webhooks.is_empty() {
            let client = webhook::client()?;
            for (i, hook) in notify.webhooks.iter().enumerate() {
                receivers.push(Receiver::Webhook(webhook::Hook::new(
                    client.clone(),
                    i + 1,
                    hook,
                )));
            }
        }
        if let Some(smtp) = &notify.smtp {
            receivers.push(Receiver::Mail(Box::new(mail::Mailer::new(smtp)?)));
        }
        Ok(Some(Notifier {
            receivers,
            link: config.server.public_url.as_ref().map(|u| u.to_string()),
            delay: notify.delay_seconds.duration(),
            coalesce: notify.coalesce,
            dropped: Arc::default(),
            ledger: Arc::default(),
            acknowledge_hours: config.programme.acknowledge_hours,
            remind_before_hours: u32::try_from(notify.remind_before_hours.get())
                .unwrap_or(u32::MAX),
        }))
    }

    /// The queue's two ends: the [`Signal`] for the web layer, the receiving end for
    /// [`Notifier::run`].
    pub fn queue(&self) -> (Signal, mpsc::Receiver<Kind>) {
        let (queue, inbox) = mpsc::channel(QUEUE);
        let signal = Signal {
            queue,
            dropped: self.dropped.clone(),
            ledger: self.ledger.clone(),
        };
        (signal, inbox)
    }

    /// Runs until every [`Signal`] is gone: on the first signal, waits a random time
    /// (half the delay to the whole delay), takes everything queued meanwhile, and sends
    /// (retrying in a task of its own, so that a slow receiver never holds up the next
    /// notice). With `notify.remind_before_hours` set, also starts the reminders, which
    /// read the reports waiting for an answer from `unanswered`.
    pub async fn run<U: Unanswered>(self, mut inbox: mpsc::Receiver<Kind>, unanswered: Arc<U>) {
        let me = Arc::new(self);
        if me.remind_before_hours > 0 {
            tokio::spawn(me.clone().remind(unanswered));
        }
        let mut dropped = 0;
        while let Some(first) = inbox.recv().await {
            tokio::time::sleep(me.random_delay()).await;
            let mut kinds = vec![first];
            while let Ok(kind) = inbox.try_recv() {
                kinds.push(kind);
            }
            let now_dropped = me.dropped.load(Ordering::Relaxed);
            if now_dropped > dropped {
                tracing::warn!(
                    dropped = now_dropped - dropped,
                    "notice signals dropped: the queue was full"
                );
                dropped = now_dropped;
            }
            let tallies: Vec<Tally> = if me.coalesce {
                let mut tally = Tally::default();
                kinds.iter().for_each(|&k| tally.add(k));
                vec![tally]
            } else {
                kinds
                    .iter()
                    .map(|&k| {
                        let mut tally = Tally::default();
                        tally.add(k);
                        tally
                    })
                    .collect()
            };
            for tally in tallies {
                let me = me.clone();
                tokio::spawn(async move { me.deliver(Notice::Events(tally)).await });
            }
        }
    }

    /// A wait between half the delay and the whole delay, to the millisecond, from the
    /// OS's random numbers: random, so that a notice does not date the act; never
    /// shorter than half, so that events close together give one notice.
    fn random_delay(&self) -> Duration {
        let max = u64::try_from(self.delay.as_millis()).unwrap_or(u64::MAX);
        let half = max / 2;
        if max == 0 {
            return Duration::ZERO;
        }
        // Failing randomness waits the whole delay: later, never earlier.
        let r = crate::crypto::random_bytes::<8>()
            .map(u64::from_le_bytes)
            .unwrap_or(u64::MAX);
        Duration::from_millis(half + r % (max - half + 1))
    }

    /// Sends `notice` to every receiver at once, each retried with backoff; a failure
    /// costs a log line naming the receiver's kind and host, nothing else. How each
    /// receiver took it is kept as the last notice (for `agedrop status`).
    async fn deliver(&self, notice: Notice) {
        let link = self.link.as_deref();
        let number = self
            .ledger
            .start(self.receivers.iter().map(Receiver::name).collect());
        let ledger = &self.ledger;
        let sends = self
            .receivers
            .iter()
            .enumerate()
            .map(|(i, receiver)| async move {
                let mut backoff = FIRST_BACKOFF;
                for attempt in 1..=ATTEMPTS {
                    match receiver.send(&notice, link).await {
                        Ok(()) => {
                            tracing::info!(receiver = %receiver.name(), "notice sent");
                            ledger.update(number, i, Delivered::Sent, None);
                            return;
                        }
                        Err(why) if attempt < ATTEMPTS => {
                            tracing::warn!(
                                receiver = %receiver.name(),
                                attempt,
                                "notice not delivered ({why}); trying again in {} s",
                                backoff.as_secs()
                            );
                            ledger.update(number, i, Delivered::Retrying, Some(why));
                            tokio::time::sleep(backoff).await;
                            backoff *= 2;
                        }
                        Err(why) => {
                            tracing::error!(
                                receiver = %receiver.name(),
                                "notice not delivered after {ATTEMPTS} attempts ({why}); given up"
                            );
                            ledger.update(number, i, Delivered::Failed, Some(why));
                        }
                    }
                }
            });
        futures_util::future::join_all(sends).await;
    }

    /// Sends the test notice to every receiver once (no delay, no retry) and says how
    /// each went.
    pub async fn test(&self) -> Vec<Outcome> {
        let link = self.link.as_deref();
        let sends = self.receivers.iter().map(|receiver| async move {
            Outcome {
                receiver: receiver.name(),
                result: receiver.send(&Notice::Test, link).await,
            }
        });
        futures_util::future::join_all(sends).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_without_waiting() {
        let notifier = Notifier {
            receivers: Vec::new(),
            link: None,
            delay: Duration::ZERO,
            coalesce: true,
            dropped: Arc::default(),
            ledger: Arc::default(),
            acknowledge_hours: 72,
            remind_before_hours: 0,
        };
        let (signal, _inbox) = notifier.queue();
        for _ in 0..QUEUE + 5 {
            signal.send(Kind::Report);
        }
        assert_eq!(notifier.dropped.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn the_delay_is_random_and_bounded() {
        let notifier = Notifier {
            receivers: Vec::new(),
            link: None,
            delay: Duration::from_secs(300),
            coalesce: true,
            dropped: Arc::default(),
            ledger: Arc::default(),
            acknowledge_hours: 72,
            remind_before_hours: 0,
        };
        let waits: Vec<Duration> = (0..20).map(|_| notifier.random_delay()).collect();
        assert!(
            waits
                .iter()
                .all(|w| Duration::from_secs(150) <= *w && *w <= Duration::from_secs(300))
        );
        assert!(waits.iter().any(|w| *w != waits[0]), "{waits:?}");
    }
}
