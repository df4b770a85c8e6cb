use crate::util::*;

/// Changes one character of a code to another of the alphabet.
fn typo(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    let i = 5;
    chars[i] = if chars[i] == 'X' { 'Y' } else { 'X' };
    chars.into_iter().collect()
}

#[tokio::test]
async fn receipt_round_trip() {
    let server = TestServer::start();
    let code = submit_simple(&server, "Round trip report").await;
    assert_eq!(code.len(), 34);
    assert_eq!(code.split('-').count(), 7);

    let (status, page) = check(&server, &code).await;
    assert_eq!(status, 200);
    assert!(page.contains("Round trip report"));
    assert!(page.contains("id=\"status\">received<"), "{page}");

    let (status, page) = check(&server, &typo(&code)).await;
    assert_eq!(status, 400);
    assert!(page.contains("typo"), "{page}");
    assert!(!page.contains("Round trip report"));

    let other = "0000-0000-0000-0000-0000-0000-0000";
    let (status, page) = check(&server, other).await;
    // All zeros has a wrong checksum; find an unknown but well-formed code instead.
    assert_eq!(status, 400, "{page}");
    let unknown = submit_on_other_server().await;
    let (status, page) = check(&server, &unknown).await;
    assert_eq!(status, 404);
    assert!(page.contains("No report matches this code"), "{page}");
    assert!(!page.contains("typo"));

    let sloppy = code.to_lowercase().replace('-', " ");
    let sloppy = format!("  {sloppy} ");
    let (status, page) = check(&server, &sloppy).await;
    assert_eq!(status, 200);
    assert!(page.contains("Round trip report"));

    let (status, page) = check(&server, "hello").await;
    assert_eq!(status, 400);
    assert!(page.contains("not a receipt code"), "{page}");
}

/// A valid code that this server has never seen: made by another server.
async fn submit_on_other_server() -> String {
    let other = TestServer::start();
    submit_simple(&other, "elsewhere").await
}

#[tokio::test]
async fn receipt_attempts_are_rate_limited_globally() {
    let server = TestServer::start_with(Options::limits(&["receipt_attempts_per_minute = 3"]));
    let code = submit_simple(&server, "Rate limited").await;
    let unknown = submit_on_other_server().await;
    // Junk and typos are answered without taking a token.
    for _ in 0..20 {
        assert_eq!(check(&server, "AAAA").await.0, 400);
    }
    // Well-formed codes that open nothing count.
    for _ in 0..3 {
        assert_eq!(check(&server, &unknown).await.0, 404);
    }
    // A code that opens a report is never refused.
    let (status, page) = check(&server, &code).await;
    assert_eq!(status, 200, "{page}");
    let c = client();
    let response = c
        .post(server.at("/check"))
        .form(&[("receipt", unknown.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    // The page and the Retry-After header say when to try again.
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let page = response.text().await.unwrap();
    assert!(page.contains("try again in about"), "{page}");
}
