//! The reading commands (`list`, `show`, `attachments`) the desk runs over any source,
//! and `agedrop open`, which runs them over a data folder copied from the server.

use std::io::{IsTerminal, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use agedrop::report::human_size;
use agedrop::team::{self, Desk, Identities, LocalInbox, Pins, Roster, Seen, Shown};

use super::team::{ReadCommand, json_text};

/// Runs `agedrop open --data DIR …`: the reading commands over a data folder, team
/// events checked against the keys file given (a data folder holds no roster).
pub fn open(
    data: &Path,
    identity: &Path,
    keys: Option<&Path>,
    config: Option<&Path>,
    command: ReadCommand,
    json: bool,
) -> anyhow::Result<()> {
    let promise = config
        .map(|path| {
            agedrop::config::Config::load(Some(path), &Default::default())
                .map(|c| c.programme.promises())
        })
        .transpose()?;
    let identities = Identities::load(identity)?;
    let mut inbox = LocalInbox::open(data)?;
    if let Some(promises) = promise {
        inbox = inbox.with_promises(promises);
    }
    let key = format!("data:{}", data.canonicalize()?.display());
    let mut desk = Desk::new(
        Box::new(inbox),
        identities,
        Seen::load(&key),
        Pins::memory(),
    );
    desk.show_progress(!json);
    if let Some(path) = keys {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        desk.use_roster(Roster::from_keys_file(&text)?);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(read(&mut desk, command, json))
}

pub(super) async fn read(desk: &mut Desk, command: ReadCommand, json: bool) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match command {
        ReadCommand::List { statuses, overdue } => {
            let items = desk.list(&statuses, overdue).await?;
            if json {
                let mut out = std::io::BufWriter::new(&mut stdout);
                write_json_list(&mut out, &items)?;
                out.flush()?;
            } else {
                write!(stdout, "{}", *team::print_list(&items))?;
            }
        }
        ReadCommand::Show { id } => {
            let id = desk.resolve(&id).await?;
            let thread = desk.show(id).await?;
            let promises = desk.promises().await?;
            if json {
                let shown = Shown::new(&thread, promises.as_ref());
                writeln!(stdout, "{}", json_text(&shown)?)?;
            } else {
                write!(
                    stdout,
                    "{}",
                    *team::print_thread(&thread, promises.as_ref())
                )?;
            }
        }
        ReadCommand::Attachments { id, out, force } => {
            let id = desk.resolve(&id).await?;
            let out = out.unwrap_or_else(|| PathBuf::from(id.to_string()));
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let progress = !json && std::io::stderr().is_terminal();
            let written = desk.attachments(id, &out, force, progress).await?;
            if json {
                writeln!(stdout, "{}", json_text(&written)?)?;
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

/// A list as [`json_text`] would print it, written one element at a time, so that a list
/// of 50,000 reports never sits in memory as one string (twice).
fn write_json_list<T: serde::Serialize>(
    out: &mut impl std::io::Write,
    items: &[T],
) -> anyhow::Result<()> {
    if items.is_empty() {
        writeln!(out, "[]")?;
        return Ok(());
    }
    writeln!(out, "[")?;
    for (i, item) in items.iter().enumerate() {
        // Pretty JSON escapes every line break inside strings: each line is a line.
        let text = json_text(item)?;
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            let last = lines.peek().is_none() && i + 1 == items.len();
            let comma = if lines.peek().is_none() && !last {
                ","
            } else {
                ""
            };
            writeln!(out, "  {line}{comma}")?;
        }
    }
    writeln!(out, "]")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_written_element_by_element_is_the_pretty_json_of_the_whole() {
        let lists = [
            vec![],
            vec![serde_json::json!({ "id": "a", "lines": "one\ntwo", "nested": { "x": [1, 2] } })],
            vec![
                serde_json::json!({ "title": "\u{1b}[2J", "empty": [], "map": {} }),
                serde_json::json!(3),
                serde_json::json!({ "deadlines": [{ "due": "2027" }, { "due": "2028" }] }),
            ],
        ];
        for list in lists {
            let mut streamed = Vec::new();
            write_json_list(&mut streamed, &list).unwrap();
            let whole = json_text(&list).unwrap() + "\n";
            assert_eq!(String::from_utf8(streamed).unwrap(), whole);
        }
    }
}
