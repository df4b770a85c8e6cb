//! Crash durability with the real binary: reporters submit reports with attachments and
//! add follow-ups with files, concurrently, while the team reads the feed; the server is
//! killed with SIGKILL at a random moment, 20 times, and started again each time.
//! After every kill, the data folder (read offline by a desk) holds every report and
//! follow-up a reporter got an answer for, whole, with intact attachments (SHA-256),
//! and no report that is not whole; after every restart each receipt of the round opens
//! its report, a session from before the crash has ended cleanly, and the feed gives
//! every position it gave before the crash unchanged, with no gap in any thread.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agedrop::store::ReportId;
use sha2::{Digest, Sha256};

use crate::util::*;

const ROUNDS: usize = 20;
const REPORTERS: usize = 4;

/// What reporters got an answer for: title → (receipt code, attachment SHA-256s).
type Acked = Arc<Mutex<BTreeMap<String, (String, Vec<String>)>>>;

/// The titles of the reports reporters tried to add to in this round.
type Touched = Arc<Mutex<HashSet<String>>>;

/// A small deterministic generator; the seed is printed so that a failure can be
/// replayed (`AGEDROP_CRASH_SEED`).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn file_for(label: &str, len: usize) -> (String, Vec<u8>) {
    (format!("{label}.bin"), bytes_with_canary(len, label))
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One reporter until the server dies: new reports, and follow-ups with a file to
/// reports acknowledged earlier. Records only what was answered in full.
async fn reporter(
    url: String,
    (who, round, seed): (usize, usize, u64),
    acked: Acked,
    touched: Touched,
) {
    let mut rng = Rng(seed | 1);
    let client = client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for i in 0.. {
        // Paced, so that a round holds a few dozen requests and some are in flight
        // when the kill comes.
        tokio::time::sleep(Duration::from_millis(5 + rng.below(50))).await;
        let earlier: Vec<(String, String)> = {
            let acked = acked.lock().unwrap();
            acked
                .iter()
                .map(|(t, (c, _))| (t.clone(), c.clone()))
                .collect()
        };
        if earlier.is_empty() || rng.below(3) > 0 {
            let title = format!("crash r{round} p{who} n{i}");
            let (name, bytes) = file_for(&title, 1 + rng.below(64 * 1024) as usize);
            let fields = [("title", title.clone()), ("description", "d".to_string())];
            touched.lock().unwrap().insert(title.clone());
            let Ok(page) = client
                .post(format!("{url}/submit"))
                .multipart(form(&fields, &[(name, bytes.clone())]))
                .send()
                .await
            else {
                return;
            };
            if page.status() != 200 {
                return;
            }
            let Ok(html) = page.text().await else { return };
            let code = receipt_code(&html);
            acked
                .lock()
                .unwrap()
                .insert(title, (code, vec![sha(&bytes)]));
        } else {
            let (title, code) = &earlier[rng.below(earlier.len() as u64) as usize];
            touched.lock().unwrap().insert(title.clone());
            let session = client_builder().cookie_store(true).build().unwrap();
            let Ok(login) = session
                .post(format!("{url}/check"))
                .form(&[("receipt", code.as_str())])
                .send()
                .await
            else {
                return;
            };
            if login.status() != 303 {
                return;
            }
            let Ok(page) = session.get(format!("{url}/thread")).send().await else {
                return;
            };
            let Ok(page) = page.text().await else { return };
            let label = format!("{title} follow-up r{round} p{who} n{i}");
            let (name, bytes) = file_for(&label, 1 + rng.below(32 * 1024) as usize);
            let form = reqwest::multipart::Form::new()
                .text("csrf", csrf(&page))
                .text("message", label.clone())
                .part(
                    "files",
                    reqwest::multipart::Part::bytes(bytes.clone()).file_name(name),
                );
            let Ok(answer) = session
                .post(format!("{url}/thread"))
                .multipart(form)
                .send()
                .await
            else {
                return;
            };
            if answer.status() != 303 {
                return;
            }
            if let Some((_, sums)) = acked.lock().unwrap().get_mut(title) {
                sums.push(sha(&bytes));
            }
        }
    }
}

/// The whole feed: (cursor, report, seq) in order.
async fn feed(server: &TestServer) -> Vec<(u64, ReportId, u32)> {
    let team = team_client(server).await;
    let (mut all, mut after) = (Vec::new(), 0);
    loop {
        let page = team.feed(after).await.unwrap();
        if page.items.is_empty() {
            return all;
        }
        all.extend(page.items.iter().map(|i| (i.cursor, i.report, i.seq)));
        after = page.next;
    }
}

