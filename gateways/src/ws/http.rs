//! The websocket opening handshake (RFC 6455 §4.1) and a one-shot HTTP/1.1 GET.

use base64::Engine;
use fastwebsockets::{Role, WebSocket};
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{connect, Endpoint, Stream, TransportError};

/// Most bytes of response headers accepted.
const HEADER_BYTES_MAX: usize = 16 * 1024;
const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a key.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(WS_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Reads until the end of the response headers; returns (status, headers text, body bytes read
/// past the headers).
///
/// `exact`: read byte by byte so nothing past the head is consumed. A websocket upgrade needs
/// this: the server may send its first frames in the same segment as the 101 answer, and those
/// bytes belong to the websocket stream (once per connection, so the small reads cost nothing).
async fn read_head(
    stream: &mut Stream,
    endpoint: &str,
    exact: bool,
) -> Result<(u16, String, Vec<u8>), TransportError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let want = if exact { 1 } else { chunk.len() };
    loop {
        let n = stream
            .read(&mut chunk[..want])
            .await
            .map_err(|source| TransportError::Io { endpoint: endpoint.to_string(), source })?;
        if n == 0 {
            return Err(TransportError::Handshake {
                endpoint: endpoint.to_string(),
                detail: "connection closed".into(),
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..at]).into_owned();
            let rest = buf[at + 4..].to_vec();
            let status =
                head.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok()).ok_or_else(
                    || TransportError::Handshake {
                        endpoint: endpoint.to_string(),
                        detail: "no status line".into(),
                    },
                )?;
            return Ok((status, head, rest));
        }
        if buf.len() > HEADER_BYTES_MAX {
            return Err(TransportError::TooLarge {
                endpoint: endpoint.to_string(),
                max_bytes: HEADER_BYTES_MAX,
            });
        }
    }
}

/// The value of header `name` (case-insensitive) in an HTTP head (request or status line first).
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Connects and upgrades to a websocket.
///
/// # Errors
/// Transport errors, a non-101 answer or a wrong `Sec-WebSocket-Accept`.
pub async fn ws_connect(
    endpoint: &Endpoint,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    key_seed: u64,
) -> Result<WebSocket<Stream>, TransportError> {
    let name = endpoint.authority();
    let mut stream = connect(endpoint, tls).await?;
    let key = base64::engine::general_purpose::STANDARD.encode(key_seed.to_le_bytes().repeat(2));
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        endpoint.target, endpoint.host
    );
    let io = |source| TransportError::Io { endpoint: name.clone(), source };
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    let (status, head, rest) = read_head(&mut stream, &name, true).await?;
    if status != 101 {
        return Err(TransportError::Handshake {
            endpoint: name,
            detail: format!("status {status}"),
        });
    }
    if header(&head, "sec-websocket-accept") != Some(accept_key(&key).as_str()) {
        return Err(TransportError::Handshake {
            endpoint: name,
            detail: "bad Sec-WebSocket-Accept".into(),
        });
    }
    if !rest.is_empty() {
        return Err(TransportError::Handshake {
            endpoint: name,
            detail: "data before the handshake completed".into(),
        });
    }
    let mut ws = WebSocket::after_handshake(stream, Role::Client);
    ws.set_auto_pong(true);
    ws.set_auto_close(true);
    Ok(ws)
}

/// GETs `endpoint` on a fresh connection and returns the body of a 200 answer.
///
/// # Errors
/// Transport errors, a non-200 status or a body over `body_bytes_max`.
pub async fn http_get(
    endpoint: &Endpoint,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    body_bytes_max: usize,
) -> Result<Vec<u8>, TransportError> {
    let name = endpoint.authority();
    let mut stream = connect(endpoint, tls).await?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        endpoint.target, endpoint.host
    );
    let io = |source| TransportError::Io { endpoint: name.clone(), source };
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    let (status, head, mut body) = read_head(&mut stream, &name, false).await?;
    if status != 200 {
        return Err(TransportError::HttpStatus { endpoint: name, status });
    }
    let length = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok());
    let mut chunk = [0u8; 8192];
    loop {
        if length.is_some_and(|len| body.len() >= len) {
            break;
        }
        let n = stream.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
        if body.len() > body_bytes_max {
            return Err(TransportError::TooLarge { endpoint: name, max_bytes: body_bytes_max });
        }
    }
    if let Some(len) = length {
        body.truncate(len);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    #[test]
    fn accept_key_matches_rfc_6455_example() {
        assert_eq!(super::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
