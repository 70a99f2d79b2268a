//! The hot thread's books: one [`OrderBook`] per instrument, rebuilt from the gateways'
//! `BookLevelsNarrow`, `BookLevels` and `BookDelta` messages and gated by their `GatewayStatus`
//! messages.
//!
//! A book is usable only between a completed snapshot (`FLAG_SNAPSHOT_BEGIN` … `FLAG_BATCH_END`)
//! and the next status that is not `Up`. Mid-batch (between a delta and its batch end) the book is
//! not usable either: readers never see half an update.

use crate::book::{Level, OrderBook};
use crate::msg::{
    Body, BookLevel, DecodeError, Msg, MsgKind, Side, SourceState, FLAG_BATCH_END,
    FLAG_SNAPSHOT_BEGIN,
};

fn is_book_kind(kind: u8) -> bool {
    kind == MsgKind::BookDelta as u8
        || kind == MsgKind::BookLevels as u8
        || kind == MsgKind::BookLevelsNarrow as u8
}

/// Per-instrument state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BookStatus {
    /// A snapshot completed and no bad status arrived since.
    pub synced: bool,
    /// Inside a batch (some deltas applied, batch end not yet seen).
    pub in_batch: bool,
    /// Sequence id of the last completed batch.
    pub seq: u64,
    /// recv TSC of the last completed batch (for wire-to-book latency).
    pub last_recv_tsc: u64,
}

/// Outcome of [`HotBooks::apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookUpdate {
    /// A batch completed: the book is consistent again.
    BatchEnd { instrument: u32 },
    /// Mid-batch change.
    Partial,
    /// The book became unusable (status or bad message).
    Invalidated { instrument: u32 },
    /// The message was not about books.
    Other,
    /// Rejected: unknown instrument or bad level (counted).
    Rejected,
}

/// Levels of an unfinished batch held per side until its end (then merged into the book in one
/// pass, `OrderBook::apply_sorted`); a longer batch is applied in pieces of this size.
const PENDING_LEVELS_MAX: usize = 64;

/// One instrument's unfinished batch.
struct Pending {
    levels: [[Level; PENDING_LEVELS_MAX]; 2],
    len: [usize; 2],
}

impl Pending {
    fn clear(&mut self) {
        self.len = [0, 0];
    }
}

/// Every book the hot thread keeps; allocated at start-up.
///
/// A batch's levels are held, checked, until the batch ends and then merged into the book a
/// side at a time: a 20×20 frame is two merges of the top levels instead of 40 independent
/// sets (criterion `book_apply_20x20_frame`: about 2.5× less). Nothing reads a book mid-batch
/// ([`HotBooks::usable`]), so when the levels land inside the batch changes nothing outside.
pub struct HotBooks {
    books: Vec<OrderBook>,
    status: Vec<BookStatus>,
    pending: Vec<Pending>,
    rejected: u64,
    crossed: u64,
}

impl HotBooks {
    pub fn new(instruments: usize, levels_max: usize) -> HotBooks {
        HotBooks {
            books: (0..instruments).map(|_| OrderBook::new(levels_max)).collect(),
            status: vec![BookStatus::default(); instruments],
            pending: (0..instruments)
                .map(|_| Pending {
                    levels: [[Level::default(); PENDING_LEVELS_MAX]; 2],
                    len: [0, 0],
                })
                .collect(),
            rejected: 0,
            crossed: 0,
        }
    }

    /// Applies one message. Never allocates.
    pub fn apply(&mut self, msg: &Msg) -> BookUpdate {
        self.apply_decoded(msg, msg.body())
    }

