//! `agedrop team grant`: the progress bar and the summary around [`Desk::grant`].

use std::io::IsTerminal;

use agedrop::report::human_size;
use agedrop::team::Desk;
use agedrop::text::terminal_safe;

use super::team::json_text;

/// `agedrop team grant`: a progress bar on a terminal, a summary at the end.
pub(super) async fn grant(
    desk: &Desk,
    member: &str,
    ids: Vec<String>,
    all: bool,
    batch: usize,
    json: bool,
) -> anyhow::Result<()> {
    let ids = if all {
        None
    } else {
        let mut full = Vec::with_capacity(ids.len());
        for id in &ids {
            full.push(desk.resolve(id).await?);
        }
        Some(full)
    };
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("granting {bar:40} {pos}/{len} reports {eta}")
        {
            bar.set_style(style);
        }
        bar
    });
    let summary = desk
        .grant(member, ids, batch, &mut |done, total| {
            if let Some(bar) = &bar {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        })
        .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if json {
        println!("{}", json_text(&summary)?);
        return Ok(());
    }
    println!(
        "Granted {} ({}) {} report(s): {} event key(s), {} older attachment key(s), {} added \
         on the server, signed and sealed on this machine.",
        terminal_safe(&summary.member),
        terminal_safe(&summary.recipient),
        summary.granted,
        summary.events,
        summary.attachments,
        human_size(summary.bytes_added)
    );
    if summary.already_granted > 0 {
        println!(
            "{} report(s) were already granted to them, and were skipped.",
            summary.already_granted
        );
    }
    for warning in &summary.warnings {
        eprintln!("warning: {}", terminal_safe(warning));
    }
    Ok(())
}
