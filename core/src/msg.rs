//! The fixed-size message that crosses every thread boundary.
//!
//! Every ring carries [`Msg`]: 64 bytes, one cache line, `Copy`, `#[repr(C)]`, no pointers. A
//! 32-byte header says what it is (`kind`, `version`), where it came from (`venue`, `instrument`)
//! and when (`exchange_ts_ns`, `recv_tsc`, `hop_tsc`); a 32-byte payload of four words holds the
//! kind's fields. Typed views ([`Body`]) are built and read with plain integer moves, so the hot
//! path pays a few register operations for type safety and this crate stays free of `unsafe`.
//!
//! Prices and sizes are integers: `*_ticks` and `*_lots` are in the instrument's own scale (from
//! its tick and lot size); `*_e8` values are on the common 1e8 scale used to compare venues and
//! oracles. Files and taps use [`Msg::to_bytes`] / [`Msg::from_bytes`] (little-endian), which
//! validate the version, kind and venue so a tool never misreads a foreign byte stream.

use crate::ids::{InstrumentId, VenueId};

/// Bytes in one encoded message; also `size_of::<Msg>()`.
pub const MSG_BYTES: usize = 64;
/// Layout version written into every message; bump on any incompatible change.
pub const MSG_VERSION: u8 = 1;
/// The common fixed-point scale for cross-venue and oracle prices (`*_e8`).
pub const PRICE_SCALE_E8: i64 = 100_000_000;

const _: () = assert!(std::mem::size_of::<Msg>() == MSG_BYTES);
const _: () = assert!(std::mem::align_of::<Msg>() == MSG_BYTES);

/// One message. See the module docs for the layout contract.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Msg {
    /// TSC stamp written by the ring producer at push; the consumer records the hop latency.
    pub hop_tsc: u64,
    /// TSC stamp of the moment the source bytes were read (wire-to-X latency); 0 if none.
    pub recv_tsc: u64,
    /// Source event time in ns since the Unix epoch; 0 when the source gives none.
    pub exchange_ts_ns: u64,
    pub instrument: InstrumentId,
    /// A [`VenueId`] byte.
    pub venue: u8,
    /// A [`MsgKind`] byte.
    pub kind: u8,
    /// [`MSG_VERSION`] when written by this build.
    pub version: u8,
    /// Kind-specific bit flags (side, batch end, status codes).
    pub flags: u8,
    /// Kind-specific payload words.
    pub payload: [u64; 4],
}

/// What a message is; the `kind` byte.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MsgKind {
    BookDelta = 1,
    Trade = 2,
    Bbo = 3,
    MarkIndexFunding = 4,
    OraclePrice = 5,
    GatewayStatus = 6,
    Heartbeat = 7,
    OrderCommand = 8,
    OrderUpdate = 9,
    ChainEvent = 10,
    RfqRequestRef = 11,
    RfqReplyRef = 12,
    BookLevels = 13,
    BookLevelsNarrow = 14,
}

impl MsgKind {
    /// Every kind, in wire order.
    pub const ALL: [MsgKind; 14] = [
        MsgKind::BookDelta,
        MsgKind::Trade,
        MsgKind::Bbo,
        MsgKind::MarkIndexFunding,
        MsgKind::OraclePrice,
        MsgKind::GatewayStatus,
        MsgKind::Heartbeat,
        MsgKind::OrderCommand,
        MsgKind::OrderUpdate,
        MsgKind::ChainEvent,
        MsgKind::RfqRequestRef,
        MsgKind::RfqReplyRef,
        MsgKind::BookLevels,
        MsgKind::BookLevelsNarrow,
    ];

    /// Decodes the `kind` byte; `None` for an unknown kind.
    #[inline]
    pub fn from_u8(value: u8) -> Option<MsgKind> {
        // Kinds are numbered 1..=ALL.len() in `ALL`'s order (asserted in the tests): one range
        // check on the hot path instead of a search.
        let index = usize::from(value).checked_sub(1)?;
        MsgKind::ALL.get(index).copied()
    }

    /// Stable snake-case name for tools and JSON.
    pub fn name(self) -> &'static str {
        match self {
            MsgKind::BookDelta => "book_delta",
            MsgKind::Trade => "trade",
            MsgKind::Bbo => "bbo",
            MsgKind::MarkIndexFunding => "mark_index_funding",
            MsgKind::OraclePrice => "oracle_price",
            MsgKind::GatewayStatus => "gateway_status",
            MsgKind::Heartbeat => "heartbeat",
            MsgKind::OrderCommand => "order_command",
            MsgKind::OrderUpdate => "order_update",
            MsgKind::ChainEvent => "chain_event",
            MsgKind::RfqRequestRef => "rfq_request_ref",
            MsgKind::RfqReplyRef => "rfq_reply_ref",
            MsgKind::BookLevels => "book_levels",
            MsgKind::BookLevelsNarrow => "book_levels_narrow",
        }
    }
}

/// Why bytes could not be read as a [`Msg`] or a payload as its [`Body`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message version {found} is not supported (this build reads {MSG_VERSION})")]
    Version { found: u8 },
    #[error("unknown message kind {kind}")]
    Kind { kind: u8 },
    #[error("unknown venue id {venue}")]
    Venue { venue: u8 },
    #[error("field {field} of a {kind:?} message has invalid value {value}")]
    Field { kind: MsgKind, field: &'static str, value: u64 },
}

