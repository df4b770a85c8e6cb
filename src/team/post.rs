//! Writing team events: a reply, a status change, an internal note. Each is signed with
//! the member's signing key over the event and the report it belongs to, sealed here to
//! the pinned roster (and, unless team-only, to the reporter), and only then sent.
//!
//! Before sealing, the desk checks that the server lists exactly the pinned roster, and
//! that the reporter key the server keeps in the clear is the one sealed inside the
//! report; either mismatch stops the event before anything leaves this machine.

use crate::crypto::{self, SigningKey};
use crate::report::{Event, EventBody, Reason, Status, StatusChange, Text, now};
use crate::store::ReportId;

use super::client::hostile;
use super::desk::Desk;
use super::{TeamError, Thread};

/// A status change as a member asks for it.
pub struct NewStatus<'a> {
    /// The new status.
    pub status: Status,
    /// Why, for `closed`.
    pub reason: Option<Reason>,
    /// The note shown with it; the question, for `needs-more-information`.
    pub note: &'a str,
    /// The planned public disclosure instant, if the team sets or changes it.
    pub disclosure: Option<time::OffsetDateTime>,
    /// For a duplicate: the earlier report here, linked on both threads (team only).
    pub duplicate_of: Option<ReportId>,
    /// For a duplicate: the earlier report's public advisory, shown to the reporter.
    pub advisory: &'a str,
}

impl NewStatus<'_> {
    /// Refuses combinations that make no sense before anything is sealed.
    fn check(&self) -> Result<(), TeamError> {
        let bad = |why: &str| Err(TeamError::BadStatus(why.into()));
        match (self.status, self.reason) {
            (Status::Closed, None) => {
                return bad("closing needs a reason: --reason duplicate, out-of-scope, \
                            not-a-vulnerability, other-vendor, wont-fix or spam");
            }
            (Status::Closed, Some(_)) => {}
            (_, Some(_)) => return bad("--reason goes with `closed` only"),
            _ => {}
        }
        if self.status == Status::NeedsMoreInformation && self.note.trim().is_empty() {
            return bad("`needs-more-information` asks the reporter a question: give it with -m");
        }
        let duplicate = self.reason == Some(Reason::Duplicate);
        if !duplicate && (self.duplicate_of.is_some() || !self.advisory.is_empty()) {
            return bad("--of and --advisory go with `closed --reason duplicate` only");
        }
        Ok(())
    }
}

/// What writing an event did.
pub struct Posted {
    /// Its position in the thread.
    pub seq: u32,
    /// Things the member should know (an unlisted signing key, an old report whose
    /// reporter key could not be checked).
    pub warnings: Vec<String>,
}

impl Desk {
    /// A reply the reporter will read.
    pub async fn reply(&self, id: ReportId, text: &str) -> Result<Posted, TeamError> {
        self.post(id, false, |author| {
            EventBody::Reply(Text {
                author,
                text: text.to_string(),
            })
        })
        .await
    }

    /// A status change, shown to the reporter: `closed` needs a reason (and only it
    /// takes one), `needs-more-information` the question to ask. A duplicate closed
    /// `of` another report gets a team-only note on both threads linking them.
    pub async fn set_status(
        &self,
        id: ReportId,
        change: NewStatus<'_>,
    ) -> Result<Posted, TeamError> {
        change.check()?;
        if let Some(of) = change.duplicate_of {
            if of == id {
                return Err(TeamError::BadStatus(
                    "a report cannot be a duplicate of itself".into(),
                ));
            }
            // Both must exist here before anything is sent.
            self.thread(of).await?;
        }
        let mut posted = self
            .post(id, false, |author| {
                EventBody::Status(StatusChange {
                    author,
                    status: change.status,
                    note: change.note.to_string(),
                    disclosure: change.disclosure,
                    reason: change.reason,
                    advisory: change.advisory.to_string(),
                })
            })
            .await?;
        if let Some(of) = change.duplicate_of {
            let here = self
                .note(id, &format!("Closed as a duplicate of report {of}."))
                .await?;
            let there = self
                .note(
                    of,
                    &format!("Report {id} was closed as a duplicate of this one."),
                )
                .await?;
            posted.seq = here.seq;
            posted.warnings.extend(there.warnings);
        }
        Ok(posted)
    }

    /// An internal note, sealed to the team only.
    pub async fn note(&self, id: ReportId, text: &str) -> Result<Posted, TeamError> {
        self.post(id, true, |author| {
            EventBody::Note(Text {
                author,
                text: text.to_string(),
            })
        })
        .await
    }

