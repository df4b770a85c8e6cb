//! A compromised server (with a member's token, and every public key) writing advisory
//! events: a revision it forged (unsigned, or signed by a key not in the roster) is never
//! current and never exported; an answer a member signed, one naming a forged revision,
//! and one accepting other words than offered do not count. What the desk cannot tell:
//! an unsigned answer with exactly the words offered is indistinguishable from the
//! reporter's own (the server writes every reporter event), so it counts.

use agedrop::crypto::{self, SigningKey};
use agedrop::report::{
    Advisory, AdvisoryCredit, CreditDecision, CreditType, Decision, Event, EventBody, now,
};
use agedrop::team::Identities;

use super::*;

fn credit(name: &str, reporter: bool) -> AdvisoryCredit {
    AdvisoryCredit {
        kind: CreditType::Finder,
        name: name.into(),
        contact: Vec::new(),
        reporter,
    }
}

/// A revision in Alice's name, written a minute ahead (so it would be the latest).
fn forged(title: &str) -> Event {
    let mut a = Advisory::default();
    a.author = "Alice Example".into();
    a.title = title.into();
    a.credits = vec![credit("Mallory", false)];
    Event::new(now() + 60, EventBody::Advisory(Box::new(a)))
}

fn accept(revision: u32, name: &str) -> Event {
    Event::new(
        now(),
        EventBody::CreditDecision(CreditDecision {
            revision,
            decision: Decision::Accept,
            credits: vec![credit(name, true)],
            note: String::new(),
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_revisions_are_never_current_and_answers_not_the_reporters_do_not_count() {
    let server = TestServer::start();
    let code = report_with_credit(&server, "Forged drafts", ["Jane", "", ""]).await;
    let alice = Desk::new(&server, &server.member.identity);
    let id = alice.id_of("Forged drafts");
    let draft = alice.run(&["advisory", &id, "--draft"]);
    let genuine = post_revision(&alice, &id, &draft)["seq"].as_u64().unwrap() as u32;

    let keys =
        crypto::TeamKeys::parse(&std::fs::read_to_string(server.keys_path()).unwrap()).unwrap();
    let (_, reporter) = crypto::Receipt::parse(&code).unwrap().derive().unwrap();
    let seal = |bytes: &[u8]| keys.seal(Some(&reporter.recipient()), bytes).unwrap();
    let client = team_client(&server).await;
    let report: agedrop::store::ReportId = id.parse().unwrap();
    let stranger = SigningKey::generate().unwrap();
    let identities = Identities::load(&server.member.identity).unwrap();
    let alice_key = identities.signing_key().unwrap();

    let mut append = Vec::new();
    for sealed in [
        seal(&forged("Unsigned forgery").encode()),
        seal(&forged("Stranger's forgery").encode_signed(&id, &stranger)),
        // Alice accepting the credit for the reporter.
        seal(&accept(genuine, "Jane").encode_signed(&id, alice_key)),
    ] {
        append.push(client.append(report, &sealed).await.unwrap());
    }
    let unsigned_revision = append[0];
    for sealed in [
        seal(&accept(unsigned_revision, "Mallory").encode()),
        seal(&accept(genuine, "Mallory").encode()),
    ] {
        append.push(client.append(report, &sealed).await.unwrap());
    }

    let shown = alice.json(&["show", &id]);
    let advisory = &shown["advisory"];
    assert_eq!(advisory["current"], genuine, "{advisory}");
    assert_eq!(advisory["revisions"], 1, "{advisory}");
    assert_eq!(advisory["credit"], "pending", "{advisory}");
    let ignored: Vec<(u64, &str)> = advisory["ignored_answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["seq"].as_u64().unwrap(), i["why"].as_str().unwrap()))
        .collect();
    let why = |seq: u32| {
        ignored
            .iter()
            .find(|(s, _)| *s == u64::from(seq))
            .map(|(_, why)| *why)
            .unwrap_or_else(|| panic!("answer {seq} counted: {advisory}"))
    };
    assert!(why(append[2]).contains("only the reporter"));
    assert!(why(append[3]).contains("no member of your roster verifiably wrote"));
    assert!(why(append[4]).contains("other credit words"));
    let text = alice.run(&["show", &id]);
    assert_eq!(
        text.matches("(an unverified revision: never current, never exported)")
            .count(),
        2,
        "{text}"
    );
    assert_eq!(text.matches("(does not count:").count(), 3, "{text}");

    let (osv, csaf) = exports(&alice, &id);
    for export in [&osv, &csaf] {
        for forged in ["forgery", "Mallory", "Jane"] {
            assert!(!export.contains(forged), "{forged} in {export}");
        }
    }

    // What no desk can tell apart from the reporter: the server writing, unsigned, an
    // acceptance of exactly the words offered. It counts, as the reporter's would.
    client
        .append(report, &seal(&accept(genuine, "Jane").encode()))
        .await
        .unwrap();
    assert_eq!(alice.json(&["show", &id])["advisory"]["credit"], "accepted");
    let osv = alice.run(&["advisory", &id, "--osv"]);
    assert!(osv.contains("\"name\": \"Jane\""), "{osv}");
}
