//! A tiny HTTP/1.1 server for the simulators: std `TcpListener`, one thread per connection.
//!
//! Why std and not a crate: the simulators serve two GET routes each on loopback and must be
//! able to misbehave on purpose (stall a stream, close early, send raw SSE bytes), which is
//! awkward through a framework and ~100 lines here. Every connection is answered and closed
//! (`Connection: close`), so there is no keep-alive state to get wrong. [`HttpServer::start_tls`]
//! serves the same handlers over TLS (rustls, blocking `StreamOwned`), with a self-signed
//! certificate the clients are configured to trust.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Connections served at once; more are answered 503 and closed.
pub const CONNECTIONS_MAX: usize = 64;
const REQUEST_BYTES_MAX: usize = 16 * 1024;

/// A parsed request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Path without the query.
    pub path: String,
    /// Query pairs, percent-decoded for `%5B`/`%5D`/`%2C` only (all the clients send).
    pub query: Vec<(String, String)>,
    /// Header lines, lower-cased names.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// Values of query key `key`.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// First value of `key`.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn decode(text: &str) -> String {
    text.replace("%5B", "[")
        .replace("%5D", "]")
        .replace("%2C", ",")
        .replace("%5b", "[")
        .replace("%5d", "]")
        .replace("%2c", ",")
}

/// Parses the request head; `None` for anything that is not a GET head.
pub fn parse_request(head: &str) -> Option<Request> {
    let mut lines = head.split("\r\n");
    let mut parts = lines.next()?.split(' ');
    if parts.next()? != "GET" {
        return None;
    }
    let target = parts.next()?;
    let (path, query_text) = target.split_once('?').unwrap_or((target, ""));
    let query = query_text
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Request { path: path.to_owned(), query, headers })
}

/// Writes a complete response with a body.
pub fn respond(stream: &mut dyn Write, status: u16, content_type: &str, body: &[u8]) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        400 => "Bad Request",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// Handles one request on its connection thread.
pub type Handler = Arc<dyn Fn(&Request, &mut dyn Write, &AtomicBool) + Send + Sync>;

/// A rustls server config for `cert`.
///
/// # Errors
/// rustls refuses the key or certificate.
pub fn tls_server_config(
    cert: &crate::venue_sim::SimCert,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_der.clone()));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert.cert_der.clone())], key)?;
    Ok(Arc::new(config))
}

/// A running server.
pub struct HttpServer {
    /// Bound address.
    pub addr: SocketAddr,
    /// Serving TLS.
    pub tls: bool,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `bind:port` (0 = ephemeral) and serves `handler` until dropped.
    ///
    /// # Errors
    /// The bind error.
    pub fn start(bind: &str, port: u16, handler: Handler) -> std::io::Result<HttpServer> {
        HttpServer::start_with(bind, port, handler, None)
    }

    /// As [`HttpServer::start`], over TLS with `tls`.
    ///
    /// # Errors
    /// The bind error.
    pub fn start_tls(
        bind: &str,
        port: u16,
        handler: Handler,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<HttpServer> {
        HttpServer::start_with(bind, port, handler, Some(tls))
    }

    fn start_with(
        bind: &str,
        port: u16,
        handler: Handler,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<HttpServer> {
        let is_tls = tls.is_some();
        let listener = TcpListener::bind((bind, port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let accept_thread = std::thread::Builder::new()
            .name("sim-accept".to_owned())
            .spawn(move || accept_loop(&listener, &handler, &thread_stop, tls.as_ref()))?;
        Ok(HttpServer { addr, tls: is_tls, stop, accept_thread: Some(accept_thread) })
    }

    /// `http://addr` or `https://addr`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(handle) = self.accept_thread.take() {
            let _ = handle.join();
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    handler: &Handler,
    stop: &Arc<AtomicBool>,
    tls: Option<&Arc<rustls::ServerConfig>>,
) {
    let active = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Acquire) {
        let Ok((mut stream, _)) = listener.accept() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        if active.load(Ordering::Acquire) >= CONNECTIONS_MAX {
            respond(&mut stream, 503, "text/plain", b"too many connections");
            continue;
        }
        active.fetch_add(1, Ordering::AcqRel);
        let (handler, stop, active) = (Arc::clone(handler), Arc::clone(stop), Arc::clone(&active));
        let tls = tls.cloned();
        let spawned = std::thread::Builder::new().name("sim-conn".to_owned()).spawn(move || {
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.set_nodelay(true);
            match tls.map(rustls::ServerConnection::new) {
                None => serve(&mut stream, &handler, &stop),
                Some(Ok(conn)) => {
                    let mut tls_stream = rustls::StreamOwned::new(conn, stream);
                    serve(&mut tls_stream, &handler, &stop);
                    tls_stream.conn.send_close_notify();
                    let _ = tls_stream.flush();
                }
                Some(Err(_)) => {}
            }
            active.fetch_sub(1, Ordering::AcqRel);
        });
        if spawned.is_err() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn serve<S: Read + Write>(stream: &mut S, handler: &Handler, stop: &AtomicBool) {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) if buf.len() + n > REQUEST_BYTES_MAX => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    match parse_request(head.split("\r\n\r\n").next().unwrap_or("")) {
        Some(request) => handler(&request, stream, stop),
        None => respond(stream, 400, "text/plain", b"bad request"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_with_bracketed_and_encoded_keys() {
        let request =
            parse_request("GET /a/b?ids[]=x&ids%5B%5D=y&f=A%2CB HTTP/1.1\r\nX-Api-Key: k").unwrap();
        assert_eq!(request.path, "/a/b");
        assert_eq!(request.all("ids[]").collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(request.first("f"), Some("A,B"));
        assert_eq!(request.headers, [("x-api-key".to_owned(), "k".to_owned())]);
        assert!(parse_request("POST / HTTP/1.1").is_none());
    }
}
