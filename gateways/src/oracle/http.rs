//! A minimal HTTP/1.1 client for the oracle gateways: one request per connection (REST polls) or
//! one long response (SSE), over plain TCP or TLS (rustls), read without blocking.
//!
//! Why not a crate: the oracle gateways need GET with two headers, `Content-Length`, chunked
//! bodies and an endless SSE body, read from a non-blocking socket inside an [`Agent`] loop.
//! Blocking clients (ureq) would stall the oracle thread, async ones (reqwest/hyper) would bring a
//! runtime into a pinned-thread design; the subset needed is ~250 lines and fully tested here.
//! TLS: `https://` URLs get a rustls client (ring provider, Mozilla roots from webpki-roots plus
//! any configured extra root, e.g. a simulator's self-signed certificate). The handshake is done
//! blocking within the connect timeout, then the socket turns non-blocking like a plain one;
//! [`HttpStream`] hides the difference from the readers.
//!
//! Promises: the connect waits at most `connect_timeout`; after it every read is non-blocking; a
//! response head or body larger than its limit is an error (never unbounded growth); malformed
//! input is a typed [`HttpError`], never a panic.
//!
//! [`Agent`]: hedger_ipc::runtime::Agent

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Largest response head accepted.
pub const HEAD_BYTES_MAX: usize = 16 * 1024;

/// Why an HTTP exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("URL {url:?}: {reason}")]
    Url { url: String, reason: &'static str },
    #[error("connect to {addr}: {kind:?}")]
    Connect { addr: String, kind: ErrorKind },
    #[error("I/O: {kind:?}")]
    Io { kind: ErrorKind },
    #[error("malformed response: {reason}")]
    Malformed { reason: &'static str },
    #[error("response exceeds {limit_bytes} bytes")]
    TooLarge { limit_bytes: usize },
    #[error("HTTP status {status}")]
    Status { status: u16 },
    #[error("connection closed")]
    Closed,
    #[error("TLS with {host}: {message}")]
    Tls { host: String, message: String },
}

/// A connected stream, plain or TLS.
#[derive(Debug)]
pub enum HttpStream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl HttpStream {
    fn tcp(&self) -> &TcpStream {
        match self {
            HttpStream::Plain(tcp) => tcp,
            HttpStream::Tls(tls) => &tls.sock,
        }
    }
}

impl Read for HttpStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            HttpStream::Plain(tcp) => tcp.read(buf),
            // A peer that closes without close_notify ends the response like a plain EOF;
            // framing (length, chunks) still decides whether the body was complete.
            HttpStream::Tls(tls) => match tls.read(buf) {
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for HttpStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            HttpStream::Plain(tcp) => tcp.write(buf),
            HttpStream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            HttpStream::Plain(tcp) => tcp.flush(),
            HttpStream::Tls(tls) => tls.flush(),
        }
    }
}

/// A parsed `http(s)://host:port/prefix` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port` for the Host header and the connection.
    pub authority: String,
    /// The host alone (TLS server name).
    pub host: String,
    /// Path prefix without a trailing `/` (empty for the root).
    pub prefix: String,
    /// `https://`.
    pub tls: bool,
}

impl HttpUrl {
    /// Parses an `http://` (port 80 by default) or `https://` (443) URL.
    ///
    /// # Errors
    /// [`HttpError::Url`] for another scheme, an empty host or a query.
    pub fn parse(url: &str) -> Result<HttpUrl, HttpError> {
        let err = |reason| HttpError::Url { url: url.to_owned(), reason };
        let (rest, tls) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
            (Some(rest), _) => (rest, true),
            (None, Some(rest)) => (rest, false),
            (None, None) => return Err(err("scheme must be http:// or https://")),
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() || path.contains('?') || path.contains('#') {
            return Err(err("needs a host and no query"));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, authority) = match authority.rsplit_once(':') {
            Some((host, _port)) => (host.to_owned(), authority.to_owned()),
            None => (authority.to_owned(), format!("{authority}:{default_port}")),
        };
        if host.is_empty() {
            return Err(err("needs a host and no query"));
        }
        Ok(HttpUrl { authority, host, prefix: path.trim_end_matches('/').to_owned(), tls })
    }

