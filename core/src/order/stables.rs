//! `verifyStablesLimit`: for STABLE collateral, how much better than 1:1 the user may get.
//!
//! Rule (`shared/reference/ethena.md` §3.6, §7.9): normalise `collateral_amount` to USDe's 18
//! decimals (multiply by `10^(18 - d)`, or floor-divide when `d > 18`), then
//! `difference_bps = |normalised - usde| * 10000 / usde` (floor). A MINT fails only when
//! `usde > normalised` and `difference_bps > limit`; a REDEEM fails only when
//! `normalised > usde` and `difference_bps > limit`. All arithmetic is `uint128` on chain, so an
//! overflow there reverts; we report it as an error rather than computing a wider answer.

use super::error::StablesError;
use super::model::OrderType;

/// Decimals of USDe.
pub const USDE_DECIMALS: u8 = 18;

/// Basis points per 1 (the contract's `STABLES_RATIO_MULTIPLIER`).
pub const STABLES_RATIO_MULTIPLIER_BPS: u128 = 10_000;

/// The numbers behind a passing check (kept for logs and quote diagnostics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StablesCheck {
    /// `collateral_amount` in 18-decimal units.
    pub normalized_collateral_amount: u128,
    /// `|normalised - usde| * 10000 / usde`, floor.
    pub difference_bps: u128,
}

/// Inputs of one stables-limit check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StablesInput {
    pub order_type: OrderType,
    pub collateral_amount: u128,
    pub collateral_decimals: u8,
    pub usde_amount: u128,
    /// `stablesDeltaLimit()` of the contract, in bps.
    pub limit_bps: u128,
}

/// Runs `verifyStablesLimit` for STABLE-type collateral (do not call it for ASSET collateral:
/// the contract skips the check there).
///
/// # Errors
/// `LimitExceeded` (→ `InvalidStablePrice`), `ZeroUsdeAmount` and `Overflow` (the contract
/// would panic).
pub fn check_stables_limit(input: &StablesInput) -> Result<StablesCheck, StablesError> {
    let normalized =
        normalize_to_usde_decimals(input.collateral_amount, input.collateral_decimals)?;
    if input.usde_amount == 0 {
        return Err(StablesError::ZeroUsdeAmount);
    }
    let difference = normalized.abs_diff(input.usde_amount);
    let difference_bps =
        difference.checked_mul(STABLES_RATIO_MULTIPLIER_BPS).ok_or(StablesError::Overflow)?
            / input.usde_amount;
    let user_gets_better_than_par = match input.order_type {
        OrderType::Mint => input.usde_amount > normalized,
        OrderType::Redeem => normalized > input.usde_amount,
    };
    if user_gets_better_than_par && difference_bps > input.limit_bps {
        return Err(StablesError::LimitExceeded { difference_bps, limit_bps: input.limit_bps });
    }
    Ok(StablesCheck { normalized_collateral_amount: normalized, difference_bps })
}

/// `collateral_amount` scaled from `collateral_decimals` to 18 decimals (floor when scaling
/// down).
///
/// # Errors
/// `Overflow` when the scale or the product does not fit `uint128`.
pub fn normalize_to_usde_decimals(
    collateral_amount: u128,
    collateral_decimals: u8,
) -> Result<u128, StablesError> {
    let exponent = u32::from(collateral_decimals.abs_diff(USDE_DECIMALS));
    let scale = 10u128.checked_pow(exponent).ok_or(StablesError::Overflow)?;
    if collateral_decimals > USDE_DECIMALS {
        Ok(collateral_amount / scale)
    } else {
        collateral_amount.checked_mul(scale).ok_or(StablesError::Overflow)
    }
}
