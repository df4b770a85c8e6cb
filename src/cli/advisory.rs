//! `agedrop team advisory ID` (draft a revision in `$EDITOR` or from a file and post it;
//! print it as TOML, OSV or CSAF) and `agedrop team credits` (the acknowledgements).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{anyhow, bail};

use agedrop::report::{Advisory, CreditState, human_time};
use agedrop::team::{self, Desk, Export, Thread};
use agedrop::text::json_safe;

use super::compose::run_editor;
use super::team::{done, json_text};

/// What `agedrop team advisory` does.
#[derive(clap::Args)]
#[command(
    after_help = "Each posting is a new revision (from the current one, or drafted \
from the report), signed by you and sealed to the team and the reporter, who sees it on their \
page as a draft to review, comments on it, and accepts or declines the credit it offers them \
(the credits marked `reporter = true`). The latest revision a member of your pinned roster \
signed is current. --osv and --csaf print the current revision with only the credits that \
may be published: the reporter's only once they accepted exactly those words."
)]
pub(super) struct AdvisoryArgs {
    /// Report id, or a unique prefix
    id: String,
    /// Read the revision from a file instead of opening $EDITOR: TOML as the editor shows
    /// it (see --draft), or the same fields as JSON; `-` for standard input
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Print the draft to start from (the current revision, or one made from the report)
    /// as TOML, and send nothing
    #[arg(long, conflicts_with_all = ["file", "osv", "csaf"])]
    draft: bool,
    /// Print the current advisory as an OSV record (JSON), and send nothing
    #[arg(long, conflicts_with_all = ["file", "csaf"])]
    osv: bool,
    /// Print the current advisory as a CSAF 2.0 security advisory (JSON), and send nothing
    #[arg(long, conflicts_with = "file")]
    csaf: bool,
    /// With --csaf: the publisher's namespace, a URL [default: the server's origin]
    #[arg(long, value_name = "URL", requires = "csaf")]
    namespace: Option<String>,
}

impl AdvisoryArgs {
    /// Whether the command sends anything.
    pub(super) fn writes(&self) -> bool {
        !(self.draft || self.osv || self.csaf)
    }
}

/// Runs `agedrop team advisory`.
pub(super) async fn advisory(
    desk: &mut Desk,
    args: AdvisoryArgs,
    json: bool,
) -> anyhow::Result<()> {
    if args.writes() {
        // Before anyone edits a draft that could not be sent.
        desk.client()?;
    }
    let id = desk.resolve(&args.id).await?;
    let thread = desk.thread(id).await?;
    if args.osv || args.csaf {
        let publisher = desk.publisher().await?;
        let export = Export::new(&thread, &publisher)?;
        let text = if args.osv {
            export.osv()?
        } else {
            export.csaf(args.namespace.as_deref())?
        };
        println!("{}", json_safe(&text));
        return Ok(());
    }
    let start = team::starting_draft(&thread).ok_or_else(|| {
        anyhow!("report {id}: you cannot open the report itself, so there is nothing to draft from")
    })?;
    let draft = team::write_draft(&heading(&thread, &start), &start);
    if args.draft {
        print!("{}", json_safe(&draft));
        return Ok(());
    }
    let advisory = match &args.file {
        Some(path) => {
            let shown = path.display();
            let text = super::compose::read_text_file(path)?;
            team::parse_draft(&text)
                .map_err(|e| anyhow!("{shown}: {e}\nNothing was sent."))?
                .ok_or_else(|| anyhow!("{shown} holds no advisory; nothing was sent"))?
        }
        None => edit(&draft)?,
    };
    if thread.review().current().is_some() && advisory == start {
        bail!("the advisory is the same as the current revision; nothing was sent");
    }
    let posted_words = serde_json::to_value(&advisory)?;
    let posted = desk.post_advisory(id, advisory).await?;
    if json {
        let seq = posted.seq;
        desk.mark_own(id, seq)?;
        println!(
            "{}",
            json_text(&serde_json::json!({
                "id": id, "seq": seq, "warnings": posted.warnings, "advisory": posted_words,
            }))?
        );
        return Ok(());
    }
    done(
        desk,
        false,
        id,
        posted,
        "Advisory revision posted; the reporter sees it as a draft to review",
    )
}

/// The comment lines above the draft: the report, the revision it starts from, where the
/// reporter's credit stands.
fn heading(thread: &Thread, start: &Advisory) -> String {
    let review = thread.review();
    let mut out = format!("Advisory for report {}: {}\n", thread.id, thread.title());
    match review.current() {
        Some(r) => {
            let author = if r.advisory.author.is_empty() {
                "a member".to_string()
            } else {
                r.advisory.author.clone()
            };
            out.push_str(&format!(
                "Starts from revision {} of {}, by {author}, {}.\n",
                r.number,
                review.revisions.len(),
                human_time(r.at)
            ));
        }
        None => {
            out.push_str("No revision yet: drafted from the report.\n");
            out.push_str(if start.reporter_credits().next().is_some() {
                "The credit marked reporter = true is what the reporter asked for on the form;\n\
                 they accept or decline it on their page."
            } else {
                "The reporter asked for no credit (or gave nothing to credit)."
            });
            return out;
        }
    }
    out.push_str(match review.credit() {
        CreditState::NotOffered => "The reporter is offered no credit.",
        CreditState::Pending => "The reporter has not answered the credit offered yet.",
        CreditState::Accepted => {
            "The reporter accepted the credit offered: changing its words asks them again."
        }
        CreditState::Declined => "The reporter DECLINED the credit: it will not be published.",
        CreditState::ChangeAsked => {
            "The reporter asked for other words for their credit: see `agedrop team show`."
        }
    });
    out
}

/// The revision written in `$EDITOR`, starting from `draft`; on a terminal, a draft with
/// problems opens again with them listed at the top (emptying the file cancels).
fn edit(draft: &str) -> anyhow::Result<Advisory> {
    let mut text = zeroize::Zeroizing::new(draft.to_string());
    loop {
        let edited = run_editor(&text, ".toml").map_err(|e| {
            anyhow!("{e} (or pass the advisory with --file FILE; --draft prints one to start from)")
        })?;
        match team::parse_draft(&edited) {
            Ok(Some(advisory)) => return Ok(advisory),
            Ok(None) => bail!("the advisory is empty; nothing was sent"),
            Err(problems) if std::io::stdin().is_terminal() => {
                let mut again =
                    String::from("# NOT SENT. Fix these, or empty the file to cancel:\n");
                for line in problems.lines() {
                    again.push_str(&format!("#   {line}\n"));
                }
                for line in edited
                    .lines()
                    .filter(|l| !l.starts_with("# NOT SENT") && !l.starts_with("#   "))
                {
                    again.push_str(line);
                    again.push('\n');
                }
                text = zeroize::Zeroizing::new(again);
            }
            Err(problems) => bail!("{problems}\nNothing was sent."),
        }
    }
}

/// Runs `agedrop team credits`.
pub(super) async fn credits(desk: &Desk, json: bool) -> anyhow::Result<()> {
    let list = desk.acknowledgements().await?;
    if json {
        println!("{}", json_text(&list)?);
    } else {
        print!("{}", *team::acknowledgements(&list));
    }
    Ok(())
}
