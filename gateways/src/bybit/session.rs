//! The Bybit v5 linear public session (venues.md §2): `/v5/public/linear`, subscribe
//! `orderbook.{depth}.{symbol}`, `publicTrade.{symbol}`, `tickers.{symbol}` on connect,
//! `{"op":"ping"}` every 20 s (recommended; idle connections are cut after 10 min), snapshot from the stream
//! (rule 2), a gap resynced by unsubscribing and resubscribing the book topic (a fresh
//! `snapshot` follows). Runs on [`StreamGateway`].

use hedger_core::ids::VenueId;

use super::{BybitParser, BybitSequencer};
use crate::venue::stream_session::{StreamGateway, StreamProtocol, StreamSessionConfig};
use crate::venue::{ParsedFrame, Symbol, WireError};
use crate::ws::TransportError;

/// Ping period (venues.md §2.1: "Recommended every 20 s").
pub const PING_INTERVAL_MS: u64 = 20_000;

/// Bybit's protocol for the stream session.
pub struct BybitProtocol {
    parser: BybitParser,
    /// Book depth of the `orderbook.{depth}` topic (50 or 200 for linear).
    pub depth: u32,
    /// Subscribe `publicTrade` and `tickers` too.
    pub data_topics: bool,
}

impl BybitProtocol {
    pub fn new(depth: u32) -> BybitProtocol {
        BybitProtocol { parser: BybitParser::new(), depth, data_topics: true }
    }

    fn book_topic(&self, symbol: Symbol) -> String {
        format!("orderbook.{}.{}", self.depth, symbol.as_str())
    }
}

fn op(op: &str, topics: &[String]) -> String {
    let args: Vec<String> = topics.iter().map(|t| format!("\"{t}\"")).collect();
    format!(r#"{{"op":"{op}","args":[{}]}}"#, args.join(","))
}

impl StreamProtocol for BybitProtocol {
    type Sequencer = BybitSequencer;
    const VENUE: VenueId = VenueId::Bybit;

    fn ws_target(&self) -> &str {
        "/v5/public/linear"
    }

    fn new_sequencer(&self) -> BybitSequencer {
        BybitSequencer::new()
    }

    fn parse(&mut self, bytes: &[u8], out: &mut ParsedFrame) -> Result<(), WireError> {
        self.parser.parse(bytes, out)
    }

    fn on_connect(&mut self, symbols: &[Symbol], out: &mut Vec<String>) {
        let mut topics = Vec::new();
        for &symbol in symbols {
            topics.push(self.book_topic(symbol));
            if self.data_topics {
                topics.push(format!("publicTrade.{}", symbol.as_str()));
                topics.push(format!("tickers.{}", symbol.as_str()));
            }
        }
        // No per-request arg-count limit for futures (venues.md §2.1; spot has 10).
        out.push(op("subscribe", &topics));
    }

    fn resubscribe_book(&mut self, symbol: Symbol, out: &mut Vec<String>) {
        let topic = [self.book_topic(symbol)];
        out.push(op("unsubscribe", &topic));
        out.push(op("subscribe", &topic));
    }

    fn ping(&self) -> Option<(&str, u64)> {
        Some((r#"{"op":"ping"}"#, PING_INTERVAL_MS))
    }
}

/// Builds a Bybit gateway (depth 50).
///
/// # Errors
/// A bad URL or TLS root.
pub fn bybit_gateway(
    cfg: StreamSessionConfig,
    out: hedger_ipc::RingProducer<hedger_core::msg::Msg>,
    seed: u64,
) -> Result<StreamGateway, TransportError> {
    StreamGateway::new(BybitProtocol::new(50), cfg, out, seed)
}
