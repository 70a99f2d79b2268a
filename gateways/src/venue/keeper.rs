//! Applies a venue's book frames to an [`OrderBook`] under its sequencer's verdicts.
//!
//! States: `Syncing → Valid → Invalid(reason) → Syncing …`, and `Quarantined` once
//! `resync_attempts_max` resyncs in a row have failed. Only a `Valid` book may be read for
//! pricing ([`BookKeeper::usable_book`]); the frame that breaks a rule invalidates the book
//! before anything else reads it. Frames that arrive before the snapshot are buffered up to a
//! fixed bound (Binance step 2); overflowing the bound restarts the sync and is counted.

use hedger_core::book::{Level, OrderBook};
use hedger_core::instrument::{Divisor, InstrumentSpec};
use hedger_core::msg::Side;

use super::{
    reason, BookIds, BookSequencer, FrameKind, ParsedFrame, SeqVerdict, WireLevel, FRAME_LEVELS_MAX,
};

/// Where a book stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookState {
    /// Waiting for a snapshot (buffering deltas if the venue needs it).
    Syncing,
    /// Proven continuous since its snapshot.
    Valid,
    /// A rule broke; a resync is needed (reason code from [`reason`]).
    Invalid { reason_code: u32 },
    /// Resync failed `resync_attempts_max` times in a row; stays until an operator resets it.
    Quarantined { reason_code: u32 },
}

/// What one frame did, for the gateway to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeeperEvent {
    SnapshotApplied,
    Applied,
    Buffered,
    /// An old or duplicate frame was dropped (counted).
    Stale,
    Heartbeat,
    /// The book became invalid on this frame; the gateway must resync (REST snapshot or
    /// resubscribe, per the venue).
    Invalidated {
        reason_code: u32,
        expected: i64,
        got: i64,
    },
    /// The book is quarantined (this frame was ignored).
    Quarantined {
        reason_code: u32,
    },
    /// The frame was not a book frame.
    NotBook,
}

/// Limits of a keeper.
#[derive(Clone, Copy, Debug)]
pub struct KeeperLimits {
    pub levels_max: usize,
    pub sync_buffer_frames_max: usize,
    pub sync_buffer_levels_max: usize,
    pub resync_attempts_max: u32,
    /// Frames a book must stay valid before its failed-resync count is forgiven: a book that
    /// breaks again right after each resync is not fixed by resyncing.
    pub forgive_after_frames: u32,
}

impl Default for KeeperLimits {
    fn default() -> Self {
        KeeperLimits {
            levels_max: 2_048,
            sync_buffer_frames_max: 1_024,
            sync_buffer_levels_max: 200_000,
            resync_attempts_max: 5,
            forgive_after_frames: 1_000,
        }
    }
}

/// Counters of one book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeeperCounters {
    pub frames: u64,
    pub snapshots: u64,
    pub gaps: u64,
    pub stale_dropped: u64,
    pub crossed: u64,
    pub bad_levels: u64,
    pub buffer_overflows: u64,
    pub checksum_failures: u64,
    pub resyncs: u64,
}

#[derive(Clone, Copy)]
struct Buffered {
    kind: FrameKind,
    ids: BookIds,
    bids: (usize, usize),
    asks: (usize, usize),
}

/// One instrument's book and its sync state.
pub struct BookKeeper<S> {
    sequencer: S,
    book: OrderBook,
    state: BookState,
    limits: KeeperLimits,
    counters: KeeperCounters,
    consecutive_failures: u32,
    valid_streak_frames: u32,
    buffered_frames: Vec<Buffered>,
    buffered_levels: Vec<WireLevel>,
    /// The instrument's grid, once known: levels off its tick or lot are bad levels.
    spec: Option<InstrumentSpec>,
    /// The spec's tick and lot as divisors when the tick does not depend on the price.
    grid: Option<(Divisor, Divisor)>,
    /// A delta frame accepted by [`BookKeeper::on_frame_deferred`] and not yet applied.
    deferred: bool,
    /// One side of a frame as book levels (allocated at a frame's maximum, once).
    merge: Vec<Level>,
}

