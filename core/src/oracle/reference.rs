//! Per-asset reference price from the verified oracle sources, and the validation rules that keep
//! untrustworthy data out of pricing. Runs on the hot thread.
//!
//! Why it exists: gateways verify signatures, but only the hot thread sees every source at once.
//! Here the sources of one asset (Pyth, RedStone, Chainlink) are compared with each other and
//! with the venues, and a source that failed (quarantined by its gateway, stale, too uncertain,
//! or off the others) stops counting. Pricing asks [`ReferenceTable::reference`] and gets `None`
//! when no trustworthy source remains: there is no "use it anyway" mode.
//!
//! What it promises: no allocation after [`ReferenceTable::new`], no I/O, no clock (`now_ms` is an
//! argument), O(sources) per call; bad input is a reason code plus a counter, never a panic.
//! Prices are on the common 1e8 scale (`*_e8`); comparisons are exact integer arithmetic in i128.
//!
//! Rules, in the order [`ReferenceTable::evaluate`] applies them (reference `oracles.md` §1.6–1.7,
//! `reliability.md` §1.3):
//! 1. Usable source: state `Up` (a `Quarantined` or `Stale` status from the gateway removes it
//!    until its gateway says `Up` again and a fresh price arrives), `|now − publish_time| ≤
//!    max_age_ms` (absolute difference, as Pyth's `getPriceNoOlderThan`), `price > 0`, and
//!    `conf / price ≤ conf_ratio_bps_max`.
//! 2. At least `sources_min` usable sources, else no reference.
//! 3. Agreement: each usable source within `source_deviation_bps_max` of the median of the usable
//!    prices; the agreeing sources must be a strict majority (2 of 2, 2 of 3), so two sources that
//!    disagree give no reference (there is no way to tell which one is wrong).
//! 4. Reference price = median of the agreeing sources (even count: the mean of the middle two,
//!    rounded toward −∞); confidence = max(largest agreeing `conf`, largest distance of an
//!    agreeing price from the reference).
//! 5. Venue check ([`ReferenceTable::check_venue_mid`]): a venue's mid must be within
//!    `max(venue_deviation_bps_max of the reference, venue_conf_multiple × conf)`.

use crate::ids::VenueId;
use crate::msg::{Body, GatewayStatus, Msg, OraclePrice, SourceState};

/// Most assets a table holds (config validation enforces it).
pub const ASSETS_MAX: usize = 32;
/// Oracle sources per asset: Pyth, RedStone, Chainlink.
pub const SOURCES_MAX: usize = 3;
const BPS: i128 = 10_000;

/// An oracle network, as carried in the `venue` byte of oracle messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OracleSource {
    Pyth = 0,
    RedStone = 1,
    Chainlink = 2,
}

impl OracleSource {
    /// Every source, in slot order.
    pub const ALL: [OracleSource; SOURCES_MAX] =
        [OracleSource::Pyth, OracleSource::RedStone, OracleSource::Chainlink];

    /// The source of a venue id; `None` for a venue that is not an oracle.
    pub fn from_venue(venue: u8) -> Option<OracleSource> {
        match VenueId::from_u8(venue)? {
            VenueId::Pyth => Some(OracleSource::Pyth),
            VenueId::RedStone => Some(OracleSource::RedStone),
            VenueId::Chainlink => Some(OracleSource::Chainlink),
            _ => None,
        }
    }

    /// The venue id written into messages.
    pub fn venue(self) -> VenueId {
        match self {
            OracleSource::Pyth => VenueId::Pyth,
            OracleSource::RedStone => VenueId::RedStone,
            OracleSource::Chainlink => VenueId::Chainlink,
        }
    }
}

/// Validation limits of one asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssetLimits {
    /// Largest `|now − publish_time|` of a usable source.
    pub max_age_ms: u64,
    /// Largest `conf / price` of a usable source, in basis points.
    pub conf_ratio_bps_max: u64,
    /// Largest distance of a source from the median of the sources, in basis points.
    pub source_deviation_bps_max: u64,
    /// Floor of the venue-mid tolerance, in basis points of the reference.
    pub venue_deviation_bps_max: u64,
    /// The venue-mid tolerance is at least this many reference confidences.
    pub venue_conf_multiple: u64,
    /// Usable, agreeing sources needed for a reference.
    pub sources_min: u8,
}

