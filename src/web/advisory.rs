//! The advisory on the reporter's page: the current draft to review with every field, the
//! credit it offers the reporter (Accept, Decline, or other words), a box to comment, and
//! the timeline entries of revisions, comments and answers. The forms post to
//! `follow_up.rs`, which turns them into sealed events here ([`answer_events`]): an answer
//! carries the credit words exactly as the revision it names offered them.

use zeroize::Zeroizing;

use super::session::ActiveSession;
use super::thread::{Entry, Words};
use super::{AppState, PageError};
use crate::crypto::{self, ReporterRecipient, TeamKeys};
use crate::report::{
    AdvisoryComment, CreditDecision, CreditState, Decision, Event, EventBody, Opened, Review,
    describe_severity, human_time,
};
use crate::store::NewEvent;

/// The current draft, as the page shows it.
pub(super) struct Draft<'e> {
    /// Its position in the thread (the forms name it).
    pub seq: u32,
    pub number: usize,
    pub revisions: usize,
    pub when: String,
    pub fields: Vec<(&'static str, Words<'e>)>,
    pub credits: Vec<(Words<'e>, bool)>,
    /// Whether it offers the reporter a credit to answer.
    pub offers_credit: bool,
    pub credit_state: &'static str,
}

/// The current draft of `review`, if there is one.
pub(super) fn draft<'e>(review: &Review<'e>) -> Option<Draft<'e>> {
    let current = review.current()?;
    let a = current.advisory;
    let mut fields: Vec<(&'static str, Words<'e>)> = vec![("Title", Words::Of(&a.title))];
    for p in &a.affected {
        let mut line = p.product.clone();
        if !p.versions.is_empty() {
            line.push_str(&format!(": versions {}", p.versions.join(", ")));
        }
        if !p.introduced.is_empty() {
            line.push_str(&format!("; introduced in {}", p.introduced));
        }
        if !p.fixed.is_empty() {
            line.push_str(&format!("; fixed in {}", p.fixed));
        }
        fields.push(("Affected", Words::made(line)));
    }
    fields.push(("Weakness", Words::Of(&a.weakness)));
    fields.push(("Severity", Words::made(describe_severity(&a.severity))));
    for (label, text) in [
        ("Description", &a.description),
        ("Impact", &a.impact),
        ("Workarounds", &a.workarounds),
        ("Fix", &a.fix),
    ] {
        fields.push((label, Words::Of(text)));
    }
    fields.push(("Other ids", Words::made(a.aliases.join(", "))));
    fields.push(("References", Words::made(a.references.join("\n"))));
    fields.retain(|(_, w)| !w.is_empty());
    let state = review.credit();
    Some(Draft {
        seq: current.seq,
        number: current.number,
        revisions: review.revisions.len(),
        when: human_time(current.at),
        fields,
        credits: a
            .credits
            .iter()
            .map(|c| (Words::made(c.describe()), c.reporter))
            .collect(),
        offers_credit: state != CreditState::NotOffered,
        credit_state: match state {
            CreditState::NotOffered => "This draft offers you no credit.",
            CreditState::Pending => {
                "The team offers you the credit marked below. It is published only if you \
                 accept it in exactly these words."
            }
            CreditState::Accepted => {
                "You accepted the credit below: it will be published in exactly these words."
            }
            CreditState::Declined => {
                "You declined the credit: nothing naming you will be published."
            }
            CreditState::ChangeAsked => {
                "You asked for other words: nothing naming you is published until you accept \
                 a revision."
            }
        },
    })
}

