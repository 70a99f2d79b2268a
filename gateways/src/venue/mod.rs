//! What every venue gateway shares: the parsed-frame shape its wire parser fills, the verdicts
//! its book sequencer returns, and the book keeper that applies them.
//!
//! Each venue module (`binance`, `bybit`, `okx`, `deribit`) has:
//! * `wire`: bytes → [`ParsedFrame`] with simd-json's tape and reused buffers (no allocation per
//!   message once warm); prices and sizes parsed exactly to fixed point at [`WIRE_SCALE`];
//! * `sequencer`: the venue's numbered sync procedure as a state machine over frame ids, each
//!   check named after its rule step; it returns a [`SeqVerdict`] per book frame.
//!
//! [`BookKeeper`] owns an [`OrderBook`](hedger_core::book::OrderBook) and applies frames as the sequencer rules, so the book is
//! only ever touched by frames proven continuous. A gap invalidates the book on the frame that
//! broke the rule; resyncs are bounded, then the book is quarantined.

pub mod instruments;
pub mod json;
pub mod keeper;
pub mod publish;
pub(crate) mod scan;
pub mod stream_session;

pub use keeper::{BookKeeper, BookState, KeeperEvent};

use hedger_core::fixed::FixedError;
use hedger_core::msg::Side;

/// Decimals of every price and size parsed off the wire (the replay tool and tests use it as the
/// book scale; live gateways rescale to each instrument's tick/lot in a later step).
pub const WIRE_SCALE: u8 = 8;
/// Most levels one frame may carry per side (REST snapshots go to 1000).
pub const FRAME_LEVELS_MAX: usize = 5_000;
/// Most trades one frame may carry (Bybit: up to 1024).
pub const FRAME_TRADES_MAX: usize = 1_024;
/// Longest symbol kept.
pub const SYMBOL_BYTES_MAX: usize = 32;

/// A price level as written on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireLevel {
    /// At [`WIRE_SCALE`].
    pub price: i64,
    /// At [`WIRE_SCALE`]; 0 deletes the level.
    pub qty: i64,
    /// Decimals the venue wrote, to print the value back exactly.
    pub price_decimals: u8,
    pub qty_decimals: u8,
}

/// A public trade as written on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireTrade {
    pub price: i64,
    pub qty: i64,
    pub price_decimals: u8,
    pub qty_decimals: u8,
    /// Aggressor (taker) side.
    pub aggressor: Option<Side>,
    /// Numeric trade id, or a hash of a textual one.
    pub trade_id: u64,
    pub ts_ms: u64,
}

/// A symbol without allocation.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Symbol {
    bytes: [u8; SYMBOL_BYTES_MAX],
    len: u8,
}

impl Symbol {
    /// Copies `text` (cut at [`SYMBOL_BYTES_MAX`] bytes on a char boundary).
    pub fn new(text: &str) -> Symbol {
        let mut len = text.len().min(SYMBOL_BYTES_MAX);
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        let mut bytes = [0u8; SYMBOL_BYTES_MAX];
        bytes[..len].copy_from_slice(&text.as_bytes()[..len]);
        Symbol { bytes, len: len as u8 }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::fmt::Debug for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// What a frame is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FrameKind {
    /// A full book (REST snapshot, WS snapshot): replaces the book.
    BookSnapshot,
    /// Book changes with absolute quantities.
    BookDelta,
    Trades,
    Bbo,
    MarkFunding,
    /// A venue heartbeat or liveness message carrying no data (OKX empty book update, pong).
    Heartbeat,
    /// Subscription acks, errors and other control messages.
    Control,
    /// A valid message of a type this gateway does not use.
    #[default]
    Ignored,
}

/// Sequence ids of a book frame, in each venue's terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BookIds {
    /// Binance `U`; others: same as `last`.
    pub first: u64,
    /// Binance `u` / `lastUpdateId`, Bybit `u`, OKX `seqId`, Deribit `change_id`.
    pub last: u64,
    /// Binance `pu`, OKX `prevSeqId` (-1 on snapshots), Deribit `prev_change_id`; None if absent.
    pub prev: Option<i64>,
    /// Bybit `seq` (cross sequence), 0 if absent.
    pub cross_seq: u64,
    /// OKX checksum (0 = not sent).
    pub checksum: i64,
}

/// Mark, index and funding as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireMark {
    pub mark_price: Option<i64>,
    pub index_price: Option<i64>,
    /// Funding rate at [`WIRE_SCALE`] (0.0001 = 10_000).
    pub funding_rate: Option<i64>,
    pub next_funding_ms: Option<u64>,
}

/// Best bid/offer as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireBbo {
    pub bid: WireLevel,
    pub ask: WireLevel,
}

