//! Uploads must keep moving. An upload may take long (a large file over a slow Tor
//! circuit), so it has no total deadline, and the idle timeout restarts with every
//! byte; without more, one client trickling a byte a second into every upload slot
//! would shut the drop-box. So an upload must also average a minimum rate over each
//! window (`limits.min_upload_bytes_per_second` over `limits.upload_rate_window_seconds`):
//! one that falls below it is cut off and its slot freed.
//!
//! A client can still hold every slot just above the minimum (32 slots at 2 KiB/s is
//! only 64 KiB/s). So when an upload finds every slot taken, the slowest upload running
//! below [`FAIR_FACTOR`] times the minimum is cut off to make room ([`Uploads`]).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body::Frame;

use super::AppState;

/// What the multipart reader sees when an upload is cut off for being too slow.
pub(super) const TOO_SLOW: &str = "the upload was slower than the site's minimum rate";

/// When every slot is taken, an upload slower than this many times the minimum rate may
/// be cut off to make room.
pub(super) const FAIR_FACTOR: u64 = 8;

/// How long an upload runs before its rate is judged for making room.
const SETTLE: Duration = Duration::from_secs(5);

/// One upload in flight, as [`Uploads`] sees it.
struct Live {
    started: Instant,
    bytes: Arc<AtomicU64>,
    evict: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

/// Every upload in flight: how far each has come, and a way to cut one off.
#[derive(Default)]
pub(super) struct Uploads {
    live: Mutex<HashMap<u64, Live>>,
    next: AtomicU64,
}

impl Uploads {
    /// Cuts off the slowest upload averaging below `rate` bytes a second (after a few
    /// seconds to settle); whether there was one.
    pub(super) fn evict_slowest(&self, rate: u64) -> bool {
        let live = crate::lock(&self.live);
        let slowest = live
            .values()
            .filter(|l| !l.evict.load(Ordering::SeqCst) && l.started.elapsed() >= SETTLE)
            .map(|l| {
                let rate =
                    l.bytes.load(Ordering::SeqCst) as f64 / l.started.elapsed().as_secs_f64();
                (rate, l)
            })
            .filter(|(r, _)| *r < rate as f64)
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let Some((_, upload)) = slowest else {
            return false;
        };
        upload.evict.store(true, Ordering::SeqCst);
        if let Some(waker) = crate::lock(&upload.waker).take() {
            waker.wake();
        }
        true
    }
}

/// Wraps an upload's body so that it fails once it falls below the minimum rate.
pub(super) async fn min_rate(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let window = state.limits.upload_rate_window_seconds.duration();
    let per_window = state
        .limits
        .min_upload_bytes_per_second
        .get()
        .saturating_mul(window.as_secs());
    let (parts, body) = request.into_parts();
    let id = state.live_uploads.next.fetch_add(1, Ordering::SeqCst);
    let live = Live {
        started: Instant::now(),
        bytes: Arc::new(AtomicU64::new(0)),
        evict: Arc::new(AtomicBool::new(false)),
        waker: Arc::new(Mutex::new(None)),
    };
    let paced = Paced {
        inner: body,
        window,
        per_window,
        window_start: Instant::now(),
        in_window: 0,
        total: live.bytes.clone(),
        evict: live.evict.clone(),
        waker: live.waker.clone(),
    };
    crate::lock(&state.live_uploads.live).insert(id, live);
    let response = next.run(Request::from_parts(parts, Body::new(paced))).await;
    crate::lock(&state.live_uploads.live).remove(&id);
    response
}

/// A body that counts its bytes per window, and can be cut off to make room.
struct Paced {
    inner: Body,
    window: Duration,
    per_window: u64,
    window_start: Instant,
    in_window: u64,
    total: Arc<AtomicU64>,
    evict: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

fn too_slow() -> axum::Error {
    axum::Error::new(std::io::Error::new(std::io::ErrorKind::TimedOut, TOO_SLOW))
}

impl http_body::Body for Paced {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.evict.load(Ordering::SeqCst) {
            return Poll::Ready(Some(Err(too_slow())));
        }
        // Checked whenever data arrives (a trickle keeps arriving); a body that sends
        // nothing at all is ended by the idle timeout instead.
        if this.window_start.elapsed() >= this.window {
            if this.in_window < this.per_window {
                return Poll::Ready(Some(Err(too_slow())));
            }
            this.window_start = Instant::now();
            this.in_window = 0;
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.in_window = this.in_window.saturating_add(data.len() as u64);
                    this.total.fetch_add(data.len() as u64, Ordering::SeqCst);
                }
            }
            // Waiting for the client: keep the waker, so that cutting this upload off
            // to make room takes effect at once.
            Poll::Pending => *crate::lock(&this.waker) = Some(cx.waker().clone()),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
