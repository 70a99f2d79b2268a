//! The synthetic market source: a seeded random-walk market pushed into a ring at a fixed rate.
//!
//! It stands in for the venue gateways in the foundation pipeline (`hedger run` before venues are
//! configured) and drives load tests: each tick emits a BBO, a book delta on each side and, every
//! fourth tick, a trade, for one instrument in turn. The same seed gives the same message stream.
//!
//! Pacing is by TSC deadline, so the rate holds whatever the spin policy. A full ring keeps the
//! unsent tail of the batch for the next call: nothing generated is dropped, the feed simply
//! falls behind, and if it falls more than 100 ms behind it skips ahead instead of bursting.

use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{
    Bbo, Body, BookDelta, Msg, Origin, Side, Trade, FLAG_BATCH_END, FLAG_SNAPSHOT_BEGIN,
};
use hedger_ipc::clock::{now_tsc, unix_ns};
use hedger_ipc::runtime::Agent;
use hedger_ipc::RingProducer;
use serde::Deserialize;

/// Settings of the synthetic feed.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Instruments to simulate, ids `0..instruments`.
    pub instruments: u32,
    /// Ticks (groups of 3–4 messages) per second.
    pub ticks_per_s: u64,
    /// Seed of the random walk.
    pub seed: u64,
    /// Starting mid price in ticks.
    pub mid_start_ticks: i64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig { instruments: 4, ticks_per_s: 50_000, seed: 7, mid_start_ticks: 6_500_000 }
    }
}

impl SyntheticConfig {
    /// Problems with the settings, each as a sentence.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.instruments == 0 || self.instruments > SYNTHETIC_INSTRUMENTS_MAX as u32 {
            problems.push(format!(
                "synthetic.instruments must be 1..={SYNTHETIC_INSTRUMENTS_MAX}, got {}",
                self.instruments
            ));
        }
        if self.ticks_per_s == 0 || self.ticks_per_s > 10_000_000 {
            problems.push(format!(
                "synthetic.ticks_per_s must be 1..=10000000, got {}",
                self.ticks_per_s
            ));
        }
        if self.mid_start_ticks < 1_000 {
            problems.push(format!(
                "synthetic.mid_start_ticks must be >= 1000, got {}",
                self.mid_start_ticks
            ));
        }
        problems
    }
}

/// Instrument slots of the hot thread's books: the synthetic source's ids (below
/// [`SYNTHETIC_INSTRUMENTS_MAX`]) and four venues of 32 symbols each (see `src/venues.rs`).
pub const INSTRUMENTS_MAX: usize = 144;
/// Most instruments the synthetic feed simulates (ids 0..16; venue ids start at 16).
pub const SYNTHETIC_INSTRUMENTS_MAX: usize = 16;
const BATCH_MAX: usize = 4;

/// xorshift64*: tiny, seeded and good enough for a random walk.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// The generator, separate from pacing so tests and benches can drive it directly.
pub struct SyntheticMarket {
    rng: Rng,
    mids_ticks: [i64; SYNTHETIC_INSTRUMENTS_MAX],
    instruments: u32,
    next_instrument: u32,
    seq: u64,
}

impl SyntheticMarket {
    pub fn new(cfg: &SyntheticConfig) -> SyntheticMarket {
        SyntheticMarket {
            rng: Rng::new(cfg.seed),
            mids_ticks: [cfg.mid_start_ticks; SYNTHETIC_INSTRUMENTS_MAX],
            instruments: cfg.instruments.clamp(1, SYNTHETIC_INSTRUMENTS_MAX as u32),
            next_instrument: 0,
            seq: 0,
        }
    }

    /// Writes one tick's messages into `out`; returns how many.
    pub fn tick(&mut self, out: &mut [Msg; BATCH_MAX], exchange_ts_ns: u64) -> usize {
        let instrument = self.next_instrument;
        self.next_instrument = (self.next_instrument + 1) % self.instruments;
        let r = self.rng.next_u64();
        let mid = &mut self.mids_ticks[instrument as usize];
        *mid = (*mid + (r % 5) as i64 - 2).max(1_000);
        let (bid, ask) = (*mid - 1, *mid + 1);
        let qty = 1 + ((r >> 8) % 50) as i64;
        self.seq += 1;
        let mut origin = Origin::new(VenueId::Synthetic, InstrumentId(instrument));
        origin.exchange_ts_ns = exchange_ts_ns;
        origin.recv_tsc = now_tsc();
        // Each tick is a one-level-a-side snapshot of its instrument (the first delta clears
        // the book, the second ends the batch), so the hot side's book is always the tick's
        // bid and ask: synced, uncrossed and never growing.
        let delta = |side, price_ticks, batch_flags| {
            Body::BookDelta(BookDelta {
                side,
                price_ticks,
                qty_lots: qty,
                seq: self.seq,
                seq_prev: self.seq - 1,
                batch_flags,
            })
        };
        out[0] = Msg::new(origin, delta(Side::Buy, bid, FLAG_SNAPSHOT_BEGIN));
        out[1] = Msg::new(origin, delta(Side::Sell, ask, FLAG_BATCH_END));
        out[2] = Msg::new(
            origin,
            Body::Bbo(Bbo {
                bid_price_ticks: bid,
                bid_qty_lots: qty,
                ask_price_ticks: ask,
                ask_qty_lots: qty,
            }),
        );
        if r >> 62 != 0 {
            return 3;
        }
        let aggressor = if r & (1 << 20) != 0 { Side::Buy } else { Side::Sell };
        let price_ticks = if aggressor == Side::Buy { ask } else { bid };
        out[3] = Msg::new(
            origin,
            Body::Trade(Trade { aggressor, price_ticks, qty_lots: 1, trade_id: self.seq }),
        );
        4
    }
}