/// Order, trade or book side.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Side {
    /// Bid side of a book; buyer-initiated trade.
    #[default]
    Buy = 0,
    /// Ask side of a book; seller-initiated trade.
    Sell = 1,
}

const FLAG_SIDE_SELL: u8 = 1 << 0;
/// Book delta: last delta of one venue update; the book is consistent after applying it.
pub const FLAG_BATCH_END: u8 = 1 << 1;
/// Book delta: first delta of a snapshot; the consumer clears the book before applying it.
pub const FLAG_SNAPSHOT_BEGIN: u8 = 1 << 2;
/// Book levels: the second level's side is the ask.
const FLAG_SECOND_SELL: u8 = 1 << 3;
/// Book levels: the message holds a second level (payload words 2 and 3).
const FLAG_SECOND_LEVEL: u8 = 1 << 4;

fn side_from_flags(flags: u8) -> Side {
    if flags & FLAG_SIDE_SELL != 0 {
        Side::Sell
    } else {
        Side::Buy
    }
}

fn side_flag(side: Side) -> u8 {
    match side {
        Side::Buy => 0,
        Side::Sell => FLAG_SIDE_SELL,
    }
}

/// One price level changed; `qty_lots == 0` removes the level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookDelta {
    pub side: Side,
    pub price_ticks: i64,
    pub qty_lots: i64,
    /// The venue's update id this delta belongs to.
    pub seq: u64,
    /// The venue's previous update id (Binance `pu`, OKX `prevSeqId`), 0 if none.
    pub seq_prev: u64,
    /// [`FLAG_BATCH_END`] | [`FLAG_SNAPSHOT_BEGIN`].
    pub batch_flags: u8,
}

/// One level of a [`BookLevels`] message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BookLevel {
    pub side: Side,
    pub price_ticks: i64,
    /// 0 removes the level.
    pub qty_lots: i64,
}

/// One or two changed levels of a book, two to a cache line.
///
/// A gateway publishes a frame's levels as `BookLevels` messages and closes the batch with one
/// [`BookDelta`] (the frame's last level, its update ids and [`FLAG_BATCH_END`]), so a 20×20
/// frame is 21 ring slots instead of 40: half the cache lines cross from the gateway's core to
/// the hot thread's, and the hot thread decodes half the messages. A `BookLevels` never ends a
/// batch (the decoder refuses [`FLAG_BATCH_END`] on it), so a batch's end always carries its ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookLevels {
    pub first: BookLevel,
    pub second: Option<BookLevel>,
    /// 0 or [`FLAG_SNAPSHOT_BEGIN`] (on the first message of a snapshot).
    pub batch_flags: u8,
}

impl BookLevels {
    /// The one or two levels, in order.
    #[inline]
    pub fn levels(&self) -> impl Iterator<Item = BookLevel> {
        std::iter::once(self.first).chain(self.second)
    }
}

/// One level of a [`NarrowLevels`] message: a price and size that fit 32 bits each, as they do
/// for every perpetual we trade (BTC at 0.1 tick is about 10^6 ticks; sizes in lots stay far
/// below 4·10^9). Anything wider goes out as [`BookLevels`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NarrowLevel {
    pub side: Side,
    pub price_ticks: u32,
    /// 0 removes the level.
    pub qty_lots: u32,
}

impl NarrowLevel {
    /// The level in 32-bit fields, or `None` when a field does not fit (negative or too large).
    #[inline]
    pub fn narrow(level: BookLevel) -> Option<NarrowLevel> {
        Some(NarrowLevel {
            side: level.side,
            price_ticks: u32::try_from(level.price_ticks).ok()?,
            qty_lots: u32::try_from(level.qty_lots).ok()?,
        })
    }

    #[inline]
    pub fn wide(self) -> BookLevel {
        BookLevel {
            side: self.side,
            price_ticks: i64::from(self.price_ticks),
            qty_lots: i64::from(self.qty_lots),
        }
    }
}

/// Most levels a [`NarrowLevels`] message carries: one payload word each.
pub const NARROW_LEVELS_MAX: usize = 4;

/// One to four changed levels of a book in 32-bit fields, four to a cache line.
///
/// The dense form of [`BookLevels`]: a 20×20 frame is 10 of these plus the closing
/// [`BookDelta`], 11 ring slots instead of 21, so half again fewer cache lines cross to the hot
/// thread. Like `BookLevels` it never ends a batch (the decoder refuses [`FLAG_BATCH_END`]).
/// Fields are private so a message always holds 1..=4 levels. The gateways still publish
/// wire-scale (1e-8) prices, which do not fit 32 bits, so their frames go as `BookLevels` until
/// messages carry instrument ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NarrowLevels {
    levels: [NarrowLevel; NARROW_LEVELS_MAX],
    len: u8,
    batch_flags: u8,
}

impl NarrowLevels {
    /// `levels` in order; `None` for none or more than [`NARROW_LEVELS_MAX`]. Of `batch_flags`
    /// only [`FLAG_SNAPSHOT_BEGIN`] is kept.
    pub fn new(levels: &[NarrowLevel], batch_flags: u8) -> Option<NarrowLevels> {
        if levels.is_empty() || levels.len() > NARROW_LEVELS_MAX {
            return None;
        }
        let mut out = [NarrowLevel::default(); NARROW_LEVELS_MAX];
        out[..levels.len()].copy_from_slice(levels);
        Some(NarrowLevels {
            levels: out,
            len: levels.len() as u8,
            batch_flags: batch_flags & FLAG_SNAPSHOT_BEGIN,
        })
    }

