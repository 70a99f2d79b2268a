//! A tiny HTTP/1.1 server for the simulators: std `TcpListener`, one thread per connection.
//!
//! Why std and not a crate: the simulators serve two GET routes each on loopback and must be
//! able to misbehave on purpose (stall a stream, close early, send raw SSE bytes), which is
//! awkward through a framework and ~100 lines here. Every connection is answered and closed
//! (`Connection: close`), so there is no keep-alive state to get wrong.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
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
pub fn respond(stream: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) {
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
}

/// Handles one request on its connection thread.
pub type Handler = Arc<dyn Fn(&Request, &mut TcpStream, &AtomicBool) + Send + Sync>;

/// A running server.
pub struct HttpServer {
    /// Bound address.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `bind:port` (0 = ephemeral) and serves `handler` until dropped.
    ///
    /// # Errors
    /// The bind error.
    pub fn start(bind: &str, port: u16, handler: Handler) -> std::io::Result<HttpServer> {
        let listener = TcpListener::bind((bind, port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let accept_thread = std::thread::Builder::new()
            .name("sim-accept".to_owned())
            .spawn(move || accept_loop(&listener, &handler, &thread_stop))?;
        Ok(HttpServer { addr, stop, accept_thread: Some(accept_thread) })
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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

fn accept_loop(listener: &TcpListener, handler: &Handler, stop: &Arc<AtomicBool>) {
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
        let spawned = std::thread::Builder::new().name("sim-conn".to_owned()).spawn(move || {
            serve(&mut stream, &handler, &stop);
            active.fetch_sub(1, Ordering::AcqRel);
        });
        if spawned.is_err() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn serve(stream: &mut TcpStream, handler: &Handler, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_nodelay(true);
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
