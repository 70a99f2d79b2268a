//! Rule 5 applied continuously: each venue book's mid against its asset's oracle reference.
//!
//! Why: a venue book can be internally consistent (sequence numbers fine, not crossed) and still
//! be wrong for pricing, e.g. a venue-specific dislocation or a symbol mapped to the wrong asset.
//! The hot thread checks every completed batch of a mapped instrument; an instrument is fit for
//! pricing only while its last check agreed ([`VenueMidGuard::price_ok`]). State changes (and
//! only changes) are returned so the hot thread can report them to the cold thread without
//! flooding it. No allocation after `new`, no clock (`now_ms` is an argument).

use super::reference::{ReferenceError, ReferenceTable};
use crate::book::OrderBook;

/// Reason code of a venue-mid status for a book without a two-sided top (the reference
/// table's codes are 100–103).
pub const REASON_NO_MID: u32 = 104;
/// Reason code of the status that says an instrument's mid agrees again (state `Up`).
pub const REASON_MID_AGREES: u32 = 105;

/// Result of the last check of one instrument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MidCheck {
    /// No complete book has been checked yet, or the instrument has no asset.
    #[default]
    Unchecked,
    /// The mid was within tolerance of the reference.
    Agrees,
    /// The mid was off the reference, or there was no reference (reason code in the error).
    Refused(ReferenceError),
    /// The book has no two-sided top (nothing to compare).
    NoMid,
}

impl MidCheck {
    /// A coarse class, so that a deviation moving from 61 to 62 bps is not a "change".
    fn class(self) -> u8 {
        match self {
            MidCheck::Unchecked => 0,
            MidCheck::Agrees => 1,
            MidCheck::NoMid => 2,
            MidCheck::Refused(error) => 3 + (error.code() % 100) as u8,
        }
    }
}

/// Per-instrument venue-mid checks.
#[derive(Clone, Debug)]
pub struct VenueMidGuard {
    /// Asset id (reference table index) of each instrument id, if any.
    asset_of: Vec<Option<u8>>,
    last: Vec<MidCheck>,
    checks: u64,
    refusals: u64,
}

impl VenueMidGuard {
    /// `asset_of[instrument]` is the reference-table asset of that instrument.
    pub fn new(asset_of: Vec<Option<u8>>) -> VenueMidGuard {
        let last = vec![MidCheck::Unchecked; asset_of.len()];
        VenueMidGuard { asset_of, last, checks: 0, refusals: 0 }
    }

    /// Checks `book` (a complete batch of `instrument`, prices at the 1e-8 wire scale = e8);
    /// returns the new result when its class changed.
    pub fn check(
        &mut self,
        instrument: u32,
        book: &OrderBook,
        references: &ReferenceTable,
        now_ms: u64,
    ) -> Option<MidCheck> {
        let index = instrument as usize;
        let asset = (*self.asset_of.get(index)?)?;
        self.checks += 1;
        let result = match (book.best_bid(), book.best_ask()) {
            (Some(bid), Some(ask)) => {
                let mid_e8 = (i128::from(bid.price_ticks) + i128::from(ask.price_ticks)) / 2;
                let mid_e8 = i64::try_from(mid_e8).unwrap_or(i64::MAX);
                match references.check_venue_mid(usize::from(asset), mid_e8, now_ms) {
                    Ok(_) => MidCheck::Agrees,
                    Err(error) => MidCheck::Refused(error),
                }
            }
            _ => MidCheck::NoMid,
        };
        if matches!(result, MidCheck::Refused(_) | MidCheck::NoMid) {
            self.refusals += 1;
        }
        let previous = std::mem::replace(&mut self.last[index], result);
        (previous.class() != result.class()).then_some(result)
    }

    /// The instrument has an asset to check against.
    #[inline]
    pub fn is_mapped(&self, instrument: u32) -> bool {
        matches!(self.asset_of.get(instrument as usize), Some(Some(_)))
    }

    /// Forgets the last result (the book went invalid): the next batch is checked afresh.
    pub fn reset(&mut self, instrument: u32) {
        if let Some(slot) = self.last.get_mut(instrument as usize) {
            *slot = MidCheck::Unchecked;
        }
    }

    /// The instrument's book may be used for pricing as far as this rule goes.
    pub fn price_ok(&self, instrument: u32) -> bool {
        self.last.get(instrument as usize) == Some(&MidCheck::Agrees)
    }

    /// The last result for `instrument`.
    pub fn last(&self, instrument: u32) -> MidCheck {
        self.last.get(instrument as usize).copied().unwrap_or_default()
    }

    /// Checks run.
    pub fn checks(&self) -> u64 {
        self.checks
    }