    /// The levels, in order.
    #[inline]
    pub fn levels(&self) -> &[NarrowLevel] {
        &self.levels[..usize::from(self.len)]
    }

    /// 0 or [`FLAG_SNAPSHOT_BEGIN`].
    #[inline]
    pub fn batch_flags(&self) -> u8 {
        self.batch_flags
    }
}

/// Narrow levels: level `i`'s side is the ask (`i` in 0..4; bit 1 is the batch end).
const NARROW_SIDE_SELL: [u8; NARROW_LEVELS_MAX] = [1 << 0, 1 << 3, 1 << 4, 1 << 5];
/// Narrow levels: `len - 1` in the top two bits.
const NARROW_LEN_SHIFT: u32 = 6;

/// A public trade print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    pub aggressor: Side,
    pub price_ticks: i64,
    pub qty_lots: i64,
    pub trade_id: u64,
}

/// Best bid and offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bbo {
    pub bid_price_ticks: i64,
    pub bid_qty_lots: i64,
    pub ask_price_ticks: i64,
    pub ask_qty_lots: i64,
}

/// Mark, index and funding of a perpetual.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkIndexFunding {
    pub mark_price_ticks: i64,
    pub index_price_ticks: i64,
    /// Funding rate per funding interval in parts per 1e9.
    pub funding_rate_e9: i64,
    pub next_funding_ts_ms: u64,
}

/// A verified oracle price on the common 1e8 scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OraclePrice {
    pub price_e8: i64,
    pub conf_e8: u64,
    pub publish_time_ms: u64,
    /// Unique signers (RedStone) or guardian signatures (Pyth) that backed the price.
    pub signer_count: u64,
}

/// Health of a source, as judged by its gateway.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceState {
    Up = 1,
    Down = 2,
    Resyncing = 3,
    Quarantined = 4,
    Stale = 5,
}

impl SourceState {
    fn from_u8(value: u8) -> Option<SourceState> {
        [Self::Up, Self::Down, Self::Resyncing, Self::Quarantined, Self::Stale]
            .into_iter()
            .find(|s| *s as u8 == value)
    }
}

/// A source changed state (the `instrument` header says which book, 0 for the whole source).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatewayStatus {
    pub state: SourceState,
    /// Reason code, defined by the gateway module that raised it.
    pub reason_code: u32,
    /// Occurrences of this reason so far (the gateway's counter).
    pub reason_count: u64,
    /// Reason-specific detail (the expected sequence number on a gap, say).
    pub detail: u64,
}

/// Liveness beacon of a thread or gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub beat_seq: u64,
    pub sent_ts_ns: u64,
}

/// Action of an order command.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderAction {
    New = 0,
    Cancel = 1,
    CancelAll = 2,
}

/// An order command from the hot thread to a venue gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderCommand {
    pub action: OrderAction,
    pub side: Side,
    pub reduce_only: bool,
    pub client_order_id: u64,
    pub price_ticks: i64,
    pub qty_lots: i64,
}

/// Status in an order update.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Accepted = 0,
    PartiallyFilled = 1,
    Filled = 2,
    Canceled = 3,
    Rejected = 4,
}

/// An order or fill update from a venue gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderUpdate {
    pub status: OrderStatus,
    pub client_order_id: u64,
    pub fill_qty_lots: i64,
    pub fill_price_ticks: i64,
    pub leaves_qty_lots: i64,
}

/// Kind of on-chain event.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChainEventKind {
    Mint = 0,
    Redeem = 1,
    CustodyTransfer = 2,
    Erc20Transfer = 3,
    /// Remaining per-block mint capacity of an asset (`amount` = USDe base units, `block_number` =
    /// the block it applies to).
    MintCapacity = 4,
    /// The global mint cap turned zero (the gatekeeper's `disableMintRedeem`, or an admin).
    MintingDisabled = 5,
    /// Remaining per-block redeem capacity of an asset, as [`ChainEventKind::MintCapacity`].
    RedeemCapacity = 6,
    /// The global mint cap is non-zero again after [`ChainEventKind::MintingDisabled`].
    MintingEnabled = 7,
}

/// An on-chain event; the full record stays on the cold thread under `ref_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainEvent {
    pub event: ChainEventKind,
    pub block_number: u64,
    /// The event's main amount in the token's base units.
    pub amount: u128,
    /// Cold-thread reference of the full record (journal sequence).
    pub ref_id: u64,
}

/// An RFQ request or reply; the request body stays with the API thread under `rfq_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RfqRef {
    /// `true` for a mint (collateral in), `false` for a redeem.
    pub is_mint: bool,
    pub rfq_id: u64,
    /// Collateral amount (request) or quoted amount (reply) in base units.
    pub amount: u128,
    /// Quote id on replies, request sequence on requests.
    pub ref_id: u64,
}

