//! Custody routes for mints: validation (`verifyRoute`) and the integer split
//! (`_transferCollateral`).
//!
//! Rules (`shared/reference/ethena.md` §3.4, §7.5): the route is chosen by us, not signed by the
//! user. `addresses` and `ratios` have equal, non-zero length; every address is a whitelisted
//! custodian and non-zero; every ratio is > 0; ratios sum to exactly 10 000 bps. Each leg gets
//! `amount * ratio / 10000` (floor, `uint128` arithmetic); the remainder is a **second transfer**
//! to the last address. Reconciliation of ERC-20 `Transfer` logs must expect that extra transfer.

use alloy_primitives::Address;

use super::error::RouteError;

/// `ROUTE_REQUIRED_RATIO`: ratios are basis points of the collateral amount.
pub const ROUTE_RATIO_TOTAL_BPS: u128 = 10_000;

/// Our own cap on legs (the contract has none); keeps the split bounded and lets callers size
/// buffers at start-up.
pub const ROUTE_LEGS_MAX: usize = 16;

/// `struct Route { address[] addresses; uint128[] ratios; }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub addresses: Vec<Address>,
    pub ratios_bps: Vec<u128>,
}

/// Collateral amounts that one mint moves, leg by leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteSplit {
    /// Total the last leg receives = its floor share + `remainder` (already included).
    pub last_leg_total: u128,
    /// Sent to the last address in a separate transfer when > 0.
    pub remainder: u128,
}

impl Route {
    /// `verifyRoute(route)` against a custodian whitelist, plus our `ROUTE_LEGS_MAX`.
    ///
    /// # Errors
    /// The first broken rule (lengths, then per leg: zero address, custodian, zero ratio;
    /// then the sum). On chain every one of them is `InvalidRoute()`.
    pub fn validate(&self, is_custodian: impl Fn(&Address) -> bool) -> Result<(), RouteError> {
        let legs_count = self.check_shape()?;
        let mut sum_bps: u128 = 0;
        for leg_index in 0..legs_count {
            let address = &self.addresses[leg_index];
            let ratio_bps = self.ratios_bps[leg_index];
            if *address == Address::ZERO {
                return Err(RouteError::ZeroAddress { leg_index });
            }
            if !is_custodian(address) {
                return Err(RouteError::NotCustodian { leg_index });
            }
            if ratio_bps == 0 {
                return Err(RouteError::ZeroRatio { leg_index });
            }
            // Saturating: any sum past u128 is already != 10 000.
            sum_bps = sum_bps.saturating_add(ratio_bps);
        }
        if sum_bps != ROUTE_RATIO_TOTAL_BPS {
            return Err(RouteError::RatioSum { sum_bps });
        }
        Ok(())
    }

    /// Writes each leg's total into `legs_out` (same order as `addresses`), the last one
    /// including the remainder. Does not allocate. Assumes nothing about validity beyond shape:
    /// call [`Route::validate`] first.
    ///
    /// # Errors
    /// Shape errors, `OutputLength` if `legs_out` is not exactly one slot per leg,
    /// `SplitOverflow` if `amount * ratio` does not fit `uint128` (the contract would revert).
    pub fn split_into(
        &self,
        amount: u128,
        legs_out: &mut [u128],
    ) -> Result<RouteSplit, RouteError> {
        let legs_count = self.check_shape()?;
        if legs_out.len() != legs_count {
            return Err(RouteError::OutputLength { len: legs_out.len(), legs_count });
        }
        let mut transferred: u128 = 0;
        for (leg_index, (out, ratio_bps)) in legs_out.iter_mut().zip(&self.ratios_bps).enumerate() {
            let product =
                amount.checked_mul(*ratio_bps).ok_or(RouteError::SplitOverflow { leg_index })?;
            // Floor division, as Solidity's integer `/`.
            *out = product / ROUTE_RATIO_TOTAL_BPS;
            transferred = transferred.saturating_add(*out);
        }
        let remainder = amount.saturating_sub(transferred);
        let last_index = legs_count - 1;
        legs_out[last_index] += remainder;
        Ok(RouteSplit { last_leg_total: legs_out[last_index], remainder })
    }

    /// Convenience form of [`Route::split_into`] for cold paths.
    ///
    /// # Errors
    /// As [`Route::split_into`].
    pub fn split(&self, amount: u128) -> Result<(Vec<u128>, RouteSplit), RouteError> {
        let mut legs = vec![0u128; self.addresses.len().min(ROUTE_LEGS_MAX)];
        let split = self.split_into(amount, &mut legs)?;
        Ok((legs, split))
    }

    fn check_shape(&self) -> Result<usize, RouteError> {
        let addresses_count = self.addresses.len();
        let ratios_count = self.ratios_bps.len();
        if addresses_count != ratios_count {
            return Err(RouteError::LengthMismatch { addresses_count, ratios_count });
        }
        if addresses_count == 0 {
            return Err(RouteError::Empty);
        }
        if addresses_count > ROUTE_LEGS_MAX {
            return Err(RouteError::TooManyLegs {
                legs_count: addresses_count,
                legs_max: ROUTE_LEGS_MAX,
            });
        }
        Ok(addresses_count)
    }
}