    /// [`HotBooks::apply`] with the body already decoded (`msg.body()`), for a caller that also
    /// hands the same body to other tables and decodes it once.
    #[inline]
    pub fn apply_decoded(&mut self, msg: &Msg, body: Result<Body, DecodeError>) -> BookUpdate {
        let index = msg.instrument.0 as usize;
        match body {
            Ok(Body::BookDelta(d)) => {
                let level =
                    BookLevel { side: d.side, price_ticks: d.price_ticks, qty_lots: d.qty_lots };
                if let Some(rejected) = self.stage(index, d.batch_flags, std::iter::once(level)) {
                    return rejected;
                }
                if d.batch_flags & FLAG_BATCH_END == 0 {
                    return BookUpdate::Partial;
                }
                let flushed = self.flush(index);
                let (book, status) = (&self.books[index], &mut self.status[index]);
                status.in_batch = false;
                if !flushed {
                    self.rejected += 1;
                    status.synced = false;
                    return BookUpdate::Rejected;
                }
                if book.is_crossed() {
                    // A gateway may publish a frame before its own book has taken it
                    // (`BookKeeper::on_frame_deferred`) and find the cross only then: its
                    // Resyncing status follows, and until a snapshot this book is not used.
                    self.crossed += 1;
                    status.synced = false;
                    return BookUpdate::Invalidated { instrument: msg.instrument.0 };
                }
                status.seq = d.seq;
                status.last_recv_tsc = msg.recv_tsc;
                BookUpdate::BatchEnd { instrument: msg.instrument.0 }
            }
            Ok(Body::GatewayStatus(s)) if s.state != SourceState::Up => {
                match self.status.get_mut(index) {
                    Some(status) => {
                        status.synced = false;
                        self.pending[index].clear();
                        BookUpdate::Invalidated { instrument: msg.instrument.0 }
                    }
                    None => BookUpdate::Other,
                }
            }
            Ok(Body::BookLevels(levels)) => self
                .stage(index, levels.batch_flags, levels.levels())
                .unwrap_or(BookUpdate::Partial),
            Ok(Body::BookLevelsNarrow(levels)) => self
                .stage(index, levels.batch_flags(), levels.levels().iter().map(|l| l.wide()))
                .unwrap_or(BookUpdate::Partial),
            // A book message that does not decode lost a level: the book cannot be trusted
            // until the next snapshot.
            Err(_) if is_book_kind(msg.kind) => {
                self.rejected += 1;
                match self.status.get_mut(index) {
                    Some(status) => {
                        status.synced = false;
                        self.pending[index].clear();
                        BookUpdate::Invalidated { instrument: msg.instrument.0 }
                    }
                    None => BookUpdate::Rejected,
                }
            }
            _ => BookUpdate::Other,
        }
    }

    /// Holds a message's levels for the batch end (a snapshot's first message clears the book
    /// first). `Some(Rejected)` for an unknown instrument or a level the book would refuse
    /// (the book is then unusable until the next snapshot).
    #[inline]
    fn stage(
        &mut self,
        index: usize,
        batch_flags: u8,
        levels: impl Iterator<Item = BookLevel>,
    ) -> Option<BookUpdate> {
        if index >= self.books.len() {
            self.rejected += 1;
            return Some(BookUpdate::Rejected);
        }
        if batch_flags & FLAG_SNAPSHOT_BEGIN != 0 {
            self.books[index].clear();
            self.pending[index].clear();
            self.status[index].synced = true;
        }
        self.status[index].in_batch = true;
        for level in levels {
            if OrderBook::check_level(level.price_ticks, level.qty_lots).is_err() {
                self.rejected += 1;
                self.status[index].synced = false;
                return Some(BookUpdate::Rejected);
            }
            let s = level.side as usize;
            if self.pending[index].len[s] == PENDING_LEVELS_MAX && !self.flush(index) {
                self.rejected += 1;
                self.status[index].synced = false;
                return Some(BookUpdate::Rejected);
            }
            let pending = &mut self.pending[index];
            pending.levels[s][pending.len[s]] =
                Level { price_ticks: level.price_ticks, qty_lots: level.qty_lots };
            pending.len[s] += 1;
        }
        None
    }

    /// Applies an instrument's held levels, bids then asks (independent sides, each in
    /// arrival order); `false` if the book refused one (not expected: `stage` checked them).
    fn flush(&mut self, index: usize) -> bool {
        let (book, pending) = (&mut self.books[index], &mut self.pending[index]);
        let mut ok = true;
        for (s, side) in [(0, Side::Buy), (1, Side::Sell)] {
            ok &= book.apply_sorted(side, &pending.levels[s][..pending.len[s]]).is_ok();
        }
        pending.clear();
        ok
    }

