//! One HTTP exchange at a time for an oracle source: connect with a bounded timeout, send a GET,
//! then read without blocking; timeouts, backoff and size limits included.

use std::sync::Arc;
use std::time::Duration;

use super::http::{self, HttpError, HttpStream, HttpUrl, ResponseReader};
use super::reason;

/// Largest body a poll response may have (the full primary-prod response is ~1 MB).
pub const BODY_BYTES_MAX: usize = 8 * 1024 * 1024;
const BACKOFF_MIN_MS: u64 = 100;
const BACKOFF_MAX_MS: u64 = 5_000;

/// What one [`HttpSession::poll`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing new.
    Waiting,
    /// New body bytes are in [`HttpSession::body_mut`].
    Bytes,
    /// The response body is complete.
    Complete,
    /// The server closed the connection before the body completed (SSE: end of stream).
    Closed,
    /// A failure with its reason code and detail; the session is closed and backs off.
    Failed(u32, u64),
}

/// Connection state and timers of one source.
#[derive(Debug)]
pub struct HttpSession {
    url: HttpUrl,
    connect_timeout: Duration,
    request_timeout_ms: u64,
    idle_timeout_ms: u64,
    endless: bool,
    stream: Option<HttpStream>,
    tls: Option<Arc<rustls::ClientConfig>>,
    reader: ResponseReader,
    scratch: Vec<u8>,
    opened_ms: u64,
    last_bytes_ms: u64,
    next_attempt_ms: u64,
    backoff_ms: u64,
}

impl HttpSession {
    /// A closed session; the first attempt is due at once.
    pub fn new(url: HttpUrl, connect_timeout_ms: u64, request_timeout_ms: u64) -> HttpSession {
        HttpSession {
            url,
            connect_timeout: Duration::from_millis(connect_timeout_ms),
            request_timeout_ms,
            idle_timeout_ms: request_timeout_ms,
            endless: false,
            stream: None,
            tls: None,
            reader: ResponseReader::default(),
            scratch: Vec::with_capacity(64 * 1024),
            opened_ms: 0,
            last_bytes_ms: 0,
            next_attempt_ms: 0,
            backoff_ms: BACKOFF_MIN_MS,
        }
    }

    /// The TLS client config for `https` URLs (without it an `https` connect fails).
    pub fn set_tls(&mut self, tls: Arc<rustls::ClientConfig>) {
        self.tls = Some(tls);
    }

    /// For endless responses (SSE): fail after this long without a byte, instead of after the
    /// request timeout.
    pub fn set_idle_timeout_ms(&mut self, idle_timeout_ms: u64) {
        self.idle_timeout_ms = idle_timeout_ms;
        self.endless = true;
    }

    /// True while a request is in flight.
    pub fn is_open(&self) -> bool {
        self.stream.is_some()
    }

    /// True when closed and the next attempt is due.
    pub fn due(&self, now_ms: u64) -> bool {
        self.stream.is_none() && now_ms >= self.next_attempt_ms
    }

    /// When the last request was opened.
    pub fn opened_ms(&self) -> u64 {
        self.opened_ms
    }

    /// Connects and sends `GET prefix + path_and_query`.
    ///
    /// # Errors
    /// `(reason code, detail)`; the session backs off.
    pub fn open(
        &mut self,
        path_and_query: &str,
        headers: &[(&str, &str)],
        now_ms: u64,
    ) -> Result<(), (u32, u64)> {
        let mut stream = match self.url.connect(self.connect_timeout, self.tls.as_ref()) {
            Ok(stream) => stream,
            Err(HttpError::Tls { .. }) => return Err(self.fail(reason::TLS, 0, now_ms)),
            Err(_) => return Err(self.fail(reason::CONNECT, 0, now_ms)),
        };
        let request = http::get_request(&self.url, path_and_query, headers);
        if http::send(&mut stream, &request, self.connect_timeout.max(Duration::from_millis(100)))
            .is_err()
        {
            return Err(self.fail(reason::TRANSPORT, 0, now_ms));
        }
        self.reader.reset();
        self.stream = Some(stream);
        self.opened_ms = now_ms;
        self.last_bytes_ms = now_ms;
        Ok(())
    }

    /// Decoded body bytes not yet consumed by the source.
    pub fn body_mut(&mut self) -> &mut Vec<u8> {
        &mut self.reader.body
    }

    /// Closes the connection; the next attempt is due after `after_ms` (success resets backoff).
    pub fn close(&mut self, now_ms: u64, after_ms: u64) {
        self.stream = None;
        self.backoff_ms = BACKOFF_MIN_MS;
        self.next_attempt_ms = now_ms.saturating_add(after_ms);
    }

