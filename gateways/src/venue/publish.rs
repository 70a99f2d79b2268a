//! What every venue session shares once a frame is parsed: turning keeper events and data frames
//! into ring messages for the hot thread, backpressure on a full ring, the session counters and
//! the reconnect backoff.
//!
//! Messages per applied book frame: one `BookDelta` per level, the first of a snapshot flagged
//! `FLAG_SNAPSHOT_BEGIN`, the last flagged `FLAG_BATCH_END`, all stamped with the TSC at which
//! the frame was read. A snapshot is followed by a `GatewayStatus` Up; an invalidated book by a
//! `GatewayStatus` Resyncing with the keeper's reason, in the same batch as the frame that broke
//! the rule. A full ring stops the session (it yields until there is room): a book delta is never
//! dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hedger_core::book::OrderBook;
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{
    Bbo, Body, BookDelta, GatewayStatus, MarkIndexFunding, Msg, Origin, Side, SourceState, Trade,
    FLAG_BATCH_END, FLAG_SNAPSHOT_BEGIN,
};
use hedger_ipc::RingProducer;

use super::{reason, FrameKind, KeeperEvent, ParsedFrame, FRAME_LEVELS_MAX};
use crate::ws::YieldNow;

/// Counters a test or the cold thread can read while a session runs.
#[derive(Debug, Default)]
pub struct SessionStats {
    pub connects: AtomicU64,
    pub disconnects: AtomicU64,
    pub frames: AtomicU64,
    pub parse_errors: AtomicU64,
    /// Error replies from the venue (a refused subscribe, a JSON-RPC error), not counted as
    /// parse errors.
    pub venue_errors: AtomicU64,
    pub snapshots: AtomicU64,
    pub gaps: AtomicU64,
    pub ring_full_waits: AtomicU64,
    /// Resubscribes sent to resync an invalid book (stream-snapshot venues).
    pub resubscribes: AtomicU64,
    /// Pings and heartbeat answers written (`{"op":"ping"}`, `ping`, `public/test`).
    pub pings: AtomicU64,
    /// Checksum mismatches (OKX, when the venue sends a non-zero checksum).
    pub checksum_failures: AtomicU64,
    /// Instruments endpoint fetches, and the failed ones (each ends the attempt as Down).
    pub instrument_fetches: AtomicU64,
    pub instrument_errors: AtomicU64,
}

impl SessionStats {
    /// Every counter with its name, in a fixed order (telemetry counters `<venue>.<name>`).
    pub fn named(&self) -> [(&'static str, &AtomicU64); 13] {
        [
            ("connects", &self.connects),
            ("disconnects", &self.disconnects),
            ("frames", &self.frames),
            ("parse_errors", &self.parse_errors),
            ("venue_errors", &self.venue_errors),
            ("snapshots", &self.snapshots),
            ("gaps", &self.gaps),
            ("ring_full_waits", &self.ring_full_waits),
            ("resubscribes", &self.resubscribes),
            ("pings", &self.pings),
            ("checksum_failures", &self.checksum_failures),
            ("instrument_fetches", &self.instrument_fetches),
            ("instrument_errors", &self.instrument_errors),
        ]
    }
}

/// Single-writer increment (only the session thread writes; readers load).
pub fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Release);
}

/// Exponential backoff with jitter in [50 %, 100 %] of the step, from a xorshift state.
pub fn jittered_backoff(rng: &mut u64, failures: u32, min_ms: u64, max_ms: u64) -> Duration {
    let step = min_ms.saturating_mul(1u64 << failures.min(16)).min(max_ms);
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    Duration::from_millis(step / 2 + *rng % (step / 2 + 1))
}

/// The session's ring producer plus the message shapes it writes.
pub struct Publisher {
    out: RingProducer<Msg>,
    venue: VenueId,
    stats: Arc<SessionStats>,
    /// Reused batch for full-book snapshots (allocated once at its maximum).
    batch: Vec<Msg>,
}

