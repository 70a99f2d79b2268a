//! A fixed-capacity L2 order book in integer ticks and lots.
//!
//! Each side is a sorted array (bids descending, asks ascending) allocated once at construction;
//! updates are a binary search plus a short move, and never allocate. Most venue updates touch the
//! top of the book, where the move is short. When a side is full, the level furthest from the top
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

struct BookSide {
    levels: Box<[Level]>,
    len: usize,
    /// Bids sort descending (better = higher), asks ascending.
    descending: bool,
}

impl BookSide {
    fn new(levels_max: usize, descending: bool) -> BookSide {
        BookSide {
            levels: vec![Level::default(); levels_max].into_boxed_slice(),
            len: 0,
            descending,
        }
    }

    /// `Ok(index)` of the level at `price`, or `Err(index)` where it would go.
    fn find(&self, price_ticks: i64) -> Result<usize, usize> {
        let live = &self.levels[..self.len];
        if self.descending {
            live.binary_search_by(|l| price_ticks.cmp(&l.price_ticks))
        } else {
            live.binary_search_by(|l| l.price_ticks.cmp(&price_ticks))
        }
    }

    /// Sets a level; returns whether a level was dropped for lack of room.
    fn set(&mut self, price_ticks: i64, qty_lots: i64) -> bool {
        match self.find(price_ticks) {
            Ok(at) if qty_lots == 0 => {
                self.levels.copy_within(at + 1..self.len, at);
                self.len -= 1;
                false
            }
            Ok(at) => {
                self.levels[at].qty_lots = qty_lots;
                false
            }
            Err(_) if qty_lots == 0 => false,
            Err(at) => self.insert(at, Level { price_ticks, qty_lots }),
        }
    }

    fn insert(&mut self, at: usize, level: Level) -> bool {
        let capacity = self.levels.len();
        if at >= capacity {
            return true;
        }
        let dropped = self.len == capacity;
        let end = if dropped { capacity - 1 } else { self.len };
        self.levels.copy_within(at..end, at + 1);
        self.levels[at] = level;
        if !dropped {
            self.len += 1;
        }
        dropped
    }

    fn live(&self) -> &[Level] {
        &self.levels[..self.len]
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
}

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
        }
    }

    /// Removes every level (a snapshot follows).
    pub fn clear(&mut self) {
        self.bids.len = 0;
        self.asks.len = 0;
    }

    /// Sets the absolute quantity at a price; 0 removes the level (removing an absent level is
    /// normal and does nothing).
    ///
    /// # Errors
    /// [`BookError`] for a negative quantity or a non-positive price; the book is unchanged.
    #[inline]
    pub fn set(&mut self, side: Side, price_ticks: i64, qty_lots: i64) -> Result<(), BookError> {
        if qty_lots < 0 {
            return Err(BookError::NegativeQty { price_ticks, qty_lots });
        }
        if price_ticks <= 0 && qty_lots > 0 {
            return Err(BookError::Price { price_ticks });
        }
        let dropped = match side {
            Side::Buy => self.bids.set(price_ticks, qty_lots),
            Side::Sell => self.asks.set(price_ticks, qty_lots),
        };
        self.levels_dropped += u64::from(dropped);
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

    #[test]
    fn random_updates_match_a_reference_map() {
        use std::collections::BTreeMap;
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
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
