//! Instrument metadata: tick, lot and contract value of one venue instrument, and exact
//! conversions between wire values and grid units.
//!
//! Every value here is an `i64` at the wire scale 1e-8 (`_e8`), the same scale the venue
//! gateways parse prices and sizes to. The hot thread's common scale stays 1e-8: a spec travels
//! with its instrument (built at start-up from the venue's instruments endpoint), so a consumer
//! that needs grid units (`ticks`, `lots`) converts with the checked helpers below. No helper
//! goes through `f64`; a value off the grid or an overflow is a typed error, never rounded.

use crate::ids::VenueId;

/// Decimals of every `_e8` value in a spec.
pub const SPEC_SCALE: u8 = 8;
/// Longest symbol kept (OKX `BTC-USDT-SWAP`, Deribit `BTC-27DEC24` fit easily).
pub const INSTRUMENT_SYMBOL_BYTES_MAX: usize = 32;
/// Longest currency code kept (`BTC`, `USDT`, `USD`).
pub const CURRENCY_BYTES_MAX: usize = 8;
/// Most price-dependent tick steps kept (Deribit `tick_size_steps`).
pub const TICK_STEPS_MAX: usize = 4;

/// Fixed-size text (symbol or currency) so a spec is `Copy` and allocation-free.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedText<const N: usize> {
    bytes: [u8; N],
    len: u8,
}

impl<const N: usize> FixedText<N> {
    /// Copies `text`; `None` if it is longer than `N` bytes (callers report it, never cut it:
    /// two symbols sharing a prefix must not collide).
    pub fn new(text: &str) -> Option<Self> {
        if text.len() > N || text.len() > usize::from(u8::MAX) {
            return None;
        }
        let mut bytes = [0u8; N];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Some(FixedText { bytes, len: text.len() as u8 })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl<const N: usize> std::fmt::Debug for FixedText<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

pub type InstrumentSymbol = FixedText<INSTRUMENT_SYMBOL_BYTES_MAX>;
pub type Currency = FixedText<CURRENCY_BYTES_MAX>;

/// How the contract settles against its underlying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContractKind {
    /// Value in the base coin (USDT-margined perps): base qty = contracts × contract value.
    Linear,
    /// Value in USD, settled in the coin (BTC-USD perps): USD notional = contracts × value.
    Inverse,
}

/// What one unit of wire quantity counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QtyUnit {
    /// Contracts, each worth `contract_value_e8` of the contract currency (OKX `sz`).
    Contracts,
    /// Already the contract currency (Binance/Bybit linear base coin, Bybit inverse USD,
    /// Deribit perp `amount` in USD); `contract_value_e8` is then the venue's contract size,
    /// which the lot already enforces.
    Currency,
}

/// Whether the venue accepts orders now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstrumentStatus {
    Trading,
    /// Any non-trading state (pre-launch, delivering, suspended, closed).
    Halted,
}

/// Above `above_price_e8`, the tick is `tick_size_e8` (Deribit `tick_size_steps`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickStep {
    pub above_price_e8: i64,
    pub tick_size_e8: i64,
}

/// One venue instrument's trading grid and contract terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstrumentSpec {
    pub venue: VenueId,
    pub symbol: InstrumentSymbol,
    pub tick_size_e8: i64,
    pub lot_size_e8: i64,
    pub min_qty_e8: i64,
    pub contract_value_e8: i64,
    pub contract_currency: Currency,
    pub kind: ContractKind,
    pub qty_unit: QtyUnit,
    pub status: InstrumentStatus,
    /// Price-dependent ticks, ascending by price; only the first `tick_steps_len` are used.
    pub tick_steps: [TickStep; TICK_STEPS_MAX],
    pub tick_steps_len: u8,
}

/// Why a conversion or a spec is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstrumentError {
    #[error("tick size must be positive, got {0} e-8")]
    TickNotPositive(i64),
    #[error("lot size must be positive, got {0} e-8")]
    LotNotPositive(i64),
    #[error("contract value must be positive, got {0} e-8")]
    ContractValueNotPositive(i64),
    #[error("minimum quantity must not be negative, got {0} e-8")]
    MinQtyNegative(i64),
    #[error("tick steps must be positive and ascending by price")]
    BadTickSteps,
    #[error("price {price_e8} e-8 is not a multiple of the tick {tick_e8} e-8")]
    OffTick { price_e8: i64, tick_e8: i64 },
    #[error("quantity {qty_e8} e-8 is not a multiple of the lot {lot_e8} e-8")]
    OffLot { qty_e8: i64, lot_e8: i64 },
    #[error("result overflows a 64-bit integer")]
    Overflow,
    #[error("result has more than 8 decimals")]
    TooPrecise,
    #[error("conversion needs a {expected:?} contract")]
    WrongKind { expected: ContractKind },
}

