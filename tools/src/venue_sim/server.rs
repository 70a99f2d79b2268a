//! The simulators' accept path: TLS (optional), then either a REST GET or a websocket upgrade on
//! the same port, as the venues' own hosts do.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

use super::Faults;
use hedger_gateways::ws::http::header;

/// One websocket message fanned out to subscribers.
#[derive(Debug)]
pub struct WsOut {
    /// Stream name the message belongs to (e.g. `btcusdt@depth@100ms`).
    pub stream: String,
    pub text: String,
    /// Whether it is a book update (subject to the drop/gap faults at the source).
    pub is_book: bool,
}

impl super::StreamKeyed for WsOut {
    fn stream_key(&self) -> &str {
        &self.stream
    }
}

/// What a venue simulator serves.
pub trait SimVenue: Send + Sync + 'static {
    /// Answers a REST GET: status and JSON body.
    fn rest(&self, target: &str) -> (u16, String);
    /// For a websocket upgrade to `target`: the stream names to forward, or None to refuse.
    fn streams_for(&self, target: &str) -> Option<Vec<String>>;
    /// Wraps a message for a connection (`{"stream":…,"data":…}` for combined streams).
    fn frame_text(&self, target: &str, out: &WsOut) -> String;
}

/// A simulator connection: TLS or plain TCP.
pub(crate) trait IoStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> IoStream for T {}

/// Completes the TLS handshake when the simulator serves TLS; `None` if it fails.
pub(crate) async fn accept_stream(
    tcp: tokio::net::TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Option<Box<dyn IoStream>> {
    let _ = tcp.set_nodelay(true);
    match tls {
        Some(acceptor) => acceptor.accept(tcp).await.ok().map(|s| Box::new(s) as Box<dyn IoStream>),
        None => Some(Box::new(tcp)),
    }
}

/// The head of a JSON response of `body_len` bytes (`status`: e.g. `200 OK`); the connection
/// closes after it.
pub(crate) fn json_head(status: &str, body_len: usize) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {body_len}\r\nConnection: close\r\n\r\n")
}

/// The `101 Switching Protocols` answer to a websocket upgrade with `key`.
pub(crate) fn upgrade_head(key: &str) -> String {
    let accept = hedger_gateways::ws::http::accept_key(key);
    format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n")
}

/// A simulator's own thread running its single-threaded tokio runtime; dropping it stops the
/// runtime's work and joins the thread.
pub struct SimThread {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimThread {
    /// Runs `work` on `runtime` on a new thread named `name` (pinned to `pin_cpu` if given)
    /// until the work ends or the handle is dropped.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub fn spawn<F>(
        name: &str,
        pin_cpu: Option<usize>,
        runtime: tokio::runtime::Runtime,
        work: F,
    ) -> std::io::Result<SimThread>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name(name.into()).spawn(move || {
            if let Some(cpu) = pin_cpu {
                crate::bench::pin::pin_current(cpu);
            }
            runtime.block_on(async move {
                tokio::select! {
                    _ = work => {}
                    _ = shutdown_rx => {}
                }
            });
        })?;
        Ok(SimThread { shutdown: Some(shutdown_tx), thread: Some(thread) })
    }
}

impl Drop for SimThread {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Builds a TLS acceptor for the simulator certificate.
///
/// # Errors
/// rustls refuses the key or certificate.
pub fn tls_acceptor(cert: &super::SimCert) -> Result<tokio_rustls::TlsAcceptor, rustls::Error> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_der.clone()));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert.cert_der.clone())], key)?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections until the runtime stops.
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    venue: Arc<dyn SimVenue>,
    feed: broadcast::Sender<Arc<WsOut>>,
    faults: Arc<Faults>,
) {
    loop {
        let Ok((tcp, _peer)) = listener.accept().await else { continue };
        let (tls, venue, feed, faults) =
            (tls.clone(), Arc::clone(&venue), feed.clone(), Arc::clone(&faults));
        tokio::spawn(async move {
            let Some(stream) = accept_stream(tcp, tls).await else { return };
            connection(stream, venue, feed, faults).await;
        });
    }
}

pub(crate) async fn read_head<S: AsyncRead + Unpin + ?Sized>(stream: &mut S) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 || buf.len() > 16 * 1024 {
            return None;
        }
        buf.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

async fn connection(
    mut stream: Box<dyn IoStream>,
    venue: Arc<dyn SimVenue>,
    feed: broadcast::Sender<Arc<WsOut>>,
    faults: Arc<Faults>,
) {
    let Some(head) = read_head(&mut stream).await else { return };
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let upgrade = header(&head, "upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        let (status, body) = venue.rest(&target);
        let reason = if status == 200 { "OK" } else { "Error" };
        let response = json_head(&format!("{status} {reason}"), body.len()) + &body;
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        return;
    }
    let (Some(key), Some(streams)) =
        (header(&head, "sec-websocket-key"), venue.streams_for(&target))
    else {
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
        return;
    };
    if stream.write_all(upgrade_head(key).as_bytes()).await.is_err() {
        return;
    }
    let rx = feed.subscribe();
    let ws = WebSocket::after_handshake(stream, Role::Server);
    forward(ws, rx, &target, &streams, venue.as_ref(), &faults).await;
}

async fn forward(
    mut ws: WebSocket<Box<dyn IoStream>>,
    mut rx: broadcast::Receiver<Arc<WsOut>>,
    target: &str,
    streams: &[String],
    venue: &dyn SimVenue,
    faults: &Faults,
) {
    let generation = faults.disconnect_generation.load(Ordering::Acquire);
    loop {
        let next = tokio::time::timeout(Duration::from_millis(20), rx.recv()).await;
        if faults.disconnect_generation.load(Ordering::Acquire) != generation {
            let _ = ws.write_frame(Frame::close(1001, b"simulated disconnect")).await;
            return;
        }
        let out = match next {
            Err(_) => continue,
            Ok(Ok(out)) => out,
            // A subscriber that falls behind is cut off, as real venues do.
            Ok(Err(_)) => return,
        };
        if faults.stalled.load(Ordering::Acquire) || !streams.iter().any(|s| *s == out.stream) {
            continue;
        }
        let delay_us = faults.latency_us.load(Ordering::Acquire);
        if delay_us > 0 {
            tokio::time::sleep(Duration::from_micros(delay_us)).await;
        }
        let text = venue.frame_text(target, &out);
        let frame = Frame::new(true, OpCode::Text, None, Payload::Owned(text.into_bytes()));
        if ws.write_frame(frame).await.is_err() {
            return;
        }
    }
}

/// Binds `addr` (port 0 = ephemeral).
///
/// # Errors
/// The address is taken or not local.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
