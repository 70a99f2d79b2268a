//! The few URL shapes gateways use: `ws[s]://host[:port]/path?query`, `http[s]://…`.

use super::TransportError;

/// A parsed endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
}

impl Endpoint {
    /// Parses `url`.
    ///
    /// # Errors
    /// [`TransportError::Url`] for another scheme or a malformed host/port.
    pub fn parse(url: &str) -> Result<Endpoint, TransportError> {
        let bad = || TransportError::Url(url.to_string());
        let (tls, rest) = if let Some(rest) = url.strip_prefix("wss://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("ws://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(bad());
        };
        let (authority, target) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad())?),
            None => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Endpoint { tls, host: host.to_string(), port, target: target.to_string() })
    }

    /// `host:port` for logs and errors.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The same host with another target.
    pub fn with_target(&self, target: &str) -> Endpoint {
        Endpoint { target: target.to_string(), ..self.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shapes_gateways_use() {
        let e = Endpoint::parse("wss://fstream.binance.com/public/stream?streams=btcusdt@depth")
            .unwrap();
        assert_eq!((e.tls, e.host.as_str(), e.port), (true, "fstream.binance.com", 443));
        assert_eq!(e.target, "/public/stream?streams=btcusdt@depth");
        let e = Endpoint::parse("http://127.0.0.1:9001").unwrap();
        assert_eq!((e.tls, e.port, e.target.as_str()), (false, 9001, "/"));
        for bad in ["ftp://x", "ws://:80/", "ws://host:notaport/"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
