//! Where the advisory stands in a thread, the same way for the reporter's page and the
//! desk: the revisions that count (on the desk, only those a member of the pinned roster
//! signed), the current one (the latest by the time written into it, thread order
//! breaking ties), and the reporter's answer to the credit it offers them.
//!
//! An answer counts only when it is a reporter's event (a member cannot accept for the
//! reporter), names a revision that counts and comes after it, and carries exactly the
//! credit words that revision offered. The latest such answer is the reporter's choice;
//! it applies to the current revision only while that offers the same words.

use super::{Advisory, AdvisoryCredit, CreditDecision, Decision, EventBody};

/// One revision of the draft that counts.
#[derive(Clone, Copy)]
pub struct Revision<'e> {
    /// Its position in the thread.
    pub seq: u32,
    /// When it was written (Unix seconds).
    pub at: i64,
    /// 1 for the first revision, in the order they were written.
    pub number: usize,
    /// The draft.
    pub advisory: &'e Advisory,
}

/// The reporter's answer that counts.
pub struct Answer<'e> {
    /// Its position in the thread.
    pub seq: u32,
    /// When the server wrote it down (Unix seconds).
    pub at: i64,
    /// The answer.
    pub decision: &'e CreditDecision,
}

/// Where the credit the current revision offers the reporter stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CreditState {
    /// No advisory, or the current revision offers the reporter no credit.
    NotOffered,
    /// Offered; the reporter has not answered these words yet.
    Pending,
    /// The reporter accepted these words: they are published.
    Accepted,
    /// The reporter declined: nothing naming them is published.
    Declined,
    /// The reporter asked for other words: nothing naming them is published until they
    /// accept a revision.
    ChangeAsked,
}

impl CreditState {
    /// The name in JSON (`change-asked`).
    pub fn as_str(self) -> &'static str {
        match self {
            CreditState::NotOffered => "not-offered",
            CreditState::Pending => "pending",
            CreditState::Accepted => "accepted",
            CreditState::Declined => "declined",
            CreditState::ChangeAsked => "change-asked",
        }
    }
}

/// The advisory's revisions and the reporter's answer, read from a thread.
pub struct Review<'e> {
    /// The revisions that count, in the order they were written.
    pub revisions: Vec<Revision<'e>>,
    /// The reporter's latest answer that counts.
    pub answer: Option<Answer<'e>>,
    /// Answers that do not count: their position and why.
    pub ignored: Vec<(u32, &'static str)>,
}

impl<'e> Review<'e> {
    /// Reads a thread: `events` are `(seq, time, body, verified)` in thread order, where
    /// `verified` says a member of the pinned roster signed it (the reporter's page, which
    /// cannot check signatures, passes true for every team event and false for the
    /// reporter's).
    pub fn of(events: impl IntoIterator<Item = (u32, i64, &'e EventBody, bool)>) -> Self {
        let mut revisions: Vec<Revision<'e>> = Vec::new();
        let mut answers = Vec::new();
        for (seq, at, body, verified) in events {
            match body {
                EventBody::Advisory(advisory) if verified => revisions.push(Revision {
                    seq,
                    at,
                    number: 0,
                    advisory,
                }),
                EventBody::CreditDecision(decision) => {
                    answers.push((seq, at, decision, verified));
                }
                _ => {}
            }
        }
        let mut ignored = Vec::new();
        let mut answer = None;
        for (seq, at, decision, verified) in answers {
            let named = revisions
                .iter()
                .find(|r| r.seq == decision.revision && r.seq < seq);
            let why = match named {
                _ if verified => "signed by a member: only the reporter can answer for the credit",
                None => "names a revision that no member of your roster verifiably wrote",
                Some(r) if !r.advisory.offers(&decision.credits) => {
                    "answers other credit words than that revision offered"
                }
                Some(_) => {
                    answer = Some(Answer { seq, at, decision });
                    continue;
                }
            };
            ignored.push((seq, why));
        }
        revisions.sort_by_key(|r| (r.at, r.seq));
        for (i, r) in revisions.iter_mut().enumerate() {
            r.number = i + 1;
        }
        Review {
            revisions,
            answer,
            ignored,
        }
    }

    /// The current revision: the latest written.
    pub fn current(&self) -> Option<&Revision<'e>> {
        self.revisions.last()
    }