    /// Resolves and connects (and, for `https`, completes the TLS handshake with `tls`), waiting
    /// at most `timeout` for each; the stream is then ready for [`send`].
    ///
    /// # Errors
    /// [`HttpError::Connect`], or [`HttpError::Tls`] (also for an `https` URL without `tls`).
    pub fn connect(
        &self,
        timeout: Duration,
        tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    ) -> Result<HttpStream, HttpError> {
        let connect_err = |kind| HttpError::Connect { addr: self.authority.clone(), kind };
        let addrs: Vec<SocketAddr> =
            self.authority.to_socket_addrs().map_err(|e| connect_err(e.kind()))?.collect();
        let addr = addrs.first().ok_or_else(|| connect_err(ErrorKind::NotFound))?;
        let mut stream =
            TcpStream::connect_timeout(addr, timeout).map_err(|e| connect_err(e.kind()))?;
        let _ = stream.set_nodelay(true);
        if !self.tls {
            return Ok(HttpStream::Plain(stream));
        }
        let tls_err = |message: String| HttpError::Tls { host: self.host.clone(), message };
        let config = tls.ok_or_else(|| tls_err("no TLS client config".to_owned()))?;
        let name = rustls::pki_types::ServerName::try_from(self.host.clone())
            .map_err(|e| tls_err(e.to_string()))?;
        let mut conn = rustls::ClientConnection::new(std::sync::Arc::clone(config), name)
            .map_err(|e| tls_err(e.to_string()))?;
        let io = |e: std::io::Error| tls_err(e.to_string());
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        stream.set_write_timeout(Some(timeout)).map_err(io)?;
        while conn.is_handshaking() {
            conn.complete_io(&mut stream).map_err(io)?;
        }
        Ok(HttpStream::Tls(Box::new(rustls::StreamOwned::new(conn, stream))))
    }
}

/// The bytes of a GET request. `headers` are extra `(name, value)` pairs.
pub fn get_request(url: &HttpUrl, path_and_query: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut text = format!(
        "GET {}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: hedger\r\nAccept-Encoding: identity\r\n",
        url.prefix, path_and_query, url.authority
    );
    for (name, value) in headers {
        text.push_str(name);
        text.push_str(": ");
        text.push_str(value);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// Writes a request on a connected stream (blocking, bounded by `timeout`), then makes the
/// stream non-blocking for the reads.
///
/// # Errors
/// [`HttpError::Io`].
pub fn send(stream: &mut HttpStream, request: &[u8], timeout: Duration) -> Result<(), HttpError> {
    let io = |e: std::io::Error| HttpError::Io { kind: e.kind() };
    stream.tcp().set_write_timeout(Some(timeout)).map_err(io)?;
    stream.write_all(request).map_err(io)?;
    stream.flush().map_err(io)?;
    stream.tcp().set_nonblocking(true).map_err(io)
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    Length(usize),
    Chunked,
    UntilClose,
}

/// A parsed response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub framing: BodyFraming,
    /// Bytes of the head including the blank line.
    pub head_bytes: usize,
}

/// Parses a response head from the start of `buf`; `Ok(None)` until the blank line arrives.
///
/// # Errors
/// [`HttpError::Malformed`] or [`HttpError::TooLarge`].
pub fn parse_head(buf: &[u8]) -> Result<Option<ResponseHead>, HttpError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > HEAD_BYTES_MAX {
            return Err(HttpError::TooLarge { limit_bytes: HEAD_BYTES_MAX });
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end])
        .map_err(|_| HttpError::Malformed { reason: "head is not UTF-8" })?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed { reason: "not an HTTP/1.x status line" });
    }
    let status = parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or(HttpError::Malformed { reason: "bad status code" })?;
    let mut framing = BodyFraming::UntilClose;
    for line in lines {
        let (name, value) =
            line.split_once(':').ok_or(HttpError::Malformed { reason: "header without colon" })?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            framing = BodyFraming::Chunked;
        } else if name.eq_ignore_ascii_case("content-length") && framing != BodyFraming::Chunked {
            let length = value
                .parse::<usize>()
                .map_err(|_| HttpError::Malformed { reason: "bad content-length" })?;
            framing = BodyFraming::Length(length);
        }
    }
    Ok(Some(ResponseHead { status, framing, head_bytes: end + 4 }))
}

