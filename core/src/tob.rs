//! Top-of-book per instrument, the hot thread's first state.
//!
//! A fixed-capacity table (sized at start-up, never grown) of the latest best bid/offer and last
//! trade per instrument: the hot thread's cheap cross-venue view. BBO messages set a row
//! directly; for a venue with an L2 book the hot thread sets the row from the book after each
//! complete batch ([`TopOfBookTable::set_from_book`]) and clears it when the book stops being in
//! sync, because a level delta alone cannot tell the new best when the best level is deleted.

use crate::book::OrderBook;
use crate::msg::{Body, DecodeError, Msg};

/// Latest known prices of one instrument (ticks/lots; 0 = unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TopOfBook {
    pub bid_price_ticks: i64,
    pub bid_qty_lots: i64,
    pub ask_price_ticks: i64,
    pub ask_qty_lots: i64,
    pub last_trade_price_ticks: i64,
    pub updates: u64,
}

/// What applying one message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The instrument's top of book changed.
    Updated,
    /// A valid message of a kind this table does not track.
    Ignored,
    /// Rejected: reason code (see `REJECT_*`); counted, state untouched.
    Rejected(u8),
}

/// The message did not decode (unknown kind or version, bad enum field).
pub const REJECT_DECODE: u8 = 1;
/// The instrument id is beyond the table's capacity.
pub const REJECT_INSTRUMENT: u8 = 2;
/// A BBO whose bid is at or above its ask.
pub const REJECT_CROSSED: u8 = 3;
/// Number of reject reason codes (array size for counters).
pub const REJECT_REASONS: usize = 4;

/// The table. `instruments_max` is fixed at construction.
#[derive(Clone, Debug)]
pub struct TopOfBookTable {
    rows: Vec<TopOfBook>,
    rejects: [u64; REJECT_REASONS],
    applied: u64,
}

impl TopOfBookTable {
    /// Allocates every row up front.
    pub fn new(instruments_max: usize) -> TopOfBookTable {
        TopOfBookTable {
            rows: vec![TopOfBook::default(); instruments_max],
            rejects: [0; 4],
            applied: 0,
        }
    }

    /// Applies one message. Never allocates.
    #[inline]
    pub fn apply(&mut self, msg: &Msg) -> Applied {
        self.apply_decoded(msg, msg.body())
    }

    /// [`TopOfBookTable::apply`] with the body already decoded (`msg.body()`).
    #[inline]
    pub fn apply_decoded(&mut self, msg: &Msg, body: Result<Body, DecodeError>) -> Applied {
        let body = match body {
            Ok(body) => body,
            Err(_) => return self.reject(REJECT_DECODE),
        };
        let Some(row) = self.rows.get_mut(msg.instrument.0 as usize) else {
            return self.reject(REJECT_INSTRUMENT);
        };
        match body {
            Body::Bbo(b) => {
                if b.bid_price_ticks >= b.ask_price_ticks {
                    return self.reject(REJECT_CROSSED);
                }
                row.bid_price_ticks = b.bid_price_ticks;
                row.bid_qty_lots = b.bid_qty_lots;
                row.ask_price_ticks = b.ask_price_ticks;
                row.ask_qty_lots = b.ask_qty_lots;
            }
            Body::Trade(t) => row.last_trade_price_ticks = t.price_ticks,
            // A single level delta cannot say what the new best is when the best level is
            // deleted; the L2 book can. The caller sets the row from the book once the batch is
            // complete ([`TopOfBookTable::set_from_book`]).
            _ => return Applied::Ignored,
        }
        row.updates += 1;
        self.applied += 1;
        Applied::Updated
    }

    /// Sets an instrument's bid and ask from its L2 book, after a complete batch: both sides'
    /// best levels, or 0 (unknown) for an empty side. Also clears a crossed book's quotes
    /// rather than keep a bid at or above the ask.
    pub fn set_from_book(&mut self, instrument: u32, book: &OrderBook) -> Applied {
        let Some(row) = self.rows.get_mut(instrument as usize) else {
            return self.reject(REJECT_INSTRUMENT);
        };
        if book.is_crossed() {
            Self::clear_row_quotes(row);
            return self.reject(REJECT_CROSSED);
        }
        let bid = book.best_bid().unwrap_or_default();
        let ask = book.best_ask().unwrap_or_default();
        row.bid_price_ticks = bid.price_ticks;
        row.bid_qty_lots = bid.qty_lots;
        row.ask_price_ticks = ask.price_ticks;
        row.ask_qty_lots = ask.qty_lots;
        row.updates += 1;
        self.applied += 1;
        Applied::Updated
    }

    /// Forgets an instrument's bid and ask (its book became unusable): a reader sees "unknown",
    /// not the last prices of a book that is no longer in sync.
    pub fn clear_quotes(&mut self, instrument: u32) {
        if let Some(row) = self.rows.get_mut(instrument as usize) {
            Self::clear_row_quotes(row);
        }
    }