    /// The book of an instrument if it may be used for pricing now.
    pub fn usable(&self, instrument: u32) -> Option<&OrderBook> {
        let status = self.status.get(instrument as usize)?;
        (status.synced && !status.in_batch).then(|| &self.books[instrument as usize])
    }

    /// The book whatever its state (tests, tools).
    pub fn book(&self, instrument: u32) -> Option<&OrderBook> {
        self.books.get(instrument as usize)
    }

    pub fn status(&self, instrument: u32) -> Option<BookStatus> {
        self.status.get(instrument as usize).copied()
    }

    /// Messages rejected (unknown instrument, bad level).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Batches that ended with the book crossed (each made the book unusable).
    pub fn crossed(&self) -> u64 {
        self.crossed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{InstrumentId, VenueId};
    use crate::msg::{
        BookDelta, BookLevel, BookLevels, GatewayStatus, NarrowLevel, NarrowLevels, Origin, Side,
    };

    fn levels(first: (Side, i64, i64), second: Option<(Side, i64, i64)>, flags: u8) -> Msg {
        let level = |(side, price_ticks, qty_lots)| BookLevel { side, price_ticks, qty_lots };
        Msg::new(
            Origin::new(VenueId::BinanceUsdm, InstrumentId(1)),
            Body::BookLevels(BookLevels {
                first: level(first),
                second: second.map(level),
                batch_flags: flags,
            }),
        )
    }

    #[test]
    fn held_and_merged_batches_give_the_book_that_level_by_level_sets_give() {
        let mut seed = 0x0b00_c5ee_d000_0001u64;
        let mut next = move || crate::xorshift(&mut seed);
        let mut books = HotBooks::new(2, 512);
        let mut reference = OrderBook::new(512);
        for round in 0..2_000 {
            let snapshot = round % 97 == 0;
            // Up to 150 levels a batch (past the 64 held per side), mostly sorted best first
            // within each side as venues send them, sometimes not.
            let n = 1 + (next() % if snapshot { 150 } else { 45 }) as usize;
            let mut levels: Vec<BookLevel> = (0..n)
                .map(|_| {
                    let sell = next() & 1 == 1;
                    let k = (next() % 80) as i64;
                    BookLevel {
                        side: if sell { Side::Sell } else { Side::Buy },
                        price_ticks: if sell { 10_001 + k } else { 9_999 - k },
                        qty_lots: if !snapshot && next() % 4 == 0 {
                            0
                        } else {
                            1 + (next() % 9) as i64
                        },
                    }
                })
                .collect();
            if next() % 5 != 0 {
                levels.sort_by_key(|l| {
                    (l.side as u8, if l.side == Side::Buy { -l.price_ticks } else { l.price_ticks })
                });
            }
            if snapshot {
                reference.clear();
            }
            for l in &levels {
                reference.set(l.side, l.price_ticks, l.qty_lots).unwrap();
            }
            let origin = Origin::new(VenueId::BinanceUsdm, InstrumentId(1));
            let (last, rest) = levels.split_last().unwrap();
            let mut flags = if snapshot { FLAG_SNAPSHOT_BEGIN } else { 0 };
            for pair in rest.chunks(2) {
                let body = Body::BookLevels(BookLevels {
                    first: pair[0],
                    second: pair.get(1).copied(),
                    batch_flags: flags,
                });
                assert_eq!(books.apply(&Msg::new(origin, body)), BookUpdate::Partial);
                flags = 0;
            }
            let close = Body::BookDelta(BookDelta {
                side: last.side,
                price_ticks: last.price_ticks,
                qty_lots: last.qty_lots,
                seq: round,
                seq_prev: 0,
                batch_flags: flags | FLAG_BATCH_END,
            });
            books.apply(&Msg::new(origin, close));
            let book = books.book(1).unwrap();
            for side in [Side::Buy, Side::Sell] {
                assert_eq!(book.side(side), reference.side(side), "round {round}, {side:?}");
            }
        }
        assert_eq!(books.rejected(), 0);
    }

    #[test]
    fn a_batch_that_ends_crossed_leaves_the_book_unusable() {
        let mut books = HotBooks::new(2, 16);
        books.apply(&delta(Side::Buy, 100, 1, FLAG_SNAPSHOT_BEGIN));
        assert_eq!(
            books.apply(&delta(Side::Sell, 101, 1, FLAG_BATCH_END)),
            BookUpdate::BatchEnd { instrument: 1 }
        );
        assert!(books.usable(1).is_some());
        books.apply(&delta(Side::Buy, 102, 1, 0));
        assert_eq!(
            books.apply(&delta(Side::Sell, 103, 1, FLAG_BATCH_END)),
            BookUpdate::Invalidated { instrument: 1 },
            "bid 102 over ask 101"
        );
        assert!(books.usable(1).is_none());
        assert_eq!((books.crossed(), books.rejected()), (1, 0));
        // The next snapshot makes it usable again.
        books.apply(&delta(Side::Buy, 100, 1, FLAG_SNAPSHOT_BEGIN));
        books.apply(&delta(Side::Sell, 101, 1, FLAG_BATCH_END));
        assert!(books.usable(1).is_some());
    }

    #[test]
    fn narrow_levels_build_the_book_like_wide_ones_and_a_foreign_one_invalidates() {
        let narrow = |levels: &[(Side, u32, u32)], flags| {
            let levels: Vec<NarrowLevel> = levels
                .iter()
                .map(|&(side, price_ticks, qty_lots)| NarrowLevel { side, price_ticks, qty_lots })
                .collect();
            let body = NarrowLevels::new(&levels, flags).expect("1..=4 levels");
            Msg::new(
                Origin::new(VenueId::BinanceUsdm, InstrumentId(1)),
                Body::BookLevelsNarrow(body),
            )
        };
        let mut books = HotBooks::new(2, 16);
        let begin = narrow(
            &[(Side::Buy, 100, 1), (Side::Buy, 99, 2), (Side::Sell, 102, 3), (Side::Sell, 103, 4)],
            FLAG_SNAPSHOT_BEGIN,
        );
        assert_eq!(books.apply(&begin), BookUpdate::Partial);
        assert!(books.usable(1).is_none(), "mid-batch");
        assert_eq!(books.apply(&narrow(&[(Side::Buy, 99, 0)], 0)), BookUpdate::Partial);
        assert_eq!(
            books.apply(&delta(Side::Sell, 101, 5, FLAG_BATCH_END)),
            BookUpdate::BatchEnd { instrument: 1 }
        );
        let book = books.usable(1).expect("usable after the closing delta");
        let side = |s| book.side(s).iter().map(|l| (l.price_ticks, l.qty_lots)).collect::<Vec<_>>();
        assert_eq!(side(Side::Buy), vec![(100, 1)]);
        assert_eq!(side(Side::Sell), vec![(101, 5), (102, 3), (103, 4)]);
        let mut foreign = narrow(&[(Side::Buy, 98, 1)], 0);
        foreign.payload[3] = 7;
        assert_eq!(books.apply(&foreign), BookUpdate::Invalidated { instrument: 1 });
        assert!(books.usable(1).is_none());
        assert_eq!(books.rejected(), 1);
    }

    #[test]
    fn packed_levels_build_the_book_and_only_the_closing_delta_ends_the_batch() {
        let mut books = HotBooks::new(2, 16);
        let begin = levels((Side::Buy, 100, 1), Some((Side::Buy, 99, 2)), FLAG_SNAPSHOT_BEGIN);
        assert_eq!(books.apply(&begin), BookUpdate::Partial);
        assert_eq!(
            books.apply(&levels((Side::Sell, 102, 3), Some((Side::Sell, 103, 4)), 0)),
            BookUpdate::Partial
        );
        assert!(books.usable(1).is_none(), "a snapshot of levels alone is mid-batch");
        assert_eq!(
            books.apply(&delta(Side::Sell, 101, 5, FLAG_BATCH_END)),
            BookUpdate::BatchEnd { instrument: 1 }
        );
        let book = books.usable(1).expect("usable after the closing delta");
        let side = |s| book.side(s).iter().map(|l| (l.price_ticks, l.qty_lots)).collect::<Vec<_>>();
        assert_eq!(side(Side::Buy), vec![(100, 1), (99, 2)]);
        assert_eq!(side(Side::Sell), vec![(101, 5), (102, 3), (103, 4)]);
        assert_eq!(books.status(1).unwrap().seq, 9);

        // A later frame: a removal and a new level, one packed message then the close.
        books.apply(&levels((Side::Buy, 100, 0), None, 0));
        assert!(books.usable(1).is_none(), "mid-batch");
        books.apply(&delta(Side::Buy, 98, 7, FLAG_BATCH_END));
        let book = books.usable(1).unwrap();
        assert_eq!(book.best_bid().unwrap().price_ticks, 99, "the deleted best bid is gone");

        // A packed snapshot clears what was there before.
        books.apply(&levels((Side::Buy, 50, 1), None, FLAG_SNAPSHOT_BEGIN));
        books.apply(&delta(Side::Sell, 51, 1, FLAG_BATCH_END));
        let book = books.usable(1).unwrap();
        assert_eq!((book.depth(), book.best_bid().unwrap().price_ticks), ((1, 1), 50));
        assert_eq!(books.rejected(), 0);
    }

    #[test]
    fn a_book_message_that_does_not_decode_invalidates_its_book() {
        let mut books = HotBooks::new(2, 16);
        books.apply(&delta(Side::Buy, 100, 1, FLAG_SNAPSHOT_BEGIN | FLAG_BATCH_END));
        assert!(books.usable(1).is_some());
        let mut broken = levels((Side::Buy, 99, 1), None, 0);
        broken.flags |= FLAG_BATCH_END;
        assert!(broken.body().is_err());
        assert_eq!(books.apply(&broken), BookUpdate::Invalidated { instrument: 1 });
        assert!(books.usable(1).is_none(), "a lost level leaves the book unusable");
        assert_eq!(books.rejected(), 1);
        let mut foreign = delta(Side::Buy, 1, 1, 0);
        foreign.version = 9;
        foreign.instrument = InstrumentId(7);
        assert_eq!(books.apply(&foreign), BookUpdate::Rejected, "unknown book, still counted");
        assert_eq!(books.rejected(), 2);
    }

    fn delta(side: Side, price: i64, qty: i64, flags: u8) -> Msg {
        Msg::new(
            Origin::new(VenueId::BinanceUsdm, InstrumentId(1)),
            Body::BookDelta(BookDelta {
                side,
                price_ticks: price,
                qty_lots: qty,
                seq: 9,
                seq_prev: 8,
                batch_flags: flags,
            }),
        )
    }

    #[test]
    fn usable_only_after_a_snapshot_and_between_batches() {
        let mut books = HotBooks::new(2, 16);
        assert!(books.usable(1).is_none());
        assert_eq!(
            books.apply(&delta(Side::Buy, 100, 1, FLAG_SNAPSHOT_BEGIN)),
            BookUpdate::Partial
        );
        assert!(books.usable(1).is_none(), "mid-batch");
        assert_eq!(
            books.apply(&delta(Side::Sell, 101, 1, FLAG_BATCH_END)),
            BookUpdate::BatchEnd { instrument: 1 }
        );
        assert_eq!(books.usable(1).unwrap().best_bid().unwrap().price_ticks, 100);
        let status = Msg::new(
            Origin::new(VenueId::BinanceUsdm, InstrumentId(1)),
            Body::GatewayStatus(GatewayStatus {
                state: SourceState::Resyncing,
                reason_code: 1,
                reason_count: 1,
                detail: 0,
            }),
        );
        assert_eq!(books.apply(&status), BookUpdate::Invalidated { instrument: 1 });
        assert!(books.usable(1).is_none());
        books.apply(&delta(Side::Buy, 99, 2, FLAG_SNAPSHOT_BEGIN | FLAG_BATCH_END));
        let book = books.usable(1).unwrap();
        assert_eq!(
            (book.best_bid().unwrap().price_ticks, book.best_ask()),
            (99, None),
            "snapshot replaced the book"
        );
        let mut foreign = delta(Side::Buy, 1, 1, 0);
        foreign.instrument = InstrumentId(7);
        assert_eq!(books.apply(&foreign), BookUpdate::Rejected);
    }
}