/// Cursors only grow and every thread's events are numbered 0, 1, 2… without a gap.
fn check_feed(items: &[(u64, ReportId, u32)]) {
    let mut next_seq: HashMap<ReportId, u32> = HashMap::new();
    for pair in items.windows(2) {
        assert!(pair[0].0 < pair[1].0, "feed cursors out of order: {pair:?}");
    }
    for (_, report, seq) in items {
        let want = next_seq.entry(*report).or_insert(0);
        assert_eq!(*seq, *want, "a gap in the feed of {report}");
        *want += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_acknowledged_report_is_lost_to_sigkill_and_none_is_ever_partial() {
    let seed = std::env::var("AGEDROP_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test seed: AGEDROP_CRASH_SEED={seed}");
    let mut rng = Rng(seed | 1);
    // Load, not a flood: the rate limits stay out of the way.
    let mut server = TestServer::start_with(Options::limits(&[
        "submissions_per_minute = 100000",
        "follow_ups_per_minute = 100000",
    ]));
    let acked: Acked = Arc::default();
    let mut feed_seen = Vec::new();
    // Titles found whole on disk after an earlier kill, and untouched since, are not
    // read again (their files cost time); the last check reads everything.
    let mut known: HashSet<String> = HashSet::new();
    for round in 0..ROUNDS {
        let before: BTreeMap<_, _> = acked.lock().unwrap().clone();
        let touched: Touched = Arc::default();
        let reporters: Vec<_> = (0..REPORTERS)
            .map(|who| {
                let seed = rng.below(u64::MAX);
                tokio::spawn(reporter(
                    server.url.clone(),
                    (who, round, seed),
                    acked.clone(),
                    touched.clone(),
                ))
            })
            .collect();
        // The team reads the feed while reports arrive; what it was given is durable.
        tokio::time::sleep(Duration::from_millis(50 + rng.below(250))).await;
        let seen = feed(&server).await;
        let any = acked
            .lock()
            .unwrap()
            .values()
            .next()
            .map(|(c, _)| c.clone());
        let old_session = match any {
            Some(code) => Some(reporter_page(&server, &code).await.0),
            None => None,
        };
        tokio::time::sleep(Duration::from_millis(rng.below(250))).await;
        server.signal("KILL");
        assert!(server.wait_exit(Duration::from_secs(10)).is_some());
        for r in reporters {
            let _ = r.await;
        }

        // What is on disk, read offline: every acknowledged report whole, with every
        // acknowledged file; every report there whole (reports_in panics otherwise).
        let touched = touched.lock().unwrap().clone();
        let wanted = |t: &str| touched.contains(t) || !known.contains(t);
        let on_disk = reports_in_where(&server.data(), &server.member.identity, wanted).await;
        known.extend(on_disk.keys().cloned());
        let acked_now = acked.lock().unwrap().clone();
        for (title, (_, sums)) in acked_now.iter().filter(|(t, _)| touched.contains(*t)) {
            let found = on_disk
                .get(title)
                .unwrap_or_else(|| panic!("round {round}: acknowledged {title:?} is gone"));
            for sum in sums {
                assert!(
                    found.contains(sum),
                    "round {round}: a file of {title:?} is gone"
                );
            }
        }

        // Started again: the round's receipts open their reports, an old session is
        // over (a page that says so, not an error), the feed is what it was and more.
        server.launch();
        for (title, (code, _)) in acked_now.iter().filter(|(t, _)| !before.contains_key(*t)) {
            let (status, page) = check(&server, code).await;
            assert_eq!(status, 200, "round {round}: {title}");
            assert!(page.contains(title.as_str()), "round {round}: {title}");
        }
        if let Some(old) = old_session {
            let (status, page) = fetch(old.get(server.at("/thread"))).await;
            assert!(
                status < 500 && page.contains("session has ended"),
                "{status} {page}"
            );
        }
        let now = feed(&server).await;
        check_feed(&now);
        for item in &seen {
            assert!(
                now.contains(item),
                "round {round}: feed position {item:?} changed"
            );
        }
        feed_seen.push(seen.len());
    }
    server.signal("KILL");
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    let on_disk = reports_in(&server.data(), &server.member.identity).await;
    let acked = acked.lock().unwrap().clone();
    for (title, (_, sums)) in &acked {
        assert!(sums.iter().all(|s| on_disk[title].contains(s)), "{title}");
    }
    let total = acked.len();
    let follow_ups: usize = acked.values().map(|(_, sums)| sums.len() - 1).sum();
    eprintln!(
        "crash test: {ROUNDS} rounds of SIGKILL, {total} acknowledged reports and \
         {follow_ups} acknowledged follow-ups with files, all \
         whole after every kill; feed read mid-round: {feed_seen:?} events"
    );
    assert!(total >= ROUNDS, "too few reports to mean anything: {total}");
}
