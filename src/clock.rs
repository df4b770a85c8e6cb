//! The one clock: every event time, deadline, expiry and the coarse day the server keeps
//! in the clear are read from here.

/// Seconds since the Unix epoch: the clock every deadline, event time and expiry is
/// read from.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() + clock_offset()
}

/// `AGEDROP_CLOCK_OFFSET` (seconds) moves this process's clock, so that a test can see a
/// promise's deadline pass without waiting for it. Nothing sets it in production; read
/// once.
fn clock_offset() -> i64 {
    static OFFSET: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        std::env::var("AGEDROP_CLOCK_OFFSET")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    })
}

/// Whole days since the Unix epoch, the only time the server keeps in the clear.
pub fn today() -> u32 {
    u32::try_from(now().max(0) / 86_400).unwrap_or(u32::MAX)
}
