//! `agedrop team trust` and `whoami`, and what the desk says about the roster it pinned:
//! the member's side of trusting a team roster.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, anyhow, bail};

use agedrop::team::{self, Desk, Identities, Roster, RosterNews};
use agedrop::text::{one_line, terminal_safe};

use super::team::json_text;

/// Tells the member, on standard error, what the roster check found.
pub(super) fn announce(desk: &Desk, news: &RosterNews, writes: bool) {
    let source = one_line(desk.roster_key());
    match news {
        RosterNews::FirstUse => {
            if let Some(roster) = desk.roster() {
                eprintln!(
                    "First use of {source}: pinned its team roster on this machine ({} \
                     member(s)):",
                    roster.members().len()
                );
                for m in roster.members() {
                    eprintln!("  {}", team::describe_member(m));
                }
                eprintln!(
                    "Check it with a teammate. From now on the desk seals only to these \
                     members, checks their signatures, and stops if the list changes \
                     (`agedrop team trust` reviews a change)."
                );
            }
        }
        RosterNews::Changed if !writes => {
            if let Some((_, change)) = desk.pending() {
                eprintln!(
                    "Warning: the team roster {source} lists differs from the one you \
                     pinned:\n{}Signatures are checked against your pinned roster, and \
                     nothing will be sealed until you review the change with `agedrop team \
                     trust`.",
                    change.describe()
                );
            }
        }
        RosterNews::Changed | RosterNews::Same | RosterNews::Missing => {}
    }
}

/// `agedrop team trust`: shows the roster and how it differs from the pinned one, asks,
/// and pins it.
pub(super) async fn trust(
    desk: &mut Desk,
    keys: Option<&Path>,
    yes: bool,
    json: bool,
) -> anyhow::Result<()> {
    let now = crate::cli::now_rfc3339();
    let source = desk.roster_key().to_string();
    let pinned_before = desk.pinned()?;
    let candidate = match keys {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Roster::from_keys_file(&text)?
        }
        None => match desk.check_roster(&now).await? {
            RosterNews::Changed => desk
                .pending()
                .map(|(roster, _)| roster.clone())
                .ok_or_else(|| anyhow!("the roster changed while it was read"))?,
            _ => desk
                .roster()
                .cloned()
                .ok_or_else(|| anyhow!("this source has no team roster; pass --keys FILE"))?,
        },
    };
    let change = team::Change::between(
        pinned_before
            .as_ref()
            .map(|r| r.members())
            .unwrap_or_default(),
        candidate.members(),
    );
    if !json {
        eprintln!("Team roster for {}:", one_line(&source));
        for m in candidate.members() {
            eprintln!("  {}", team::describe_member(m));
        }
        match &pinned_before {
            None => eprintln!("(nothing was pinned for it before)"),
            Some(_) if change.is_empty() => eprintln!("This is the roster you pinned."),
            Some(_) => eprintln!(
                "Compared with the roster you pinned:\n{}",
                change.describe()
            ),
        }
    }
    let needs_answer = pinned_before.is_some() && !change.is_empty();
    if needs_answer && !yes {
        confirm("Seal to these members from now on, and accept their signatures?")?;
    }
    let members = candidate.members().to_vec();
    desk.trust(candidate, &now)?;
    if json {
        println!(
            "{}",
            json_text(&serde_json::json!({
                "source": source,
                "pinned": true,
                "members": members,
                "change": change,
            }))?
        );
    } else {
        eprintln!("Pinned.");
    }
    Ok(())
}

/// Asks a yes/no question on the terminal; anything but yes is an error.
fn confirm(question: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to change the pinned roster without confirmation: run it on a terminal, or pass --yes"
        );
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        bail!("not confirmed; the pinned roster is unchanged");
    }
    Ok(())
}

/// `agedrop team whoami`: the keys-file line for this member.
pub(super) fn whoami(identities: &Identities, json: bool) -> anyhow::Result<()> {
    let signing = identities.signing_key().map(|k| k.public().to_string());
    let lines: Vec<String> = identities
        .recipients()
        .iter()
        .map(|r| match &signing {
            Some(key) => format!("{r} {key}"),
            None => r.clone(),
        })
        .collect();
    if json {
        println!(
            "{}",
            json_text(&serde_json::json!({
                "recipients": identities.recipients(),
                "signing_key": signing,
                "lines": lines,
            }))?
        );
    } else {
        for line in &lines {
            println!("{line}");
        }
        if signing.is_none() {
            eprintln!(
                "{}",
                terminal_safe(&identities.no_signing_key().to_string())
            );
        }
    }
    Ok(())
}