/// Typed view of a message payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    BookDelta(BookDelta),
    Trade(Trade),
    Bbo(Bbo),
    MarkIndexFunding(MarkIndexFunding),
    OraclePrice(OraclePrice),
    GatewayStatus(GatewayStatus),
    Heartbeat(Heartbeat),
    OrderCommand(OrderCommand),
    OrderUpdate(OrderUpdate),
    ChainEvent(ChainEvent),
    RfqRequestRef(RfqRef),
    RfqReplyRef(RfqRef),
    BookLevels(BookLevels),
    BookLevelsNarrow(NarrowLevels),
}

/// Where and when a message comes from; the header fields other than `kind`/`flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Origin {
    pub venue: u8,
    pub instrument: InstrumentId,
    pub exchange_ts_ns: u64,
    pub recv_tsc: u64,
}

impl Origin {
    pub fn new(venue: VenueId, instrument: InstrumentId) -> Origin {
        Origin { venue: venue as u8, instrument, exchange_ts_ns: 0, recv_tsc: 0 }
    }
}

fn split_u128(value: u128) -> (u64, u64) {
    (value as u64, (value >> 64) as u64)
}

fn join_u128(lo: u64, hi: u64) -> u128 {
    (u128::from(hi) << 64) | u128::from(lo)
}

impl Body {
    /// The kind byte this body is written with.
    pub fn kind(&self) -> MsgKind {
        match self {
            Body::BookDelta(_) => MsgKind::BookDelta,
            Body::Trade(_) => MsgKind::Trade,
            Body::Bbo(_) => MsgKind::Bbo,
            Body::MarkIndexFunding(_) => MsgKind::MarkIndexFunding,
            Body::OraclePrice(_) => MsgKind::OraclePrice,
            Body::GatewayStatus(_) => MsgKind::GatewayStatus,
            Body::Heartbeat(_) => MsgKind::Heartbeat,
            Body::OrderCommand(_) => MsgKind::OrderCommand,
            Body::OrderUpdate(_) => MsgKind::OrderUpdate,
            Body::ChainEvent(_) => MsgKind::ChainEvent,
            Body::RfqRequestRef(_) => MsgKind::RfqRequestRef,
            Body::RfqReplyRef(_) => MsgKind::RfqReplyRef,
            Body::BookLevels(_) => MsgKind::BookLevels,
            Body::BookLevelsNarrow(_) => MsgKind::BookLevelsNarrow,
        }
    }

    /// Packs the body into `(flags, payload)`.
    fn encode(&self) -> (u8, [u64; 4]) {
        match *self {
            Body::BookDelta(d) => (
                side_flag(d.side) | (d.batch_flags & (FLAG_BATCH_END | FLAG_SNAPSHOT_BEGIN)),
                [d.price_ticks as u64, d.qty_lots as u64, d.seq, d.seq_prev],
            ),
            Body::Trade(t) => {
                (side_flag(t.aggressor), [t.price_ticks as u64, t.qty_lots as u64, t.trade_id, 0])
            }
            Body::Bbo(b) => (
                0,
                [
                    b.bid_price_ticks as u64,
                    b.bid_qty_lots as u64,
                    b.ask_price_ticks as u64,
                    b.ask_qty_lots as u64,
                ],
            ),
            Body::MarkIndexFunding(m) => (
                0,
                [
                    m.mark_price_ticks as u64,
                    m.index_price_ticks as u64,
                    m.funding_rate_e9 as u64,
                    m.next_funding_ts_ms,
                ],
            ),
            Body::OraclePrice(o) => {
                (0, [o.price_e8 as u64, o.conf_e8, o.publish_time_ms, o.signer_count])
            }
            Body::GatewayStatus(s) => {
                (s.state as u8, [u64::from(s.reason_code), s.reason_count, s.detail, 0])
            }
            Body::Heartbeat(h) => (0, [h.beat_seq, h.sent_ts_ns, 0, 0]),
            Body::OrderCommand(c) => (
                side_flag(c.side) | ((c.action as u8) << 1) | (u8::from(c.reduce_only) << 3),
                [c.client_order_id, c.price_ticks as u64, c.qty_lots as u64, 0],
            ),
            Body::OrderUpdate(u) => (
                u.status as u8,
                [
                    u.client_order_id,
                    u.fill_qty_lots as u64,
                    u.fill_price_ticks as u64,
                    u.leaves_qty_lots as u64,
                ],
            ),
            Body::ChainEvent(e) => {
                let (lo, hi) = split_u128(e.amount);
                (e.event as u8, [e.block_number, lo, hi, e.ref_id])
            }
            Body::RfqRequestRef(r) | Body::RfqReplyRef(r) => {
                let (lo, hi) = split_u128(r.amount);
                (u8::from(r.is_mint), [r.rfq_id, lo, hi, r.ref_id])
            }
            Body::BookLevels(b) => {
                let first = b.first;
                let (second_flags, second) = match b.second {
                    Some(l) => (
                        FLAG_SECOND_LEVEL | if l.side == Side::Sell { FLAG_SECOND_SELL } else { 0 },
                        l,
                    ),
                    None => (0, BookLevel::default()),
                };
                (
                    side_flag(first.side) | (b.batch_flags & FLAG_SNAPSHOT_BEGIN) | second_flags,
                    [
                        first.price_ticks as u64,
                        first.qty_lots as u64,
                        second.price_ticks as u64,
                        second.qty_lots as u64,
                    ],
                )
            }
            Body::BookLevelsNarrow(b) => {
                let mut flags = b.batch_flags & FLAG_SNAPSHOT_BEGIN;
                flags |= (b.len - 1) << NARROW_LEN_SHIFT;
                let mut words = [0u64; 4];
                for (i, level) in b.levels().iter().enumerate() {
                    if level.side == Side::Sell {
                        flags |= NARROW_SIDE_SELL[i];
                    }
                    words[i] = u64::from(level.price_ticks) | (u64::from(level.qty_lots) << 32);
                }
                (flags, words)
            }
        }
    }

