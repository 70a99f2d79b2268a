//! The OKX v5 public session (venues.md §3.2–§3.3): `/ws/v5/public`, subscribe `books`,
//! `trades`, `bbo-tbt` and `funding-rate` per instrument on connect; the plain-text `ping`
//! keep-alive (a periodic one, and one at once when the socket is idle, §3.2 "N < 30 s"); the
//! snapshot comes from the stream (`prevSeqId` -1); a `seqId`/`prevSeqId` break or a non-zero
//! checksum that does not match is resynced by unsubscribing and resubscribing `books`.
//! Runs on [`StreamGateway`].

use hedger_core::ids::VenueId;

use super::{apply_okx_frame, OkxBookText, OkxParser, OkxSequencer};
use crate::venue::stream_session::{StreamGateway, StreamProtocol, StreamSessionConfig};
use crate::venue::{BookKeeper, KeeperEvent, ParsedFrame, Symbol, WireError};
use crate::ws::TransportError;

/// Ping period: below the venue's 30 s idle cut-off (§3.2).
pub const PING_INTERVAL_MS: u64 = 20_000;

/// OKX's protocol for the stream session.
pub struct OkxProtocol {
    parser: OkxParser,
    /// The written text of each book, for the checksum (one per symbol, in order).
    texts: Vec<OkxBookText>,
    /// Subscribe `trades`, `bbo-tbt` and `funding-rate` too.
    pub data_channels: bool,
}

impl OkxProtocol {
    /// `books` books, each checksum text bounded by `levels_max` levels per side.
    pub fn new(books: usize, levels_max: usize) -> OkxProtocol {
        OkxProtocol {
            parser: OkxParser::new(),
            texts: (0..books).map(|_| OkxBookText::new(levels_max)).collect(),
            data_channels: true,
        }
    }
}

fn request(op: &str, args: &[(&str, Symbol)]) -> String {
    let args: Vec<String> = args
        .iter()
        .map(|(channel, inst)| format!(r#"{{"channel":"{channel}","instId":"{}"}}"#, inst.as_str()))
        .collect();
    format!(r#"{{"op":"{op}","args":[{}]}}"#, args.join(","))
}

impl StreamProtocol for OkxProtocol {
    type Sequencer = OkxSequencer;
    const VENUE: VenueId = VenueId::Okx;

    fn ws_target(&self) -> &str {
        "/ws/v5/public"
    }

    fn new_sequencer(&self) -> OkxSequencer {
        OkxSequencer::new()
    }

    fn parse(&mut self, bytes: &[u8], out: &mut ParsedFrame) -> Result<(), WireError> {
        self.parser.parse(bytes, out)
    }

    fn on_connect(&mut self, symbols: &[Symbol], out: &mut Vec<String>) {
        let mut args = Vec::new();
        for &symbol in symbols {
            args.push(("books", symbol));
            if self.data_channels {
                args.extend([("trades", symbol), ("bbo-tbt", symbol), ("funding-rate", symbol)]);
            }
        }
        out.push(request("subscribe", &args));
    }

    fn resubscribe_book(&mut self, symbol: Symbol, out: &mut Vec<String>) {
        out.push(request("unsubscribe", &[("books", symbol)]));
        out.push(request("subscribe", &[("books", symbol)]));
    }

    fn ping(&self) -> Option<(&str, u64)> {
        Some(("ping", PING_INTERVAL_MS))
    }

    fn apply_book(
        &mut self,
        index: usize,
        keeper: &mut BookKeeper<OkxSequencer>,
        frame: &ParsedFrame,
    ) -> KeeperEvent {
        match self.texts.get_mut(index) {
            Some(text) => apply_okx_frame(keeper, text, frame),
            None => keeper.on_frame(frame),
        }
    }

    fn reset_book(&mut self, index: usize) {
        if let Some(text) = self.texts.get_mut(index) {
            text.clear();
        }
    }
}

/// Builds an OKX gateway.
///
/// # Errors
/// A bad URL or TLS root.
pub fn okx_gateway(
    cfg: StreamSessionConfig,
    out: hedger_ipc::RingProducer<hedger_core::msg::Msg>,
    seed: u64,
) -> Result<StreamGateway, TransportError> {
    let protocol = OkxProtocol::new(cfg.symbols.len(), cfg.keeper.levels_max);
    StreamGateway::new(protocol, cfg, out, seed)
}