impl<S: BookSequencer> BookKeeper<S> {
    /// Allocates the book and the sync buffer.
    pub fn new(sequencer: S, limits: KeeperLimits) -> BookKeeper<S> {
        BookKeeper {
            sequencer,
            book: OrderBook::new(limits.levels_max),
            state: BookState::Syncing,
            limits,
            counters: KeeperCounters::default(),
            consecutive_failures: 0,
            valid_streak_frames: 0,
            buffered_frames: Vec::with_capacity(limits.sync_buffer_frames_max),
            buffered_levels: Vec::with_capacity(limits.sync_buffer_levels_max),
            spec: None,
            grid: None,
            deferred: false,
            merge: Vec::with_capacity(FRAME_LEVELS_MAX),
        }
    }

    /// Sets the instrument spec every later level is checked against (price on the tick at
    /// its price, quantity a multiple of the lot; a delete with qty 0 only needs the price).
    /// A level off the grid invalidates the book with [`reason::BAD_LEVEL`]: the venue's data
    /// disagrees with its own metadata, so neither can be trusted until a resync.
    pub fn set_spec(&mut self, spec: Option<InstrumentSpec>) {
        self.grid = spec
            .as_ref()
            .filter(|s| s.steps().is_empty())
            .and_then(|s| Some((Divisor::new(s.tick_size_e8)?, Divisor::new(s.lot_size_e8)?)));
        self.spec = spec;
    }

    /// The spec levels are checked against.
    pub fn spec(&self) -> Option<&InstrumentSpec> {
        self.spec.as_ref()
    }

    #[inline]
    fn on_grid(&self, level: &WireLevel) -> bool {
        if let Some((tick, lot)) = &self.grid {
            return tick.divides(level.price) && lot.divides(level.qty);
        }
        self.spec.as_ref().is_none_or(|s| s.is_on_tick(level.price) && s.is_on_lot(level.qty))
    }

    pub fn state(&self) -> BookState {
        self.state
    }

    pub fn counters(&self) -> &KeeperCounters {
        &self.counters
    }

    /// The book, whatever its state (for tools and tests; pricing uses `usable_book`).
    pub fn book(&self) -> &OrderBook {
        &self.book
    }

    /// The book only while it is valid.
    pub fn usable_book(&self) -> Option<&OrderBook> {
        (self.state == BookState::Valid).then_some(&self.book)
    }

    /// The sequencer (venue-specific state, e.g. the last id).
    pub fn sequencer(&self) -> &S {
        &self.sequencer
    }

    /// Counts a checksum mismatch found by the venue module and invalidates the book.
    pub fn fail_checksum(&mut self, expected: i64, got: i64) -> KeeperEvent {
        self.counters.checksum_failures += 1;
        self.invalidate(reason::CHECKSUM, expected, got)
    }

    /// The snapshot did not come within the session's limit after a (re)subscribe: a failed
    /// sync attempt like a gap (counted; quarantined after `resync_attempts_max` in a row).
    pub fn fail_sync_timeout(&mut self) -> KeeperEvent {
        if let BookState::Quarantined { reason_code } = self.state {
            return KeeperEvent::Quarantined { reason_code };
        }
        self.invalidate(reason::SNAPSHOT_TIMEOUT, 0, 0)
    }

    /// Starts a new sync (a new connection); a quarantined book stays quarantined.
    pub fn resync(&mut self) {
        if !matches!(self.state, BookState::Quarantined { .. }) {
            self.restart_sync();
        }
    }

    /// Operator action: leave quarantine and sync again.
    pub fn reset_quarantine(&mut self) {
        self.consecutive_failures = 0;
        self.restart_sync();
    }

    /// Feeds one parsed frame.
    pub fn on_frame(&mut self, frame: &ParsedFrame) -> KeeperEvent {
        self.judge(frame, false)
    }

