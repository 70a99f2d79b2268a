//! A fixed-capacity L2 order book in integer ticks and lots.
//!
//! Each side is a sorted array (bids descending, asks ascending) allocated once at construction,
//! at twice its capacity with free slots at both ends; updates are a binary search plus a move of
//! the levels on the shorter side of the change, and never allocate. Most venue updates touch the
//! top of the book, where that move is short however deep the book. When a side is full, the level furthest from the top
//! is dropped and counted: a book of `levels_max` levels vouches for its top `levels_max` only.
//!
//! The book knows nothing about sequencing: whether an update may be applied is the venue
//! sequencer's decision (gateways), and whether the book may be used is the hot thread's.

use crate::msg::Side;

/// One price level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Level {
    pub price_ticks: i64,
    pub qty_lots: i64,
}

/// Why an update was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("negative quantity {qty_lots} at price {price_ticks}")]
    NegativeQty { price_ticks: i64, qty_lots: i64 },
    #[error("non-positive price {price_ticks}")]
    Price { price_ticks: i64 },
}

/// Levels at the top of a side that [`BookSide::find`] scans without branching.
const HEAD_LEVELS: usize = 32;

struct BookSide {
    /// Twice the capacity: the live levels are `buf[start..start + len]`, best first, with free
    /// slots at both ends, so an insert or delete moves the levels on its shorter side. A change
    /// at the top of a 1 000-level side moves a few levels, not the 999 behind it.
    buf: Box<[Level]>,
    start: usize,
    len: usize,
    /// Most live levels; the worst is dropped past it.
    capacity: usize,
    /// Bids sort descending (better = higher), asks ascending.
    descending: bool,
}