    /// The member's signing key, and warnings about it.
    fn signer(&self, warnings: &mut Vec<String>) -> Result<(&SigningKey, String), TeamError> {
        let key = self
            .identities
            .signing_key()
            .ok_or_else(|| self.identities.no_signing_key())?;
        let public = key.public().to_string();
        let pinned_name = self
            .roster
            .as_ref()
            .and_then(|r| r.signer(&public))
            .map(|(name, _)| name.to_string());
        let name = match (pinned_name, self.client()) {
            (Some(name), _) => name,
            (None, client) => {
                warnings.push(format!(
                    "your signing key is not in the team's roster, so the team sees your words \
                     as unverified: give whoever keeps the keys file the line `agedrop team \
                     whoami` prints (it ends with {public})"
                ));
                client.map(|c| c.name().to_string()).unwrap_or_default()
            }
        };
        Ok((key, name))
    }

    /// Checks, signs, seals and appends one event.
    pub(super) async fn post(
        &self,
        id: ReportId,
        team_only: bool,
        body: impl FnOnce(String) -> EventBody,
    ) -> Result<Posted, TeamError> {
        let client = self.client()?;
        let roster = self.sealing_roster()?;
        let mut warnings = Vec::new();
        let (key, author) = self.signer(&mut warnings)?;
        let thread = self.thread(id).await?;
        let reporter = if team_only {
            None
        } else {
            Some(self.bound_reporter(&thread, &mut warnings)?)
        };
        let mut recipients = roster.recipients()?;
        if let Some(reporter) = reporter {
            recipients.push(Box::new(reporter));
        }
        let to: Vec<&dyn age::Recipient> = recipients.iter().map(|r| r.as_ref() as _).collect();
        let event = Event::new(now(), body(author));
        let sealed = crypto::seal(&to, &event.encode_signed(&thread.id.to_string(), key))?;
        drop(event);
        let seq = client.append(thread.id, &sealed).await?;
        Ok(Posted { seq, warnings })
    }
}

impl Desk {
    /// The reporter's recipient to seal to: the server's clear-text copy, checked against
    /// the one sealed inside the report (its one `submitted` event) and against the one
    /// this desk saw for the report before; pinned if this is the first time.
    fn bound_reporter(
        &self,
        thread: &Thread,
        warnings: &mut Vec<String>,
    ) -> Result<crypto::ReporterRecipient, TeamError> {
        let id = &thread.id;
        let reports = thread
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.event.as_ref().map(|e| &e.body),
                    Some(EventBody::Submitted(_))
                )
            })
            .count();
        if reports > 1 {
            return Err(hostile(&format!(
                "report {id} holds more than one report: one of them was added later, so \
                 the reporter's key cannot be trusted"
            )));
        }
        let sealed = thread.submission().ok_or_else(|| {
            TeamError::Io(format!(
                "report {id}: you cannot open the report itself, so the reporter's key cannot \
                 be checked; nothing was sent"
            ))
        })?;
        let server_copy = crypto::parse_reporter_recipient(&thread.reporter).map_err(|_| {
            hostile("the server keeps a reporter key for this report that is not one")
        })?;
        let server_text = server_copy.to_string();
        if !sealed.reporter.is_empty() {
            let bound = crypto::parse_reporter_recipient(&sealed.reporter)
                .map_err(|_| hostile("the reporter key sealed inside this report is malformed"))?;
            if bound.to_string() != server_text {
                return Err(hostile(&format!(
                    "the reporter key the server gives for report {id} is not the one sealed \
                     inside the report, so a reply would go to someone else"
                )));
            }
        }
        let mut pins = self.pins();
        match pins.reporter(self.roster_key(), *id) {
            Some(pinned) if pinned != server_text => {
                return Err(hostile(&format!(
                    "the reporter key the server gives for report {id} is not the one this desk \
                     saw for it before, so a reply would go to someone else"
                )));
            }
            Some(_) => {}
            None => {
                if sealed.reporter.is_empty() {
                    warnings.push(format!(
                        "report {id} was stored by an older agedrop that did not seal the \
                         reporter's key into it; the key the server gives now is pinned on this \
                         machine and checked from now on"
                    ));
                }
                pins.pin_reporter(self.roster_key(), *id, &server_text);
                pins.save()?;
            }
        }
        Ok(server_copy)
    }
}