    /// Closes after a failure, backing off (100 ms doubling to 5 s).
    fn fail(&mut self, code: u32, detail: u64, now_ms: u64) -> (u32, u64) {
        self.stream = None;
        self.next_attempt_ms = now_ms.saturating_add(self.backoff_ms);
        self.backoff_ms = (self.backoff_ms * 2).min(BACKOFF_MAX_MS);
        (code, detail)
    }

    /// Reads what arrived and advances the response.
    pub fn poll(&mut self, now_ms: u64) -> Progress {
        let Some(stream) = self.stream.as_mut() else { return Progress::Waiting };
        self.scratch.clear();
        let read = http::read_available(stream, &mut self.scratch, BODY_BYTES_MAX);
        let outcome = match read {
            Ok(0) => Ok(false),
            Ok(_) => self.reader.accept(&self.scratch).map(|()| true),
            Err(HttpError::Closed) => {
                self.reader.on_close();
                self.stream = None;
                self.next_attempt_ms = now_ms;
                return if self.reader.finished() { Progress::Complete } else { Progress::Closed };
            }
            Err(error) => Err(error),
        };
        match outcome {
            Err(_) => Progress::Failed(self.fail(reason::TRANSPORT, 0, now_ms).0, 0),
            Ok(got_bytes) => self.advance(got_bytes, now_ms),
        }
    }

    fn advance(&mut self, got_bytes: bool, now_ms: u64) -> Progress {
        if let Some(head) = self.reader.head().filter(|head| head.status != 200) {
            let (code, detail) = self.fail(reason::HTTP_STATUS, u64::from(head.status), now_ms);
            return Progress::Failed(code, detail);
        }
        if self.reader.body.len() > BODY_BYTES_MAX {
            return Progress::Failed(self.fail(reason::TRANSPORT, 0, now_ms).0, 0);
        }
        if self.reader.finished() {
            return Progress::Complete;
        }
        if got_bytes {
            self.last_bytes_ms = now_ms;
            return Progress::Bytes;
        }
        let streaming = self.endless && self.reader.head().is_some();
        let (since_ms, limit_ms) = if streaming {
            (self.last_bytes_ms, self.idle_timeout_ms)
        } else {
            (self.opened_ms, self.request_timeout_ms)
        };
        if now_ms.saturating_sub(since_ms) > limit_ms {
            let waited_ms = now_ms.saturating_sub(since_ms);
            let (code, detail) = self.fail(reason::TRANSPORT, waited_ms, now_ms);
            return Progress::Failed(code, detail);
        }
        Progress::Waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// Serves one canned response on an ephemeral port.
    fn serve_once(response: &'static [u8]) -> HttpUrl {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = HttpUrl::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response);
        });
        url
    }

    fn poll_until_done(session: &mut HttpSession) -> Progress {
        for now_ms in 0..5_000 {
            match session.poll(now_ms) {
                Progress::Waiting | Progress::Bytes => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                done => return done,
            }
        }
        panic!("no outcome");
    }

    #[test]
    fn a_chunked_200_completes_and_resets_backoff() {
        let url = serve_once(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        );
        let mut session = HttpSession::new(url, 500, 5_000);
        session.open("/x", &[], 0).unwrap();
        assert_eq!(poll_until_done(&mut session), Progress::Complete);
        assert_eq!(session.body_mut().as_slice(), b"abc");
        session.close(10, 1_000);
        assert!(!session.due(500) && session.due(1_010));
    }

    #[test]
    fn an_http_error_status_fails_with_its_code_and_backs_off() {
        let url = serve_once(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
        let mut session = HttpSession::new(url, 500, 5_000);
        session.open("/x", &[], 0).unwrap();
        assert!(matches!(
            poll_until_done(&mut session),
            Progress::Failed(reason::HTTP_STATUS, 503)
        ));
        assert!(!session.is_open());
    }

    #[test]
    fn a_refused_connect_backs_off_doubling() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = HttpUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let mut session = HttpSession::new(url, 200, 5_000);
        assert_eq!(session.open("/", &[], 0), Err((reason::CONNECT, 0)));
        assert!(!session.due(99) && session.due(100));
        assert!(session.open("/", &[], 100).is_err());
        assert!(!session.due(299) && session.due(300));
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = HttpUrl::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let mut session = HttpSession::new(url, 500, 50);
        session.open("/x", &[], 0).unwrap();
        assert_eq!(session.poll(10), Progress::Waiting);
        assert!(matches!(session.poll(51), Progress::Failed(reason::TRANSPORT, 51)));
        drop(listener);
    }
}