impl BookSide {
    fn new(levels_max: usize, descending: bool) -> BookSide {
        BookSide {
            buf: vec![Level::default(); 2 * levels_max].into_boxed_slice(),
            start: levels_max / 2,
            len: 0,
            capacity: levels_max,
            descending,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.start = self.capacity / 2;
    }

    /// `Ok(index)` of the level at `price`, or `Err(index)` where it would go.
    ///
    /// Venue updates land mostly in the first levels, where a binary search's branches are
    /// coin flips (about five mispredictions a lookup). A price that falls within the first
    /// [`HEAD_LEVELS`] is placed by counting the levels that sort before it, which compiles to
    /// compares and adds with no branch to mispredict; deeper prices take the binary search.
    #[inline]
    fn find(&self, price_ticks: i64) -> Result<usize, usize> {
        let live = self.live();
        let head = &live[..live.len().min(HEAD_LEVELS)];
        let Some(last) = head.last() else { return Err(0) };
        if head.len() < live.len() && self.before(last.price_ticks, price_ticks) {
            let rest = &live[head.len()..];
            let found = if self.descending {
                rest.binary_search_by(|l| price_ticks.cmp(&l.price_ticks))
            } else {
                rest.binary_search_by(|l| l.price_ticks.cmp(&price_ticks))
            };
            return found.map(|i| i + head.len()).map_err(|i| i + head.len());
        }
        let at = if self.descending {
            head.iter().map(|l| usize::from(l.price_ticks > price_ticks)).sum::<usize>()
        } else {
            head.iter().map(|l| usize::from(l.price_ticks < price_ticks)).sum::<usize>()
        };
        match live.get(at) {
            Some(l) if l.price_ticks == price_ticks => Ok(at),
            _ => Err(at),
        }
    }

    /// Whether a level at price `a` sorts before one at `b` on this side.
    #[inline]
    fn before(&self, a: i64, b: i64) -> bool {
        if self.descending {
            a > b
        } else {
            a < b
        }
    }

    /// Sets a level; returns whether a level was dropped for lack of room.
    fn set(&mut self, price_ticks: i64, qty_lots: i64) -> bool {
        match self.find(price_ticks) {
            Ok(at) if qty_lots == 0 => {
                self.remove(at);
                false
            }
            Ok(at) => {
                self.buf[self.start + at].qty_lots = qty_lots;
                false
            }
            Err(_) if qty_lots == 0 => false,
            Err(at) => self.insert(at, Level { price_ticks, qty_lots }),
        }
    }

    fn remove(&mut self, at: usize) {
        debug_assert!(at < self.len);
        let s = self.start;
        if at < self.len - 1 - at {
            // Fewer levels in front: they move one slot towards the back.
            self.buf.copy_within(s..s + at, s + 1);
            self.start += 1;
        } else {
            self.buf.copy_within(s + at + 1..s + self.len, s + at);
        }
        self.len -= 1;
    }

    fn insert(&mut self, at: usize, level: Level) -> bool {
        if at >= self.capacity {
            return true;
        }
        let dropped = self.len == self.capacity;
        if dropped {
            // The worst level makes room (`at` is before it).
            self.len -= 1;
        }
        if at < self.len - at {
            if self.start == 0 {
                self.recenter();
            }
            let s = self.start;
            self.buf.copy_within(s..s + at, s - 1);
            self.start -= 1;
        } else {
            if self.start + self.len == self.buf.len() {
                self.recenter();
            }
            let s = self.start;
            self.buf.copy_within(s + at..s + self.len, s + at + 1);
        }
        self.buf[self.start + at] = level;
        self.len += 1;
        debug_assert!(self.start + self.len <= self.buf.len());
        dropped
    }

    /// Applies `updates`, sorted best first with no price twice, as one merge into the top of
    /// the side, if it can do so with exactly the result of setting them one by one: no level
    /// may be dropped for room (`len + updates ≤ capacity`), the merged region must fit
    /// `scratch`, and the growth must fit the free slots in front (after a recenter at most).
    /// Returns `false`, having changed nothing, otherwise.
    ///
    /// Why: a 20×20 frame is 40 independent sets, each a lookup, an unpredictable choice of
    /// update, insert or delete, and a `memmove`. Merged, the same frame is one forward pass
    /// over the top levels, where consecutive ticks make most comparisons come out equal.
    fn merge_sorted(&mut self, updates: &[Level], scratch: &mut [Level]) -> bool {
        let Some(last) = updates.last() else { return true };
        if self.len + updates.len() > self.capacity || updates.len() > self.capacity / 2 {
            return false;
        }
        // The live levels at or before the last update's price take part in the merge.
        let end = match self.find(last.price_ticks) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        if end + updates.len() > scratch.len() {
            return false;
        }
        let (mut i, mut j, mut n) = (0, 0, 0);
        let old = &self.buf[self.start..self.start + end];
        while j < updates.len() {
            let u = updates[j];
            if i < end && self.before(old[i].price_ticks, u.price_ticks) {
                scratch[n] = old[i];
                n += 1;
                i += 1;
                continue;
            }
            if i < end && old[i].price_ticks == u.price_ticks {
                i += 1;
            }
            if u.qty_lots != 0 {
                scratch[n] = u;
                n += 1;
            }
            j += 1;
        }
        // `end` was chosen so every old level of the region sorts before the last update or
        // equals it; all of them were taken.
        debug_assert_eq!(i, end);
        if n > end && self.start < n - end {
            self.recenter();
        }
        let new_start = self.start + end - n;
        self.buf[new_start..new_start + n].copy_from_slice(&scratch[..n]);
        self.start = new_start;
        self.len = self.len - end + n;
        true
    }

    /// Moves the live levels to the middle of the buffer. With `len < capacity` and a buffer of
    /// twice the capacity this leaves more than `capacity / 2` free slots at each end, so it runs
    /// at most once per that many one-sided inserts.
    fn recenter(&mut self) {
        let to = (self.buf.len() - self.len) / 2;
        self.buf.copy_within(self.start..self.start + self.len, to);
        self.start = to;
    }

    fn live(&self) -> &[Level] {
        &self.buf[self.start..self.start + self.len]
    }
}

/// Result of walking one side of the book for a quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vwap {
    /// Quantity the visible book could fill (≤ the quantity asked).
    pub filled_qty_lots: i64,
    /// Σ price × qty over the consumed levels, in tick·lots.
    pub notional_tick_lots: i128,
    /// Worst price touched.
    pub worst_price_ticks: i64,
}

