//! Non-blocking TCP (optionally TLS) exposed as tokio's `AsyncRead`/`AsyncWrite` for a
//! busy-polled owner: `WouldBlock` becomes `Pending` and no waker is registered.

use std::io::{self, Read, Write};
use std::net::ToSocketAddrs;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Endpoint, TransportError};

/// Bytes one read takes from the socket at most.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// A non-blocking TCP socket, connecting in the background.
pub struct PollTcp {
    socket: mio::net::TcpStream,
    connected: bool,
    /// Zeroed once per connection. Reading into the caller's `ReadBuf` needs it initialised
    /// first, and callers (fastwebsockets, through tokio's `read_buf`) hand a fresh, uninitialised
    /// view of their spare capacity on every poll: zeroing it cost a memset of the whole spare
    /// capacity per poll, about a tenth of a busy-polling gateway thread's time. Reading here and
    /// copying what arrived costs a copy of the bytes read, only when some did.
    scratch: Box<[u8]>,
}

impl PollTcp {
    fn check_connected(&mut self) -> Poll<io::Result<()>> {
        if self.connected {
            return Poll::Ready(Ok(()));
        }
        if let Some(error) = self.socket.take_error()? {
            return Poll::Ready(Err(error));
        }
        match self.socket.peer_addr() {
            Ok(_) => {
                self.connected = true;
                let _ = self.socket.set_nodelay(true);
                Poll::Ready(Ok(()))
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

fn pending_on_would_block<T>(result: io::Result<T>) -> Poll<io::Result<T>> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Pending,
        other => Poll::Ready(other),
    }
}

impl AsyncRead for PollTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(Err(e)) = this.check_connected() {
            return Poll::Ready(Err(e));
        }
        let want = buf.remaining().min(this.scratch.len());
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        match pending_on_would_block(this.socket.read(&mut this.scratch[..want])) {
            Poll::Ready(Ok(n)) => {
                buf.put_slice(&this.scratch[..n]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for PollTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.check_connected() {
            Poll::Ready(Ok(())) => pending_on_would_block(this.socket.write(data)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pending_on_would_block(self.get_mut().socket.flush())
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let _ = self.get_mut().socket.shutdown(std::net::Shutdown::Write);
        Poll::Ready(Ok(()))
    }
}

/// A plain or TLS connection.
pub enum Stream {
    Plain(PollTcp),
    Tls(Box<tokio_rustls::client::TlsStream<PollTcp>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, data),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A TLS client config trusting the Mozilla root set (webpki-roots) plus `extra_roots_der`
/// (e.g. a simulator's self-signed certificate).
///
/// # Errors
/// [`TransportError::Tls`] if a certificate is not valid DER.
pub fn tls_config(
    extra_roots_der: &[Vec<u8>],
) -> Result<Arc<rustls::ClientConfig>, TransportError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra_roots_der {
        roots.add(CertificateDer::from(der.clone())).map_err(|e| TransportError::Tls {
            endpoint: "root store".to_string(),
            message: e.to_string(),
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Tls {
            endpoint: "config".to_string(),
            message: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Opens a TCP connection (and TLS when the endpoint says so) without blocking the thread.
///
/// # Errors
/// Resolution, connection or TLS failure.
pub async fn connect(
    endpoint: &Endpoint,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Stream, TransportError> {
    let name = endpoint.authority();
    let io_err = |source| TransportError::Io { endpoint: name.clone(), source };
    let address = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()
        .map_err(io_err)?
        .next()
        .ok_or_else(|| TransportError::Url(name.clone()))?;
    let socket = mio::net::TcpStream::connect(address).map_err(io_err)?;
    let mut tcp =
        PollTcp { socket, connected: false, scratch: vec![0; READ_CHUNK_BYTES].into_boxed_slice() };
    std::future::poll_fn(|_| tcp.check_connected()).await.map_err(io_err)?;
    if !endpoint.tls {
        return Ok(Stream::Plain(tcp));
    }
    let config = tls.ok_or_else(|| TransportError::Tls {
        endpoint: name.clone(),
        message: "no TLS config".into(),
    })?;
    let server = ServerName::try_from(endpoint.host.clone())
        .map_err(|e| TransportError::Tls { endpoint: name.clone(), message: e.to_string() })?;
    let stream = tokio_rustls::TlsConnector::from(Arc::clone(config))
        .connect(server, tcp)
        .await
        .map_err(|e| TransportError::Tls { endpoint: name.clone(), message: e.to_string() })?;
    Ok(Stream::Tls(Box::new(stream)))
}