impl InstrumentSpec {
    /// Checks the invariants every helper relies on (positive grid, ascending steps).
    ///
    /// # Errors
    /// The first invariant broken.
    pub fn validate(&self) -> Result<(), InstrumentError> {
        if self.tick_size_e8 <= 0 {
            return Err(InstrumentError::TickNotPositive(self.tick_size_e8));
        }
        if self.lot_size_e8 <= 0 {
            return Err(InstrumentError::LotNotPositive(self.lot_size_e8));
        }
        if self.contract_value_e8 <= 0 {
            return Err(InstrumentError::ContractValueNotPositive(self.contract_value_e8));
        }
        if self.min_qty_e8 < 0 {
            return Err(InstrumentError::MinQtyNegative(self.min_qty_e8));
        }
        let steps = self.steps();
        let ascending = steps.windows(2).all(|w| w[0].above_price_e8 < w[1].above_price_e8);
        if !ascending || steps.iter().any(|s| s.tick_size_e8 <= 0) {
            return Err(InstrumentError::BadTickSteps);
        }
        Ok(())
    }

    /// The used tick steps.
    pub fn steps(&self) -> &[TickStep] {
        &self.tick_steps[..usize::from(self.tick_steps_len).min(TICK_STEPS_MAX)]
    }

    /// The tick that applies at `price_e8`: the last step whose `above_price` is below the price
    /// (Deribit: "tick size above price"), else the base tick.
    pub fn tick_at(&self, price_e8: i64) -> i64 {
        self.steps()
            .iter()
            .rev()
            .find(|s| price_e8 > s.above_price_e8)
            .map_or(self.tick_size_e8, |s| s.tick_size_e8)
    }

    /// Whether a wire price lies on the tick grid at its price (Binance PRICE_FILTER
    /// `(price - minPrice) % tickSize == 0`, with minPrice itself on the grid).
    pub fn is_on_tick(&self, price_e8: i64) -> bool {
        let tick = self.tick_at(price_e8);
        tick > 0 && price_e8 % tick == 0
    }

    /// Whether a wire quantity is a multiple of the lot (Binance LOT_SIZE stepSize rule).
    pub fn is_on_lot(&self, qty_e8: i64) -> bool {
        self.lot_size_e8 > 0 && qty_e8 % self.lot_size_e8 == 0
    }

    /// A wire price in units of the base tick.
    ///
    /// # Errors
    /// `OffTick` if the price is not on the grid.
    pub fn price_to_ticks(&self, price_e8: i64) -> Result<i64, InstrumentError> {
        let tick_e8 = self.tick_size_e8;
        if tick_e8 <= 0 {
            return Err(InstrumentError::TickNotPositive(tick_e8));
        }
        if !self.is_on_tick(price_e8) || price_e8 % tick_e8 != 0 {
            return Err(InstrumentError::OffTick { price_e8, tick_e8 });
        }
        Ok(price_e8 / tick_e8)
    }

    /// Base ticks back to a wire price.
    ///
    /// # Errors
    /// `Overflow`.
    pub fn ticks_to_price(&self, ticks: i64) -> Result<i64, InstrumentError> {
        ticks.checked_mul(self.tick_size_e8).ok_or(InstrumentError::Overflow)
    }

    /// A wire quantity in lots.
    ///
    /// # Errors
    /// `OffLot` if the quantity is not a multiple of the lot.
    pub fn qty_to_lots(&self, qty_e8: i64) -> Result<i64, InstrumentError> {
        let lot_e8 = self.lot_size_e8;
        if lot_e8 <= 0 {
            return Err(InstrumentError::LotNotPositive(lot_e8));
        }
        if qty_e8 % lot_e8 != 0 {
            return Err(InstrumentError::OffLot { qty_e8, lot_e8 });
        }
        Ok(qty_e8 / lot_e8)
    }

