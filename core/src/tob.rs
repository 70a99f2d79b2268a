//! Top-of-book per instrument, the hot thread's first state.
//!
//! A fixed-capacity table (sized at start-up, never grown) of the latest best bid/offer and last
//! trade per instrument. It is what the foundation pipeline's hot thread maintains; the full L2
//! books replace the BBO source in the market-data issue, the table stays as the hot thread's
//! cheap cross-venue view.

use crate::msg::{Body, DecodeError, Msg, Side};

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
            Body::BookDelta(d) if d.qty_lots > 0 => match d.side {
                Side::Buy if d.price_ticks >= row.bid_price_ticks => {
                    row.bid_price_ticks = d.price_ticks;
                    row.bid_qty_lots = d.qty_lots;
                }
                Side::Sell if row.ask_price_ticks == 0 || d.price_ticks <= row.ask_price_ticks => {
                    row.ask_price_ticks = d.price_ticks;
                    row.ask_qty_lots = d.qty_lots;
                }
                _ => return Applied::Ignored,
            },
            _ => return Applied::Ignored,
        }
        row.updates += 1;
        self.applied += 1;
        Applied::Updated
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
    use crate::msg::{Bbo, BookDelta, Origin, Trade, FLAG_BATCH_END};

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
    fn bbo_trades_and_improving_deltas_update_the_row() {
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
        assert_eq!(table.apply(&at(1, better_bid)), Applied::Updated);
        let row = table.get(1).unwrap();
        assert_eq!((row.bid_price_ticks, row.bid_qty_lots, row.ask_price_ticks), (100, 9, 101));
        assert_eq!((row.last_trade_price_ticks, row.updates), (101, 3));
        assert_eq!(table.get(0).unwrap().updates, 0);
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
