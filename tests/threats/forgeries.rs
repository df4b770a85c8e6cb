//! A compromised server (with a member's token and every public key) writing words in a
//! member's name: the desk marks what was altered, unsigned or replayed, and shows a
//! member signing as another as themselves.

use agedrop::api;
use agedrop::crypto::{self, Sealed};
use agedrop::report::{Event, EventBody, Text};
use agedrop::team::Identities;
use base64::Engine;

use crate::util::*;

/// What a compromised server (with a member's token, and every public key) can write
/// into a report after Alice's genuine reply: (1) Alice's signed envelope around other
/// words, (2) unsigned words in Alice's name, (3) Alice's genuine event replayed, (4)
/// Bob, a member, signing words that claim to be Alice's. The desk's `show --json`
/// events and its text.
async fn forgeries(server: &TestServer) -> (Vec<serde_json::Value>, String) {
    let code = submit_simple(server, "Forgeries").await;
    let bob = keygen(server.dir.path(), "bob");
    server.set_members(&[("Alice Example", &server.member.line), ("Bob", &bob.line)]);
    let alice = Desk::new(server, &server.member.identity);
    let id = first_id(&alice.run(&["list"]));
    alice.run(&["reply", &id, "-m", "Genuine words from Alice."]);

    let identities = Identities::load(&server.member.identity).unwrap();
    let client = team_client(server).await;
    let report_id = id.parse().unwrap();
    let report = client.report(report_id).await.unwrap();
    let genuine =
        Sealed::parse(api::decode(&report.events.last().unwrap().sealed).unwrap()).unwrap();
    let plain = crypto::open(&identities.as_refs(), &genuine).unwrap();
    let keys =
        crypto::TeamKeys::parse(&std::fs::read_to_string(server.keys_path()).unwrap()).unwrap();
    let (_, reporter) = crypto::Receipt::parse(&code).unwrap().derive().unwrap();
    let seal = |bytes: &[u8]| keys.seal(Some(&reporter.recipient()), bytes).unwrap();
    let reply = |text: &str| {
        Event::new(
            agedrop::report::now(),
            EventBody::Reply(Text {
                author: "Alice Example".into(),
                text: text.into(),
            }),
        )
    };
    let mut envelope: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    envelope["event"] = base64::engine::general_purpose::STANDARD
        .encode(reply("Altered: publish it all now.").encode())
        .into();
    let bob_key = Identities::load(&bob.identity).unwrap();
    let bob_key = bob_key.signing_key().unwrap();
    for sealed in [
        seal(&serde_json::to_vec(&envelope).unwrap()),
        seal(&reply("Unsigned: send us your exploit.").encode()),
        genuine,
        seal(&reply("Bob pretending.").encode_signed(&id, bob_key)),
    ] {
        client.append(report_id, &sealed).await.unwrap();
    }
    let shown = alice.json(&["show", &id]);
    (
        shown["events"].as_array().unwrap().clone(),
        alice.run(&["show", &id]),
    )
}

/// The events whose reply text contains `needle`.
fn replies<'a>(events: &'a [serde_json::Value], needle: &str) -> Vec<&'a serde_json::Value> {
    events
        .iter()
        .filter(|e| {
            e["event"]["body"]["reply"]["text"]
                .as_str()
                .is_some_and(|t| t.contains(needle))
        })
        .collect()
}

/// Asserts an event is unverified, saying `why`.
#[track_caller]
fn assert_unverified(event: &serde_json::Value, why: &str) {
    assert_eq!(event["verified"], false, "{event}");
    let said = event["verification"].as_str().unwrap();
    assert!(said.contains(why), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_or_unsigned_words_in_a_members_name_are_marked_unverified() {
    let server = TestServer::start();
    let (events, text) = forgeries(&server).await;
    let genuine = replies(&events, "Genuine words");
    assert_eq!(genuine[0]["verified"], true);
    assert_eq!(genuine[0]["signed_by"], "Alice Example");
    assert_unverified(replies(&events, "Altered")[0], "DOES NOT MATCH");
    assert_unverified(replies(&events, "Unsigned")[0], "NOT SIGNED");
    // As text: the altered, the unsigned and the replayed are marked.
    assert_eq!(text.matches("UNVERIFIED").count(), 3, "{text}");
    assert!(text.contains("Reply from Alice Example,"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_event_is_marked_as_a_replay() {
    let server = TestServer::start();
    let (events, _) = forgeries(&server).await;
    let copies = replies(&events, "Genuine words");
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[0]["verified"], true);
    assert_unverified(copies[1], "replayed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_signing_as_another_is_shown_as_themselves() {
    let server = TestServer::start();
    let (events, text) = forgeries(&server).await;
    let pretending = replies(&events, "Bob pretending");
    assert_eq!(pretending[0]["verified"], true);
    assert_eq!(pretending[0]["signed_by"], "Bob");
    assert!(text.contains("Reply from Bob,"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reporters_own_events_say_they_are_never_signed() {
    let server = TestServer::start();
    let (events, _) = forgeries(&server).await;
    assert!(
        events[0]["event"]["body"]["submitted"].is_object(),
        "{}",
        events[0]
    );
    assert_unverified(&events[0], "reporter");
}