/// The timeline entry of an advisory event; `None` for any other event.
pub(super) fn entry<'e>(body: &'e EventBody, when: String, review: &Review) -> Option<Entry<'e>> {
    let revision = |seq: u32| match review.revision(seq) {
        Some(r) => format!("revision {}", r.number),
        None => "a revision".to_string(),
    };
    Some(match body {
        EventBody::Advisory(a) => Entry {
            class: "team",
            heading: "The security team posted a revision of the advisory draft".into(),
            when,
            fields: vec![("Title", Words::Of(&a.title))],
            text: Words::Of(""),
        },
        EventBody::AdvisoryComment(c) => Entry {
            class: "reporter",
            heading: format!(
                "You commented on {} of the advisory draft",
                revision(c.revision)
            ),
            when,
            fields: Vec::new(),
            text: Words::Of(&c.text),
        },
        EventBody::CreditDecision(d) => Entry {
            class: "reporter",
            heading: format!(
                "You {} the credit offered in {}",
                match d.decision {
                    Decision::Accept => "accepted",
                    Decision::Decline => "declined",
                    Decision::Change => "asked for other words for",
                },
                revision(d.revision)
            ),
            when,
            fields: d
                .credits
                .iter()
                .map(|c| ("Credit", Words::made(c.describe())))
                .collect(),
            text: Words::Of(&d.note),
        },
        _ => return None,
    })
}

/// What the reporter sent about the draft.
#[derive(Default)]
pub(super) struct AnswerForm {
    /// The revision answered (its position in the thread, as the form sent it).
    pub revision: Option<Zeroizing<String>>,
    pub comment: Option<Zeroizing<String>>,
    /// `accept`, `decline` or `change`.
    pub credit: Option<Zeroizing<String>>,
    pub note: Option<Zeroizing<String>>,
}

impl AnswerForm {
    /// Whether it asks for anything to be stored.
    pub fn is_empty(&self) -> bool {
        let blank = |t: &Option<Zeroizing<String>>| t.as_ref().is_none_or(|t| t.trim().is_empty());
        blank(&self.comment) && blank(&self.credit)
    }
}

/// The events an answer becomes, sealed to the team and the reporter: a comment on the
/// revision named, and the reporter's decision on the credit it offers, carrying that
/// revision's credit words as the reporter's key opens them.
pub(super) fn answer_events(
    state: &AppState,
    session: &ActiveSession,
    keys: &TeamKeys,
    recipient: &ReporterRecipient,
    at: i64,
    form: AnswerForm,
) -> Result<Vec<NewEvent>, PageError> {
    let bad = |m: &str| PageError::BadInput(m.into());
    let seq: u32 = form
        .revision
        .as_deref()
        .and_then(|r| r.trim().parse().ok())
        .ok_or_else(|| bad("The form did not say which draft of the advisory it answers."))?;
    let sealed = state
        .store
        .events(session.report)
        .map_err(|e| state.storage_error(e))?
        .into_iter()
        .find(|(s, _)| *s == seq)
        .map(|(_, sealed)| sealed);
    let opened = sealed
        .and_then(|s| crypto::open_as_reporter(&session.key, &s).ok())
        .and_then(|plain| Opened::decode(&plain).ok());
    let Some(Opened {
        event: Event {
            body: EventBody::Advisory(advisory),
            ..
        },
        ..
    }) = opened
    else {
        return Err(bad(
            "The advisory draft you answered is not in your report's thread.",
        ));
    };
    let mut bodies = Vec::new();
    if let Some(comment) = form.comment.filter(|c| !c.trim().is_empty()) {
        bodies.push(EventBody::AdvisoryComment(AdvisoryComment {
            revision: seq,
            text: comment.to_string(),
        }));
    }
    if let Some(credit) = form.credit.filter(|c| !c.trim().is_empty()) {
        let decision = Decision::parse(credit.trim())
            .ok_or_else(|| bad("The credit form sent an answer this site does not know."))?;
        let note = form.note.map(|n| n.trim().to_string()).unwrap_or_default();
        if decision == Decision::Change && note.is_empty() {
            return Err(bad(
                "Write the words you want for your credit, then ask for them.",
            ));
        }
        let credits: Vec<_> = advisory.reporter_credits().map(|c| c.copy()).collect();
        if credits.is_empty() {
            return Err(bad(
                "This draft of the advisory offers you no credit to answer.",
            ));
        }
        bodies.push(EventBody::CreditDecision(CreditDecision {
            revision: seq,
            decision,
            credits,
            note,
        }));
    }
    bodies
        .into_iter()
        .map(|body| {
            Ok(NewEvent {
                sealed: keys
                    .seal(Some(recipient), &Event::new(at, body).encode())
                    .map_err(PageError::internal)?,
                blob: None,
            })
        })
        .collect()
}