impl Publisher {
    /// `levels_max` per side bounds the snapshot batch (allocated here, once).
    pub fn new(
        out: RingProducer<Msg>,
        venue: VenueId,
        stats: Arc<SessionStats>,
        levels_max: usize,
    ) -> Publisher {
        // Room for a full book or a full delta frame, so neither allocates after start-up.
        let batch_max = (2 * levels_max + 1).max(2 * FRAME_LEVELS_MAX);
        Publisher { out, venue, stats, batch: Vec::with_capacity(batch_max) }
    }

    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// The origin of a message about `instrument` from `frame`, read at `recv_tsc`.
    pub fn origin(&self, instrument: InstrumentId, frame: &ParsedFrame, recv_tsc: u64) -> Origin {
        let mut origin = Origin::new(self.venue, instrument);
        origin.exchange_ts_ns = frame.exchange_ts_ms.saturating_mul(1_000_000);
        origin.recv_tsc = recv_tsc;
        origin
    }

    /// Publishes what a keeper event means for the hot thread: the full book after a snapshot,
    /// the frame's levels after a delta, a status after an invalidation or quarantine.
    pub async fn book_event(
        &mut self,
        event: KeeperEvent,
        book: &OrderBook,
        frame: &ParsedFrame,
        origin: Origin,
    ) {
        match event {
            KeeperEvent::SnapshotApplied => {
                bump(&self.stats.snapshots);
                self.full_book(book, frame.ids.last, origin).await;
            }
            KeeperEvent::Applied => self.frame_levels(frame, origin).await,
            KeeperEvent::Invalidated { reason_code, expected, .. } => {
                bump(&self.stats.gaps);
                if reason_code == reason::CHECKSUM {
                    bump(&self.stats.checksum_failures);
                }
                let detail = expected.max(0) as u64;
                self.status(origin, SourceState::Resyncing, reason_code, detail).await;
            }
            KeeperEvent::Quarantined { reason_code } => {
                self.status(origin, SourceState::Quarantined, reason_code, 0).await;
            }
            _ => {}
        }
    }

    async fn full_book(&mut self, book: &OrderBook, seq: u64, origin: Origin) {
        let (bids, asks) = book.depth();
        let total = bids + asks;
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        for side in [Side::Buy, Side::Sell] {
            for level in book.side(side) {
                let sent = batch.len();
                let flags = if sent == 0 { FLAG_SNAPSHOT_BEGIN } else { 0 }
                    | if sent + 1 == total { FLAG_BATCH_END } else { 0 };
                batch.push(delta(origin, side, level.price_ticks, level.qty_lots, seq, 0, flags));
            }
        }
        if total == 0 {
            let flags = FLAG_SNAPSHOT_BEGIN | FLAG_BATCH_END;
            batch.push(delta(origin, Side::Buy, 0, 0, seq, 0, flags));
        }
        self.send_all(&batch).await;
        self.batch = batch;
        self.status(origin, SourceState::Up, 0, seq).await;
    }

    /// A delta frame's levels go out as one ring write: the consumer sees the whole batch at
    /// once (one tail update, not one per level, so the two cores do not trade the ring's cache
    /// lines level by level while the hot thread is already popping).
    async fn frame_levels(&mut self, frame: &ParsedFrame, origin: Origin) {
        let total = frame.bids.len() + frame.asks.len();
        let (seq, seq_prev) = (frame.ids.last, frame.ids.prev.unwrap_or(0).max(0) as u64);
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        for (side, levels) in [(Side::Buy, &frame.bids), (Side::Sell, &frame.asks)] {
            for level in levels.iter() {
                let flags = if batch.len() + 1 == total { FLAG_BATCH_END } else { 0 };
                batch.push(delta(origin, side, level.price, level.qty, seq, seq_prev, flags));
            }
        }
        self.send_all(&batch).await;
        self.batch = batch;
    }