    /// Lots back to a wire quantity.
    ///
    /// # Errors
    /// `Overflow`.
    pub fn lots_to_qty(&self, lots: i64) -> Result<i64, InstrumentError> {
        lots.checked_mul(self.lot_size_e8).ok_or(InstrumentError::Overflow)
    }

    /// A wire quantity expressed in the contract currency at 1e-8: contracts × contract value
    /// for `Contracts`, unchanged for `Currency`.
    ///
    /// # Errors
    /// `Overflow`, or `TooPrecise` if the product has more than 8 decimals.
    pub fn qty_in_contract_currency_e8(&self, qty_e8: i64) -> Result<i64, InstrumentError> {
        match self.qty_unit {
            QtyUnit::Currency => Ok(qty_e8),
            QtyUnit::Contracts => {
                let product = i128::from(qty_e8) * i128::from(self.contract_value_e8);
                let unit = i128::from(crate::fixed::pow10(SPEC_SCALE));
                if product % unit != 0 {
                    return Err(InstrumentError::TooPrecise);
                }
                i64::try_from(product / unit).map_err(|_| InstrumentError::Overflow)
            }
        }
    }

    /// Base-asset quantity of a linear contract's wire quantity (OKX: contracts × ctVal; Binance,
    /// Bybit: the quantity itself).
    ///
    /// # Errors
    /// `WrongKind` for an inverse contract, else as [`Self::qty_in_contract_currency_e8`].
    pub fn base_qty_e8(&self, qty_e8: i64) -> Result<i64, InstrumentError> {
        if self.kind != ContractKind::Linear {
            return Err(InstrumentError::WrongKind { expected: ContractKind::Linear });
        }
        self.qty_in_contract_currency_e8(qty_e8)
    }

    /// USD notional of an inverse contract's wire quantity (Deribit `amount`: itself; OKX
    /// BTC-USD-SWAP: contracts × 100 USD).
    ///
    /// # Errors
    /// `WrongKind` for a linear contract, else as [`Self::qty_in_contract_currency_e8`].
    pub fn usd_notional_e8(&self, qty_e8: i64) -> Result<i64, InstrumentError> {
        if self.kind != ContractKind::Inverse {
            return Err(InstrumentError::WrongKind { expected: ContractKind::Inverse });
        }
        self.qty_in_contract_currency_e8(qty_e8)
    }

    /// Whether a non-zero order quantity meets the venue minimum.
    pub fn meets_min_qty(&self, qty_e8: i64) -> bool {
        qty_e8 >= self.min_qty_e8
    }
}

/// Divisibility by one positive divisor without a division: `d = 2^shift · m` with `m` odd, and
/// `x` (≥ 0) is a multiple of `d` exactly when its low `shift` bits are zero and
/// `(x >> shift) · m⁻¹ mod 2⁶⁴ ≤ (2⁶⁴ − 1) / m` (Granlund and Montgomery). A gateway checks every
/// level of every frame against the tick and the lot: 80 integer divisions a 20×20 frame, each
/// tens of cycles, become a shift, a mask and a multiply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Divisor {
    divisor: i64,
    shift: u32,
    odd_inverse: u64,
    limit: u64,
}

