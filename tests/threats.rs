//! The threat model, played by the attacker: a compromised server (a hostile double in
//! front of a real one, or the real one with an edited keys file) against real desk
//! processes. It must learn nothing old (no decryption oracle, no relayed logins), get
//! nothing new sealed to it (the pinned roster, the bound reporter key), and forge no
//! member's words.

use std::sync::Arc;

use agedrop::api;
use agedrop::crypto::{self, Sealed};
use agedrop::report::{Event, EventBody, Text};
use agedrop::team::{Identities, TeamClient};
use base64::Engine;

use crate::desk::Desk;
use crate::hostile::{Answer, Hostile, honest};
use crate::util::*;

/// Whether `needle` appears in `hay` raw, as hex, or as base64 (at any alignment).
fn leaked(hay: &[u8], needle: &[u8]) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut forms = vec![
        needle.to_vec(),
        hex::encode(needle).into_bytes(),
        hex::encode_upper(needle).into_bytes(),
    ];
    for pad in 0..3 {
        let mut shifted = vec![b'x'; pad];
        shifted.extend_from_slice(needle);
        let text = b64.encode(&shifted);
        // Drop the characters that mix in the padding or the end.
        let inner = &text[(pad * 4).div_ceil(3)..text.len().saturating_sub(4)];
        forms.push(inner.as_bytes().to_vec());
    }
    forms
        .iter()
        .any(|f| !f.is_empty() && memchr::memmem::find(hay, f).is_some())
}

/// Output made safe for a terminal: no escape, bell, C1 or text-direction character.
pub(crate) fn assert_inert(output: &str) {
    for c in output.chars() {
        let raw_control = c.is_control() && c != '\n' && c != '\t';
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(
            !raw_control && !bidi,
            "a raw {c:?} reached the terminal: {output:?}"
        );
    }
}

/// Bytes a sender can push into a loopback connection that the reader never reads: the
/// kernel's send and receive buffers (net.ipv4.tcp_wmem and tcp_rmem allow 4 and 32 MiB
/// here) and the HTTP stacks' own.
pub(crate) const SOCKET_SLACK: u64 = 40 << 20;

