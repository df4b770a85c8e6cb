//! The floor for the desk's first `team list`: download every event of a server's feed
//! and decrypt each one with the member's identity on every core, and nothing else (no
//! parsing of what is inside, no signatures, no cache). `deploy/bench/desk.sh` runs it
//! beside `agedrop team list` against the same server.
//!
//!     cargo bench --bench feed -- SERVER IDENTITY
//!
//! Prints one line: `feed: N events, download S s, decrypt S s (T threads)`.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use agedrop::crypto::{self, Sealed};
use agedrop::team::{Identities, TeamClient};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [server, identity] = args.as_slice() else {
        anyhow::bail!("usage: cargo bench --bench feed -- SERVER IDENTITY");
    };
    let identities = Identities::load(Path::new(identity))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let events = runtime.block_on(async {
        let client = TeamClient::login(server, &identities).await?;
        let mut events = Vec::new();
        let mut cursor = 0;
        loop {
            let page = client.feed(cursor).await?;
            if page.items.is_empty() {
                break;
            }
            cursor = page.next;
            for item in page.items {
                let bytes = agedrop::api::decode(&item.sealed)
                    .ok_or_else(|| anyhow::anyhow!("an event is not base64"))?;
                events.push(Sealed::parse(bytes)?);
            }
        }
        anyhow::Ok(events)
    })?;
    let download = started.elapsed();

    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicUsize::new(0);
    let opened = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let ids = identities.as_refs();
                while let Some(sealed) = events.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if crypto::open(&ids, sealed).is_ok() {
                        opened.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let decrypt = started.elapsed();
    println!(
        "feed: {} events ({} opened), download {:.2} s, decrypt {:.2} s ({threads} threads)",
        events.len(),
        opened.into_inner(),
        download.as_secs_f64(),
        decrypt.as_secs_f64()
    );
    Ok(())
}
