//! Websocket and HTTP transport for venue gateways, driven by busy polling.
//!
//! Why this shape: fastwebsockets and tokio-rustls are async, and a gateway thread must not park
//! in an executor. Each connection is one boxed future owning its socket, TLS session, parser and
//! ring producer; the gateway thread polls every connection's future once per loop with a no-op
//! waker ([`poll_once`]). Sockets are non-blocking (`mio` for a non-blocking connect): a read with
//! no data returns `Pending` without registering a waker, which is fine because the loop polls
//! again at once. Nothing parks, several venues share a thread, and the cost of "no data" is one
//! failed `read` syscall per connection per loop (the readiness check `epoll` would need anyway).
//!
//! fastwebsockets' `read_frame` is not cancel-safe (it consumes header bytes before awaiting
//! the rest), which is why the future is kept alive across polls instead of being re-created.
//!
//! The websocket opening handshake and the HTTP GET are written here (RFC 6455 §4.1, HTTP/1.1)
//! instead of pulling in hyper for two requests.

pub mod http;
pub mod stream;
pub mod url;

pub use stream::{connect, tls_config, Stream};
pub use url::Endpoint;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Polls a future once without a waker: the caller re-polls on its next loop.
pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    future.poll(&mut cx)
}

/// Drives a future to completion on this thread, yielding between polls (for one-off sequences
/// outside a gateway loop, such as `hedger record`'s instruments fetch).
pub fn spin_until_ready<F: Future + ?Sized>(mut future: Pin<&mut F>) -> F::Output {
    loop {
        if let Poll::Ready(out) = poll_once(future.as_mut()) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// A future that completes at `deadline` (busy-poll timer; no reactor needed).
pub struct SleepUntil(pub Instant);

impl Future for SleepUntil {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Yields once: lets the thread's other connections run inside a long async sequence.
pub struct YieldNow(pub bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

/// Transport failures; all are retryable by reconnecting.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("bad url {0:?}")]
    Url(String),
    #[error("{endpoint}: {source}")]
    Io { endpoint: String, source: std::io::Error },
    #[error("{endpoint}: TLS: {message}")]
    Tls { endpoint: String, message: String },
    #[error("{endpoint}: handshake refused: {detail}")]
    Handshake { endpoint: String, detail: String },
    #[error("{endpoint}: HTTP {status}")]
    HttpStatus { endpoint: String, status: u16 },
    #[error("{endpoint}: websocket: {message}")]
    WebSocket { endpoint: String, message: String },
    #[error("{endpoint}: timed out after {timeout_ms} ms")]
    Timeout { endpoint: String, timeout_ms: u64 },
    #[error("{endpoint}: response larger than {max_bytes} bytes")]
    TooLarge { endpoint: String, max_bytes: usize },
}

/// Runs `future`, failing with [`TransportError::Timeout`] if it is not done by `timeout_ms`.
pub async fn with_timeout<T>(
    endpoint: &str,
    timeout_ms: u64,
    future: impl Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    let deadline = Instant::now() + std::time::Duration::from_millis(timeout_ms);
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = future.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        if Instant::now() >= deadline {
            return Poll::Ready(Err(TransportError::Timeout {
                endpoint: endpoint.to_string(),
                timeout_ms,
            }));
        }
        Poll::Pending
    })
    .await
}