/// Moves every complete chunk of `raw` into `out`; returns `true` after the terminal chunk.
///
/// # Errors
/// [`HttpError::Malformed`] for a bad chunk size line or missing CRLF.
pub fn dechunk(raw: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<bool, HttpError> {
    let mut consumed = 0;
    let result = loop {
        let rest = &raw[consumed..];
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else { break Ok(false) };
        let size_text = std::str::from_utf8(&rest[..line_end])
            .map_err(|_| HttpError::Malformed { reason: "chunk size is not text" })?;
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| HttpError::Malformed { reason: "bad chunk size" })?;
        let data_start = line_end + 2;
        if size == 0 {
            // Terminal chunk; trailers are not used by the servers we talk to.
            consumed += data_start;
            break Ok(true);
        }
        let needed = data_start.checked_add(size).and_then(|n| n.checked_add(2));
        let Some(needed) = needed.filter(|n| *n <= rest.len()) else { break Ok(false) };
        if &rest[needed - 2..needed] != b"\r\n" {
            break Err(HttpError::Malformed { reason: "chunk not followed by CRLF" });
        }
        out.extend_from_slice(&rest[data_start..data_start + size]);
        consumed += needed;
    };
    raw.drain(..consumed);
    result
}

/// Reads what is available from a non-blocking stream into `buf`, at most up to `limit_bytes`
/// in total. Returns the bytes read (0: nothing available) or `Closed` at EOF.
///
/// # Errors
/// [`HttpError::Closed`], [`HttpError::TooLarge`], [`HttpError::Io`].
pub fn read_available(
    stream: &mut impl Read,
    buf: &mut Vec<u8>,
    limit_bytes: usize,
) -> Result<usize, HttpError> {
    let mut chunk = [0u8; 16 * 1024];
    let mut total = 0;
    loop {
        match stream.read(&mut chunk) {
            Ok(0) if total == 0 => return Err(HttpError::Closed),
            Ok(0) => return Ok(total),
            Ok(n) => {
                if buf.len() + n > limit_bytes {
                    return Err(HttpError::TooLarge { limit_bytes });
                }
                buf.extend_from_slice(&chunk[..n]);
                total += n;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(total),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(HttpError::Io { kind: e.kind() }),
        }
    }
}

/// Body assembly for one response: feed it raw bytes, take complete body bytes out.
#[derive(Debug, Default)]
pub struct ResponseReader {
    raw: Vec<u8>,
    head: Option<ResponseHead>,
    /// Decoded body bytes not yet taken.
    pub body: Vec<u8>,
    body_received: usize,
    finished: bool,
}

impl ResponseReader {
    /// Starts a new response.
    pub fn reset(&mut self) {
        self.raw.clear();
        self.head = None;
        self.body.clear();
        self.body_received = 0;
        self.finished = false;
    }

    /// The head, once parsed.
    pub fn head(&self) -> Option<ResponseHead> {
        self.head
    }

    /// True when the body is complete (length reached or terminal chunk).
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Accepts raw bytes; parses the head, then decodes the body into `self.body`.
    ///
    /// # Errors
    /// [`HttpError`] for a malformed head or chunk.
    pub fn accept(&mut self, bytes: &[u8]) -> Result<(), HttpError> {
        self.raw.extend_from_slice(bytes);
        if self.head.is_none() {
            let Some(head) = parse_head(&self.raw)? else { return Ok(()) };
            self.raw.drain(..head.head_bytes);
            self.head = Some(head);
        }
        match self.head.map(|h| h.framing) {
            Some(BodyFraming::Chunked) => {
                self.finished = dechunk(&mut self.raw, &mut self.body)?;
            }
            Some(BodyFraming::Length(length)) => {
                let take = self.raw.len().min(length.saturating_sub(self.body_received));
                self.body.extend(self.raw.drain(..take));
                self.body_received += take;
                self.finished = self.body_received >= length;
            }
            Some(BodyFraming::UntilClose) => self.body.append(&mut self.raw),
            None => {}
        }
        Ok(())
    }

    /// Marks EOF: completes an until-close body.
    pub fn on_close(&mut self) {
        if matches!(self.head.map(|h| h.framing), Some(BodyFraming::UntilClose)) {
            self.finished = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_their_scheme_default_ports() {
        let url = HttpUrl::parse("http://127.0.0.1:8080/hermes/").unwrap();
        assert_eq!((url.authority.as_str(), url.prefix.as_str()), ("127.0.0.1:8080", "/hermes"));
        assert_eq!(HttpUrl::parse("http://localhost").unwrap().authority, "localhost:80");
        let https = HttpUrl::parse("https://hermes.pyth.network/").unwrap();
        assert_eq!(https.authority, "hermes.pyth.network:443");
        assert_eq!((https.host.as_str(), https.tls, url.tls), ("hermes.pyth.network", true, false));
        assert!(HttpUrl::parse("https://:443/x").is_err());
        assert!(HttpUrl::parse("ftp://x").is_err());
        assert!(HttpUrl::parse("http:///x").is_err());
        let request =
            String::from_utf8(get_request(&url, "/a?b=1", &[("X-Api-Key", "k")])).unwrap();
        assert!(request.starts_with("GET /hermes/a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert!(request.ends_with("X-Api-Key: k\r\n\r\n"));
    }

    #[test]
    fn heads_parse_with_each_framing() {
        let head =
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap().unwrap();
        assert_eq!((head.status, head.framing, head.head_bytes), (200, BodyFraming::Length(5), 38));
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        assert_eq!(parse_head(chunked).unwrap().unwrap().framing, BodyFraming::Chunked);
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\n").unwrap(), None);
        assert!(parse_head(b"SPDY 200\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 abc\r\n\r\n").is_err());
        assert!(parse_head(&[b'a'; HEAD_BYTES_MAX + 1]).is_err());
    }

    #[test]
    fn chunks_decode_incrementally() {
        let mut reader = ResponseReader::default();
        reader.accept(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel").unwrap();
        assert_eq!(reader.body, b"");
        reader.accept(b"lo\r\n3;x=y\r\nabc\r\n").unwrap();
        assert_eq!(reader.body, b"helloabc");
        assert!(!reader.finished());
        reader.accept(b"0\r\n\r\n").unwrap();
        assert!(reader.finished());
        let mut bad = ResponseReader::default();
        bad.accept(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert!(bad.accept(b"zz\r\n").is_err());
        let mut no_crlf = ResponseReader::default();
        no_crlf.accept(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert!(no_crlf.accept(b"1\r\nabc").is_err());
    }

    #[test]
    fn length_and_until_close_bodies_complete() {
        let mut reader = ResponseReader::default();
        reader.accept(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab").unwrap();
        assert!(!reader.finished());
        reader.accept(b"cdEXTRA").unwrap();
        assert_eq!((reader.body.as_slice(), reader.finished()), (&b"abcd"[..], true));
        let mut stream = ResponseReader::default();
        stream.accept(b"HTTP/1.1 200 OK\r\n\r\ndata: x\n\n").unwrap();
        assert_eq!(stream.body, b"data: x\n\n");
        stream.on_close();
        assert!(stream.finished());
    }
}
