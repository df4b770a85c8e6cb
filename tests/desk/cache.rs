//! The desk's cache: what `list` shows of every report, kept on the member's machine
//! sealed to their own recipient. The next `list` fetches and opens only what changed;
//! a cache that no longer fits (another pinned roster, damaged) and a feed that lies
//! cost time, never a wrong list.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use agedrop::crypto::{self, Sealed};
use agedrop::team::Identities;

use crate::hostile::{Answer, Hook, Hostile, honest};
use crate::util::*;

fn cache_dir(desk: &Desk) -> PathBuf {
    desk.home.path().join("cache/agedrop/desk")
}

/// The one cache file of `desk`.
#[track_caller]
fn cache_file(desk: &Desk) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cache_dir(desk))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].extension().is_some_and(|e| e == "age"),
        "{files:?}"
    );
    files.remove(0)
}

/// The cache's plaintext, opened with `identity`.
fn opened(file: &PathBuf, identity: &std::path::Path) -> String {
    let identities = Identities::load(identity).unwrap();
    let sealed = Sealed::parse(std::fs::read(file).unwrap()).unwrap();
    let plain = crypto::open(&identities.as_refs(), &sealed).unwrap();
    String::from_utf8(plain.to_vec()).unwrap()
}

/// The single reports and the feed pages a double was asked for, and forgets them.
fn asked(hostile: &Hostile) -> (Vec<String>, Vec<String>) {
    let mut seen = hostile.seen();
    let mut reports = Vec::new();
    let mut feed = Vec::new();
    for request in seen.iter().filter(|r| r.method == "GET") {
        if let Some(rest) = request.path.strip_prefix("/api/v1/reports/") {
            if !rest.contains('/') {
                reports.push(rest.to_string());
            }
        } else if let Some(after) = request.path.strip_prefix("/api/v1/feed?after=") {
            feed.push(after.to_string());
        }
    }
    seen.clear();
    (reports, feed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_list_opens_only_what_changed_and_the_cache_holds_no_plaintext() {
    let server = TestServer::start();
    for title in ["Cache canary one", "Cache canary two", "Cache canary three"] {
        submit_simple(&server, title).await;
    }
    let hostile = Hostile::start(&server.url, honest()).await;
    let alice = Desk::at(&hostile.url, &server.member.identity);

    // Nothing cached: every report from the feed, none fetched on its own.
    let first = alice.json(&["list"]);
    assert_eq!(first.as_array().unwrap().len(), 3, "{first}");
    let (reports, feed) = asked(&hostile);
    assert!(reports.is_empty(), "{reports:?}");
    assert_eq!(feed.first().map(String::as_str), Some("0"), "{feed:?}");

    // The cache: private, sealed, and only the member opens what it holds.
    let file = cache_file(&alice);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&cache_dir(&alice)), 0o700);
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    assert!(
        !bytes.windows(12).any(|w| w == b"Cache canary"),
        "a title reached the disk in the clear"
    );
    assert!(opened(&file, &server.member.identity).contains("Cache canary two"));

    // Nothing changed: nothing fetched, the feed read only after where it stopped.
    assert_eq!(alice.json(&["list"]), first);
    let (reports, feed) = asked(&hostile);
    assert!(reports.is_empty(), "{reports:?}");
    assert!(feed.iter().all(|after| after != "0"), "{feed:?}");

    // A status change and a new report: the changed one fetched alone, the new one
    // from the feed; the list is the one a desk without a cache shows.
    let id = first[0]["id"].as_str().unwrap().to_string();
    alice.run(&["status", &id, "valid"]);
    submit_simple(&server, "Cache canary four").await;
    asked(&hostile);
    let third = alice.json(&["list"]);
    assert_eq!(third.as_array().unwrap().len(), 4, "{third}");
    let changed = third
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str());
    assert_eq!(changed.unwrap()["status"], "valid", "{third}");
    assert_eq!(asked(&hostile).0, vec![id.clone()]);
    assert!(opened(&file, &server.member.identity).contains("Cache canary four"));
    assert_eq!(alice.json(&["list", "--no-cache"]), third);

    // --no-cache neither reads nor writes one.
    let bob = Desk::at(&hostile.url, &server.member.identity);
    assert_eq!(bob.json(&["list", "--no-cache"]), third);
    assert!(!cache_dir(&bob).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_built_under_another_roster_or_damaged_is_not_used() {
    let server = TestServer::start();
    let carol = keygen(server.dir.path(), "carol");
    server.set_members(&[
        ("Alice Example", &server.member.line),
        ("Carol Example", &carol.line),
    ]);
    submit_simple(&server, "Roster report").await;

    // Alice pins a roster without Carol (the keys file she was given); Carol sets a
    // status, which does not count on Alice's desk, whose cache holds it as "received".
    let alice = Desk::new(&server, &server.member.identity);
    let alone = server.dir.path().join("alice-only.keys");
    std::fs::write(&alone, format!("# Alice Example\n{}\n", server.member.line)).unwrap();
    alice.run(&["trust", "--keys", alone.to_str().unwrap()]);
    let id = alice.json(&["list"])[0]["id"].as_str().unwrap().to_string();
    Desk::new(&server, &carol.identity).run(&["status", &id, "valid"]);
    assert_eq!(alice.json(&["list"])[0]["status"], "received");

    // Accepting her changes what the same events say: the cache is not used.
    alice.run(&["trust", "--yes"]);
    let trusted = alice.json(&["list"]);
    assert_eq!(trusted[0]["status"], "valid", "{trusted}");

    // Damaged, or sealed to the member but not a cache: ignored, and written anew.
    let file = cache_file(&alice);
    let recipient = crypto::parse_recipient(&server.member.recipient)
        .unwrap()
        .recipient;
    let not_a_cache = crypto::seal(&[recipient.as_ref()], b"{\"not\": \"a cache\"}").unwrap();
    for junk in [b"junk".to_vec(), not_a_cache.as_bytes().to_vec()] {
        std::fs::write(&file, &junk).unwrap();
        assert_eq!(alice.json(&["list"]), trusted);
        assert!(opened(&file, &server.member.identity).contains("Roster report"));
    }
}

/// Rewrites a page of the feed, given the request's cursor.
type Lie = fn(u64, &mut serde_json::Value);

/// A hook that rewrites every page of the feed with `lie`.
fn lying_feed(lie: Lie) -> Hook {
    Arc::new(move |method, path, status, body| {
        let Some(after) = path.strip_prefix("/api/v1/feed?after=") else {
            return Answer::Bytes(status, body);
        };
        let (Ok(after), Ok(mut page)) = (
            after.parse::<u64>(),
            serde_json::from_slice::<serde_json::Value>(&body),
        ) else {
            return Answer::Bytes(status, body);
        };
        if method == "GET" && status == 200 {
            lie(after, &mut page);
        }
        Answer::Bytes(status, serde_json::to_vec(&page).unwrap())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_lies_costs_time_never_a_wrong_list() {
    let server = TestServer::start();
    submit_simple(&server, "Lied about one").await;
    submit_simple(&server, "Lied about two").await;
    let alice = Desk::new(&server, &server.member.identity);
    let first = alice.json(&["list"])[0]["id"].as_str().unwrap().to_string();
    alice.run(&["reply", &first, "-m", "Thanks, we are on it."]);
    submit_simple(&server, "Lied about three").await;
    // A desk that has never seen the feed: the list every lie must leave alone.
    let truth = Desk::new(&server, &server.member.identity).json(&["list"]);
    assert_eq!(truth.as_array().unwrap().len(), 3);

    let lies: [(&str, Lie); 3] = [
        // Never ends, and holds none of the reports listed: page upon page of another's.
        ("endless", |after, page| {
            let junk: Vec<serde_json::Value> = (1..=500)
                .map(|i| {
                    serde_json::json!({ "cursor": after + i, "report": "00000000000000ff",
                        "seq": 0, "sealed": "AAAA" })
                })
                .collect();
            page["items"] = junk.into();
            page["next"] = (after + 500).into();
        }),
        // Each page backwards: a thread's events out of order.
        ("reversed", |_, page| {
            if let Some(items) = page["items"].as_array_mut() {
                items.reverse();
            }
        }),
        // Never moves on.
        ("stuck", |after, page| page["next"] = after.into()),
    ];
    for (lie, rewrite) in lies {
        let hostile = Hostile::start(&server.url, lying_feed(rewrite)).await;
        let desk = Desk::at(&hostile.url, &server.member.identity);
        let list = desk.json(&["list"]);
        let (reports, feed) = asked(&hostile);
        assert_eq!(list, truth, "{lie}");
        assert!(
            feed.len() <= 5,
            "{lie}: read {} pages of the feed",
            feed.len()
        );
        match lie {
            // The thread whose events came out of order, fetched alone.
            "reversed" => assert_eq!(reports, vec![first.clone()], "{lie}"),
            _ => assert_eq!(reports.len(), 3, "{lie}: {reports:?}"),
        }
        // And the cache it wrote gives the same list again.
        assert_eq!(desk.json(&["list"]), truth, "{lie}");
    }
}
