//! The Deribit public session (venues.md §4.3–§4.4): `/ws/api/v2`, JSON-RPC. On connect:
//! `public/set_heartbeat` and `public/subscribe` to `book.{instrument}.100ms`,
//! `trades.{instrument}.100ms` and `ticker.{instrument}.100ms`; every `test_request` heartbeat is
//! answered with `public/test` at once (else the venue closes the connection). The snapshot comes
//! from the stream; a `change_id`/`prev_change_id` break is resynced by `public/unsubscribe` +
//! `public/subscribe` of the book channel. Runs on [`StreamGateway`].

use hedger_core::ids::VenueId;

use super::{DeribitParser, DeribitSequencer};
use crate::venue::stream_session::{StreamGateway, StreamProtocol, StreamSessionConfig};
use crate::venue::{FrameKind, ParsedFrame, Symbol, WireError};
use crate::ws::TransportError;

/// `public/set_heartbeat` interval in seconds (the venue's minimum is 10).
pub const HEARTBEAT_INTERVAL_S: u64 = 10;

/// `public/test` as a keep-alive (id 0: never confused with a numbered call).
const PING: &str = r#"{"jsonrpc":"2.0","id":0,"method":"public/test","params":{}}"#;

/// Deribit's protocol for the stream session.
pub struct DeribitProtocol {
    parser: DeribitParser,
    /// JSON-RPC request id (any increasing number; replies are matched by shape, not id).
    next_id: u64,
    /// Subscribe `trades` and `ticker` too.
    pub data_channels: bool,
}

impl DeribitProtocol {
    pub fn new() -> DeribitProtocol {
        DeribitProtocol { parser: DeribitParser::new(), next_id: 1, data_channels: true }
    }

    fn call(&mut self, method: &str, params: &str) -> String {
        let id = self.next_id;
        self.next_id += 1;
        format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#)
    }
}

impl Default for DeribitProtocol {
    fn default() -> Self {
        DeribitProtocol::new()
    }
}

fn channels(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!(r#"{{"channels":[{}]}}"#, quoted.join(","))
}

impl StreamProtocol for DeribitProtocol {
    type Sequencer = DeribitSequencer;
    const VENUE: VenueId = VenueId::Deribit;

    fn ws_target(&self) -> &str {
        "/ws/api/v2"
    }

    fn new_sequencer(&self) -> DeribitSequencer {
        DeribitSequencer::new()
    }

    fn parse(&mut self, bytes: &[u8], out: &mut ParsedFrame) -> Result<(), WireError> {
        self.parser.parse(bytes, out)
    }

    fn on_connect(&mut self, symbols: &[Symbol], out: &mut Vec<String>) {
        out.push(
            self.call("public/set_heartbeat", &format!(r#"{{"interval":{HEARTBEAT_INTERVAL_S}}}"#)),
        );
        let mut names = Vec::new();
        for &symbol in symbols {
            names.push(format!("book.{}.100ms", symbol.as_str()));
            if self.data_channels {
                names.push(format!("trades.{}.100ms", symbol.as_str()));
                names.push(format!("ticker.{}.100ms", symbol.as_str()));
            }
        }
        out.push(self.call("public/subscribe", &channels(&names)));
    }

    fn resubscribe_book(&mut self, symbol: Symbol, out: &mut Vec<String>) {
        let name = [format!("book.{}.100ms", symbol.as_str())];
        out.push(self.call("public/unsubscribe", &channels(&name)));
        out.push(self.call("public/subscribe", &channels(&name)));
    }

    fn ping(&self) -> Option<(&str, u64)> {
        // `public/test` doubles as a ping; the heartbeats keep the socket busy anyway.
        Some((PING, 30_000))
    }

    fn answer(&mut self, frame: &ParsedFrame) -> Option<String> {
        (frame.kind == FrameKind::Heartbeat && self.parser.is_test_request())
            .then(|| self.call("public/test", "{}"))
    }
}

/// Builds a Deribit gateway.
///
/// # Errors
/// A bad URL or TLS root.
pub fn deribit_gateway(
    cfg: StreamSessionConfig,
    out: hedger_ipc::RingProducer<hedger_core::msg::Msg>,
    seed: u64,
) -> Result<StreamGateway, TransportError> {
    StreamGateway::new(DeribitProtocol::new(), cfg, out, seed)
}