    /// Checks that did not agree.
    pub fn refusals(&self) -> u64 {
        self.refusals
    }
}

/// The base asset of a perpetual symbol as the four venues write it: `BTCUSDT`, `BTC-USDT-SWAP`,
/// `BTC-PERPETUAL`, `ETH_USDC-PERPETUAL` → `BTC`/`ETH`; `None` if no known quote suffix.
pub fn base_asset(symbol: &str) -> Option<&str> {
    let upper_ok =
        symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_".contains(&b));
    if !upper_ok {
        return None;
    }
    if let Some((base, _)) = symbol.split_once(['-', '_']) {
        return (!base.is_empty()).then_some(base);
    }
    ["USDT", "USDC", "BUSD", "USD"]
        .iter()
        .find_map(|quote| symbol.strip_suffix(quote))
        .filter(|base| !base.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::OraclePrice;
    use crate::msg::Side;
    use crate::oracle::reference::{AssetLimits, OracleSource, REASON_VENUE_DEVIATION};

    const NOW_MS: u64 = 1_700_000_000_000;

    fn table(price_e8: i64) -> ReferenceTable {
        let mut t = ReferenceTable::new(vec![AssetLimits::default()]);
        let price = OraclePrice { price_e8, conf_e8: 0, publish_time_ms: NOW_MS, signer_count: 13 };
        t.apply_price(0, OracleSource::Pyth, &price);
        t
    }

    fn book(bid_e8: i64, ask_e8: i64) -> OrderBook {
        let mut b = OrderBook::new(8);
        b.set(Side::Buy, bid_e8, 100).unwrap();
        b.set(Side::Sell, ask_e8, 100).unwrap();
        b
    }

    #[test]
    fn rule5_mid_within_tolerance_agrees_and_only_changes_are_reported() {
        let refs = table(3_500 * 100_000_000);
        let mut g = VenueMidGuard::new(vec![None, Some(0)]);
        let near = book(3_499 * 100_000_000, 3_501 * 100_000_000);
        assert_eq!(g.check(1, &near, &refs, NOW_MS), Some(MidCheck::Agrees));
        assert_eq!(g.check(1, &near, &refs, NOW_MS), None, "unchanged: not reported again");
        assert!(g.price_ok(1));
        assert_eq!(g.check(0, &near, &refs, NOW_MS), None, "unmapped instrument is not checked");
        assert!(!g.price_ok(0));
        assert_eq!(g.checks(), 2);
    }

    #[test]
    fn rule5_mid_off_the_reference_is_refused_until_it_comes_back() {
        let refs = table(3_500 * 100_000_000);
        let mut g = VenueMidGuard::new(vec![Some(0)]);
        // 1% away; the default tolerance is 50 bps.
        let far = book(3_534 * 100_000_000, 3_536 * 100_000_000);
        match g.check(0, &far, &refs, NOW_MS) {
            Some(MidCheck::Refused(e)) => assert_eq!(e.code(), REASON_VENUE_DEVIATION),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(!g.price_ok(0));
        let near = book(3_500 * 100_000_000, 3_501 * 100_000_000);
        assert_eq!(g.check(0, &near, &refs, NOW_MS), Some(MidCheck::Agrees));
        assert_eq!(g.refusals(), 1);
    }

    #[test]
    fn rule5_no_reference_or_one_sided_book_is_not_fit_for_pricing() {
        let refs = table(3_500 * 100_000_000);
        let mut g = VenueMidGuard::new(vec![Some(0)]);
        let near = book(3_499 * 100_000_000, 3_501 * 100_000_000);
        let stale_now = NOW_MS + AssetLimits::default().max_age_ms + 1;
        assert!(matches!(g.check(0, &near, &refs, stale_now), Some(MidCheck::Refused(_))));
        let mut one_sided = OrderBook::new(8);
        one_sided.set(Side::Buy, 3_499 * 100_000_000, 1).unwrap();
        assert_eq!(g.check(0, &one_sided, &refs, NOW_MS), Some(MidCheck::NoMid));
        g.reset(0);
        assert_eq!(g.last(0), MidCheck::Unchecked);
    }

    #[test]
    fn base_assets_of_the_four_venues_symbols() {
        for (symbol, base) in [
            ("BTCUSDT", Some("BTC")),
            ("ETHUSDC", Some("ETH")),
            ("BTC-USDT-SWAP", Some("BTC")),
            ("ETH-PERPETUAL", Some("ETH")),
            ("ETH_USDC-PERPETUAL", Some("ETH")),
            ("USDT", None),
            ("btcusdt", None),
            ("XYZ", None),
        ] {
            assert_eq!(base_asset(symbol), base, "{symbol}");
        }
    }
}
