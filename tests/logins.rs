//! Team logins against a real server: every failure gets the same answer, and the keys
//! file decides who logs in: a removed member is out at once, an edit is noticed
//! without a signal, a broken file is not installed.

use std::time::Duration;

use agedrop::api;
use agedrop::crypto::{self, Sealed};
use agedrop::team::{Identities, TeamClient};

use crate::util::*;

/// Asks for a challenge and answers it with `answer(sealed nonce)`; the raw response.
async fn raw_login(
    server: &TestServer,
    recipient: &str,
    answer: impl Fn(&Sealed) -> String,
) -> (u16, String) {
    let c = client();
    let challenge: api::Challenge = c
        .post(server.at("/api/v1/login/challenge"))
        .json(&api::ChallengeRequest {
            recipient: recipient.into(),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sealed = Sealed::parse(api::decode(&challenge.sealed).unwrap()).unwrap();
    fetch(c.post(server.at("/api/v1/login")).json(&api::LoginRequest {
        challenge_id: challenge.challenge_id,
        answer: Some(answer(&sealed)),
        signature: None,
    }))
    .await
}

/// The right answer to a challenge, from `identities`.
fn right_answer(identities: &Identities) -> impl Fn(&Sealed) -> String {
    |sealed| {
        hex::encode(crypto::challenge_answer(
            &crypto::open(&identities.as_refs(), sealed).unwrap(),
        ))
    }
}

/// A server with Alice and Bob; Bob.
fn with_bob(server: &TestServer) -> Member {
    let bob = keygen(server.dir.path(), "bob");
    server.set_members(&[("Alice Example", &server.member.line), ("Bob", &bob.line)]);
    bob
}

/// The answer to a login by someone who is not a member.
async fn strangers_answer(server: &TestServer) -> (u16, String) {
    let stranger = keygen(server.dir.path(), "stranger");
    let ids = Identities::load(&stranger.identity).unwrap();
    raw_login(server, &stranger.recipient, right_answer(&ids)).await
}

#[tokio::test]
async fn every_failed_login_gets_the_same_answer() {
    let server = TestServer::start();
    let bob = with_bob(&server);
    let bob_ids = Identities::load(&bob.identity).unwrap();
    let unknown = strangers_answer(&server).await;
    assert_eq!(unknown.0, 401);
    let wrong = raw_login(&server, &bob.recipient, |_| hex::encode([7u8; 32])).await;
    let garbage = raw_login(&server, &bob.recipient, |_| "zz".into()).await;
    // Echoing the opened challenge is not an answer (a desk never sends it back).
    let echoed = raw_login(&server, &bob.recipient, |sealed| {
        hex::encode(&crypto::open(&bob_ids.as_refs(), sealed).unwrap()[..])
    })
    .await;
    assert_eq!(wrong, unknown);
    assert_eq!(garbage, unknown);
    assert_eq!(echoed, unknown);
    let right = raw_login(&server, &bob.recipient, right_answer(&bob_ids)).await;
    assert_eq!(right.0, 200, "{}", right.1);
}

#[tokio::test]
async fn a_removed_member_is_locked_out_at_once_and_nobody_else_is() {
    let server = TestServer::start();
    let bob = with_bob(&server);
    let bob_ids = Identities::load(&bob.identity).unwrap();
    let bob_client = TeamClient::login(&server.url, &bob_ids).await.unwrap();
    assert_eq!(bob_client.name(), "Bob");
    assert!(bob_client.reports().await.is_ok());

    server.set_members(&[("Alice Example", &server.member.line)]);
    let err = bob_client.reports().await.err().unwrap().to_string();
    assert!(err.contains("no valid token"), "{err}");
    let err = TeamClient::login(&server.url, &bob_ids)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("login failed"), "{err}");
    let after = raw_login(&server, &bob.recipient, right_answer(&bob_ids)).await;
    assert_eq!(after, strangers_answer(&server).await);
    team_client(&server).await.reports().await.unwrap();
}

#[tokio::test]
async fn an_edited_keys_file_is_picked_up_without_a_signal() {
    let server = TestServer::start();
    let bob = keygen(server.dir.path(), "bob");
    let bob_ids = Identities::load(&bob.identity).unwrap();
    let alice = format!("# Alice Example\n{}\n", server.member.line);
    // Checked every few seconds: removing a member must not wait for a reload.
    let within = |what: &'static str| {
        let started = std::time::Instant::now();
        move || {
            assert!(
                started.elapsed() < Duration::from_secs(12),
                "{what} was not noticed"
            );
        }
    };
    std::fs::write(server.keys_path(), format!("{alice}# Bob\n{}\n", bob.line)).unwrap();
    let deadline = within("the addition");
    let bob_client = loop {
        if let Ok(client) = TeamClient::login(&server.url, &bob_ids).await {
            break client;
        }
        deadline();
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    std::fs::write(server.keys_path(), &alice).unwrap();
    let deadline = within("the removal");
    while bob_client.reports().await.is_ok() {
        deadline();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_broken_keys_file_is_not_installed() {
    let server = TestServer::start();
    server.write_keys(
        "garbage\n",
        "team keys file not reloaded, keeping the old one",
    );
    team_client(&server).await.reports().await.unwrap();
}