    /// Unpacks a payload written by [`Body::encode`], validating every enum field.
    fn decode(kind: MsgKind, flags: u8, p: &[u64; 4]) -> Result<Body, DecodeError> {
        let bad = |field: &'static str, value: u64| DecodeError::Field { kind, field, value };
        Ok(match kind {
            MsgKind::BookDelta => Body::BookDelta(BookDelta {
                side: side_from_flags(flags),
                price_ticks: p[0] as i64,
                qty_lots: p[1] as i64,
                seq: p[2],
                seq_prev: p[3],
                batch_flags: flags & (FLAG_BATCH_END | FLAG_SNAPSHOT_BEGIN),
            }),
            MsgKind::Trade => Body::Trade(Trade {
                aggressor: side_from_flags(flags),
                price_ticks: p[0] as i64,
                qty_lots: p[1] as i64,
                trade_id: p[2],
            }),
            MsgKind::Bbo => Body::Bbo(Bbo {
                bid_price_ticks: p[0] as i64,
                bid_qty_lots: p[1] as i64,
                ask_price_ticks: p[2] as i64,
                ask_qty_lots: p[3] as i64,
            }),
            MsgKind::MarkIndexFunding => Body::MarkIndexFunding(MarkIndexFunding {
                mark_price_ticks: p[0] as i64,
                index_price_ticks: p[1] as i64,
                funding_rate_e9: p[2] as i64,
                next_funding_ts_ms: p[3],
            }),
            MsgKind::OraclePrice => Body::OraclePrice(OraclePrice {
                price_e8: p[0] as i64,
                conf_e8: p[1],
                publish_time_ms: p[2],
                signer_count: p[3],
            }),
            MsgKind::GatewayStatus => Body::GatewayStatus(GatewayStatus {
                state: SourceState::from_u8(flags).ok_or(bad("state", u64::from(flags)))?,
                reason_code: u32::try_from(p[0]).map_err(|_| bad("reason_code", p[0]))?,
                reason_count: p[1],
                detail: p[2],
            }),
            MsgKind::Heartbeat => Body::Heartbeat(Heartbeat { beat_seq: p[0], sent_ts_ns: p[1] }),
            MsgKind::OrderCommand => Body::OrderCommand(decode_order_command(flags, p, bad)?),
            MsgKind::OrderUpdate => Body::OrderUpdate(OrderUpdate {
                status: decode_order_status(flags).ok_or(bad("status", u64::from(flags)))?,
                client_order_id: p[0],
                fill_qty_lots: p[1] as i64,
                fill_price_ticks: p[2] as i64,
                leaves_qty_lots: p[3] as i64,
            }),
            MsgKind::ChainEvent => Body::ChainEvent(ChainEvent {
                event: decode_chain_event_kind(flags).ok_or(bad("event", u64::from(flags)))?,
                block_number: p[0],
                amount: join_u128(p[1], p[2]),
                ref_id: p[3],
            }),
            MsgKind::RfqRequestRef => Body::RfqRequestRef(decode_rfq(flags, p, bad)?),
            MsgKind::RfqReplyRef => Body::RfqReplyRef(decode_rfq(flags, p, bad)?),
            MsgKind::BookLevels => Body::BookLevels(decode_book_levels(flags, p, bad)?),
            MsgKind::BookLevelsNarrow => {
                Body::BookLevelsNarrow(decode_narrow_levels(flags, p, bad)?)
            }
        })
    }
}