    /// The revision at thread position `seq`, if it counts.
    pub fn revision(&self, seq: u32) -> Option<&Revision<'e>> {
        self.revisions.iter().find(|r| r.seq == seq)
    }

    /// Where the current revision's credit for the reporter stands.
    pub fn credit(&self) -> CreditState {
        let Some(current) = self.current() else {
            return CreditState::NotOffered;
        };
        if current.advisory.reporter_credits().next().is_none() {
            return CreditState::NotOffered;
        }
        match &self.answer {
            Some(a) if current.advisory.offers(&a.decision.credits) => match a.decision.decision {
                Decision::Accept => CreditState::Accepted,
                Decision::Decline => CreditState::Declined,
                Decision::Change => CreditState::ChangeAsked,
            },
            _ => CreditState::Pending,
        }
    }

    /// The current revision's credits that may be published: everyone the team credits,
    /// and the reporter only when they accepted exactly these words.
    pub fn published_credits(&self) -> Vec<&'e AdvisoryCredit> {
        let accepted = self.credit() == CreditState::Accepted;
        self.current()
            .map(|r| {
                r.advisory
                    .credits
                    .iter()
                    .filter(|c| !c.reporter || accepted)
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{AdvisoryCredit, CreditType};

    fn credit(name: &str) -> AdvisoryCredit {
        AdvisoryCredit {
            kind: CreditType::Finder,
            name: name.into(),
            contact: Vec::new(),
            reporter: true,
        }
    }

    fn advisory(credit_name: &str) -> EventBody {
        let mut team = credit("Team");
        team.reporter = false;
        team.kind = CreditType::Coordinator;
        let mut advisory = Advisory::default();
        advisory.title = "t".into();
        advisory.credits = vec![credit(credit_name), team];
        EventBody::Advisory(Box::new(advisory))
    }

    fn answer(revision: u32, decision: Decision, name: &str) -> EventBody {
        EventBody::CreditDecision(CreditDecision {
            revision,
            decision,
            credits: vec![credit(name)],
            note: String::new(),
        })
    }

    fn names(review: &Review) -> Vec<String> {
        review
            .published_credits()
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    #[test]
    fn the_reporter_is_credited_only_after_accepting_the_words_offered() {
        let events = [advisory("Jane"), answer(0, Decision::Accept, "Jane")];
        let review = Review::of([(0, 10, &events[0], true)]);
        assert_eq!(review.credit(), CreditState::Pending);
        assert_eq!(names(&review), ["Team"]);
        let review = Review::of([(0, 10, &events[0], true), (1, 11, &events[1], false)]);
        assert_eq!(review.credit(), CreditState::Accepted);
        assert_eq!(names(&review), ["Jane", "Team"]);
    }

    #[test]
    fn new_words_need_a_new_answer_and_a_decline_publishes_nothing_of_the_reporter() {
        let events = [
            advisory("Jane"),
            answer(0, Decision::Accept, "Jane"),
            advisory("Jane Doe"),
            answer(2, Decision::Decline, "Jane Doe"),
        ];
        let all = |n: usize| {
            Review::of(
                events
                    .iter()
                    .enumerate()
                    .take(n)
                    .map(|(i, e)| (i as u32, 10 + i as i64, e, i % 2 == 0)),
            )
        };
        assert_eq!(all(3).credit(), CreditState::Pending);
        assert_eq!(names(&all(3)), ["Team"]);
        assert_eq!(all(3).current().unwrap().number, 2);
        assert_eq!(all(4).credit(), CreditState::Declined);
        assert_eq!(names(&all(4)), ["Team"]);
    }

    #[test]
    fn answers_that_do_not_come_from_the_reporter_or_fit_a_revision_do_not_count() {
        let events = [
            advisory("Jane"),
            // A member accepting for the reporter.
            answer(0, Decision::Accept, "Jane"),
            // Other words than offered.
            answer(0, Decision::Accept, "Mallory"),
            // A revision that does not count (or does not exist).
            answer(7, Decision::Accept, "Jane"),
        ];
        let review = Review::of([
            (0, 10, &events[0], true),
            (1, 11, &events[1], true),
            (2, 12, &events[2], false),
            (3, 13, &events[3], false),
        ]);
        assert_eq!(review.credit(), CreditState::Pending);
        let ignored: Vec<u32> = review.ignored.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(ignored, [1, 2, 3]);
        // An unverified revision is not current, and answers to it do not count.
        let review = Review::of([(0, 10, &events[0], false), (3, 13, &events[1], false)]);
        assert!(review.current().is_none());
        assert!(names(&review).is_empty());
    }

    #[test]
    fn the_latest_revision_by_its_time_is_current() {
        let events = [advisory("A"), advisory("B")];
        let review = Review::of([(0, 20, &events[0], true), (1, 10, &events[1], true)]);
        let current = review.current().unwrap();
        assert_eq!((current.seq, current.number), (0, 2));
    }
}