    /// [`BookKeeper::on_frame`], or with `defer` the first half of
    /// [`BookKeeper::on_frame_deferred`].
    fn judge(&mut self, frame: &ParsedFrame, defer: bool) -> KeeperEvent {
        if !matches!(
            frame.kind,
            FrameKind::BookSnapshot | FrameKind::BookDelta | FrameKind::Heartbeat
        ) {
            return KeeperEvent::NotBook;
        }
        if let BookState::Quarantined { reason_code } = self.state {
            return KeeperEvent::Quarantined { reason_code };
        }
        self.counters.frames += 1;
        let verdict = self.sequencer.on_book_frame(frame.kind, &frame.ids);
        if defer && verdict == SeqVerdict::Apply && frame.kind == FrameKind::BookDelta {
            if let Some(event) = self.check_levels(&frame.bids, &frame.asks) {
                return event;
            }
            self.deferred = true;
            return KeeperEvent::Applied;
        }
        self.act(verdict, frame.kind, frame.ids, &frame.bids, &frame.asks)
    }

    /// [`BookKeeper::on_frame`] for a caller that publishes a delta frame before its own book
    /// takes it. A delta the sequencer accepts has every level checked (on the grid, a valid
    /// price and size) and is reported `Applied`, but the book is changed only by the
    /// [`BookKeeper::commit`] that must follow, after the frame's levels went out. The gateway's
    /// book pass is then off the path from the wire to the hot thread's book. The one check
    /// left for `commit`, a crossed result, the hot thread makes for itself at the batch end
    /// (`HotBooks`), so a crossed book is never usable there either way. Every other frame is
    /// handled exactly as by `on_frame`.
    pub fn on_frame_deferred(&mut self, frame: &ParsedFrame) -> KeeperEvent {
        debug_assert!(!self.deferred, "commit the previous frame first");
        self.judge(frame, true)
    }

    /// Applies the frame that [`BookKeeper::on_frame_deferred`] accepted, if any; `Some` when
    /// the result invalidates the book (crossed), for the caller to publish after the levels.
    pub fn commit(&mut self, frame: &ParsedFrame) -> Option<KeeperEvent> {
        if !std::mem::take(&mut self.deferred) {
            return None;
        }
        // `on_frame_deferred` checked the levels already.
        if let Some(event) = self.apply_checked_levels(&frame.bids, &frame.asks) {
            return Some(event);
        }
        self.note_valid_frame();
        None
    }

    fn note_valid_frame(&mut self) {
        if self.state == BookState::Valid {
            self.valid_streak_frames = self.valid_streak_frames.saturating_add(1);
            if self.valid_streak_frames >= self.limits.forgive_after_frames {
                self.consecutive_failures = 0;
            }
        }
    }

    /// The per-level checks of [`BookKeeper::apply_levels`] without changing the book.
    fn check_levels(&mut self, bids: &[WireLevel], asks: &[WireLevel]) -> Option<KeeperEvent> {
        for level in bids.iter().chain(asks) {
            if !self.on_grid(level) {
                self.counters.bad_levels += 1;
                return Some(self.invalidate(reason::BAD_LEVEL, level.price, level.qty));
            }
            if OrderBook::check_level(level.price, level.qty).is_err() {
                self.counters.bad_levels += 1;
                return Some(self.invalidate(reason::BAD_LEVEL, 0, level.qty));
            }
        }
        None
    }

    fn act(
        &mut self,
        verdict: SeqVerdict,
        kind: FrameKind,
        ids: BookIds,
        bids: &[WireLevel],
        asks: &[WireLevel],
    ) -> KeeperEvent {
        match verdict {
            SeqVerdict::ApplySnapshot => {
                self.counters.snapshots += 1;
                self.book.clear();
                if let Some(event) = self.apply_levels(bids, asks) {
                    return event;
                }
                self.state = BookState::Valid;
                self.replay_buffer().unwrap_or(KeeperEvent::SnapshotApplied)
            }
            SeqVerdict::Apply => {
                if let Some(event) = self.apply_levels(bids, asks) {
                    return event;
                }
                self.note_valid_frame();
                KeeperEvent::Applied
            }
            SeqVerdict::Buffer => self.buffer(kind, ids, bids, asks),
            SeqVerdict::Stale => {
                self.counters.stale_dropped += 1;
                KeeperEvent::Stale
            }
            SeqVerdict::Heartbeat => KeeperEvent::Heartbeat,
            SeqVerdict::Gap { expected, got } => {
                self.counters.gaps += 1;
                self.invalidate(reason::GAP, expected, got)
            }
        }
    }