/// The paced feed agent.
pub struct SyntheticFeed {
    market: SyntheticMarket,
    out: RingProducer<Msg>,
    batch: [Msg; BATCH_MAX],
    batch_len: usize,
    batch_sent: usize,
    tick_ticks: u64,
    next_tick_tsc: u64,
    behind_ticks_max: u64,
    skipped_ticks: u64,
}

impl SyntheticFeed {
    /// `tsc_hz` converts the configured rate into TSC ticks between market ticks.
    pub fn new(cfg: &SyntheticConfig, out: RingProducer<Msg>, tsc_hz: u64) -> SyntheticFeed {
        let tick_ticks = (tsc_hz / cfg.ticks_per_s.max(1)).max(1);
        SyntheticFeed {
            market: SyntheticMarket::new(cfg),
            out,
            batch: [Msg::EMPTY; BATCH_MAX],
            batch_len: 0,
            batch_sent: 0,
            tick_ticks,
            next_tick_tsc: now_tsc(),
            behind_ticks_max: tsc_hz / 10,
            skipped_ticks: 0,
        }
    }

    /// Market ticks skipped because the feed fell more than 100 ms behind.
    pub fn skipped_ticks(&self) -> u64 {
        self.skipped_ticks
    }
}

impl Agent for SyntheticFeed {
    fn do_work(&mut self) -> usize {
        if self.batch_sent < self.batch_len {
            let sent = self.out.push_slice(&self.batch[self.batch_sent..self.batch_len]);
            self.batch_sent += sent;
            return sent;
        }
        let now = now_tsc();
        if now < self.next_tick_tsc {
            return 0;
        }
        if now - self.next_tick_tsc > self.behind_ticks_max {
            self.skipped_ticks += (now - self.next_tick_tsc) / self.tick_ticks;
            self.next_tick_tsc = now;
        }
        self.next_tick_tsc += self.tick_ticks;
        self.batch_len = self.market.tick(&mut self.batch, unix_ns());
        self.batch_sent = self.out.push_slice(&self.batch[..self.batch_len]);
        self.batch_sent
    }

    /// Hands the rest of a half-sent batch to the hot thread, which is still running.
    fn on_stop(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while self.batch_sent < self.batch_len && std::time::Instant::now() < deadline {
            self.batch_sent += self.out.push_slice(&self.batch[self.batch_sent..self.batch_len]);
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(seed: u64, ticks: usize) -> Vec<Msg> {
        let cfg = SyntheticConfig { seed, ..SyntheticConfig::default() };
        let mut market = SyntheticMarket::new(&cfg);
        let mut out = Vec::new();
        let mut batch = [Msg::EMPTY; BATCH_MAX];
        for i in 0..ticks {
            let n = market.tick(&mut batch, i as u64);
            out.extend(batch[..n].iter().map(|m| Msg { recv_tsc: 0, ..*m }));
        }
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_stream_and_books_never_cross() {
        let a = stream(11, 2_000);
        assert_eq!(a, stream(11, 2_000));
        assert_ne!(a, stream(12, 2_000));
        for m in &a {
            if let Ok(Body::Bbo(b)) = m.body() {
                assert!(b.bid_price_ticks < b.ask_price_ticks);
                assert!(b.bid_qty_lots > 0);
            }
            assert!(m.body().is_ok());
        }
        let trades = a.iter().filter(|m| matches!(m.body(), Ok(Body::Trade(_)))).count();
        assert!(trades > 100 && trades < 1_000, "{trades} trades");
    }

    #[test]
    fn every_tick_leaves_a_usable_uncrossed_book_of_that_tick() {
        use hedger_core::books::{BookUpdate, HotBooks};
        let mut books = HotBooks::new(SYNTHETIC_INSTRUMENTS_MAX, 8);
        let mut ends = 0;
        for m in stream(5, 500) {
            if let BookUpdate::BatchEnd { instrument } = books.apply(&m) {
                let book = books.usable(instrument).expect("synced after every tick");
                assert!(!book.is_crossed());
                assert_eq!(book.depth(), (1, 1), "the tick's bid and ask only");
                ends += 1;
            }
            // The tick's BBO follows its book and says the same.
            if let Ok(Body::Bbo(b)) = m.body() {
                let book = books.usable(m.instrument.0).unwrap();
                let (bid, ask) = (book.best_bid().unwrap(), book.best_ask().unwrap());
                assert_eq!((bid.price_ticks, bid.qty_lots), (b.bid_price_ticks, b.bid_qty_lots));
                assert_eq!((ask.price_ticks, ask.qty_lots), (b.ask_price_ticks, b.ask_qty_lots));
            }
        }
        assert_eq!(ends, 500, "one batch per tick");
        assert_eq!(books.rejected(), 0);
    }

    #[test]
    fn bad_settings_are_all_reported() {
        let cfg = SyntheticConfig { instruments: 0, ticks_per_s: 0, seed: 1, mid_start_ticks: 5 };
        assert_eq!(cfg.problems().len(), 3);
        assert!(SyntheticConfig::default().problems().is_empty());
    }
}