impl Default for AssetLimits {
    /// 10 s age, 50 bps confidence, 100 bps between oracles, venue 50 bps or 3 × conf, 1 source.
    fn default() -> Self {
        AssetLimits {
            max_age_ms: 10_000,
            conf_ratio_bps_max: 50,
            source_deviation_bps_max: 100,
            venue_deviation_bps_max: 50,
            venue_conf_multiple: 3,
            sources_min: 1,
        }
    }
}

/// What the hot thread knows about one source of one asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceSlot {
    /// Health as last set by a status or a price.
    pub state: SourceHealth,
    /// Last accepted price.
    pub price_e8: i64,
    /// Its confidence.
    pub conf_e8: u64,
    /// Its publish time.
    pub publish_time_ms: u64,
    /// Signers behind it.
    pub signer_count: u64,
    /// Reason code of the last status that degraded the source (0 if none).
    pub reason_code: u32,
    /// Prices accepted.
    pub prices_accepted: u64,
    /// Prices ignored (source quarantined, out of order, or not positive).
    pub prices_ignored: u64,
}

/// Health of a source slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceHealth {
    /// No price yet (or none since the source was restored).
    Empty,
    /// Has a price that may be used subject to the rules.
    Up,
    /// Its gateway reported it stale or down; a fresh price restores it.
    Stale,
    /// Its gateway quarantined it; only an `Up` status (then a fresh price) restores it.
    Quarantined,
}

impl SourceSlot {
    const EMPTY: SourceSlot = SourceSlot {
        state: SourceHealth::Empty,
        price_e8: 0,
        conf_e8: 0,
        publish_time_ms: 0,
        signer_count: 0,
        reason_code: 0,
        prices_accepted: 0,
        prices_ignored: 0,
    };
}

/// A reference price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Reference price on the 1e8 scale.
    pub price_e8: i64,
    /// Its confidence (rule 4).
    pub conf_e8: u64,
    /// Sources that agreed and were used.
    pub sources_used: u8,
    /// Oldest publish time among them.
    pub publish_time_ms_min: u64,
}

/// Why there is no reference, or a venue price was refused. `code()` is the hot-path reason code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("asset {asset} is not configured")]
    UnknownAsset { asset: usize },
    #[error("{usable} usable sources, {needed} needed")]
    TooFewSources { usable: u8, needed: u8 },
    #[error("sources disagree by up to {deviation_bps} bps")]
    SourcesDisagree { deviation_bps: u64 },
    #[error("venue mid is {deviation_bps} bps from the reference, tolerance {tolerance_bps} bps")]
    VenueDeviation { deviation_bps: u64, tolerance_bps: u64 },
}

impl ReferenceError {
    /// Stable reason code (status messages, counters).
    pub fn code(&self) -> u32 {
        match self {
            ReferenceError::UnknownAsset { .. } => REASON_UNKNOWN_ASSET,
            ReferenceError::TooFewSources { .. } => REASON_TOO_FEW_SOURCES,
            ReferenceError::SourcesDisagree { .. } => REASON_SOURCES_DISAGREE,
            ReferenceError::VenueDeviation { .. } => REASON_VENUE_DEVIATION,
        }
    }
}

/// Reason codes raised by the hot thread's oracle validation (gateway codes are below 100).
pub const REASON_UNKNOWN_ASSET: u32 = 100;
pub const REASON_TOO_FEW_SOURCES: u32 = 101;
pub const REASON_SOURCES_DISAGREE: u32 = 102;
pub const REASON_VENUE_DEVIATION: u32 = 103;

