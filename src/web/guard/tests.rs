//! The guards' own rules: what counts as cross-site, and how the token buckets fill,
//! refuse and forget.

use std::time::Duration;

use super::*;

fn headers(pairs: &[(&'static str, &str)]) -> axum::http::HeaderMap {
    let mut h = axum::http::HeaderMap::new();
    for (name, value) in pairs {
        h.insert(*name, value.parse().unwrap());
    }
    h
}

#[test]
fn a_post_is_cross_site_unless_the_browser_or_the_origin_says_it_is_ours() {
    let host = ("host", "drop.example:8443");
    let cases: &[(&[(&str, &str)], bool)] = &[
        // Fetch Metadata, when a browser sends it, decides.
        (&[("sec-fetch-site", "same-origin")], false),
        (&[("sec-fetch-site", "none")], false),
        (&[("sec-fetch-site", "same-site")], true),
        (&[("sec-fetch-site", "cross-site")], true),
        (&[("sec-fetch-site", "something-new")], true),
        (
            &[("sec-fetch-site", "same-origin"), ("origin", "null")],
            false,
        ),
        (
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://drop.example:8443"),
                host,
            ],
            true,
        ),
        // Without it, an Origin must name this host.
        (&[("origin", "https://drop.example:8443"), host], false),
        (&[("origin", "https://DROP.example:8443"), host], false),
        (
            &[("origin", "https://drop.example:8443.evil.example"), host],
            true,
        ),
        (&[("origin", "https://drop.example"), host], true),
        (&[("origin", "https://evil.example"), host], true),
        (&[("origin", "null"), host], true),
        (&[("origin", "https://drop.example:8443")], true),
        // Neither: not a browser a hostile page can drive.
        (&[host], false),
        (&[], false),
    ];
    for (pairs, cross) in cases {
        assert_eq!(is_cross_site(&headers(pairs)), *cross, "{pairs:?}");
    }
}

/// Moves a bucket's clock back: as if `ago` had passed since it was last used.
fn rewind(limit: &RateLimit, ago: Duration) {
    let mut state = limit.state.lock().unwrap();
    state.1 = Instant::now().checked_sub(ago).unwrap();
}

#[test]
fn a_bucket_holds_a_minutes_worth_then_says_how_long_to_wait() {
    let limit = RateLimit::per_minute(3);
    for _ in 0..3 {
        assert!(limit.check().is_ok());
    }
    // 3 a minute: the next token is 20 seconds away.
    assert!(matches!(limit.check(), Err(PageError::RateLimited(20))));
    assert!(matches!(limit.peek(), Err(PageError::RateLimited(20))));
}

#[test]
fn peeking_takes_no_token() {
    let limit = RateLimit::per_minute(1);
    for _ in 0..5 {
        assert!(limit.peek().is_ok());
    }
    assert!(limit.check().is_ok());
    assert!(limit.peek().is_err());
    assert!(limit.check().is_err());
}

#[test]
fn a_bucket_refills_with_time_but_never_past_its_size() {
    let limit = RateLimit::per_minute(60);
    for _ in 0..60 {
        assert!(limit.check().is_ok());
    }
    assert!(limit.check().is_err());
    // One a second: two seconds give two tokens.
    rewind(&limit, Duration::from_millis(2_100));
    assert!(limit.check().is_ok());
    assert!(limit.check().is_ok());
    assert!(limit.check().is_err());
    // Two minutes idle give one minute's worth, no more.
    rewind(&limit, Duration::from_secs(120));
    for _ in 0..60 {
        assert!(limit.check().is_ok());
    }
    assert!(limit.check().is_err());
}

#[test]
fn a_limit_of_zero_still_lets_one_through() {
    let limit = RateLimit::per_minute(0);
    assert!(limit.check().is_ok());
    assert!(matches!(limit.check(), Err(PageError::RateLimited(60))));
}

#[test]
fn one_keys_flood_never_touches_another_keys_bucket() {
    let limits = KeyedRateLimit::per_minute(2, 100);
    assert!(limits.check(&"flood").is_ok());
    assert!(limits.check(&"flood").is_ok());
    assert!(limits.check(&"flood").is_err());
    assert!(limits.peek(&"other").is_ok());
    assert!(limits.check(&"other").is_ok());
    assert!(limits.check(&"flood").is_err());
}

fn keys(limits: &KeyedRateLimit<&'static str>) -> Vec<&'static str> {
    let mut keys: Vec<_> = limits.buckets.lock().unwrap().keys().copied().collect();
    keys.sort_unstable();
    keys
}

#[test]
fn past_its_size_the_map_forgets_refilled_buckets_first() {
    let limits = KeyedRateLimit::per_minute(1, 2);
    assert!(limits.check(&"busy").is_ok());
    // Looked at, never used: its bucket is full.
    assert!(limits.peek(&"idle").is_ok());
    assert!(limits.check(&"new").is_ok());
    assert_eq!(keys(&limits), ["busy", "new"]);
    // The busy key is remembered, and still refused.
    assert!(limits.check(&"busy").is_err());
}

#[test]
fn when_every_bucket_is_in_use_the_fullest_is_forgotten() {
    let limits = KeyedRateLimit::per_minute(2, 2);
    assert!(limits.check(&"half").is_ok());
    assert!(limits.check(&"empty").is_ok());
    assert!(limits.check(&"empty").is_ok());
    assert!(limits.check(&"new").is_ok());
    // Forgetting "half" only hands it a full bucket again; "empty" stays empty.
    assert_eq!(keys(&limits), ["empty", "new"]);
    assert!(limits.check(&"empty").is_err());
}
