//! Uploads must keep moving. An upload may take long (a large file over a slow Tor
//! circuit), so it has no total deadline, and the idle timeout restarts with every
//! byte; without more, one client trickling a byte a second into every upload slot
//! would shut the drop-box. So an upload must also average a minimum rate over each
//! window (`limits.min_upload_bytes_per_second` over `limits.upload_rate_window_seconds`):
//! one that falls below it is cut off and its slot freed.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body::Frame;

use super::AppState;

/// What the multipart reader sees when an upload is cut off for being too slow.
pub(super) const TOO_SLOW: &str = "the upload was slower than the site's minimum rate";

/// Wraps an upload's body so that it fails once it falls below the minimum rate.
pub(super) async fn min_rate(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let window = state.limits.upload_rate_window;
    let per_window = state
        .limits
        .min_upload_bytes_per_second
        .saturating_mul(window.as_secs());
    let (parts, body) = request.into_parts();
    let paced = Paced {
        inner: body,
        window,
        per_window,
        window_start: Instant::now(),
        in_window: 0,
    };
    next.run(Request::from_parts(parts, Body::new(paced))).await
}

/// A body that counts its bytes per window.
struct Paced {
    inner: Body,
    window: Duration,
    per_window: u64,
    window_start: Instant,
    in_window: u64,
}

impl http_body::Body for Paced {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        // Checked whenever data arrives (a trickle keeps arriving); a body that sends
        // nothing at all is ended by the idle timeout instead.
        if this.window_start.elapsed() >= this.window {
            if this.in_window < this.per_window {
                return Poll::Ready(Some(Err(axum::Error::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    TOO_SLOW,
                )))));
            }
            this.window_start = Instant::now();
            this.in_window = 0;
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            this.in_window = this.in_window.saturating_add(data.len() as u64);
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