    /// Applies a frame's levels; on a bad level or a crossed result, invalidates.
    fn apply_levels(&mut self, bids: &[WireLevel], asks: &[WireLevel]) -> Option<KeeperEvent> {
        self.check_levels(bids, asks).or_else(|| self.apply_checked_levels(bids, asks))
    }

    /// [`BookKeeper::apply_levels`] for levels [`BookKeeper::check_levels`] passed.
    fn apply_checked_levels(
        &mut self,
        bids: &[WireLevel],
        asks: &[WireLevel],
    ) -> Option<KeeperEvent> {
        // A side at a time, merged into the book in one pass when sorted (`apply_sorted`).
        for (side, levels) in [(Side::Buy, bids), (Side::Sell, asks)] {
            self.merge.clear();
            self.merge
                .extend(levels.iter().map(|l| Level { price_ticks: l.price, qty_lots: l.qty }));
            if self.book.apply_sorted(side, &self.merge).is_err() {
                // `check_levels` refused every level `set` would refuse.
                self.counters.bad_levels += 1;
                return Some(self.invalidate(reason::BAD_LEVEL, 0, 0));
            }
        }
        if self.book.is_crossed() {
            self.counters.crossed += 1;
            let bid = self.book.best_bid().map_or(0, |l| l.price_ticks);
            let ask = self.book.best_ask().map_or(0, |l| l.price_ticks);
            return Some(self.invalidate(reason::CROSSED, ask, bid));
        }
        None
    }

    fn buffer(
        &mut self,
        kind: FrameKind,
        ids: BookIds,
        bids: &[WireLevel],
        asks: &[WireLevel],
    ) -> KeeperEvent {
        let levels = bids.len() + asks.len();
        if self.buffered_frames.len() == self.limits.sync_buffer_frames_max
            || self.buffered_levels.len() + levels > self.limits.sync_buffer_levels_max
        {
            self.counters.buffer_overflows += 1;
            return self.invalidate(
                reason::BUFFER_OVERFLOW,
                self.limits.sync_buffer_frames_max as i64,
                levels as i64,
            );
        }
        let start = self.buffered_levels.len();
        self.buffered_levels.extend_from_slice(bids);
        self.buffered_levels.extend_from_slice(asks);
        self.buffered_frames.push(Buffered {
            kind,
            ids,
            bids: (start, start + bids.len()),
            asks: (start + bids.len(), start + levels),
        });
        KeeperEvent::Buffered
    }

    /// After a snapshot: runs the buffered frames through the sequencer in arrival order.
    fn replay_buffer(&mut self) -> Option<KeeperEvent> {
        let frames = std::mem::take(&mut self.buffered_frames);
        let levels = std::mem::take(&mut self.buffered_levels);
        let mut outcome = None;
        for f in &frames {
            let verdict = self.sequencer.on_book_frame(f.kind, &f.ids);
            let event = self.act(
                verdict,
                f.kind,
                f.ids,
                &levels[f.bids.0..f.bids.1],
                &levels[f.asks.0..f.asks.1],
            );
            if let KeeperEvent::Invalidated { .. } = event {
                outcome = Some(event);
                break;
            }
        }
        self.buffered_frames = frames;
        self.buffered_levels = levels;
        self.buffered_frames.clear();
        self.buffered_levels.clear();
        outcome
    }

    fn invalidate(&mut self, reason_code: u32, expected: i64, got: i64) -> KeeperEvent {
        self.consecutive_failures += 1;
        self.counters.resyncs += 1;
        self.restart_sync();
        if self.consecutive_failures > self.limits.resync_attempts_max {
            self.state = BookState::Quarantined { reason_code: reason::RESYNC_EXHAUSTED };
            return KeeperEvent::Quarantined { reason_code: reason::RESYNC_EXHAUSTED };
        }
        self.state = BookState::Invalid { reason_code };
        KeeperEvent::Invalidated { reason_code, expected, got }
    }

    fn restart_sync(&mut self) {
        self.valid_streak_frames = 0;
        self.sequencer.reset();
        self.book.clear();
        self.buffered_frames.clear();
        self.buffered_levels.clear();
        self.state = BookState::Syncing;
    }
}
