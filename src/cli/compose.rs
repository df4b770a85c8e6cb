//! What a member types: a reply's or note's text (`-m`, `--file`, or `$EDITOR`, wiped
//! after use), a disclosure instant, and the confirmation a purge asks for.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

use agedrop::store::ReportId;
use agedrop::team;

/// Where a message's text comes from; with neither, `$EDITOR` opens.
#[derive(clap::Args)]
pub(super) struct TextArgs {
    /// The text
    #[arg(long, short, conflicts_with = "file")]
    message: Option<String>,
    /// Read the text from a file (`-` for standard input)
    #[arg(long)]
    file: Option<PathBuf>,
}

/// An instant on the command line: RFC 3339 (`2027-03-01T15:00Z`), or a date alone,
/// meaning 00:00 UTC.
pub(super) fn parse_when(text: &str) -> anyhow::Result<time::OffsetDateTime> {
    agedrop::report::parse_instant(text).ok_or_else(|| {
        anyhow!(
            "`{text}` is not a date or time: use 2027-03-01T15:00Z, or 2027-03-01 for 00:00 UTC"
        )
    })
}

/// The whole of `path` (`-`: standard input) as text, in a buffer wiped when dropped.
pub(super) fn read_text_file(path: &Path) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let mut text = zeroize::Zeroizing::new(String::new());
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(text)
}

/// The text of a reply or note: `-m`, `--file` (or `-`), or written in `$EDITOR`.
pub(super) fn compose(args: &TextArgs, what: &str) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let text = if let Some(message) = &args.message {
        zeroize::Zeroizing::new(message.clone())
    } else if let Some(path) = &args.file {
        read_text_file(path)?
    } else {
        edit("", what)?
    };
    if text.trim().is_empty() {
        bail!("the text is empty; nothing was sent");
    }
    Ok(text)
}

/// A canned text, edited in `$EDITOR` first when there is one and a terminal to use it
/// on; otherwise as it is.
pub(super) fn edit_canned(canned: &str) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let editor = std::env::var_os("VISUAL").or_else(|| std::env::var_os("EDITOR"));
    if editor.is_none() || !std::io::stdin().is_terminal() {
        return Ok(zeroize::Zeroizing::new(canned.to_string()));
    }
    let text = edit(canned, "closing note the reporter reads")?;
    if text.trim().is_empty() {
        bail!("the text is empty; nothing was sent");
    }
    Ok(text)
}

/// The text of a reply or note written in `$EDITOR` (starting from `initial`), without
/// the comment lines.
fn edit(initial: &str, what: &str) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let raw = run_editor(
        &format!("{initial}\n# Write the {what} above. Lines starting with # are left out.\n"),
        ".txt",
    )?;
    // Built in a buffer that is wiped, never in an ordinary String.
    let mut text = zeroize::Zeroizing::new(String::with_capacity(raw.len()));
    for line in raw.lines().filter(|l| !l.starts_with('#')) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
    }
    Ok(zeroize::Zeroizing::new(text.trim().to_string()))
}

/// Opens `$EDITOR` on a private temporary file holding `initial`, in memory where the
/// system has `$XDG_RUNTIME_DIR`; gives what the member left in it, and wipes and deletes
/// the file afterwards.
pub(super) fn run_editor(
    initial: &str,
    suffix: &str,
) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .map_err(|_| anyhow!("no text given: pass -m TEXT or --file FILE, or set $EDITOR"))?;
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let file = tempfile::Builder::new()
        .prefix("agedrop-")
        .suffix(suffix)
        .tempfile_in(&dir)?;
    std::fs::write(file.path(), initial)?;
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
    Ok(raw)
}

pub(super) fn confirm_purge(id: ReportId, title: &str) -> anyhow::Result<()> {
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
    if agedrop::team::resolve_prefix(&answer, [id]).is_err() {
        bail!("not confirmed; nothing was removed");
    }
    Ok(())
}