/// One parsed frame. Allocated once per gateway and refilled by every parse.
pub struct ParsedFrame {
    pub kind: FrameKind,
    pub symbol: Symbol,
    /// Venue event time in ms since the epoch (0 if absent).
    pub exchange_ts_ms: u64,
    pub ids: BookIds,
    pub bids: Vec<WireLevel>,
    pub asks: Vec<WireLevel>,
    pub trades: Vec<WireTrade>,
    pub bbo: WireBbo,
    pub mark: WireMark,
}

impl Default for ParsedFrame {
    fn default() -> Self {
        ParsedFrame::new()
    }
}

impl ParsedFrame {
    /// Allocates every buffer at its maximum.
    pub fn new() -> ParsedFrame {
        ParsedFrame {
            kind: FrameKind::Ignored,
            symbol: Symbol::default(),
            exchange_ts_ms: 0,
            ids: BookIds::default(),
            bids: Vec::with_capacity(FRAME_LEVELS_MAX),
            asks: Vec::with_capacity(FRAME_LEVELS_MAX),
            trades: Vec::with_capacity(FRAME_TRADES_MAX),
            bbo: WireBbo::default(),
            mark: WireMark::default(),
        }
    }

    /// Empties the frame, keeping its buffers.
    pub fn clear(&mut self) {
        self.kind = FrameKind::Ignored;
        self.symbol = Symbol::default();
        self.exchange_ts_ms = 0;
        self.ids = BookIds::default();
        self.bids.clear();
        self.asks.clear();
        self.trades.clear();
        self.bbo = WireBbo::default();
        self.mark = WireMark::default();
    }
}

/// Why bytes could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("field {field}: missing or of the wrong type")]
    Field { field: &'static str },
    #[error("field {field}: {source}")]
    Number { field: &'static str, source: FixedError },
    #[error("more than {max} {what} in one frame")]
    TooMany { what: &'static str, max: usize },
    #[error("venue error message: {0}")]
    VenueError(String),
}

/// What a sequencer says about one book frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqVerdict {
    /// Replace the book with this frame (a snapshot proven usable).
    ApplySnapshot,
    /// Apply these changes to the book.
    Apply,
    /// Hold the frame until the snapshot arrives (Binance step 2).
    Buffer,
    /// Drop: older than the book (a duplicate or a stale buffered event). Counted, not an error.
    Stale,
    /// Continuity broken: the book is invalid from this frame on.
    Gap { expected: i64, got: i64 },
    /// A liveness message with no change (OKX `seqId == prevSeqId`).
    Heartbeat,
}

/// Reason codes raised by the keeper (and carried in `GatewayStatus.reason_code`).
pub mod reason {
    pub const GAP: u32 = 1;
    pub const CHECKSUM: u32 = 2;
    pub const CROSSED: u32 = 3;
    pub const STALE_FEED: u32 = 4;
    pub const RESYNC_EXHAUSTED: u32 = 5;
    pub const BUFFER_OVERFLOW: u32 = 6;
    pub const BAD_LEVEL: u32 = 7;
    /// The instrument metadata fetch failed or did not list a configured symbol.
    pub const INSTRUMENTS: u32 = 8;
    /// A stream venue's book snapshot did not arrive in time after a (re)subscribe.
    pub const SNAPSHOT_TIMEOUT: u32 = 9;

    /// The reason's name in logs and JSON (`none` for 0, `unknown` for a code not listed).
    pub fn name(code: u32) -> &'static str {
        match code {
            0 => "none",
            GAP => "gap",
            CHECKSUM => "checksum",
            CROSSED => "crossed",
            STALE_FEED => "stale_feed",
            RESYNC_EXHAUSTED => "resync_exhausted",
            BUFFER_OVERFLOW => "buffer_overflow",
            BAD_LEVEL => "bad_level",
            INSTRUMENTS => "instruments",
            SNAPSHOT_TIMEOUT => "snapshot_timeout",
            _ => "unknown",
        }
    }
}

/// A venue's book sync procedure, fed one book frame at a time.
pub trait BookSequencer {
    /// Judges a book frame (snapshot or delta) against the state so far and advances the state
    /// when the verdict is `Apply`/`ApplySnapshot`.
    fn on_book_frame(&mut self, kind: FrameKind, ids: &BookIds) -> SeqVerdict;
    /// Forgets all state: the next usable frame is a snapshot.
    fn reset(&mut self);
    /// Whether the venue resyncs by a REST snapshot (Binance) rather than a resubscribe.
    fn needs_rest_snapshot(&self) -> bool {
        false
    }
}

impl<S: BookSequencer + ?Sized> BookSequencer for Box<S> {
    fn on_book_frame(&mut self, kind: FrameKind, ids: &BookIds) -> SeqVerdict {
        (**self).on_book_frame(kind, ids)
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn needs_rest_snapshot(&self) -> bool {
        (**self).needs_rest_snapshot()
    }
}