/// What [`ReferenceTable::apply`] did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleApplied {
    /// A price was stored.
    Price,
    /// A price was ignored (counted in its slot).
    PriceIgnored,
    /// A status changed the source's state.
    StateChanged,
    /// A status that changed nothing.
    StatusNoop,
    /// Not an oracle message, or an unknown asset/source (counted in `rejected`).
    Rejected,
}

/// Reference prices and source states for up to [`ASSETS_MAX`] assets.
#[derive(Clone, Debug)]
pub struct ReferenceTable {
    limits: Vec<AssetLimits>,
    slots: Vec<[SourceSlot; SOURCES_MAX]>,
    rejected: u64,
}

impl ReferenceTable {
    /// One asset per entry of `limits` (asset id = index). All storage is allocated here.
    ///
    /// # Panics
    /// If more than [`ASSETS_MAX`] assets are given (config validation rejects it first).
    pub fn new(limits: Vec<AssetLimits>) -> ReferenceTable {
        assert!(limits.len() <= ASSETS_MAX, "at most {ASSETS_MAX} oracle assets");
        let slots = vec![[SourceSlot::EMPTY; SOURCES_MAX]; limits.len()];
        ReferenceTable { limits, slots, rejected: 0 }
    }

    /// Assets configured.
    pub fn assets(&self) -> usize {
        self.limits.len()
    }

    /// Messages rejected as not applicable.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// The slot of `source` for `asset`.
    pub fn source(&self, asset: usize, source: OracleSource) -> Option<&SourceSlot> {
        self.slots.get(asset).map(|slots| &slots[source as usize])
    }

    /// Applies an `OraclePrice` or `GatewayStatus` message (`instrument` = asset id, `venue` =
    /// oracle source). Anything else is rejected and counted.
    pub fn apply(&mut self, msg: &Msg) -> OracleApplied {
        let asset = msg.instrument.0 as usize;
        let Some(source) = OracleSource::from_venue(msg.venue) else {
            return self.reject();
        };
        if asset >= self.slots.len() {
            return self.reject();
        }
        match msg.body() {
            Ok(Body::OraclePrice(price)) => self.apply_price(asset, source, &price),
            Ok(Body::GatewayStatus(status)) => self.apply_status(asset, source, &status),
            _ => self.reject(),
        }
    }

    fn reject(&mut self) -> OracleApplied {
        self.rejected += 1;
        OracleApplied::Rejected
    }

    /// Stores a verified price unless the source is quarantined, the price is not positive, or
    /// it is older than the stored one.
    pub fn apply_price(
        &mut self,
        asset: usize,
        source: OracleSource,
        price: &OraclePrice,
    ) -> OracleApplied {
        let Some(slot) = self.slots.get_mut(asset).map(|slots| &mut slots[source as usize]) else {
            return self.reject();
        };
        let out_of_order =
            slot.state != SourceHealth::Empty && price.publish_time_ms < slot.publish_time_ms;
        if slot.state == SourceHealth::Quarantined || price.price_e8 <= 0 || out_of_order {
            slot.prices_ignored += 1;
            return OracleApplied::PriceIgnored;
        }
        slot.state = SourceHealth::Up;
        slot.price_e8 = price.price_e8;
        slot.conf_e8 = price.conf_e8;
        slot.publish_time_ms = price.publish_time_ms;
        slot.signer_count = price.signer_count;
        slot.prices_accepted += 1;
        OracleApplied::Price
    }

    /// Applies a gateway status: `Quarantined` and `Stale`/`Down` remove the source; `Up` lifts a
    /// quarantine (the source then needs a fresh price).
    pub fn apply_status(
        &mut self,
        asset: usize,
        source: OracleSource,
        status: &GatewayStatus,
    ) -> OracleApplied {
        let Some(slot) = self.slots.get_mut(asset).map(|slots| &mut slots[source as usize]) else {
            return self.reject();
        };
        let next = match (status.state, slot.state) {
            (SourceState::Quarantined, _) => SourceHealth::Quarantined,
            (SourceState::Stale | SourceState::Down, SourceHealth::Quarantined) => {
                SourceHealth::Quarantined
            }
            (SourceState::Stale | SourceState::Down, _) => SourceHealth::Stale,
            (SourceState::Up, SourceHealth::Quarantined) => SourceHealth::Empty,
            (SourceState::Up | SourceState::Resyncing, current) => current,
        };
        if next == slot.state {
            return OracleApplied::StatusNoop;
        }
        if next != SourceHealth::Empty {
            slot.reason_code = status.reason_code;
        }
        slot.state = next;
        OracleApplied::StateChanged
    }