impl Vwap {
    /// Average fill price in ticks, rounded toward the taker's disadvantage (up for a buy,
    /// down for a sell), so a quote priced from it never flatters the book.
    pub fn average_price_ticks(&self, taker: Side) -> Option<i64> {
        if self.filled_qty_lots <= 0 {
            return None;
        }
        let qty = i128::from(self.filled_qty_lots);
        let avg = match taker {
            Side::Buy => (self.notional_tick_lots + qty - 1).div_euclid(qty),
            Side::Sell => self.notional_tick_lots.div_euclid(qty),
        };
        i64::try_from(avg).ok()
    }
}

/// The book of one instrument.
pub struct OrderBook {
    bids: BookSide,
    asks: BookSide,
    levels_dropped: u64,
    /// Room for one merged region (see [`OrderBook::apply_sorted`]).
    scratch: Box<[Level]>,
}

/// Most levels one merge rewrites (the live levels down to the last update, plus the
/// updates); a deeper change goes level by level.
const MERGE_LEVELS_MAX: usize = 256;

impl OrderBook {
    /// A book keeping at most `levels_max` levels per side (allocated now).
    ///
    /// # Panics
    /// If `levels_max` is 0.
    pub fn new(levels_max: usize) -> OrderBook {
        assert!(levels_max > 0, "a book needs at least one level per side");
        OrderBook {
            bids: BookSide::new(levels_max, true),
            asks: BookSide::new(levels_max, false),
            levels_dropped: 0,
            scratch: vec![Level::default(); MERGE_LEVELS_MAX].into_boxed_slice(),
        }
    }

    /// Sets every level of `levels` on one side, with the same result as [`OrderBook::set`] for
    /// each in turn. When they come sorted best first with no price twice, as venues send a
    /// frame's side, and the side has room, they are merged into the book in one pass;
    /// otherwise they are set one by one.
    ///
    /// # Errors
    /// The first level `set` would refuse. Nothing is applied then: callers discard a book that
    /// took a bad level anyway.
    pub fn apply_sorted(&mut self, side: Side, levels: &[Level]) -> Result<(), BookError> {
        for l in levels {
            OrderBook::check_level(l.price_ticks, l.qty_lots)?;
        }
        let book_side = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let sorted =
            levels.windows(2).all(|w| book_side.before(w[0].price_ticks, w[1].price_ticks));
        if sorted && book_side.merge_sorted(levels, &mut self.scratch) {
            return Ok(());
        }
        for l in levels {
            self.set(side, l.price_ticks, l.qty_lots)?;
        }
        Ok(())
    }

    /// Removes every level (a snapshot follows).
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Sets the absolute quantity at a price; 0 removes the level (removing an absent level is
    /// normal and does nothing).
    ///
    /// # Errors
    /// [`BookError`] for a negative quantity or a non-positive price; the book is unchanged.
    #[inline]
    pub fn set(&mut self, side: Side, price_ticks: i64, qty_lots: i64) -> Result<(), BookError> {
        OrderBook::check_level(price_ticks, qty_lots)?;
        let dropped = match side {
            Side::Buy => self.bids.set(price_ticks, qty_lots),
            Side::Sell => self.asks.set(price_ticks, qty_lots),
        };
        self.levels_dropped += u64::from(dropped);
        Ok(())
    }

    /// Whether [`OrderBook::set`] would take this level (it refuses nothing else).
    ///
    /// # Errors
    /// The [`BookError`] `set` would return.
    #[inline]
    pub fn check_level(price_ticks: i64, qty_lots: i64) -> Result<(), BookError> {
        if qty_lots < 0 {
            return Err(BookError::NegativeQty { price_ticks, qty_lots });
        }
        if price_ticks <= 0 && qty_lots > 0 {
            return Err(BookError::Price { price_ticks });
        }
        Ok(())
    }

    pub fn best_bid(&self) -> Option<Level> {
        self.bids.live().first().copied()
    }

    pub fn best_ask(&self) -> Option<Level> {
        self.asks.live().first().copied()
    }

    /// The best `n` levels of a side, best first.
    pub fn top(&self, side: Side, n: usize) -> &[Level] {
        let live = self.side(side);
        &live[..n.min(live.len())]
    }

    /// All levels of a side, best first.
    pub fn side(&self, side: Side) -> &[Level] {
        match side {
            Side::Buy => self.bids.live(),
            Side::Sell => self.asks.live(),
        }
    }

    /// Level counts `(bids, asks)`.
    pub fn depth(&self) -> (usize, usize) {
        (self.bids.len, self.asks.len)
    }

    /// Best bid at or above best ask: the book cannot be right.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.price_ticks >= a.price_ticks)
    }