fn decode_book_levels(
    flags: u8,
    p: &[u64; 4],
    bad: impl Fn(&'static str, u64) -> DecodeError,
) -> Result<BookLevels, DecodeError> {
    // Only the side, snapshot and second-level bits are defined; a batch end here would be a
    // batch end without the venue's ids.
    let known = FLAG_SIDE_SELL | FLAG_SNAPSHOT_BEGIN | FLAG_SECOND_SELL | FLAG_SECOND_LEVEL;
    if flags & !known != 0 {
        return Err(bad("flags", u64::from(flags)));
    }
    let first =
        BookLevel { side: side_from_flags(flags), price_ticks: p[0] as i64, qty_lots: p[1] as i64 };
    let second = if flags & FLAG_SECOND_LEVEL != 0 {
        let side = if flags & FLAG_SECOND_SELL != 0 { Side::Sell } else { Side::Buy };
        Some(BookLevel { side, price_ticks: p[2] as i64, qty_lots: p[3] as i64 })
    } else if flags & FLAG_SECOND_SELL != 0 || p[2] != 0 || p[3] != 0 {
        // Words of an absent level are written as zero; anything else is not ours.
        return Err(bad("second_level", p[2] | p[3]));
    } else {
        None
    };
    Ok(BookLevels { first, second, batch_flags: flags & FLAG_SNAPSHOT_BEGIN })
}

fn decode_narrow_levels(
    flags: u8,
    p: &[u64; 4],
    bad: impl Fn(&'static str, u64) -> DecodeError,
) -> Result<NarrowLevels, DecodeError> {
    if flags & FLAG_BATCH_END != 0 {
        return Err(bad("flags", u64::from(flags)));
    }
    let len = usize::from(flags >> NARROW_LEN_SHIFT) + 1;
    let mut levels = [NarrowLevel::default(); NARROW_LEVELS_MAX];
    for (i, (&word, level)) in p.iter().zip(levels.iter_mut()).enumerate() {
        let sell = flags & NARROW_SIDE_SELL[i] != 0;
        if i >= len {
            // Words and side bits of absent levels are written as zero; anything else is not ours.
            if word != 0 || sell {
                return Err(bad("absent_level", word));
            }
            continue;
        }
        *level = NarrowLevel {
            side: if sell { Side::Sell } else { Side::Buy },
            price_ticks: word as u32,
            qty_lots: (word >> 32) as u32,
        };
    }
    Ok(NarrowLevels { levels, len: len as u8, batch_flags: flags & FLAG_SNAPSHOT_BEGIN })
}

fn decode_order_command(
    flags: u8,
    p: &[u64; 4],
    bad: impl Fn(&'static str, u64) -> DecodeError,
) -> Result<OrderCommand, DecodeError> {
    let action = match (flags >> 1) & 0b11 {
        0 => OrderAction::New,
        1 => OrderAction::Cancel,
        2 => OrderAction::CancelAll,
        other => return Err(bad("action", u64::from(other))),
    };
    if flags >> 4 != 0 {
        return Err(bad("flags", u64::from(flags)));
    }
    Ok(OrderCommand {
        action,
        side: side_from_flags(flags),
        reduce_only: flags & (1 << 3) != 0,
        client_order_id: p[0],
        price_ticks: p[1] as i64,
        qty_lots: p[2] as i64,
    })
}

fn decode_order_status(flags: u8) -> Option<OrderStatus> {
    use OrderStatus::*;
    [Accepted, PartiallyFilled, Filled, Canceled, Rejected].into_iter().find(|s| *s as u8 == flags)
}

fn decode_chain_event_kind(flags: u8) -> Option<ChainEventKind> {
    use ChainEventKind::*;
    [
        Mint,
        Redeem,
        CustodyTransfer,
        Erc20Transfer,
        MintCapacity,
        MintingDisabled,
        RedeemCapacity,
        MintingEnabled,
    ]
    .into_iter()
    .find(|k| *k as u8 == flags)
}

fn decode_rfq(
    flags: u8,
    p: &[u64; 4],
    bad: impl Fn(&'static str, u64) -> DecodeError,
) -> Result<RfqRef, DecodeError> {
    if flags > 1 {
        return Err(bad("is_mint", u64::from(flags)));
    }
    Ok(RfqRef { is_mint: flags == 1, rfq_id: p[0], amount: join_u128(p[1], p[2]), ref_id: p[3] })
}

impl Msg {
    /// An all-zero message; rings and buffers are pre-filled with it at start-up.
    pub const EMPTY: Msg = Msg {
        hop_tsc: 0,
        recv_tsc: 0,
        exchange_ts_ns: 0,
        instrument: InstrumentId(0),
        venue: 0,
        kind: 0,
        version: MSG_VERSION,
        flags: 0,
        payload: [0; 4],
    };

    /// Builds a message of the body's kind.
    #[inline]
    pub fn new(origin: Origin, body: Body) -> Msg {
        let (flags, payload) = body.encode();
        Msg {
            hop_tsc: 0,
            recv_tsc: origin.recv_tsc,
            exchange_ts_ns: origin.exchange_ts_ns,
            instrument: origin.instrument,
            venue: origin.venue,
            kind: body.kind() as u8,
            version: MSG_VERSION,
            flags,
            payload,
        }
    }

    /// The typed payload.
    ///
    /// # Errors
    /// [`DecodeError`] for a foreign version, an unknown kind or an out-of-range enum field.
    #[inline]
    pub fn body(&self) -> Result<Body, DecodeError> {
        if self.version != MSG_VERSION {
            return Err(DecodeError::Version { found: self.version });
        }
        let kind = MsgKind::from_u8(self.kind).ok_or(DecodeError::Kind { kind: self.kind })?;
        Body::decode(kind, self.flags, &self.payload)
    }

    /// The header's origin fields.
    pub fn origin(&self) -> Origin {
        Origin {
            venue: self.venue,
            instrument: self.instrument,
            exchange_ts_ns: self.exchange_ts_ns,
            recv_tsc: self.recv_tsc,
        }
    }

    /// Little-endian encoding for files and taps.
    pub fn to_bytes(&self) -> [u8; MSG_BYTES] {
        let mut out = [0u8; MSG_BYTES];
        out[0..8].copy_from_slice(&self.hop_tsc.to_le_bytes());
        out[8..16].copy_from_slice(&self.recv_tsc.to_le_bytes());
        out[16..24].copy_from_slice(&self.exchange_ts_ns.to_le_bytes());
        out[24..28].copy_from_slice(&self.instrument.0.to_le_bytes());
        out[28] = self.venue;
        out[29] = self.kind;
        out[30] = self.version;
        out[31] = self.flags;
        for (i, word) in self.payload.iter().enumerate() {
            out[32 + i * 8..40 + i * 8].copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    /// Reads [`Msg::to_bytes`] output, validating version, kind, venue and payload.
    ///
    /// # Errors
    /// [`DecodeError`] naming the first field that is not valid.
    pub fn from_bytes(bytes: &[u8; MSG_BYTES]) -> Result<Msg, DecodeError> {
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let msg = Msg {
            hop_tsc: word(0),
            recv_tsc: word(8),
            exchange_ts_ns: word(16),
            instrument: InstrumentId(u32::from_le_bytes([
                bytes[24], bytes[25], bytes[26], bytes[27],
            ])),
            venue: bytes[28],
            kind: bytes[29],
            version: bytes[30],
            flags: bytes[31],
            payload: [word(32), word(40), word(48), word(56)],
        };
        VenueId::from_u8(msg.venue).ok_or(DecodeError::Venue { venue: msg.venue })?;
        msg.body()?;
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Body> {
        vec![
            Body::BookDelta(BookDelta {
                side: Side::Sell,
                price_ticks: 6_500_012,
                qty_lots: 0,
                seq: 99,
                seq_prev: 98,
                batch_flags: FLAG_BATCH_END | FLAG_SNAPSHOT_BEGIN,
            }),
            Body::Trade(Trade { aggressor: Side::Buy, price_ticks: -5, qty_lots: 7, trade_id: 1 }),
            Body::Bbo(Bbo {
                bid_price_ticks: 1,
                bid_qty_lots: 2,
                ask_price_ticks: 3,
                ask_qty_lots: i64::MAX,
            }),
            Body::MarkIndexFunding(MarkIndexFunding {
                mark_price_ticks: 10,
                index_price_ticks: 11,
                funding_rate_e9: -12_345,
                next_funding_ts_ms: 1_700_000_000_000,
            }),
            Body::OraclePrice(OraclePrice {
                price_e8: 159_504_422_175,
                conf_e8: 7,
                publish_time_ms: 1_744_563_500_000,
                signer_count: 3,
            }),
            Body::GatewayStatus(GatewayStatus {
                state: SourceState::Quarantined,
                reason_code: 7,
                reason_count: 2,
                detail: 12,
            }),
            Body::Heartbeat(Heartbeat { beat_seq: 4, sent_ts_ns: 5 }),
            Body::OrderCommand(OrderCommand {
                action: OrderAction::CancelAll,
                side: Side::Sell,
                reduce_only: true,
                client_order_id: 77,
                price_ticks: 100,
                qty_lots: 3,
            }),
            Body::OrderUpdate(OrderUpdate {
                status: OrderStatus::PartiallyFilled,
                client_order_id: 77,
                fill_qty_lots: 1,
                fill_price_ticks: 100,
                leaves_qty_lots: 2,
            }),
            Body::ChainEvent(ChainEvent {
                event: ChainEventKind::Redeem,
                block_number: 21_000_000,
                amount: u128::MAX - 5,
                ref_id: 9,
            }),
            Body::RfqRequestRef(RfqRef { is_mint: true, rfq_id: 1, amount: 1 << 100, ref_id: 2 }),
            Body::RfqReplyRef(RfqRef { is_mint: false, rfq_id: 1, amount: 3, ref_id: 4 }),
            Body::BookLevels(BookLevels {
                first: BookLevel { side: Side::Sell, price_ticks: 6_500_013, qty_lots: 4 },
                second: Some(BookLevel { side: Side::Buy, price_ticks: -1, qty_lots: 0 }),
                batch_flags: FLAG_SNAPSHOT_BEGIN,
            }),
            Body::BookLevelsNarrow(narrow(&[(Side::Sell, u32::MAX, 1), (Side::Buy, 7, 0)], 0)),
        ]
    }

    fn narrow(levels: &[(Side, u32, u32)], flags: u8) -> NarrowLevels {
        let levels: Vec<NarrowLevel> = levels
            .iter()
            .map(|&(side, price_ticks, qty_lots)| NarrowLevel { side, price_ticks, qty_lots })
            .collect();
        NarrowLevels::new(&levels, flags).expect("1..=4 levels")
    }

    #[test]
    fn narrow_levels_round_trip_every_count_and_side_and_refuse_foreign_bits() {
        let origin = Origin::new(VenueId::BinanceUsdm, InstrumentId(3));
        let all = [
            (Side::Buy, 1_000_001, 5),
            (Side::Sell, u32::MAX, u32::MAX),
            (Side::Buy, 0, 0),
            (Side::Sell, 42, 1 << 31),
        ];
        for len in 1..=NARROW_LEVELS_MAX {
            for sides in 0..(1u8 << len) {
                let mut levels = all[..len].to_vec();
                for (i, l) in levels.iter_mut().enumerate() {
                    l.0 = if sides & (1 << i) != 0 { Side::Sell } else { Side::Buy };
                }
                for flags in [0, FLAG_SNAPSHOT_BEGIN] {
                    let body = Body::BookLevelsNarrow(narrow(&levels, flags));
                    let msg = Msg::new(origin, body);
                    assert_eq!(msg.flags & FLAG_BATCH_END, 0, "never a batch end");
                    let back = Msg::from_bytes(&msg.to_bytes()).and_then(|m| m.body());
                    assert_eq!(back, Ok(body), "{len} levels, sides {sides:b}");
                    let Ok(Body::BookLevelsNarrow(b)) = back else { unreachable!() };
                    assert_eq!(b.levels().len(), len);
                    assert_eq!(b.batch_flags(), flags);
                }
            }
        }
        assert_eq!(NarrowLevels::new(&[], 0), None);
        assert_eq!(NarrowLevels::new(&[NarrowLevel::default(); 5], 0), None);
        let one = Msg::new(origin, Body::BookLevelsNarrow(narrow(&[(Side::Buy, 9, 9)], 0)));
        let mut bad = one;
        bad.flags |= FLAG_BATCH_END;
        assert!(matches!(bad.body(), Err(DecodeError::Field { field: "flags", .. })));
        let mut bad = one;
        bad.payload[2] = 1;
        assert!(matches!(bad.body(), Err(DecodeError::Field { field: "absent_level", .. })));
        let mut bad = one;
        bad.flags |= NARROW_SIDE_SELL[3];
        assert!(matches!(bad.body(), Err(DecodeError::Field { field: "absent_level", .. })));
    }

    #[test]
    fn narrow_levels_take_exactly_the_levels_that_fit_32_bits() {
        let level = |price_ticks, qty_lots| BookLevel { side: Side::Sell, price_ticks, qty_lots };
        let fits = NarrowLevel::narrow(level(u32::MAX as i64, 0)).expect("fits");
        assert_eq!(fits.wide(), level(u32::MAX as i64, 0));
        assert_eq!(NarrowLevel::narrow(level(u32::MAX as i64 + 1, 1)), None);
        assert_eq!(NarrowLevel::narrow(level(-1, 1)), None);
        assert_eq!(NarrowLevel::narrow(level(1, -1)), None);
        assert_eq!(NarrowLevel::narrow(level(1, 1 << 32)), None);
    }

    #[test]
    fn kind_bytes_follow_the_order_of_all() {
        for (i, kind) in MsgKind::ALL.into_iter().enumerate() {
            assert_eq!(kind as u8 as usize, i + 1, "{kind:?}");
            assert_eq!(MsgKind::from_u8(kind as u8), Some(kind));
        }
        assert_eq!(MsgKind::from_u8(0), None);
        assert_eq!(MsgKind::from_u8(MsgKind::ALL.len() as u8 + 1), None);
    }

    #[test]
    fn book_levels_with_one_level_round_trip_and_never_end_a_batch() {
        let one = Body::BookLevels(BookLevels {
            first: BookLevel { side: Side::Buy, price_ticks: 10, qty_lots: 3 },
            second: None,
            batch_flags: 0,
        });
        let msg = Msg::new(Origin::new(VenueId::Okx, InstrumentId(1)), one);
        assert_eq!(Msg::from_bytes(&msg.to_bytes()).and_then(|m| m.body()), Ok(one));
        let mut bad = msg;
        bad.flags |= FLAG_BATCH_END;
        assert!(matches!(bad.body(), Err(DecodeError::Field { field: "flags", .. })));
        let mut bad = msg;
        bad.payload[3] = 5;
        assert!(matches!(bad.body(), Err(DecodeError::Field { field: "second_level", .. })));
        // A batch end requested through the body is dropped by the encoder, not smuggled in.
        let end = Body::BookLevels(BookLevels {
            first: BookLevel::default(),
            second: None,
            batch_flags: FLAG_BATCH_END,
        });
        let written = Msg::new(Origin::default(), end);
        assert_eq!(written.flags & FLAG_BATCH_END, 0);
    }

    #[test]
    fn every_kind_round_trips_through_bytes() {
        let bodies = samples();
        let kinds: std::collections::HashSet<MsgKind> = bodies.iter().map(|b| b.kind()).collect();
        assert_eq!(kinds.len(), MsgKind::ALL.len(), "a sample per kind");
        for body in bodies {
            let mut origin = Origin::new(VenueId::Okx, InstrumentId(42));
            origin.exchange_ts_ns = 1_700_000_000_123_456_789;
            origin.recv_tsc = 555;
            let mut msg = Msg::new(origin, body);
            msg.hop_tsc = 777;
            let decoded = Msg::from_bytes(&msg.to_bytes()).expect("decodes");
            assert_eq!(decoded, msg);
            assert_eq!(decoded.body().expect("body"), body);
            assert_eq!(decoded.origin(), origin);
        }
    }

    #[test]
    fn foreign_bytes_are_rejected_with_the_field_named() {
        let msg = Msg::new(Origin::new(VenueId::Bybit, InstrumentId(1)), samples()[0]);
        let mut bytes = msg.to_bytes();
        bytes[30] = 9;
        assert_eq!(Msg::from_bytes(&bytes), Err(DecodeError::Version { found: 9 }));
        let mut bytes = msg.to_bytes();
        bytes[29] = 200;
        assert_eq!(Msg::from_bytes(&bytes), Err(DecodeError::Kind { kind: 200 }));
        let mut bytes = msg.to_bytes();
        bytes[28] = 99;
        assert_eq!(Msg::from_bytes(&bytes), Err(DecodeError::Venue { venue: 99 }));
        let status = Msg::new(Origin::default(), samples()[5]);
        let mut bytes = status.to_bytes();
        bytes[31] = 0;
        assert!(matches!(Msg::from_bytes(&bytes), Err(DecodeError::Field { field: "state", .. })));
    }
}
