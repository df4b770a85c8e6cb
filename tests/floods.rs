//! One anonymous client cannot lock everyone else out: floods of junk take no rate-limit
//! token, strangers cannot crowd out the team's logins, and uploads trickled a byte at a
//! time are cut off so that their slots free up, and uploads under way never slow the
//! commits of others.

use std::time::{Duration, Instant};

use agedrop::api;
use agedrop::team::{Identities, TeamClient};
use tokio::io::AsyncWriteExt;

use crate::router::bad_input;
use crate::util::*;

/// Every bad input of `router::bad_input`, over a real socket: each gets its page, the
/// server keeps serving, and an earlier report survives all of it and a restart.
#[tokio::test]
async fn bad_input_costs_nothing() {
    let mut server = TestServer::start_with(bad_input::small_limits());
    let earlier = submit_simple(&server, "Earlier report").await;
    let mut failures = Vec::new();
    for case in bad_input::ALL {
        let request = (case.request)(client().post(server.at("/submit")));
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let page = response.text().await.unwrap();
        if status != case.status || !page.contains(case.says) {
            failures.push(format!("{}: {status}\n{page}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(server.is_running());
    let (status, page) = check(&server, &earlier).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Earlier report"));
    let later = submit_simple(&server, "Still accepting").await;
    server.restart();
    for (code, title) in [(&earlier, "Earlier report"), (&later, "Still accepting")] {
        let (status, page) = check(&server, code).await;
        assert_eq!(status, 200, "{title}: {page}");
        assert!(page.contains(title));
    }
    assert!(!server.log_text().contains("panicked"));
}

/// Sends `n` requests made by `make` at once; gives their statuses.
async fn flood(n: usize, make: impl Fn(usize) -> reqwest::RequestBuilder) -> Vec<u16> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let request = make(i);
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

/// A server with room for every request of a flood at once, so that what refuses them is
/// what is tested (the junk checks and the rate limits), not the cap on requests in
/// flight.
fn roomy() -> TestServer {
    TestServer::start_with(Options::limits(&[
        "team_logins_per_minute = 100",
        "max_concurrent_api = 1024",
        "max_concurrent_requests = 1024",
        "max_concurrent_uploads = 1024",
    ]))
}

/// Asserts a member can still log in.
async fn member_logs_in(server: &TestServer) {
    let identities = Identities::load(&server.member.identity).unwrap();
    if let Err(e) = TeamClient::login(&server.url, &identities).await {
        panic!("a member cannot log in after the flood: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_junk_logins_takes_no_members_token() {
    let server = roomy();
    // Not JSON, not a recipient, the wrong shape.
    let url = server.at("/api/v1/login/challenge");
    let statuses = flood(400, |i| {
        let body = match i % 3 {
            0 => "not json at all",
            1 => "{\"recipient\":\"age1notarecipient\"}",
            _ => "{\"who\":1}",
        };
        client()
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
    })
    .await;
    // Refused as junk (or, for a moment, busy): never by the rate limit.
    assert!(
        statuses.iter().all(|s| *s == 400 || *s == 503),
        "{statuses:?}"
    );
    member_logs_in(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_for_other_recipients_never_touches_a_members_bucket() {
    let server = roomy();
    // Each recipient has a bucket of its own, member or not: a flood for one (or for many
    // made up on the spot) never touches a member's, and what a prober sees does not
    // depend on who is a member.
    let url = server.at("/api/v1/login/challenge");
    let stranger = age::x25519::Identity::generate().to_public().to_string();
    let statuses = flood(400, |i| {
        let recipient = if i % 2 == 0 {
            stranger.clone()
        } else {
            age::x25519::Identity::generate().to_public().to_string()
        };
        client()
            .post(&url)
            .json(&api::ChallengeRequest { recipient })
    })
    .await;
    assert!(
        statuses.contains(&429),
        "one recipient's bucket never ran dry"
    );
    member_logs_in(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_receipt_codes_never_keeps_a_real_one_out() {
    let server = roomy();
    let code = submit_simple(&server, "Before the flood").await;
    // Typos, junk, no field at all, and well-formed codes that open nothing (which use
    // up the bucket, but never keep a real code out).
    let url = server.at("/check");
    let statuses = flood(100, |i| {
        let receipt = client().post(&url);
        match i % 10 {
            0 => receipt.form(&[("receipt", "AAAA-BBBB")]),
            1 => receipt.form(&[("receipt", "0".repeat(28))]),
            2 => receipt.body("garbage=1"),
            _ => receipt.form(&[("receipt", unknown_code())]),
        }
    })
    .await;
    assert!(
        statuses.contains(&429),
        "the misses never used up the bucket"
    );
    let (status, page) = check(&server, &code).await;
    assert_eq!(
        status, 200,
        "a real receipt opens its report after the flood: {page}"
    );
    assert!(page.contains("Before the flood"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_junk_forms_takes_no_reporters_token() {
    let server = TestServer::start_with(Options::limits(&[
        "submissions_per_minute = 3",
        "max_concurrent_requests = 1024",
        "max_concurrent_uploads = 1024",
    ]));
    // Not multipart, no title, an unknown field.
    let url = server.at("/submit");
    let statuses = flood(50, |i| {
        let submit = client().post(&url);
        match i % 3 {
            0 => submit.body("title=x"),
            1 => submit.multipart(form(&[("description", "d".into())], &[])),
            _ => submit.multipart(form(&[("nonsense", "d".into())], &[])),
        }
    })
    .await;
    assert!(statuses.iter().all(|s| *s == 400), "{statuses:?}");
    for n in 0..3 {
        submit_simple(&server, &format!("After the flood {n}")).await;
    }
}

/// Opens a connection that posts a report `piece` bytes at a time, every `every`,
/// until the server answers or closes it; whether it did.
async fn crawl(addr: String, piece: usize, every: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let Ok(stream) = tokio::net::TcpStream::connect(&addr).await else {
        return true;
    };
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /submit HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; \
         boundary=trickle\r\nContent-Length: 1000000\r\n\r\n--trickle\r\n"
    );
    if writer.write_all(head.as_bytes()).await.is_err() {
        return true;
    }
    let piece = vec![b'x'; piece];
    let mut answer = [0u8; 64];
    for _ in 0..600 {
        tokio::select! {
            _ = reader.read(&mut answer) => return true,
            _ = tokio::time::sleep(every) => {}
        }
        if writer.write_all(&piece).await.is_err() {
            return true;
        }
    }
    false
}

/// A server that wants at least 1 KiB/s from an upload, measured over 4 s (a short
/// window keeps the tests quick; the default is a minute), with `slots` upload slots.
fn paced(slots: usize) -> TestServer {
    TestServer::start_with(Options::limits(&[
        "upload_rate_window_seconds = 4",
        "min_upload_bytes_per_second = 1024",
        &format!("max_concurrent_uploads = {slots}"),
    ]))
}

/// `n` connections to `server`, each posting a report `piece` bytes every `every` (see
/// [`crawl`]); each task ends when the server answers or closes its connection.
fn crawlers(
    server: &TestServer,
    n: usize,
    piece: usize,
    every: Duration,
) -> Vec<tokio::task::JoinHandle<bool>> {
    let addr = server.url.trim_start_matches("http://").to_string();
    (0..n)
        .map(|_| tokio::spawn(crawl(addr.clone(), piece, every)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_uploads_cannot_hold_every_slot() {
    let server = paced(32);
    // A byte a second, from more clients than there are slots.
    let tricklers = crawlers(&server, 40, 1, Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Every upload slot is held now.
    let busy = try_submit(&server, "t").await;
    assert_eq!(busy.status(), 503);
    assert!(busy.text().await.unwrap().contains("The site is busy"));

    // A real report gets a slot once the tricklers fall below the minimum rate.
    let started = Instant::now();
    loop {
        let response = try_submit(&server, "Through the trickle").await;
        if response.status() == 200 {
            break;
        }
        assert_eq!(response.status(), 503);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no slot freed up within {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let waited = started.elapsed();

    // A slow but steady upload (20 KiB/s, well above the minimum) is not cut off.
    let boundary = "steady";
    let body = multipart_parts(boundary, "Slow and steady", 160 * 1024).concat();
    let pieces: Vec<Vec<u8>> = body.chunks(10 * 1024).map(<[u8]>::to_vec).collect();
    let started = Instant::now();
    let response = submit_slowly(&server, boundary, pieces, Duration::from_millis(500)).await;
    let took = started.elapsed();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert!(took > Duration::from_secs(6), "{took:?}: not slow at all");
    for t in tricklers {
        t.abort();
    }
    eprintln!("a slot freed up after {waited:?}; the steady upload took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_crawling_above_the_minimum_make_room_when_all_slots_are_taken() {
    let server = paced(8);
    // Every slot held by a client sending 2 KiB/s: above the minimum, so never cut off
    // for being too slow on its own.
    let crawlers = crawlers(&server, 8, 512, Duration::from_millis(250));
    tokio::time::sleep(Duration::from_secs(6)).await;
    let started = Instant::now();
    let response = submit_form(
        &server,
        &[("title", "Room made".into()), ("description", "d".into())],
        &[("a.bin".into(), vec![7u8; 200_000])],
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // A crawler was cut off (it got its answer), not every one of them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let done = crawlers.iter().filter(|c| c.is_finished()).count();
    assert!((1..8).contains(&done), "{done} crawlers were cut off");
    for c in crawlers {
        c.abort();
    }
}

/// The median time of `n` reports sent one after another.
async fn median_submission(server: &TestServer, n: usize) -> Duration {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        submit_simple(server, &format!("Timed {i}")).await;
        times.push(started.elapsed());
    }
    times.sort();
    times[n / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_under_way_never_hold_up_other_reports_commits() {
    // Reports share flushes: a commit waits (up to 10 ms) for requests that are about
    // to commit. A request counts only once it has arrived whole; if uploads still
    // arriving counted, every report would wait the longest time while one crawled in.
    let server = TestServer::start_with(Options::limits(&["submissions_per_minute = 1000"]));
    let alone = median_submission(&server, 15).await;
    let crawlers = crawlers(&server, 4, 512, Duration::from_millis(250));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(crawlers.iter().all(|c| !c.is_finished()));
    let beside = median_submission(&server, 15).await;
    for c in crawlers {
        c.abort();
    }
    eprintln!("median report: {alone:?} alone, {beside:?} beside 4 uploads under way");
    assert!(
        beside < alone + Duration::from_millis(6),
        "{beside:?} beside uploads under way, {alone:?} alone"
    );
}