    /// Levels dropped because a side was full.
    pub fn levels_dropped(&self) -> u64 {
        self.levels_dropped
    }

    /// Walks the side a taker on `taker` side consumes (a buy walks the asks) for `qty_lots`.
    pub fn vwap(&self, taker: Side, qty_lots: i64) -> Vwap {
        let levels = match taker {
            Side::Buy => self.asks.live(),
            Side::Sell => self.bids.live(),
        };
        let mut out = Vwap { filled_qty_lots: 0, notional_tick_lots: 0, worst_price_ticks: 0 };
        let mut remaining = qty_lots.max(0);
        for level in levels {
            if remaining == 0 {
                break;
            }
            let take = remaining.min(level.qty_lots);
            out.filled_qty_lots += take;
            out.notional_tick_lots += i128::from(take) * i128::from(level.price_ticks);
            out.worst_price_ticks = level.price_ticks;
            remaining -= take;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book_with(bids: &[(i64, i64)], asks: &[(i64, i64)], levels_max: usize) -> OrderBook {
        let mut book = OrderBook::new(levels_max);
        for (p, q) in bids {
            book.set(Side::Buy, *p, *q).unwrap();
        }
        for (p, q) in asks {
            book.set(Side::Sell, *p, *q).unwrap();
        }
        book
    }

    #[test]
    fn levels_stay_sorted_and_zero_removes() {
        let mut book =
            book_with(&[(100, 1), (102, 2), (101, 3)], &[(105, 1), (103, 2), (104, 3)], 8);
        assert_eq!(book.best_bid(), Some(Level { price_ticks: 102, qty_lots: 2 }));
        assert_eq!(book.best_ask(), Some(Level { price_ticks: 103, qty_lots: 2 }));
        let bids: Vec<i64> = book.side(Side::Buy).iter().map(|l| l.price_ticks).collect();
        assert_eq!(bids, [102, 101, 100]);
        book.set(Side::Buy, 102, 0).unwrap();
        book.set(Side::Buy, 99, 0).unwrap();
        book.set(Side::Sell, 104, 9).unwrap();
        assert_eq!(book.best_bid().unwrap().price_ticks, 101);
        assert_eq!(
            book.top(Side::Sell, 2),
            &[Level { price_ticks: 103, qty_lots: 2 }, Level { price_ticks: 104, qty_lots: 9 }]
        );
        assert_eq!(book.depth(), (2, 3));
        assert!(!book.is_crossed());
        book.set(Side::Buy, 103, 1).unwrap();
        assert!(book.is_crossed());
        assert!(book.set(Side::Buy, 1, -1).is_err());
        assert!(book.set(Side::Buy, 0, 1).is_err());
    }

    #[test]
    fn a_full_side_drops_its_worst_level_and_counts_it() {
        let mut book = book_with(&[(100, 1), (99, 1), (98, 1)], &[], 3);
        book.set(Side::Buy, 97, 1).unwrap();
        assert_eq!(book.levels_dropped(), 1);
        book.set(Side::Buy, 101, 1).unwrap();
        let bids: Vec<i64> = book.side(Side::Buy).iter().map(|l| l.price_ticks).collect();
        assert_eq!(bids, [101, 100, 99]);
        assert_eq!(book.levels_dropped(), 2);
    }

    #[test]
    fn vwap_walks_levels_and_rounds_against_the_taker() {
        let book = book_with(&[(100, 5), (99, 5)], &[(101, 2), (103, 3)], 8);
        let buy = book.vwap(Side::Buy, 4);
        assert_eq!(
            (buy.filled_qty_lots, buy.notional_tick_lots, buy.worst_price_ticks),
            (4, 101 * 2 + 103 * 2, 103)
        );
        assert_eq!(buy.average_price_ticks(Side::Buy), Some(102));
        let partial = book.vwap(Side::Buy, 10);
        assert_eq!(partial.filled_qty_lots, 5);
        assert_eq!(partial.average_price_ticks(Side::Buy), Some(103)); // 511/5 = 102.2, rounded up
        let sell = book.vwap(Side::Sell, 7);
        assert_eq!(sell.average_price_ticks(Side::Sell), Some(99)); // 698/7 = 99.7, rounded down
        assert_eq!(book.vwap(Side::Sell, 0).average_price_ticks(Side::Sell), None);
    }

    /// A side against a sorted map cut to `capacity` after every insert (the worst level goes,
    /// which may be the new one): the book's drop rule.
    fn check_against_capped_map(
        side: Side,
        capacity: usize,
        ops: usize,
        price: impl Fn(u64) -> i64,
    ) {
        use std::collections::BTreeMap;
        let mut seed = 0x0ddb_a11c_afe5_eed5u64 ^ capacity as u64;
        let mut book = OrderBook::new(capacity);
        let mut reference: BTreeMap<i64, i64> = BTreeMap::new();
        let mut dropped = 0u64;
        for op in 0..ops {
            let r = crate::xorshift(&mut seed);
            let p = price(r);
            let qty = if r >> 61 < 3 { 0 } else { 1 + ((r >> 20) % 100) as i64 };
            book.set(side, p, qty).unwrap();
            if qty == 0 {
                reference.remove(&p);
            } else {
                reference.insert(p, qty);
                if reference.len() > capacity {
                    let worst = match side {
                        Side::Buy => *reference.keys().next().unwrap(),
                        Side::Sell => *reference.keys().next_back().unwrap(),
                    };
                    reference.remove(&worst);
                    dropped += 1;
                }
            }
            let ours: Vec<(i64, i64)> =
                book.side(side).iter().map(|l| (l.price_ticks, l.qty_lots)).collect();
            let mut theirs: Vec<(i64, i64)> = reference.iter().map(|(p, q)| (*p, *q)).collect();
            if side == Side::Buy {
                theirs.reverse();
            }
            assert_eq!(ours, theirs, "{side:?}, capacity {capacity}, op {op}");
        }
        assert_eq!(book.levels_dropped(), dropped);
    }

    #[test]
    fn changes_at_either_end_of_a_full_or_drifting_side_match_a_capped_reference() {
        for side in [Side::Buy, Side::Sell] {
            // 33 and 100 are deeper than the branch-free head: both lookups run.
            for capacity in [1, 2, 3, 8, 33, 100] {
                // Prices over four times the capacity: full sides, drops at the far end.
                let span = 4 * capacity as u64;
                check_against_capped_map(side, capacity, 20_000, |r| 1_000 + (r % span) as i64);
                // Prices only near one end of a wide range: the live levels drift towards one
                // end of the buffer until it recenters.
                check_against_capped_map(side, capacity, 20_000, |r| {
                    let near = (r >> 8) % 3;
                    if r & 1 == 0 {
                        10_000 + near as i64
                    } else {
                        10_000 + (1 + 2 * capacity as i64) - near as i64
                    }
                });
            }
        }
    }

    #[test]
    fn sorted_batches_give_the_same_book_as_level_by_level_sets() {
        let mut seed = 0x00c0_ffee_1234_5678u64;
        let mut next = move || crate::xorshift(&mut seed);
        for capacity in [1usize, 4, 16, 64, 300] {
            let (mut merged, mut direct) = (OrderBook::new(capacity), OrderBook::new(capacity));
            for round in 0..3_000 {
                let side = if next() & 1 == 0 { Side::Buy } else { Side::Sell };
                // Around one mid: bids below 10 000, asks above; a batch of up to 40 prices
                // within 60 ticks of the top, sorted best first (sometimes shuffled or with a
                // repeat, which must fall back to level-by-level sets).
                let n = (next() % 41) as usize;
                let mut prices: Vec<i64> = (0..n).map(|_| (next() % 60) as i64).collect();
                prices.sort_unstable();
                prices.dedup();
                let shape = next() % 10;
                if shape == 0 && prices.len() > 1 {
                    prices.swap(0, 1);
                } else if shape == 1 && !prices.is_empty() {
                    prices.push(prices[0]);
                }
                let levels: Vec<Level> = prices
                    .iter()
                    .map(|&k| Level {
                        price_ticks: if side == Side::Buy { 9_999 - k } else { 10_001 + k },
                        qty_lots: if next() % 4 == 0 { 0 } else { 1 + (next() % 50) as i64 },
                    })
                    .collect();
                merged.apply_sorted(side, &levels).unwrap();
                for l in &levels {
                    direct.set(side, l.price_ticks, l.qty_lots).unwrap();
                }
                for s in [Side::Buy, Side::Sell] {
                    assert_eq!(
                        merged.side(s),
                        direct.side(s),
                        "capacity {capacity}, round {round}"
                    );
                }
                assert_eq!(merged.levels_dropped(), direct.levels_dropped());
            }
        }
        let mut book = OrderBook::new(8);
        let bad = [Level { price_ticks: 5, qty_lots: 1 }, Level { price_ticks: 4, qty_lots: -1 }];
        assert!(book.apply_sorted(Side::Buy, &bad).is_err());
        assert_eq!(book.depth(), (0, 0), "nothing applied from a batch with a bad level");
    }

    #[test]
    fn a_side_that_only_improves_keeps_every_level_it_has_room_for() {
        // Each new best ask is one tick better: every insert goes in front, the buffer's front
        // runs out again and again, and nothing is lost until the side is full.
        let mut book = OrderBook::new(1_000);
        for i in 0..5_000i64 {
            book.set(Side::Sell, 100_000 - i, 1 + i % 3).unwrap();
            let live = book.side(Side::Sell);
            assert_eq!(live.len() as i64, (i + 1).min(1_000));
            assert_eq!(live[0].price_ticks, 100_000 - i);
            assert_eq!(live[live.len() - 1].price_ticks, 100_000 - i + live.len() as i64 - 1);
        }
        assert_eq!(book.levels_dropped(), 4_000);
        book.clear();
        assert_eq!(book.depth(), (0, 0));
        book.set(Side::Sell, 5, 1).unwrap();
        assert_eq!(book.best_ask(), Some(Level { price_ticks: 5, qty_lots: 1 }));
    }

    #[test]
    fn random_updates_match_a_reference_map() {
        use std::collections::BTreeMap;
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = move || crate::xorshift(&mut seed);
        let mut book = OrderBook::new(64);
        let mut reference: BTreeMap<i64, i64> = BTreeMap::new();
        for _ in 0..20_000 {
            let r = next();
            let price = 1_000 + (r % 40) as i64;
            let qty = if r >> 60 < 4 { 0 } else { ((r >> 20) % 100) as i64 };
            book.set(Side::Sell, price, qty).unwrap();
            if qty == 0 {
                reference.remove(&price);
            } else {
                reference.insert(price, qty);
            }
            let ours: Vec<(i64, i64)> =
                book.side(Side::Sell).iter().map(|l| (l.price_ticks, l.qty_lots)).collect();
            let theirs: Vec<(i64, i64)> = reference.iter().map(|(p, q)| (*p, *q)).collect();
            assert_eq!(ours, theirs);
        }
    }
}
