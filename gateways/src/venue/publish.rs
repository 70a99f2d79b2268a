//! What every venue session shares once a frame is parsed: turning keeper events and data frames
//! into ring messages for the hot thread, backpressure on a full ring, the session counters and
//! the reconnect backoff.
//!
//! Messages per applied book frame: the levels four to a `NarrowLevels` message (two to a
//! `BookLevels` when a price or size does not fit 32 bits), then the last level as a
//! `BookDelta` with the update ids and `FLAG_BATCH_END`; the first message of a
//! snapshot is flagged `FLAG_SNAPSHOT_BEGIN`; all are stamped with the TSC at which the frame
//! was read. A snapshot is followed by a `GatewayStatus` Up; an invalidated book by a
//! `GatewayStatus` Resyncing with the keeper's reason, in the same batch as the frame that broke
//! the rule. A full ring stops the session (it yields until there is room): a book delta is never
//! dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hedger_core::book::OrderBook;
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{
    Bbo, Body, BookDelta, BookLevel, BookLevels, GatewayStatus, MarkIndexFunding, Msg, NarrowLevel,
    NarrowLevels, Origin, Side, SourceState, Trade, FLAG_BATCH_END, FLAG_SNAPSHOT_BEGIN,
    NARROW_LEVELS_MAX,
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
        // Room for a full book or a full delta frame, so neither allocates after start-up: n
        // levels take at most n / 2 + 1 messages (wide pairs at worst, then the closing delta).
        let batch_max = (levels_max + 1).max(FRAME_LEVELS_MAX + 1);
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
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        let levels = [Side::Buy, Side::Sell].into_iter().flat_map(|side| {
            book.side(side).iter().map(move |l| BookLevel {
                side,
                price_ticks: l.price_ticks,
                qty_lots: l.qty_lots,
            })
        });
        pack_batch(&mut batch, origin, levels, (seq, 0), FLAG_SNAPSHOT_BEGIN);
        if batch.is_empty() {
            // An empty book still needs its snapshot's begin and end.
            let flags = FLAG_SNAPSHOT_BEGIN | FLAG_BATCH_END;
            batch.push(delta(origin, BookLevel::default(), seq, 0, flags));
        }
        self.send_all(&batch).await;
        self.batch = batch;
        self.status(origin, SourceState::Up, 0, seq).await;
    }

    /// A delta frame's levels go out as one ring write: the consumer sees the whole batch at
    /// once (one tail update, not one per level, so the two cores do not trade the ring's cache
    /// lines level by level while the hot thread is already popping).
    async fn frame_levels(&mut self, frame: &ParsedFrame, origin: Origin) {
        let ids = (frame.ids.last, frame.ids.prev.unwrap_or(0).max(0) as u64);
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        let levels = [(Side::Buy, &frame.bids), (Side::Sell, &frame.asks)].into_iter().flat_map(
            |(side, levels)| {
                levels.iter().map(move |l| BookLevel {
                    side,
                    price_ticks: l.price,
                    qty_lots: l.qty,
                })
            },
        );
        pack_batch(&mut batch, origin, levels, ids, 0);
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

/// Appends one batch of book levels to `batch`: the levels four to a [`NarrowLevels`] message
/// where price and size fit 32 bits (else two to a [`BookLevels`]), and the last level as the
/// [`BookDelta`] that carries the update ids (`seq`, `seq_prev`) and the batch end: a 20×20
/// frame is 11 messages narrow, 21 wide. Gateways publish wire-scale (1e-8) prices, which do
/// not fit 32 bits, so today their frames go wide; the narrow form waits for instrument ticks.
/// `first_flags` ([`FLAG_SNAPSHOT_BEGIN`] or 0) goes on the batch's first
/// message. Nothing is appended for no levels. Public so benchmarks and tests build exactly what
/// a gateway sends.
pub fn pack_batch(
    batch: &mut Vec<Msg>,
    origin: Origin,
    levels: impl Iterator<Item = BookLevel>,
    (seq, seq_prev): (u64, u64),
    first_flags: u8,
) {
    let mut levels = levels.peekable();
    let mut flags = first_flags;
    let mut chunk = [BookLevel::default(); NARROW_LEVELS_MAX];
    loop {
        let mut n = 0;
        while n < NARROW_LEVELS_MAX {
            let Some(level) = levels.next() else { break };
            if levels.peek().is_none() {
                // The batch's last level closes it, after the levels before it.
                if n > 0 {
                    push_levels(batch, origin, &chunk[..n], flags);
                    flags = 0;
                }
                batch.push(delta(origin, level, seq, seq_prev, flags | FLAG_BATCH_END));
                return;
            }
            chunk[n] = level;
            n += 1;
        }
        if n == 0 {
            return;
        }
        push_levels(batch, origin, &chunk[..n], flags);
        flags = 0;
    }
}

/// One `NarrowLevels` for up to four levels that all fit, else `BookLevels` pairs; `flags` on
/// the first message only.
fn push_levels(batch: &mut Vec<Msg>, origin: Origin, levels: &[BookLevel], flags: u8) {
    let mut narrow = [NarrowLevel::default(); NARROW_LEVELS_MAX];
    let fits = levels
        .iter()
        .zip(narrow.iter_mut())
        .all(|(level, slot)| NarrowLevel::narrow(*level).map(|n| *slot = n).is_some());
    if let (true, Some(body)) = (fits, NarrowLevels::new(&narrow[..levels.len()], flags)) {
        batch.push(Msg::new(origin, Body::BookLevelsNarrow(body)));
        return;
    }
    let mut flags = flags;
    for pair in levels.chunks(2) {
        let body = BookLevels { first: pair[0], second: pair.get(1).copied(), batch_flags: flags };
        batch.push(Msg::new(origin, Body::BookLevels(body)));
        flags = 0;
    }
}

fn delta(origin: Origin, level: BookLevel, seq: u64, seq_prev: u64, batch_flags: u8) -> Msg {
    let BookLevel { side, price_ticks, qty_lots } = level;
    Msg::new(
        origin,
        Body::BookDelta(BookDelta { side, price_ticks, qty_lots, seq, seq_prev, batch_flags }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedger_core::books::{BookUpdate, HotBooks};

    /// Bids below 1 000, asks above 2 000: any mix of them is an uncrossed book.
    fn level(i: i64) -> BookLevel {
        if i % 3 == 0 {
            BookLevel { side: Side::Sell, price_ticks: 2_000 + i, qty_lots: i % 4 }
        } else {
            BookLevel { side: Side::Buy, price_ticks: 1_000 - i, qty_lots: i % 4 }
        }
    }

    /// An ask whose price does not fit a narrow message.
    fn wide_level(i: i64) -> BookLevel {
        BookLevel { side: Side::Sell, price_ticks: (1 << 33) + i, qty_lots: i % 4 }
    }

    /// Every level, in order, from a batch's messages; and the kind and flags of each message.
    fn unpack(batch: &[Msg]) -> (Vec<BookLevel>, Vec<(MsgKindName, u8)>) {
        let mut levels = Vec::new();
        let mut shapes = Vec::new();
        for msg in batch {
            match msg.body().expect("decodes") {
                Body::BookLevels(b) => {
                    levels.extend(b.levels());
                    shapes.push(("levels", b.batch_flags));
                }
                Body::BookLevelsNarrow(b) => {
                    levels.extend(b.levels().iter().map(|l| l.wide()));
                    shapes.push(("narrow", b.batch_flags()));
                }
                Body::BookDelta(d) => {
                    assert_eq!((d.seq, d.seq_prev), (9, 8), "the close carries the ids");
                    levels.push(BookLevel {
                        side: d.side,
                        price_ticks: d.price_ticks,
                        qty_lots: d.qty_lots,
                    });
                    shapes.push(("delta", d.batch_flags));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        (levels, shapes)
    }
    type MsgKindName = &'static str;

    #[test]
    fn batches_pack_four_narrow_or_two_wide_levels_a_message_and_close_with_one_delta() {
        let origin = Origin::new(VenueId::Okx, InstrumentId(1));
        // Which levels are too wide for 32 bits: none, all, every third.
        let patterns: [fn(i64) -> bool; 3] = [|_| false, |_| true, |i| i % 3 == 1];
        for n in 0..=13i64 {
            for (p, wide) in patterns.iter().enumerate() {
                for first_flags in [0, FLAG_SNAPSHOT_BEGIN] {
                    let mut batch = Vec::new();
                    let want: Vec<BookLevel> =
                        (0..n).map(|i| if wide(i) { wide_level(i) } else { level(i) }).collect();
                    pack_batch(&mut batch, origin, want.iter().copied(), (9, 8), first_flags);
                    let (got, shapes) = unpack(&batch);
                    assert_eq!(got, want, "{n} levels in order, pattern {p}");
                    if n == 0 {
                        assert!(batch.is_empty());
                        continue;
                    }
                    // Chunks of four before the last level: one narrow message when all fit,
                    // else wide pairs; then the close.
                    let expected: usize = want[..want.len() - 1]
                        .chunks(NARROW_LEVELS_MAX)
                        .map(|c| {
                            let fits = c.iter().all(|l| NarrowLevel::narrow(*l).is_some());
                            if fits {
                                1
                            } else {
                                c.len().div_ceil(2)
                            }
                        })
                        .sum::<usize>()
                        + 1;
                    assert_eq!(batch.len(), expected, "{n} levels, pattern {p}");
                    let last = shapes.len() - 1;
                    for (i, (kind, flags)) in shapes.iter().enumerate() {
                        let begin = if i == 0 { first_flags } else { 0 };
                        let end = if i == last { FLAG_BATCH_END } else { 0 };
                        assert_eq!(*flags, begin | end, "{n} levels, pattern {p}, message {i}");
                        assert_eq!(*kind == "delta", i == last, "only the close is a delta");
                    }
                }
            }
        }
        let mut batch = Vec::new();
        pack_batch(&mut batch, origin, (0..40).map(level), (9, 8), 0);
        assert_eq!(batch.len(), 11, "a 20x20 frame of narrow levels takes 11 slots");
    }

    #[test]
    fn a_packed_snapshot_then_a_packed_frame_give_the_hot_thread_the_same_book() {
        let origin = Origin::new(VenueId::Okx, InstrumentId(1));
        let mut expected = OrderBook::new(64);
        let mut books = HotBooks::new(2, 64);
        let mut batch = Vec::new();
        // Level 4 is too wide for a narrow message: the snapshot mixes both forms.
        let snapshot: Vec<BookLevel> = (1..=11)
            .map(|i| if i == 4 { wide_level(i) } else { level(i) })
            .filter(|l| l.qty_lots != 0)
            .collect();
        for l in &snapshot {
            expected.set(l.side, l.price_ticks, l.qty_lots).unwrap();
        }
        pack_batch(&mut batch, origin, snapshot.into_iter(), (9, 8), FLAG_SNAPSHOT_BEGIN);
        let frame: Vec<BookLevel> =
            (5..=12).map(|i| BookLevel { qty_lots: 0, ..level(i) }).collect();
        for l in &frame {
            expected.set(l.side, l.price_ticks, l.qty_lots).unwrap();
        }
        pack_batch(&mut batch, origin, frame.into_iter(), (9, 8), 0);
        let ends: Vec<BookUpdate> = batch
            .iter()
            .map(|m| books.apply(m))
            .filter(|u| matches!(u, BookUpdate::BatchEnd { .. }))
            .collect();
        assert_eq!(ends.len(), 2);
        let book = books.usable(1).expect("usable");
        for side in [Side::Buy, Side::Sell] {
            assert_eq!(book.side(side), expected.side(side), "{side:?}");
        }
        assert_eq!(books.rejected(), 0);
    }
}
