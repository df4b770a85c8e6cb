//! `agedrop purge`: on the server host, the reports with no activity for the retention
//! period, listed (`--dry-run`: ids and days, nothing else) or purged (`--yes`). The
//! server purges them by itself every hour when `limits.retention_days` is set; this is
//! for a look first, or for a server that is stopped.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use serde::Serialize;

use agedrop::config::{Config, Overrides};
use agedrop::store::{Store, StoreError, StoreOptions};

/// One quiet report, as `--json` gives it.
#[derive(Serialize)]
struct Quiet {
    id: String,
    /// The last day with activity (UTC).
    last_active: String,
    /// Whole days since.
    quiet_days: u32,
}

/// Runs `agedrop purge`.
pub(super) fn purge(
    config: Option<&Path>,
    data: Option<PathBuf>,
    days: Option<u32>,
    yes: bool,
    json: bool,
) -> anyhow::Result<()> {
    let overrides = Overrides {
        data,
        ..Default::default()
    };
    let config = Config::load(config, &overrides)?;
    let days = days.unwrap_or(config.limits.retention_days.get() as u32);
    if days == 0 {
        bail!(
            "retention is off (limits.retention_days = 0): set it in the config, or pass \
             --days N to see what has been quiet that long"
        );
    }
    let options = StoreOptions {
        cache_bytes: 32 * 1024 * 1024,
        reserve_bytes: 0,
        sweep: false,
    };
    let dir = &config.server.data;
    let store = Store::open(dir, &options).map_err(|e| match e {
        StoreError::Engine(_) | StoreError::Io(_) => anyhow!(
            "cannot open {} ({e}). If the server is running it holds the folder: with \
             limits.retention_days set it purges quiet reports itself every hour; stop it to \
             purge or list by hand",
            dir.display()
        ),
        other => anyhow!("cannot open {}: {other}", dir.display()),
    })?;
    let today = agedrop::clock::today();
    let quiet: Vec<Quiet> = store
        .quiet_reports(today, days)?
        .into_iter()
        .map(|(id, day)| Quiet {
            id: id.to_string(),
            last_active: agedrop::text::rfc3339(i64::from(day) * 86_400)
                .map(|t| t[..10].to_string())
                .unwrap_or_default(),
            quiet_days: today.saturating_sub(day),
        })
        .collect();
    if yes {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            for q in &quiet {
                match store.purge(q.id.parse()?).await {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(anyhow!(e)),
                }
            }
            anyhow::Ok(())
        })?;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "retention_days": days,
                "purged": yes,
                "reports": quiet,
            }))?
        );
    } else {
        for q in &quiet {
            println!(
                "{}  last active {}  ({} days quiet)",
                q.id, q.last_active, q.quiet_days
            );
        }
        let what = if yes {
            "purged"
        } else {
            "would be purged (run with --yes)"
        };
        eprintln!(
            "{} report(s) with no activity for {days} days or more {what}.",
            quiet.len()
        );
    }
    Ok(())
}