/// Runs a command; its output and the peak resident memory seen while it ran (KiB, from
/// /proc's VmHWM, read every few milliseconds).
pub(crate) fn run_measuring_peak(
    mut command: std::process::Command,
) -> (std::process::Output, u64) {
    use std::process::Stdio;
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    let mut peak = 0;
    while !waiter.is_finished() {
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    (waiter.join().unwrap(), peak)
}

pub(crate) fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The stored ciphertexts of a report: its `submitted` event and its first attachment.
async fn stored(server: &TestServer) -> (String, String, String) {
    let identities = Identities::load(&server.member.identity).unwrap();
    let client = TeamClient::login(&server.url, &identities).await.unwrap();
    let id = client.reports().await.unwrap()[0].id;
    let report = client.report(id).await.unwrap();
    let desk = team_desk(server, &server.member.identity).await;
    let thread = desk.thread(id).await.unwrap();
    let blob = &thread.attachments()[0].blob;
    let attachment = client
        .download(id, blob.parse().unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    (
        id.to_string(),
        report.events[0].sealed.clone(),
        api::encode(&attachment),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_challenge_is_never_a_decryption_oracle() {
    let server = TestServer::start();
    let canary = "ORACLECANARY77";
    let file = bytes_with_canary(2_000, canary);
    let page = submit_form(
        &server,
        &[
            ("title", format!("{canary}-title")),
            ("description", format!("{canary}-description")),
        ],
        &[("poc.bin".into(), file)],
    )
    .await;
    assert_eq!(page.status(), 200);
    let (_, event, attachment) = stored(&server).await;

    // The compromised server hands the desk a stored event, then an attachment, as its
    // "challenge", and waits for the plaintext to come back.
    for payload in [event, attachment] {
        let hook: crate::hostile::Hook = Arc::new(move |_, path, status, body| {
            if path == "/api/v1/login/challenge" && status == 200 {
                let mut challenge: serde_json::Value = serde_json::from_slice(&body).unwrap();
                challenge["sealed"] = payload.clone().into();
                return Answer::Bytes(200, serde_json::to_vec(&challenge).unwrap());
            }
            Answer::Bytes(status, body)
        });
        let hostile = Hostile::start(&server.url, hook).await;
        let desk = Desk::at(&hostile.url, &server.member.identity);
        let out = desk.command().arg("list").output().unwrap();
        assert!(!out.status.success());
        let said = stderr(&out);
        assert!(said.contains("may be compromised"), "{said}");
        assert!(said.contains("nothing was sent back"), "{said}");
        let seen = hostile.seen();
        assert!(
            seen.iter().all(|r| r.path != "/api/v1/login"),
            "an answer was sent"
        );
        for request in seen.iter() {
            assert!(
                !leaked(&request.body, canary.as_bytes()),
                "{} {} carried the plaintext",
                request.method,
                request.path
            );
        }
    }

    // A relay that passes the member's login on to the real server under its own name
    // gets a challenge naming that server: the desk refuses it.
    let relay = Hostile::relay(&server.url).await;
    let out = Desk::at(&relay.url, &server.member.identity)
        .command()
        .arg("list")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not one for http://127.0.0.1"),
        "{}",
        stderr(&out)
    );
    assert!(relay.seen().iter().all(|r| r.path != "/api/v1/login"));

    // Through an honest double, the same desk logs in and reads.
    let honest = Hostile::start(&server.url, honest()).await;
    let list = Desk::at(&honest.url, &server.member.identity).run(&["list"]);
    assert!(list.contains(&format!("{canary}-title")), "{list}");
    // A login never sends the challenge's plaintext either: only its hash.
    {
        let seen = honest.seen();
        let login = seen.iter().find(|r| r.path == "/api/v1/login").unwrap();
        let body: serde_json::Value = serde_json::from_slice(&login.body).unwrap();
        assert_eq!(body["answer"].as_str().unwrap().len(), 64, "{body}");
        assert!(!String::from_utf8_lossy(&login.body).contains("agedrop-login-v1"));
    }

    // The server makes challenges only for its own names.
    let response = client()
        .post(server.at("/api/v1/login/challenge"))
        .header("host", "evil.example")
        .json(&api::ChallengeRequest {
            recipient: server.member.recipient.clone(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("public_url"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_seals_only_to_the_roster_it_pinned() {
    let server = TestServer::start();
    submit_simple(&server, "Pinned roster").await;
    let alice = Desk::new(&server, &server.member.identity);
    let out = alice.command().arg("list").output().unwrap();
    assert!(
        stderr(&out).contains("pinned its team roster"),
        "{}",
        stderr(&out)
    );
    let id = first_id(&String::from_utf8_lossy(&out.stdout));

    // The server (its keys file, as a compromised server could) lists one more.
    let mallory = keygen(server.dir.path(), "mallory");
    let keys = std::fs::read_to_string(server.keys_path()).unwrap();
    std::fs::write(
        server.keys_path(),
        format!("{keys}# Mallory\n{}\n", mallory.line),
    )
    .unwrap();
    server.signal("HUP");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    for args in [
        vec!["reply", &id, "-m", "for the reporter"],
        vec!["status", &id, "triaged", "-m", "checked"],
        vec!["note", &id, "-m", "team only"],
    ] {
        let out = alice.command().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} went through");
        let said = stderr(&out);
        assert!(said.contains("differs from the one you pinned"), "{said}");
        assert!(said.contains("+ added:   Mallory"), "{said}");
        assert!(said.contains("agedrop team trust"), "{said}");
    }
    // Nothing was sent, and nothing of the report opens with Mallory's identity.
    let identities = Identities::load(&server.member.identity).unwrap();
    let client = TeamClient::login(&server.url, &identities).await.unwrap();
    let report = client.report(id.parse().unwrap()).await.unwrap();
    assert_eq!(report.events.len(), 1);
    let mallory_ids = Identities::load(&mallory.identity).unwrap();
    let opens_for_mallory = |events: &[api::SealedEvent]| {
        events
            .iter()
            .filter(|e| {
                let sealed = Sealed::from_stored(api::decode(&e.sealed).unwrap());
                crypto::open(&mallory_ids.as_refs(), &sealed).is_ok()
            })
            .count()
    };
    assert_eq!(opens_for_mallory(&report.events), 0);

    // Reading still works, with a warning.
    let out = alice.command().arg("list").output().unwrap();
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("nothing will be sealed"),
        "{}",
        stderr(&out)
    );

    // Trusting needs a yes.
    let out = alice
        .command()
        .arg("trust")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    let trusted = alice.json(&["trust", "--yes"]);
    assert_eq!(trusted["change"]["added"][0]["name"], "Mallory");
    alice.run(&["reply", &id, "-m", "now Mallory reads this"]);
    let report = client.report(id.parse().unwrap()).await.unwrap();
    assert_eq!(opens_for_mallory(&report.events), 1);

    // Mallory leaves: the desk stops again until told, then seals to her no more.
    std::fs::write(server.keys_path(), &keys).unwrap();
    server.signal("HUP");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let out = alice
        .command()
        .args(["reply", &id, "-m", "x"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("- removed: Mallory"),
        "{}",
        stderr(&out)
    );
    alice.run(&["trust", "--yes"]);
    alice.run(&["reply", &id, "-m", "Mallory cannot read this"]);
    let report = client.report(id.parse().unwrap()).await.unwrap();
    assert_eq!(report.events.len(), 3);
    assert_eq!(opens_for_mallory(&report.events), 1);

    // A new desk can pin the keys file it got from the operator instead of trusting the
    // server on first use; then nothing is announced, and nothing is refused.
    let fresh = Desk::new(&server, &server.member.identity);
    let pinned = fresh.json(&["trust", "--keys", server.keys_path().to_str().unwrap()]);
    assert_eq!(pinned["members"].as_array().unwrap().len(), 1);
    let out = fresh.command().arg("list").output().unwrap();
    assert!(out.status.success());
    assert!(
        !stderr(&out).contains("pinned its team roster"),
        "{}",
        stderr(&out)
    );
    fresh.run(&["note", &id, "-m", "pinned from the keys file"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swapped_reporter_key_stops_a_reply() {
    let server = TestServer::start();
    submit_simple(&server, "Swapped reporter").await;
    let keys =
        crypto::TeamKeys::parse(&std::fs::read_to_string(server.keys_path()).unwrap()).unwrap();
    let attacker = age::x25519::Identity::generate().to_public().to_string();
    // A report the server forges in its entirety, naming the attacker's key: sealed to
    // the team (the server knows every public key), as the server writes reports.
    let forged = {
        let mut s = agedrop::report::Submission::default();
        s.title = "Swapped reporter".into();
        s.description = "details".into();
        s.reporter = attacker.clone();
        let event = Event::new(1, EventBody::Submitted(Box::new(s)));
        api::encode(keys.seal(None, &event.encode()).unwrap().as_bytes())
    };
    // 0: honest; 1: swap only the clear-text key; 2: also add the forged report after
    // the real one; 3: replace the real report with the forged one.
    let mode = Arc::new(std::sync::atomic::AtomicU8::new(0));
    let hook: crate::hostile::Hook = {
        let mode = mode.clone();
        let attacker = attacker.clone();
        Arc::new(move |method, path, status, body| {
            let is_report = method == "GET" && path.starts_with("/api/v1/reports/");
            let mode = mode.load(std::sync::atomic::Ordering::SeqCst);
            if !is_report || status != 200 || mode == 0 {
                return Answer::Bytes(status, body);
            }
            let mut report: serde_json::Value = serde_json::from_slice(&body).unwrap();
            report["report"]["reporter"] = attacker.clone().into();
            let events = report["events"].as_array_mut().unwrap();
            match mode {
                2 => {
                    let seq = events.len();
                    events.push(serde_json::json!({ "seq": seq, "sealed": forged }));
                }
                3 => events[0]["sealed"] = forged.clone().into(),
                _ => {}
            }
            Answer::Bytes(200, serde_json::to_vec(&report).unwrap())
        })
    };
    let hostile = Hostile::start(&server.url, hook).await;
    let alice = Desk::at(&hostile.url, &server.member.identity);
    // The desk sees the report once, honestly (and remembers its reporter key).
    let id = first_id(&alice.run(&["list"]));
    for (m, said) in [
        (1, "not the one sealed inside the report"),
        (2, "holds more than one report"),
        (3, "not the one this desk saw for it before"),
    ] {
        mode.store(m, std::sync::atomic::Ordering::SeqCst);
        for args in [
            vec!["reply", &id, "-m", "to whom?"],
            vec!["status", &id, "triaged"],
        ] {
            let out = alice.command().args(&args).output().unwrap();
            assert!(!out.status.success(), "mode {m}: {args:?} went through");
            assert!(stderr(&out).contains(said), "mode {m}: {}", stderr(&out));
        }
    }
    assert!(
        hostile.seen().iter().all(|r| !r.path.ends_with("/events")),
        "an event was sent"
    );
    // A team-only note does not go to the reporter, so it is not stopped.
    alice.run(&["note", &id, "-m", "the server lies about the reporter"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_team_words_show_as_unverified() {
    let server = TestServer::start();
    let code = submit_simple(&server, "Forgeries").await;
    let bob = keygen(server.dir.path(), "bob");
    std::fs::write(
        server.keys_path(),
        format!(
            "# Alice Example\n{}\n# Bob\n{}\n",
            server.member.line, bob.line
        ),
    )
    .unwrap();
    server.signal("HUP");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let alice = Desk::new(&server, &server.member.identity);
    let id = first_id(&alice.run(&["list"]));
    alice.run(&["reply", &id, "-m", "Genuine words from Alice."]);

    // What a compromised server (with a member's token, and every public key) can do.
    let identities = Identities::load(&server.member.identity).unwrap();
    let client = TeamClient::login(&server.url, &identities).await.unwrap();
    let report = client.report(id.parse().unwrap()).await.unwrap();
    let genuine = report.events.last().unwrap().sealed.clone();
    let plain = crypto::open(
        &identities.as_refs(),
        &Sealed::from_stored(api::decode(&genuine).unwrap()),
    )
    .unwrap();
    let keys =
        crypto::TeamKeys::parse(&std::fs::read_to_string(server.keys_path()).unwrap()).unwrap();
    let (_, reporter) = crypto::Receipt::parse(&code).unwrap().derive().unwrap();
    let seal = |bytes: &[u8]| keys.seal(Some(&reporter.recipient()), bytes).unwrap();
    // 1. Alice's envelope around other words.
    let mut envelope: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let reply = |text: &str| {
        Event::new(
            agedrop::report::now(),
            EventBody::Reply(Text {
                author: "Alice Example".into(),
                text: text.into(),
            }),
        )
    };
    envelope["event"] = b64
        .encode(reply("Altered: publish it all now.").encode())
        .into();
    client
        .append(
            id.parse().unwrap(),
            &seal(&serde_json::to_vec(&envelope).unwrap()),
        )
        .await
        .unwrap();
    // 2. Unsigned words in Alice's name.
    client
        .append(
            id.parse().unwrap(),
            &seal(&reply("Unsigned: send us your exploit.").encode()),
        )
        .await
        .unwrap();
    // 3. Alice's genuine event again, replayed.
    client
        .append(
            id.parse().unwrap(),
            &Sealed::from_stored(api::decode(&genuine).unwrap()),
        )
        .await
        .unwrap();
    // 4. Bob, a member, signing words that claim to be Alice's: verified, as Bob's.
    let bob_ids = Identities::load(&bob.identity).unwrap();
    let bob_key = bob_ids.signing_key().unwrap();
    client
        .append(
            id.parse().unwrap(),
            &seal(&reply("Bob pretending.").encode_signed(&id, bob_key)),
        )
        .await
        .unwrap();

    let shown = alice.json(&["show", &id]);
    let events = shown["events"].as_array().unwrap();
    let by_text = |needle: &str| {
        events
            .iter()
            .find(|e| {
                e["event"]["body"]["reply"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains(needle))
            })
            .unwrap_or_else(|| panic!("no event with {needle}"))
            .clone()
    };
    let genuine = by_text("Genuine words");
    assert_eq!(genuine["verified"], true);
    assert_eq!(genuine["signed_by"], "Alice Example");
    let altered = by_text("Altered");
    assert_eq!(altered["verified"], false);
    assert!(
        altered["verification"]
            .as_str()
            .unwrap()
            .contains("DOES NOT MATCH")
    );
    let unsigned = by_text("Unsigned");
    assert_eq!(unsigned["verified"], false);
    assert!(
        unsigned["verification"]
            .as_str()
            .unwrap()
            .contains("NOT SIGNED")
    );
    let copies: Vec<_> = events
        .iter()
        .filter(|e| {
            e["event"]["body"]["reply"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("Genuine words"))
        })
        .collect();
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[1]["verified"], false);
    assert!(
        copies[1]["verification"]
            .as_str()
            .unwrap()
            .contains("replayed")
    );
    let pretending = by_text("Bob pretending");
    assert_eq!(pretending["verified"], true);
    assert_eq!(pretending["signed_by"], "Bob");
    // The reporter's own events are never signed, and say so.
    assert_eq!(events[0]["verified"], false);
    assert!(
        events[0]["verification"]
            .as_str()
            .unwrap()
            .contains("reporter")
    );
    // As text: the forgeries are marked, and Bob's words are shown as Bob's.
    let text = alice.run(&["show", &id]);
    assert_eq!(text.matches("UNVERIFIED").count(), 3, "{text}");
    assert!(text.contains("Reply from Bob,"), "{text}");
    assert!(text.contains("Reply from Alice Example,"), "{text}");
}
