//! Venue simulators: each venue's public protocol on loopback, over TLS with a generated
//! self-signed certificate (or plain, for debugging), with fault knobs.
//!
//! A simulator runs on its own thread with a single-threaded tokio runtime: it is a test and
//! demo peer, not part of the latency path. The shared pieces here are the server TLS setup, the
//! HTTP/websocket accept path and the runtime fault controls; each venue module owns its market
//! model and message shapes.

pub mod binance;
pub mod bybit;
pub mod deribit;
pub mod instruments;
pub mod okx;
pub mod pubsub;
pub mod replay;
pub mod server;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast;

/// Fault knobs, settable while the simulator runs (tests flip them; the CLI sets rates).
#[derive(Debug, Default)]
pub struct Faults {
    /// Skip this many upcoming book updates (the ids advance: a sequence gap).
    pub gap_next: AtomicU32,
    /// Send this many upcoming book updates twice.
    pub duplicate_next: AtomicU32,
    /// Swap the order of the next two book updates (a reorder: the sequencer sees a gap).
    pub reorder_next: AtomicU32,
    /// Bump to close every open websocket (a disconnect).
    pub disconnect_generation: AtomicU64,
    /// Stop sending on websockets while the market keeps moving (a stall / silent feed).
    pub stalled: AtomicBool,
    /// Freeze the market (no updates at all): lets tests compare books at rest.
    pub paused: AtomicBool,
    /// Extra delay before each websocket send, in microseconds (a latency spike while > 0).
    pub latency_us: AtomicU64,
    /// Probability per book update of being dropped, in parts per million.
    pub drop_ppm: AtomicU32,
    /// OKX: send a wrong checksum on this many upcoming book messages (with checksums on).
    pub bad_checksum_next: AtomicU32,
    /// Bybit: the next update is a `u=1` reset snapshot (a venue service restart).
    pub reset_next: AtomicU32,
    /// Stream venues: acknowledge book subscribes but send no snapshot (deltas still flow).
    pub withhold_snapshots: AtomicBool,
}

impl Faults {
    /// Takes one unit from a countdown knob; true if the fault fires now.
    pub fn take(counter: &AtomicU32) -> bool {
        counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok()
    }

    /// Applies the book-update knobs (gap, drop, reorder, duplicate) to `out`, which the caller
    /// sends only on [`BookFate::Send`]. A held (reordered) update goes out right after the next
    /// update of its own stream; `next_random` is drawn only when the drop rate is non-zero.
    pub fn book_fate<T: StreamKeyed>(
        &self,
        next_random: impl FnOnce() -> u64,
        feed: &broadcast::Sender<Arc<T>>,
        out: &Arc<T>,
        held: &mut Option<Arc<T>>,
    ) -> BookFate {
        if let Some(previous) = held.take() {
            if previous.stream_key() != out.stream_key() {
                *held = Some(previous);
                return BookFate::Send;
            }
            let _ = feed.send(Arc::clone(out));
            let _ = feed.send(previous);
            return BookFate::Consumed;
        }
        if Faults::take(&self.gap_next) {
            return BookFate::Gap;
        }
        let drop_ppm = self.drop_ppm.load(Ordering::Acquire);
        if drop_ppm > 0 && next_random() % 1_000_000 < u64::from(drop_ppm) {
            return BookFate::Consumed;
        }
        if Faults::take(&self.reorder_next) {
            *held = Some(Arc::clone(out));
            return BookFate::Consumed;
        }
        if Faults::take(&self.duplicate_next) {
            let _ = feed.send(Arc::clone(out));
        }
        BookFate::Send
    }
}

/// A simulator message that belongs to one book stream (reorders swap only within a stream).
pub trait StreamKeyed {
    fn stream_key(&self) -> &str;
}

/// What [`Faults::book_fate`] decided for one book update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookFate {
    /// Send it now.
    Send,
    /// Skipped by the gap knob (its id is lost: the client must see a gap).
    Gap,
    /// Dropped, held back for a reorder, or already sent (behind a held one).
    Consumed,
}

/// A self-signed certificate for `127.0.0.1` and `localhost`.
pub struct SimCert {
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
    pub cert_pem: String,
}

/// Generates the simulator certificate.
///
/// # Errors
/// rcgen failure (not expected for these fixed names).
pub fn generate_cert() -> Result<SimCert, rcgen::Error> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names)?;
    Ok(SimCert {
        cert_der: certified.cert.der().to_vec(),
        key_der: certified.key_pair.serialize_der(),
        cert_pem: certified.cert.pem(),
    })
}

/// The DER of every `CERTIFICATE` block in PEM text (one certificate or a bundle).
///
/// # Errors
/// Bad base64, an unterminated block, or no certificate at all, as a sentence.
pub fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    use base64::Engine;
    let mut certs = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let b64 = body.take().ok_or("END CERTIFICATE without BEGIN")?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("bad base64 in a certificate: {e}"))?;
            certs.push(der);
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if body.is_some() {
        return Err("unterminated CERTIFICATE block".into());
    }
    if certs.is_empty() {
        return Err("no CERTIFICATE block".into());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    #[test]
    fn pem_bundles_split_into_certificates() {
        let (a, b) = (super::generate_cert().unwrap(), super::generate_cert().unwrap());
        let bundle = format!("{}{}", a.cert_pem, b.cert_pem);
        assert_eq!(super::pem_certificates(&bundle).unwrap(), vec![a.cert_der, b.cert_der]);
        assert!(super::pem_certificates("").is_err());
        let torn = &a.cert_pem[..a.cert_pem.len() - 30];
        assert!(super::pem_certificates(torn).is_err());
    }
}