    /// The reference price of `asset` at `now_ms`, or `None` when no trustworthy source remains.
    pub fn reference(&self, asset: usize, now_ms: u64) -> Option<Reference> {
        self.evaluate(asset, now_ms).ok()
    }

    /// As [`ReferenceTable::reference`], saying why there is none.
    ///
    /// # Errors
    /// [`ReferenceError`] naming the rule that left no reference.
    pub fn evaluate(&self, asset: usize, now_ms: u64) -> Result<Reference, ReferenceError> {
        let (limits, slots) = match (self.limits.get(asset), self.slots.get(asset)) {
            (Some(limits), Some(slots)) => (limits, slots),
            _ => return Err(ReferenceError::UnknownAsset { asset }),
        };
        let mut usable = [SourceSlot::EMPTY; SOURCES_MAX];
        let mut usable_count = 0usize;
        for slot in slots.iter().filter(|slot| is_usable(slot, limits, now_ms)) {
            usable[usable_count] = *slot;
            usable_count += 1;
        }
        let needed = limits.sources_min.max(1);
        if usable_count < usize::from(needed) {
            return Err(ReferenceError::TooFewSources { usable: usable_count as u8, needed });
        }
        let usable = &mut usable[..usable_count];
        usable.sort_unstable_by_key(|slot| slot.price_e8);
        agree(usable, limits)
    }

    /// Rule 5: checks a venue's mid against the reference of `asset`.
    ///
    /// # Errors
    /// [`ReferenceError::VenueDeviation`], or why there is no reference.
    pub fn check_venue_mid(
        &self,
        asset: usize,
        mid_e8: i64,
        now_ms: u64,
    ) -> Result<Reference, ReferenceError> {
        let reference = self.evaluate(asset, now_ms)?;
        let limits = self.limits[asset];
        let reference_e8 = i128::from(reference.price_e8);
        let deviation_e8 = (i128::from(mid_e8) - reference_e8).abs();
        let floor_e8 = reference_e8 * i128::from(limits.venue_deviation_bps_max) / BPS;
        let conf_e8 = i128::from(reference.conf_e8) * i128::from(limits.venue_conf_multiple);
        let tolerance_e8 = floor_e8.max(conf_e8);
        if deviation_e8 <= tolerance_e8 {
            return Ok(reference);
        }
        Err(ReferenceError::VenueDeviation {
            deviation_bps: bps_of(deviation_e8, reference_e8),
            tolerance_bps: bps_of(tolerance_e8, reference_e8),
        })
    }
}

/// Rule 1.
fn is_usable(slot: &SourceSlot, limits: &AssetLimits, now_ms: u64) -> bool {
    let fresh = slot.publish_time_ms.abs_diff(now_ms) <= limits.max_age_ms;
    let confident = i128::from(slot.conf_e8) * BPS
        <= i128::from(slot.price_e8) * i128::from(limits.conf_ratio_bps_max);
    slot.state == SourceHealth::Up && slot.price_e8 > 0 && fresh && confident
}

/// `part / whole` in basis points, rounded down; saturates; `whole ≤ 0` gives `u64::MAX`.
fn bps_of(part: i128, whole: i128) -> u64 {
    if whole <= 0 {
        return u64::MAX;
    }
    u64::try_from(part.saturating_mul(BPS) / whole).unwrap_or(u64::MAX)
}