impl Divisor {
    /// `None` unless `divisor` is positive.
    pub fn new(divisor: i64) -> Option<Divisor> {
        if divisor <= 0 {
            return None;
        }
        let shift = divisor.trailing_zeros();
        let odd = (divisor as u64) >> shift;
        // Newton's iteration doubles the correct low bits: 3 (odd · odd ≡ 1 mod 8) → 96.
        let mut inverse = odd;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inverse)));
        }
        debug_assert_eq!(odd.wrapping_mul(inverse), 1);
        Some(Divisor { divisor, shift, odd_inverse: inverse, limit: u64::MAX / odd })
    }

    /// Whether `x` is a multiple of the divisor (negative `x` takes the plain remainder).
    #[inline]
    pub fn divides(&self, x: i64) -> bool {
        if x < 0 {
            return x % self.divisor == 0;
        }
        let x = x as u64;
        let low_bits = (1u64 << self.shift) - 1;
        x & low_bits == 0 && (x >> self.shift).wrapping_mul(self.odd_inverse) <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(
        tick_e8: i64,
        lot_e8: i64,
        value_e8: i64,
        kind: ContractKind,
        unit: QtyUnit,
    ) -> InstrumentSpec {
        InstrumentSpec {
            venue: VenueId::Okx,
            symbol: InstrumentSymbol::new("BTC-USDT-SWAP").unwrap(),
            tick_size_e8: tick_e8,
            lot_size_e8: lot_e8,
            min_qty_e8: lot_e8,
            contract_value_e8: value_e8,
            contract_currency: Currency::new("BTC").unwrap(),
            kind,
            qty_unit: unit,
            status: InstrumentStatus::Trading,
            tick_steps: [TickStep::default(); TICK_STEPS_MAX],
            tick_steps_len: 0,
        }
    }

    #[test]
    fn binance_price_filter_step_accepts_grid_and_rejects_off_grid() {
        // venues.md §1.5 PRICE_FILTER: valid iff (price - minPrice) % tickSize == 0; tick 0.1.
        let s = spec(10_000_000, 100_000, 100_000_000, ContractKind::Linear, QtyUnit::Currency);
        assert!(s.is_on_tick(6_500_010_000_000)); // 65000.1
        assert!(!s.is_on_tick(6_500_015_000_000)); // 65000.15
        assert_eq!(s.price_to_ticks(6_500_010_000_000), Ok(650_001));
        assert_eq!(
            s.price_to_ticks(6_500_015_000_000),
            Err(InstrumentError::OffTick { price_e8: 6_500_015_000_000, tick_e8: 10_000_000 })
        );
        // LOT_SIZE stepSize 0.001: 0.0015 is off the lot.
        assert!(s.is_on_lot(200_000));
        assert!(!s.is_on_lot(150_000));
        assert_eq!(
            s.qty_to_lots(150_000),
            Err(InstrumentError::OffLot { qty_e8: 150_000, lot_e8: 100_000 })
        );
    }

    #[test]
    fn ticks_and_lots_round_trip_for_random_grid_values() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..10_000 {
            let tick = (crate::xorshift(&mut rng) % 1_000_000_000) as i64 + 1;
            let lot = (crate::xorshift(&mut rng) % 1_000_000_000) as i64 + 1;
            let s = spec(tick, lot, 100_000_000, ContractKind::Linear, QtyUnit::Currency);
            let ticks = (crate::xorshift(&mut rng) % 10_000_000) as i64 - 5_000_000;
            let price = s.ticks_to_price(ticks).unwrap();
            assert!(s.is_on_tick(price));
            assert_eq!(s.price_to_ticks(price), Ok(ticks));
            let lots = (crate::xorshift(&mut rng) % 10_000_000) as i64;
            let qty = s.lots_to_qty(lots).unwrap();
            assert_eq!(s.qty_to_lots(qty), Ok(lots));
            if tick > 1 {
                assert!(s.price_to_ticks(price + 1).is_err(), "tick {tick} price {price}");
            }
        }
    }

    #[test]
    fn conversions_overflow_as_errors() {
        let s = spec(10_000_000, 100_000, 100_000_000, ContractKind::Linear, QtyUnit::Currency);
        assert_eq!(s.ticks_to_price(i64::MAX / 2), Err(InstrumentError::Overflow));
        assert_eq!(s.lots_to_qty(i64::MIN / 2), Err(InstrumentError::Overflow));
        let c = spec(
            10_000_000,
            100_000_000,
            10_000_000_000,
            ContractKind::Inverse,
            QtyUnit::Contracts,
        );
        assert_eq!(c.usd_notional_e8(i64::MAX), Err(InstrumentError::Overflow));
    }

    #[test]
    fn okx_linear_base_qty_is_contracts_times_ct_val() {
        // venues.md §3.5: "Base quantity = contracts × ctVal × ctMult (linear)"; BTC-USDT-SWAP
        // ctVal 0.01 BTC: 3 contracts = 0.03 BTC, 0.01 contract = 0.0001 BTC.
        let s = spec(10_000_000, 1_000_000, 1_000_000, ContractKind::Linear, QtyUnit::Contracts);
        assert_eq!(s.base_qty_e8(300_000_000), Ok(3_000_000));
        assert_eq!(s.base_qty_e8(1_000_000), Ok(10_000));
        assert_eq!(
            s.usd_notional_e8(1_000_000),
            Err(InstrumentError::WrongKind { expected: ContractKind::Inverse })
        );
        // 1e-8 contracts × 0.01 has 10 decimals: not representable, reported.
        assert_eq!(s.base_qty_e8(1), Err(InstrumentError::TooPrecise));
    }

    #[test]
    fn inverse_notional_counts_contracts_or_passes_usd_amounts() {
        // venues.md §3.5: "USD notional = contracts × ctVal (inverse)"; BTC-USD-SWAP ctVal 100.
        let okx = spec(
            10_000_000,
            100_000_000,
            10_000_000_000,
            ContractKind::Inverse,
            QtyUnit::Contracts,
        );
        assert_eq!(okx.usd_notional_e8(700_000_000), Ok(70_000_000_000));
        // venues.md §4.6: Deribit perp `amount` is USD (multiple of contract_size 10).
        let deribit = spec(
            50_000_000,
            1_000_000_000,
            1_000_000_000,
            ContractKind::Inverse,
            QtyUnit::Currency,
        );
        assert_eq!(deribit.usd_notional_e8(3_000_000_000), Ok(3_000_000_000));
        assert!(deribit.is_on_lot(3_000_000_000));
        assert!(!deribit.is_on_lot(1_500_000_000));
        assert!(deribit.base_qty_e8(1).is_err());
    }

    #[test]
    fn deribit_tick_steps_widen_the_tick_above_their_price() {
        // venues.md §4.5 `tick_size_steps[]` (`above_price`, `tick_size`).
        let mut s = spec(
            50_000_000,
            1_000_000_000,
            1_000_000_000,
            ContractKind::Inverse,
            QtyUnit::Currency,
        );
        s.tick_steps[0] = TickStep { above_price_e8: 100_000_000_000, tick_size_e8: 100_000_000 };
        s.tick_steps_len = 1;
        assert_eq!(s.validate(), Ok(()));
        assert!(s.is_on_tick(99_950_000_000)); // 999.5 below the step: tick 0.5
        assert!(!s.is_on_tick(100_050_000_000)); // 1000.5 above it: tick 1
        assert!(s.is_on_tick(100_100_000_000));
        s.tick_steps[1] = TickStep { above_price_e8: 1, tick_size_e8: 1 };
        s.tick_steps_len = 2;
        assert_eq!(s.validate(), Err(InstrumentError::BadTickSteps));
    }

    #[test]
    fn validate_rejects_non_positive_grid() {
        let base = spec(10_000_000, 100_000, 100_000_000, ContractKind::Linear, QtyUnit::Currency);
        assert_eq!(base.validate(), Ok(()));
        assert_eq!(
            InstrumentSpec { tick_size_e8: 0, ..base }.validate(),
            Err(InstrumentError::TickNotPositive(0))
        );
        assert_eq!(
            InstrumentSpec { lot_size_e8: -1, ..base }.validate(),
            Err(InstrumentError::LotNotPositive(-1))
        );
        assert_eq!(
            InstrumentSpec { contract_value_e8: 0, ..base }.validate(),
            Err(InstrumentError::ContractValueNotPositive(0))
        );
        assert!(InstrumentSymbol::new(&"X".repeat(33)).is_none());
    }

    #[test]
    fn divisor_agrees_with_the_remainder() {
        let mut seed = 0x05ee_d0fd_1715_u64;
        let mut next = move || crate::xorshift(&mut seed);
        let mut divisors =
            vec![1, 2, 3, 5, 7, 10, 64, 1_000, 100_000, 1_000_000, 10_000_000, 50_000_000];
        divisors.extend((0..200).map(|_| 1 + (next() % 1_000_000_000) as i64));
        divisors.push(i64::MAX);
        for d in divisors {
            let div = Divisor::new(d).expect("positive");
            for k in [0i64, 1, 2, 3, 1_000, 65_432] {
                for x in [k.saturating_mul(d), k.saturating_mul(d).saturating_add(1)] {
                    assert_eq!(div.divides(x), x % d == 0, "{x} by {d}");
                    assert_eq!(div.divides(-x), (-x) % d == 0, "{} by {d}", -x);
                }
            }
            for _ in 0..200 {
                let x = (next() >> 1) as i64;
                assert_eq!(div.divides(x), x % d == 0, "{x} by {d}");
            }
        }
        assert_eq!(Divisor::new(0), None);
        assert_eq!(Divisor::new(-5), None);
        assert!(Divisor::new(1).unwrap().divides(i64::MAX));
    }
}