    fn clear_row_quotes(row: &mut TopOfBook) {
        row.bid_price_ticks = 0;
        row.bid_qty_lots = 0;
        row.ask_price_ticks = 0;
        row.ask_qty_lots = 0;
    }

    fn reject(&mut self, reason: u8) -> Applied {
        self.rejects[reason as usize] += 1;
        Applied::Rejected(reason)
    }

    /// The row of `instrument_index`, if within capacity.
    pub fn get(&self, instrument_index: usize) -> Option<&TopOfBook> {
        self.rows.get(instrument_index)
    }

    /// Rejections per reason code.
    pub fn rejects(&self) -> &[u64; REJECT_REASONS] {
        &self.rejects
    }

    /// Messages that updated a row.
    pub fn applied(&self) -> u64 {
        self.applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{InstrumentId, VenueId};
    use crate::msg::{Bbo, BookDelta, Origin, Side, Trade, FLAG_BATCH_END};

    fn at(instrument: u32, body: Body) -> Msg {
        Msg::new(Origin::new(VenueId::Synthetic, InstrumentId(instrument)), body)
    }

    fn bbo(bid: i64, ask: i64) -> Body {
        Body::Bbo(Bbo {
            bid_price_ticks: bid,
            bid_qty_lots: 1,
            ask_price_ticks: ask,
            ask_qty_lots: 2,
        })
    }

    #[test]
    fn bbo_and_trades_update_the_row_deltas_are_left_to_the_book() {
        let mut table = TopOfBookTable::new(2);
        assert_eq!(table.apply(&at(1, bbo(100, 101))), Applied::Updated);
        let trade =
            Body::Trade(Trade { aggressor: Side::Buy, price_ticks: 101, qty_lots: 3, trade_id: 1 });
        assert_eq!(table.apply(&at(1, trade)), Applied::Updated);
        let better_bid = Body::BookDelta(BookDelta {
            side: Side::Buy,
            price_ticks: 100,
            qty_lots: 9,
            seq: 2,
            seq_prev: 1,
            batch_flags: FLAG_BATCH_END,
        });
        assert_eq!(table.apply(&at(1, better_bid)), Applied::Ignored);
        let row = table.get(1).unwrap();
        assert_eq!((row.bid_price_ticks, row.bid_qty_lots, row.ask_price_ticks), (100, 1, 101));
        assert_eq!((row.last_trade_price_ticks, row.updates), (101, 2));
        assert_eq!(table.get(0).unwrap().updates, 0);
    }

    /// The bug this replaced: a row fed level deltas kept a deleted best bid for ever. From the
    /// book, deleting the best level moves the row to the next one; an empty side reads 0.
    #[test]
    fn rows_from_the_book_follow_deleted_best_levels() {
        let mut table = TopOfBookTable::new(1);
        let mut book = OrderBook::new(8);
        for (side, price, qty) in [(Side::Buy, 99, 5), (Side::Buy, 100, 7), (Side::Sell, 102, 3)] {
            book.set(side, price, qty).unwrap();
        }
        assert_eq!(table.set_from_book(0, &book), Applied::Updated);
        assert_eq!(table.get(0).unwrap().bid_price_ticks, 100);
        book.set(Side::Buy, 100, 0).unwrap();
        book.set(Side::Sell, 102, 0).unwrap();
        table.set_from_book(0, &book);
        let row = *table.get(0).unwrap();
        assert_eq!((row.bid_price_ticks, row.bid_qty_lots), (99, 5));
        assert_eq!((row.ask_price_ticks, row.ask_qty_lots), (0, 0));
        assert_eq!(table.set_from_book(3, &book), Applied::Rejected(REJECT_INSTRUMENT));
        book.set(Side::Sell, 98, 1).unwrap();
        assert_eq!(table.set_from_book(0, &book), Applied::Rejected(REJECT_CROSSED));
        assert_eq!(table.get(0).unwrap().bid_price_ticks, 0, "a crossed book leaves no quotes");
        table.apply(&at(0, bbo(100, 101)));
        table.clear_quotes(0);
        assert_eq!(table.get(0).unwrap().ask_price_ticks, 0);
    }

    #[test]
    fn bad_messages_are_rejected_counted_and_change_nothing() {
        let mut table = TopOfBookTable::new(1);
        assert_eq!(table.apply(&at(0, bbo(100, 101))), Applied::Updated);
        assert_eq!(table.apply(&at(0, bbo(102, 101))), Applied::Rejected(REJECT_CROSSED));
        assert_eq!(table.apply(&at(5, bbo(1, 2))), Applied::Rejected(REJECT_INSTRUMENT));
        let mut foreign = at(0, bbo(1, 2));
        foreign.kind = 99;
        assert_eq!(table.apply(&foreign), Applied::Rejected(REJECT_DECODE));
        assert_eq!(table.rejects(), &[0, 1, 1, 1]);
        assert_eq!(table.get(0).unwrap().bid_price_ticks, 100);
        assert_eq!(table.applied(), 1);
    }
}