/// Median of sorted prices; even count: mean of the middle two rounded toward −∞.
fn median_e8(sorted: &[SourceSlot]) -> i64 {
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        return sorted[middle].price_e8;
    }
    let sum = i128::from(sorted[middle - 1].price_e8) + i128::from(sorted[middle].price_e8);
    i64::try_from(sum.div_euclid(2)).unwrap_or(i64::MAX)
}

/// Rules 3 and 4 over usable sources sorted by price (at least one).
fn agree(sorted: &[SourceSlot], limits: &AssetLimits) -> Result<Reference, ReferenceError> {
    let median = i128::from(median_e8(sorted));
    let mut agreeing = [SourceSlot::EMPTY; SOURCES_MAX];
    let mut agreeing_count = 0usize;
    let mut deviation_bps_max = 0u64;
    for slot in sorted {
        let deviation_bps = bps_of((i128::from(slot.price_e8) - median).abs(), median);
        deviation_bps_max = deviation_bps_max.max(deviation_bps);
        if deviation_bps <= limits.source_deviation_bps_max {
            agreeing[agreeing_count] = *slot;
            agreeing_count += 1;
        }
    }
    let majority = sorted.len() / 2 + 1;
    if agreeing_count < majority || agreeing_count < usize::from(limits.sources_min.max(1)) {
        return Err(ReferenceError::SourcesDisagree { deviation_bps: deviation_bps_max });
    }
    let agreeing = &agreeing[..agreeing_count];
    let price_e8 = median_e8(agreeing);
    let mut conf_e8 = 0u64;
    let mut publish_time_ms_min = u64::MAX;
    for slot in agreeing {
        let distance = slot.price_e8.abs_diff(price_e8);
        conf_e8 = conf_e8.max(slot.conf_e8).max(distance);
        publish_time_ms_min = publish_time_ms_min.min(slot.publish_time_ms);
    }
    Ok(Reference { price_e8, conf_e8, sources_used: agreeing_count as u8, publish_time_ms_min })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::InstrumentId;
    use crate::msg::Origin;

    const NOW_MS: u64 = 1_700_000_000_000;

    fn price(price_e8: i64, conf_e8: u64, publish_time_ms: u64) -> OraclePrice {
        OraclePrice { price_e8, conf_e8, publish_time_ms, signer_count: 13 }
    }

    fn status(state: SourceState, reason_code: u32) -> GatewayStatus {
        GatewayStatus { state, reason_code, reason_count: 1, detail: 0 }
    }

    fn table(sources_min: u8) -> ReferenceTable {
        ReferenceTable::new(vec![AssetLimits { sources_min, ..AssetLimits::default() }; 2])
    }

    #[test]
    fn rule_1_a_single_fresh_confident_source_is_the_reference() {
        let mut t = table(1);
        assert_eq!(t.reference(0, NOW_MS), None);
        t.apply_price(0, OracleSource::Pyth, &price(300_000_000_000, 1_000_000, NOW_MS - 500));
        let r = t.reference(0, NOW_MS).unwrap();
        assert_eq!((r.price_e8, r.conf_e8, r.sources_used), (300_000_000_000, 1_000_000, 1));
        assert_eq!(t.reference(1, NOW_MS), None, "other asset untouched");
    }

    #[test]
    fn rule_1_staleness_is_an_absolute_difference() {
        let mut t = table(1);
        t.apply_price(0, OracleSource::Pyth, &price(100_000_000, 0, NOW_MS));
        assert!(t.reference(0, NOW_MS + 10_000).is_some());
        assert!(t.reference(0, NOW_MS + 10_001).is_none());
        assert!(t.reference(0, NOW_MS - 10_000).is_some());
        assert!(t.reference(0, NOW_MS - 10_001).is_none(), "from the future beyond max age");
    }

    #[test]
    fn rule_1_wide_confidence_makes_a_source_unusable() {
        let mut t = table(1);
        // 50 bps of 100.00000000 = 0.5 = 50_000_000 e8.
        t.apply_price(0, OracleSource::Pyth, &price(10_000_000_000, 50_000_000, NOW_MS));
        assert!(t.reference(0, NOW_MS).is_some());
        t.apply_price(0, OracleSource::Pyth, &price(10_000_000_000, 50_000_001, NOW_MS));
        assert_eq!(
            t.evaluate(0, NOW_MS),
            Err(ReferenceError::TooFewSources { usable: 0, needed: 1 })
        );
    }

    #[test]
    fn rule_1_quarantine_removes_a_source_until_up_and_a_fresh_price() {
        let mut t = table(1);
        t.apply_price(0, OracleSource::RedStone, &price(100_000_000, 0, NOW_MS));
        let quarantined = status(SourceState::Quarantined, 7);
        assert_eq!(
            t.apply_status(0, OracleSource::RedStone, &quarantined),
            OracleApplied::StateChanged
        );
        assert_eq!(t.reference(0, NOW_MS), None, "pricing must not use quarantined data");
        let slot = t.source(0, OracleSource::RedStone).unwrap();
        assert_eq!((slot.state, slot.reason_code), (SourceHealth::Quarantined, 7));
        // Prices and stale/down statuses do not lift a quarantine.
        let ignored = t.apply_price(0, OracleSource::RedStone, &price(100_000_000, 0, NOW_MS + 1));
        assert_eq!(ignored, OracleApplied::PriceIgnored);
        t.apply_status(0, OracleSource::RedStone, &status(SourceState::Stale, 3));
        assert_eq!(t.source(0, OracleSource::RedStone).unwrap().state, SourceHealth::Quarantined);
        t.apply_status(0, OracleSource::RedStone, &status(SourceState::Up, 0));
        assert_eq!(t.reference(0, NOW_MS), None, "Up alone carries no price");
        t.apply_price(0, OracleSource::RedStone, &price(100_000_000, 0, NOW_MS + 2));
        assert!(t.reference(0, NOW_MS).is_some());
    }

    #[test]
    fn rule_1_stale_status_removes_a_source_until_a_fresh_price() {
        let mut t = table(1);
        t.apply_price(0, OracleSource::Pyth, &price(100_000_000, 0, NOW_MS));
        t.apply_status(0, OracleSource::Pyth, &status(SourceState::Stale, 2));
        assert_eq!(t.reference(0, NOW_MS), None);
        t.apply_price(0, OracleSource::Pyth, &price(100_000_000, 0, NOW_MS + 1));
        assert!(t.reference(0, NOW_MS).is_some());
    }

    #[test]
    fn rule_1_out_of_order_and_non_positive_prices_are_ignored_and_counted() {
        let mut t = table(1);
        t.apply_price(0, OracleSource::Pyth, &price(200, 0, NOW_MS));
        assert_eq!(
            t.apply_price(0, OracleSource::Pyth, &price(100, 0, NOW_MS - 1)),
            OracleApplied::PriceIgnored
        );
        assert_eq!(
            t.apply_price(0, OracleSource::Pyth, &price(0, 0, NOW_MS + 1)),
            OracleApplied::PriceIgnored
        );
        let slot = t.source(0, OracleSource::Pyth).unwrap();
        assert_eq!((slot.price_e8, slot.prices_accepted, slot.prices_ignored), (200, 1, 2));
    }

    #[test]
    fn rule_2_sources_min_is_enforced() {
        let mut t = table(2);
        t.apply_price(0, OracleSource::Pyth, &price(100_000_000, 0, NOW_MS));
        assert_eq!(
            t.evaluate(0, NOW_MS),
            Err(ReferenceError::TooFewSources { usable: 1, needed: 2 })
        );
        t.apply_price(0, OracleSource::RedStone, &price(100_100_000, 0, NOW_MS));
        assert_eq!(t.reference(0, NOW_MS).unwrap().sources_used, 2);
    }

    #[test]
    fn rule_3_two_disagreeing_sources_give_no_reference() {
        let mut t = table(1);
        t.apply_price(0, OracleSource::Pyth, &price(100_000_000, 0, NOW_MS));
        t.apply_price(0, OracleSource::RedStone, &price(103_000_000, 0, NOW_MS));
        assert!(matches!(t.evaluate(0, NOW_MS), Err(ReferenceError::SourcesDisagree { .. })));
    }

    #[test]
    fn rule_3_with_three_sources_the_outlier_is_dropped() {
        let mut t = table(1);
        t.apply_price(0, OracleSource::Pyth, &price(100_000_000, 10, NOW_MS));
        t.apply_price(0, OracleSource::RedStone, &price(100_200_000, 10, NOW_MS));
        t.apply_price(0, OracleSource::Chainlink, &price(110_000_000, 10, NOW_MS));
        let r = t.reference(0, NOW_MS).unwrap();
        assert_eq!(r.sources_used, 2);
        // Rule 4: mean of the two, confidence = distance of each from it.
        assert_eq!((r.price_e8, r.conf_e8), (100_100_000, 100_000));
    }

    #[test]
    fn rule_4_median_rounds_toward_minus_infinity_and_conf_is_the_widest() {
        let mut t = table(1);
        t.apply_price(0, OracleSource::Pyth, &price(100_000_001, 7, NOW_MS));
        t.apply_price(0, OracleSource::RedStone, &price(100_000_002, 900, NOW_MS - 5));
        let r = t.reference(0, NOW_MS).unwrap();
        assert_eq!((r.price_e8, r.conf_e8, r.publish_time_ms_min), (100_000_001, 900, NOW_MS - 5));
    }

    #[test]
    fn rule_5_venue_mid_tolerance_is_the_larger_of_bps_and_conf_multiple() {
        let mut t = table(1);
        // Reference 100.0, conf 0.1 → tolerance max(0.5 (50 bps), 0.3 (3 × conf)) = 0.5.
        t.apply_price(0, OracleSource::Pyth, &price(10_000_000_000, 10_000_000, NOW_MS));
        assert!(t.check_venue_mid(0, 10_050_000_000, NOW_MS).is_ok());
        assert_eq!(
            t.check_venue_mid(0, 10_050_000_001, NOW_MS),
            Err(ReferenceError::VenueDeviation { deviation_bps: 50, tolerance_bps: 50 })
        );
        // Conf 0.3 → 3 × conf = 0.9 wins.
        t.apply_price(0, OracleSource::Pyth, &price(10_000_000_000, 30_000_000, NOW_MS + 1));
        assert!(t.check_venue_mid(0, 9_910_000_000, NOW_MS).is_ok());
        assert!(t.check_venue_mid(0, 9_909_999_999, NOW_MS).is_err());
        let err = t.check_venue_mid(1, 1, NOW_MS).unwrap_err();
        assert_eq!(err.code(), REASON_TOO_FEW_SOURCES);
        assert_eq!(t.check_venue_mid(9, 1, NOW_MS).unwrap_err().code(), REASON_UNKNOWN_ASSET);
    }

    #[test]
    fn messages_are_routed_by_venue_and_instrument_and_foreign_ones_counted() {
        let mut t = table(1);
        let origin = Origin::new(VenueId::RedStone, InstrumentId(1));
        let msg = Msg::new(origin, Body::OraclePrice(price(5, 0, NOW_MS)));
        assert_eq!(t.apply(&msg), OracleApplied::Price);
        assert!(t.reference(1, NOW_MS).is_some());
        let q = Msg::new(origin, Body::GatewayStatus(status(SourceState::Quarantined, 1)));
        assert_eq!(t.apply(&q), OracleApplied::StateChanged);
        assert_eq!(t.apply(&q), OracleApplied::StatusNoop);
        let venue =
            Msg::new(Origin::new(VenueId::Okx, InstrumentId(1)), Body::OraclePrice(price(5, 0, 0)));
        let far = Msg::new(
            Origin::new(VenueId::Pyth, InstrumentId(99)),
            Body::OraclePrice(price(5, 0, 0)),
        );
        assert_eq!(t.apply(&venue), OracleApplied::Rejected);
        assert_eq!(t.apply(&far), OracleApplied::Rejected);
        assert_eq!(t.rejected(), 2);
    }
}
