//! `agedrop notify-test`: one test notice to every receiver in `[notify]`, and, for
//! each, whether it arrived. Receivers are named by kind and host only: webhook paths
//! and passwords are never printed.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use serde::Serialize;

use agedrop::config::{Config, Overrides};
use agedrop::notify::Notifier;

/// Send a test notice to every receiver in `[notify]` and say how each went.
#[derive(clap::Args)]
pub(super) struct NotifyTestArgs {
    /// The server's config file.
    #[arg(long, short)]
    config: PathBuf,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

/// One receiver's outcome, as `--json` gives it.
#[derive(Serialize)]
struct Row {
    receiver: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs `agedrop notify-test`; fails if any receiver did not take the notice.
pub(super) fn notify_test(args: NotifyTestArgs) -> anyhow::Result<()> {
    let config = Config::load(Some(&args.config), &Overrides::default())?;
    let Some(notifier) = Notifier::new(&config)? else {
        bail!("no receivers: [notify] has no webhooks and no smtp table");
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let rows: Vec<Row> = runtime
        .block_on(notifier.test())
        .into_iter()
        .map(|outcome| Row {
            receiver: outcome.receiver,
            ok: outcome.result.is_ok(),
            error: outcome.result.err(),
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for row in &rows {
            let receiver = agedrop::text::terminal_safe(&row.receiver);
            match &row.error {
                None => println!("ok      {receiver}"),
                Some(why) => {
                    println!("FAILED  {receiver}: {}", agedrop::text::terminal_safe(why))
                }
            }
        }
    }
    let failed = rows.iter().filter(|r| !r.ok).count();
    if failed > 0 {
        return Err(anyhow!(
            "{failed} of {} receiver(s) did not take the test notice",
            rows.len()
        ));
    }
    Ok(())
}
