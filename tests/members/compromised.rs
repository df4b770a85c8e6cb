//! A compromised server cannot hand out keys: a grant nobody in the pinned roster signed
//! opens nothing, and an event changed after a real grant stays closed.

use std::sync::Arc;

use agedrop::crypto;

use super::sha256_hex;
use crate::hostile::{Answer, Hostile};
use crate::util::*;

/// A report answered by Alice, on a server whose keys file now lists Carol too (whom
/// Alice's desk has not pinned yet). Alice's desk, Carol, the report's id.
async fn carol_added(server: &TestServer) -> (Desk, Member, String) {
    submit_simple(server, "the real report").await;
    let carol = keygen(server.dir.path(), "carol");
    server.set_members(&[
        ("Alice Example", &server.member.line),
        ("Carol Example", &carol.line),
    ]);
    let alice = Desk::new(server, &server.member.identity);
    let id = alice.json(&["list"])[0]["id"].as_str().unwrap().to_string();
    alice.run(&["reply", &id, "-m", "A real reply"]);
    (alice, carol, id)
}

/// A double in front of `server` that passes report `id` through `rewrite`.
async fn rewriting_report(
    server: &TestServer,
    id: &str,
    rewrite: impl Fn(&mut serde_json::Value) + Send + Sync + 'static,
) -> Hostile {
    let path = format!("/api/v1/reports/{id}");
    Hostile::start(
        &server.url,
        Arc::new(move |method, p, status, body| {
            if method == "GET" && p == path && status == 200 {
                let mut report: serde_json::Value = serde_json::from_slice(&body).unwrap();
                rewrite(&mut report);
                return Answer::Bytes(200, serde_json::to_vec(&report).unwrap());
            }
            Answer::Bytes(status, body)
        }),
    )
    .await
}

/// A compromised server cannot hand out keys: a grant nobody in the pinned roster signed
/// (unsigned, or signed by a key of its own) opens nothing, even when the server swaps
/// in a report its own key opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_nobody_in_the_roster_signed_opens_nothing() {
    use agedrop::report::{Event, EventBody, Grant, GrantKeys, GrantedEvent, Submission};

    let server = TestServer::start();
    let (_, carol, id) = carol_added(&server).await;
    // What the server crafts: a fake report under a key it holds, and grants of that key
    // to Carol, one unsigned and one signed by a key of its own.
    let throwaway = age::x25519::Identity::generate();
    let mut fake = Submission::default();
    fake.title = "FAKE: send your key to evil.example".into();
    let fake = crypto::seal(
        &[&throwaway.to_public()],
        &Event::new(1, EventBody::Submitted(Box::new(fake))).encode(),
    )
    .unwrap();
    let (_, fake_key) = crypto::open_keeping_key(&[&throwaway], &fake).unwrap();
    let carol_recipient = crypto::parse_recipient(&carol.recipient).unwrap().recipient;
    let keys = GrantKeys {
        events: vec![GrantedEvent {
            seq: 0,
            sealed_sha256: sha256_hex(fake.as_bytes()),
            key: fake_key.to_text().to_string(),
        }],
        blobs: Vec::new(),
    };
    let inner = crypto::seal(
        &[carol_recipient.as_ref()],
        &serde_json::to_vec(&keys).unwrap(),
    )
    .unwrap();
    let grant = Event::new(
        2,
        EventBody::Grant(Grant {
            author: "Alice Example".into(),
            name: "Carol Example".into(),
            to: carol.recipient.clone(),
            events: vec![0],
            blobs: Vec::new(),
            keys: agedrop::api::encode(inner.as_bytes()),
        }),
    );
    let stranger = crypto::SigningKey::generate().unwrap();
    let forged: Vec<String> = [grant.encode(), grant.encode_signed(&id, &stranger)]
        .iter()
        .map(|event| {
            let sealed = crypto::seal(&[carol_recipient.as_ref()], event).unwrap();
            agedrop::api::encode(sealed.as_bytes())
        })
        .collect();
    let fake = agedrop::api::encode(fake.as_bytes());
    let hostile = rewriting_report(&server, &id, move |report| {
        let events = report["events"].as_array_mut().unwrap();
        events[0]["sealed"] = fake.clone().into();
        for (seq, sealed) in (events.len()..).zip(&forged) {
            events.push(serde_json::json!({ "seq": seq, "sealed": sealed }));
        }
    })
    .await;
    let shown = Desk::at(&hostile.url, &carol.identity).json(&["show", &id]);
    let events = shown["events"].as_array().unwrap();
    assert_eq!(events[0]["state"], "not-sealed-to-you", "{shown}");
    assert!(!shown.to_string().contains("FAKE"), "{shown}");
    for forged in &events[events.len() - 2..] {
        assert_eq!(forged["verified"], false, "{forged}");
    }
}

/// After a real grant, the server swaps the granted event for other ciphertext: the
/// desk refuses to use the granted key on other bytes, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_changed_after_a_real_grant_stays_closed_and_says_why() {
    let server = TestServer::start();
    let (alice, carol, id) = carol_added(&server).await;
    alice.run(&["trust", "--yes"]);
    alice.run(&["grant", "carol", &id]);
    let throwaway = age::x25519::Identity::generate().to_public();
    let other = crypto::seal(&[&throwaway], b"other bytes").unwrap();
    let other = agedrop::api::encode(other.as_bytes());
    let swapping = rewriting_report(&server, &id, move |report| {
        report["events"][0]["sealed"] = other.clone().into();
    })
    .await;
    let shown = Desk::at(&swapping.url, &carol.identity).json(&["show", &id]);
    let first = &shown["events"][0];
    assert_eq!(first["state"], "not-sealed-to-you", "{shown}");
    let said = first["verification"].as_str().unwrap();
    assert!(said.contains("changed after the grant"), "{first}");
    // The honest server's copy opens with the grant, the reply verified as Alice's.
    let shown = Desk::new(&server, &carol.identity).json(&["show", &id]);
    assert_eq!(shown["events"][0]["state"], "opened", "{shown}");
    assert_eq!(shown["events"][1]["signed_by"], "Alice Example", "{shown}");
}