    /// Publishes a non-book frame (BBO, trades, mark/index/funding); others are ignored.
    pub async fn data_frame(&mut self, frame: &ParsedFrame, origin: Origin) {
        match frame.kind {
            FrameKind::Bbo => {
                let b = frame.bbo;
                let body = Body::Bbo(Bbo {
                    bid_price_ticks: b.bid.price,
                    bid_qty_lots: b.bid.qty,
                    ask_price_ticks: b.ask.price,
                    ask_qty_lots: b.ask.qty,
                });
                self.send(Msg::new(origin, body)).await;
            }
            FrameKind::Trades => {
                for t in frame.trades.iter() {
                    let body = Body::Trade(Trade {
                        aggressor: t.aggressor.unwrap_or(Side::Buy),
                        price_ticks: t.price,
                        qty_lots: t.qty,
                        trade_id: t.trade_id,
                    });
                    self.send(Msg::new(origin, body)).await;
                }
            }
            FrameKind::MarkFunding => {
                let m = frame.mark;
                let body = Body::MarkIndexFunding(MarkIndexFunding {
                    mark_price_ticks: m.mark_price.unwrap_or(0),
                    index_price_ticks: m.index_price.unwrap_or(0),
                    // Wire scale 1e-8 → parts per 1e9.
                    funding_rate_e9: m.funding_rate.unwrap_or(0).saturating_mul(10),
                    next_funding_ts_ms: m.next_funding_ms.unwrap_or(0),
                });
                self.send(Msg::new(origin, body)).await;
            }
            _ => {}
        }
    }

    /// A `GatewayStatus`; `reason_count` carries the session's gap count so far.
    pub async fn status(
        &mut self,
        origin: Origin,
        state: SourceState,
        reason_code: u32,
        detail: u64,
    ) {
        let gaps = self.stats.gaps.load(Ordering::Relaxed);
        let body =
            Body::GatewayStatus(GatewayStatus { state, reason_code, reason_count: gaps, detail });
        self.send(Msg::new(origin, body)).await;
    }

    /// Every instrument down (`silent`: stale, with the stale-feed reason) after a connection
    /// ended; nothing downstream prices from these books until they are resynced. A non-zero
    /// `down_reason` (e.g. the instruments fetch failed) names why the session is down.
    pub async fn all_down(
        &mut self,
        instruments: &[InstrumentId],
        silent: bool,
        down_reason: u32,
        now_tsc: u64,
    ) {
        let (state, reason_code) = if silent && down_reason == 0 {
            (SourceState::Stale, reason::STALE_FEED)
        } else {
            (SourceState::Down, down_reason)
        };
        for &instrument in instruments {
            let mut origin = Origin::new(self.venue, instrument);
            origin.recv_tsc = now_tsc;
            self.status(origin, state, reason_code, 0).await;
        }
    }

    async fn send_all(&mut self, msgs: &[Msg]) {
        let mut done = 0;
        while done < msgs.len() {
            let n = self.out.push_slice(&msgs[done..]);
            done += n;
            if n == 0 {
                bump(&self.stats.ring_full_waits);
                YieldNow(false).await;
            }
        }
    }

    /// Pushes one message, yielding while the ring is full.
    pub async fn send(&mut self, msg: Msg) {
        let mut msg = msg;
        while let Err(rtrb::PushError::Full(back)) = self.out.push(msg) {
            msg = back;
            bump(&self.stats.ring_full_waits);
            YieldNow(false).await;
        }
    }
}

fn delta(
    origin: Origin,
    side: Side,
    price_ticks: i64,
    qty_lots: i64,
    seq: u64,
    seq_prev: u64,
    batch_flags: u8,
) -> Msg {
    Msg::new(
        origin,
        Body::BookDelta(BookDelta { side, price_ticks, qty_lots, seq, seq_prev, batch_flags }),
    )
}
