//! One anonymous client cannot lock everyone else out: floods of junk take no rate-limit
//! token, strangers cannot crowd out the team's logins, and uploads trickled a byte at a
//! time are cut off so that their slots free up.

use std::time::{Duration, Instant};

use agedrop::api;
use agedrop::team::{Identities, TeamClient};
use tokio::io::AsyncWriteExt;

use crate::util::*;

/// Sends `n` requests made by `make` at once; gives their statuses.
async fn flood<F, Fut>(n: usize, make: F) -> Vec<u16>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().status().as_u16());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_floods_lock_nobody_out() {
    let server = TestServer::start();
    let code = submit_simple(&server, "Before the flood").await;
    let identities = Identities::load(&server.member.identity).unwrap();
    let started = Instant::now();

    // 400 junk login challenges: not JSON, not a recipient, the wrong shape.
    let url = server.at("/api/v1/login/challenge");
    let statuses = flood(400, |i| {
        let url = url.clone();
        async move {
            let body = match i % 3 {
                0 => "not json at all".to_string(),
                1 => "{\"recipient\":\"age1notarecipient\"}".to_string(),
                _ => "{\"who\":1}".to_string(),
            };
            client()
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    })
    .await;
    // Refused as junk (or, for a moment, busy): never by the rate limit.
    assert!(statuses.iter().all(|s| (400..500).contains(s) || *s == 503));
    assert!(!statuses.contains(&429));
    TeamClient::login(&server.url, &identities)
        .await
        .expect("a member logs in right after a junk flood");

    // Strangers' well-formed challenges draw from their own bucket: they run dry, the
    // team's do not.
    let statuses = flood(150, |_| {
        let url = url.clone();
        async move {
            let recipient = age::x25519::Identity::generate().to_public().to_string();
            client()
                .post(url)
                .json(&api::ChallengeRequest { recipient })
                .send()
                .await
                .unwrap()
        }
    })
    .await;
    assert!(
        statuses.contains(&429),
        "the strangers' bucket never ran dry"
    );
    TeamClient::login(&server.url, &identities)
        .await
        .expect("a member logs in while strangers are refused");

    // 100 junk receipt posts: typos, junk, no field at all.
    let check_url = server.at("/check");
    let statuses = flood(100, |i| {
        let url = check_url.clone();
        async move {
            let c = client();
            match i % 3 {
                0 => c.post(url).form(&[("receipt", "AAAA-BBBB")]),
                1 => c.post(url).form(&[("receipt", "0".repeat(28))]),
                _ => c.post(url).body("garbage=1"),
            }
            .send()
            .await
            .unwrap()
        }
    })
    .await;
    assert!(!statuses.contains(&429));
    let (status, page) = check(&server, &code).await;
    assert_eq!(
        status, 200,
        "a real receipt opens its report after the flood: {page}"
    );
    assert!(page.contains("Before the flood"));

    // 50 junk forms: not multipart, no title, an unknown field.
    let submit_url = server.at("/submit");
    let statuses = flood(50, |i| {
        let url = submit_url.clone();
        async move {
            let c = client();
            match i % 3 {
                0 => c.post(url).body("title=x"),
                1 => c
                    .post(url)
                    .multipart(form(&[("description", "d".into())], &[])),
                _ => c
                    .post(url)
                    .multipart(form(&[("nonsense", "d".into())], &[])),
            }
            .send()
            .await
            .unwrap()
        }
    })
    .await;
    assert!(!statuses.contains(&429) && !statuses.contains(&200));
    submit_simple(&server, "After the flood").await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the floods took {:?}",
        started.elapsed()
    );
}

/// Opens a connection that posts a report a byte a second, for ever.
async fn trickle(addr: String) {
    let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else {
        return;
    };
    let head = format!(
        "POST /submit HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; \
         boundary=trickle\r\nContent-Length: 1000000\r\n\r\n--trickle\r\n"
    );
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if stream.write_all(b"x").await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_uploads_cannot_hold_every_slot() {
    // A short window keeps the test quick; the default is a minute.
    let server = TestServer::start_with(Options::limits(&[
        "upload_rate_window_seconds = 4",
        "min_upload_bytes_per_second = 1024",
        "max_concurrent_uploads = 32",
    ]));
    let addr = server.url.trim_start_matches("http://").to_string();
    let tricklers: Vec<_> = (0..40)
        .map(|_| tokio::spawn(trickle(addr.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Every upload slot is held now.
    let busy = client()
        .post(server.at("/submit"))
        .multipart(form(
            &[("title", "t".into()), ("description", "d".into())],
            &[],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 503);

    // A real report gets a slot once the tricklers fall below the minimum rate.
    let started = Instant::now();
    loop {
        let response = client()
            .post(server.at("/submit"))
            .multipart(form(
                &[
                    ("title", "Through the trickle".into()),
                    ("description", "d".into()),
                ],
                &[],
            ))
            .send()
            .await
            .unwrap();
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
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nSlow and steady\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nd\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"slow.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend(std::iter::repeat_n(b'z', 160 * 1024));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let length = body.len();
    let pieces: Vec<Vec<u8>> = body.chunks(10 * 1024).map(<[u8]>::to_vec).collect();
    let steady =
        futures_util::StreamExt::then(futures_util::stream::iter(pieces), |piece| async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok::<_, std::io::Error>(piece)
        });
    let started = Instant::now();
    let response = client()
        .post(server.at("/submit"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("content-length", length)
        .body(reqwest::Body::wrap_stream(steady))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert!(took > Duration::from_secs(6), "{took:?}: not slow at all");
    for t in tricklers {
        t.abort();
    }
    eprintln!("a slot freed up after {waited:?}; the steady upload took {took:?}");
}
