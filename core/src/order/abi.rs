//! Calldata types of EthenaMinting V2 (struct widths: `uint120 expiry`, `uint128 nonce`).
//!
//! Selectors depend on these widths (`mint` = `0x96eea750`), not on the EIP-712 type string.
//! The chain gateway encodes `mint`/`mintWETH`/`redeem` and the `eth_call` pre-checks with them;
//! this module only builds the values, it does no I/O.
//!
//! Source: `shared/reference/ethena-abi/EthenaMintingV2.events-corrected.abi.json`,
//! `ethena.md` §3.11, selectors in `ethena-test-vectors.md` §6.

use alloy_primitives::aliases::U120;
use alloy_primitives::{Bytes, U256};

use super::error::OrderFieldError;
use super::model::{Order, Signature};
use super::route::Route;

alloy_sol_types::sol! {
    /// `IEthenaMinting.Order` as it appears in calldata.
    #[derive(Debug, PartialEq, Eq)]
    struct OrderCall {
        string order_id;
        uint8 order_type;
        uint120 expiry;
        uint128 nonce;
        address benefactor;
        address beneficiary;
        address collateral_asset;
        uint128 collateral_amount;
        uint128 usde_amount;
    }

    /// `IEthenaMinting.Route`.
    #[derive(Debug, PartialEq, Eq)]
    struct RouteCall {
        address[] addresses;
        uint128[] ratios;
    }

    /// `IEthenaMinting.Signature`.
    #[derive(Debug, PartialEq, Eq)]
    struct SignatureCall {
        uint8 signature_type;
        bytes signature_bytes;
    }

    /// The subset of the V2 interface the hedger submits or pre-checks.
    interface IEthenaMintingV2 {
        function mint(OrderCall order, RouteCall route, SignatureCall signature) external;
        function mintWETH(OrderCall order, RouteCall route, SignatureCall signature) external;
        function redeem(OrderCall order, SignatureCall signature) external;
        function hashOrder(OrderCall order) external view returns (bytes32);
        function encodeOrder(OrderCall order) external pure returns (bytes memory);
        function verifyOrder(OrderCall order, SignatureCall signature) external view returns (bytes32);
        function verifyNonce(address sender, uint128 nonce) external view returns (uint128, uint256, uint256);
        function verifyRoute(RouteCall route) external view returns (bool);
        function verifyStablesLimit(uint128 collateralAmount, uint128 usdeAmount, address collateralAsset, uint8 orderType) external view returns (bool);
        function transferToCustody(address wallet, address asset, uint128 amount) external;
        function disableMintRedeem() external;
        function getDomainSeparator() external view returns (bytes32);
    }
}

/// Builds the calldata struct.
///
/// # Errors
/// [`OrderFieldError`] if `expiry` does not fit `uint120`.
pub fn order_call(order: &Order) -> Result<OrderCall, OrderFieldError> {
    order.check_widths()?;
    let expiry = U120::try_from(order.expiry_unix_s)
        .map_err(|_| OrderFieldError::OutOfRange { field: "expiry", bits: 120 })?;
    Ok(OrderCall {
        order_id: order.order_id.clone(),
        order_type: order.order_type.as_u8(),
        expiry,
        nonce: order.nonce,
        benefactor: order.benefactor,
        beneficiary: order.beneficiary,
        collateral_asset: order.collateral_asset,
        collateral_amount: order.collateral_amount,
        usde_amount: order.usde_amount,
    })
}

/// Builds the calldata route.
pub fn route_call(route: &Route) -> RouteCall {
    RouteCall { addresses: route.addresses.clone(), ratios: route.ratios_bps.clone() }
}

/// Builds the calldata signature.
pub fn signature_call(signature: &Signature) -> SignatureCall {
    SignatureCall {
        signature_type: signature.signature_type as u8,
        signature_bytes: Bytes::copy_from_slice(&signature.signature_bytes),
    }
}

/// Widens an event amount (`uint256` in V2 events) back to the struct's `u128`, if it fits.
pub fn event_amount_to_u128(amount: U256) -> Option<u128> {
    u128::try_from(amount).ok()
}
