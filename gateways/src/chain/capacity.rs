//! Per-block mint/redeem capacity of EthenaMinting V2 and the gatekeeper-disable check.
//!
//! Rules (`ethena.md` §3.6 and §7.6, read 2026-11-24): a mint of `usde_amount` for `asset`
//! passes when the asset is active, `totalPerBlockPerAsset[b][asset].minted + usde <=
//! tokenConfig[asset].maxMintPerBlock`, and `totalPerBlock[b].minted + usde <=
//! globalMaxMintPerBlock` (redeem alike). So the capacity left for the next transaction is
//! `min(asset cap − asset total, global cap − global total)`, floored at 0, for block
//! `b = head + 1`, read from the node's pending state (which includes mempool transactions on
//! nodes that keep a pending block). `disableMintRedeem()` zeroes only the global caps and
//! emits no event, so a zero global mint cap *is* the disable signal; it is read every block.

use alloy_primitives::{Address, U256};
use alloy_rpc_types_eth::BlockId;
use hedger_core::ids::InstrumentId;

use super::abi::IEthenaMintingViews as Views;
use super::error::ChainError;
use super::rpc::ChainRpc;

/// Caps and totals of one asset, and what is left of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssetCapacity {
    pub asset: Address,
    pub instrument: InstrumentId,
    pub is_active: bool,
    pub mint_cap_usde: u128,
    pub redeem_cap_usde: u128,
    pub minted_usde: u128,
    pub redeemed_usde: u128,
    /// Left for the next mint with this asset, global cap included.
    pub mint_remaining_usde: u128,
    /// Left for the next redeem of this asset, global cap included.
    pub redeem_remaining_usde: u128,
}

/// One reading of every cap, for block `block_number` (the block the next transaction lands in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapacitySnapshot {
    pub block_number: u64,
    pub global_mint_cap_usde: u128,
    pub global_redeem_cap_usde: u128,
    pub global_minted_usde: u128,
    pub global_redeemed_usde: u128,
    pub assets: Vec<AssetCapacity>,
}

impl CapacitySnapshot {
    /// The gatekeeper's `disableMintRedeem()` (or an admin) set the global mint cap to 0.
    pub fn minting_disabled(&self) -> bool {
        self.global_mint_cap_usde == 0
    }

    /// The global redeem cap is 0.
    pub fn redeeming_disabled(&self) -> bool {
        self.global_redeem_cap_usde == 0
    }
}

/// Raw getter values for one asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssetReading {
    pub is_active: bool,
    pub mint_cap_usde: u128,
    pub redeem_cap_usde: u128,
    pub minted_usde: u128,
    pub redeemed_usde: u128,
}

/// Global getter values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalReading {
    pub mint_cap_usde: u128,
    pub redeem_cap_usde: u128,
    pub minted_usde: u128,
    pub redeemed_usde: u128,
}

/// `min(asset cap − asset used, global cap − global used)`, each floored at 0; 0 if inactive.
pub fn remaining_usde(
    is_active: bool,
    asset_cap: u128,
    asset_used: u128,
    global_cap: u128,
    global_used: u128,
) -> u128 {
    if !is_active {
        return 0;
    }
    asset_cap.saturating_sub(asset_used).min(global_cap.saturating_sub(global_used))
}

/// Combines raw readings into a snapshot (pure).
pub fn snapshot(
    block_number: u64,
    global: GlobalReading,
    assets: &[(Address, InstrumentId, AssetReading)],
) -> CapacitySnapshot {
    let assets = assets
        .iter()
        .map(|(asset, instrument, r)| AssetCapacity {
            asset: *asset,
            instrument: *instrument,
            is_active: r.is_active,
            mint_cap_usde: r.mint_cap_usde,
            redeem_cap_usde: r.redeem_cap_usde,
            minted_usde: r.minted_usde,
            redeemed_usde: r.redeemed_usde,
            mint_remaining_usde: remaining_usde(
                r.is_active,
                r.mint_cap_usde,
                r.minted_usde,
                global.mint_cap_usde,
                global.minted_usde,
            ),
            redeem_remaining_usde: remaining_usde(
                r.is_active,
                r.redeem_cap_usde,
                r.redeemed_usde,
                global.redeem_cap_usde,
                global.redeemed_usde,
            ),
        })
        .collect();
    CapacitySnapshot {
        block_number,
        global_mint_cap_usde: global.mint_cap_usde,
        global_redeem_cap_usde: global.redeem_cap_usde,
        global_minted_usde: global.minted_usde,
        global_redeemed_usde: global.redeemed_usde,
        assets,
    }
}

/// Reads every cap and total for block `head + 1` from the pending state.
///
/// # Errors
/// Any [`ChainError`] of the underlying `eth_call`s.
pub async fn read_capacity(
    rpc: &ChainRpc,
    minting_contract: Address,
    head: u64,
    assets: &[(Address, InstrumentId)],
) -> Result<CapacitySnapshot, ChainError> {
    let at = BlockId::pending();
    let target = U256::from(head + 1);
    let caps = rpc.call(minting_contract, &Views::globalConfigCall {}, at).await?;
    let totals =
        rpc.call(minting_contract, &Views::totalPerBlockCall { blockNumber: target }, at).await?;
    let global = GlobalReading {
        mint_cap_usde: caps.globalMaxMintPerBlock,
        redeem_cap_usde: caps.globalMaxRedeemPerBlock,
        minted_usde: totals.mintedPerBlock,
        redeemed_usde: totals.redeemedPerBlock,
    };
    let mut readings = Vec::with_capacity(assets.len());
    for (asset, instrument) in assets {
        let config =
            rpc.call(minting_contract, &Views::tokenConfigCall { asset: *asset }, at).await?;
        let call = Views::totalPerBlockPerAssetCall { blockNumber: target, asset: *asset };
        let used = rpc.call(minting_contract, &call, at).await?;
        let reading = AssetReading {
            is_active: config.isActive,
            mint_cap_usde: config.maxMintPerBlock,
            redeem_cap_usde: config.maxRedeemPerBlock,
            minted_usde: used.mintedPerBlock,
            redeemed_usde: used.redeemedPerBlock,
        };
        readings.push((*asset, *instrument, reading));
    }
    Ok(snapshot(head + 1, global, &readings))
}

/// Whitelist reads for last-look checks (`isWhitelistedBenefactor`, `isCustodianAddress`,
/// `isSupportedAsset`) at the latest block.
///
/// # Errors
/// Any [`ChainError`] of the `eth_call`.
pub async fn is_whitelisted_benefactor(
    rpc: &ChainRpc,
    minting_contract: Address,
    benefactor: Address,
) -> Result<bool, ChainError> {
    let call = Views::isWhitelistedBenefactorCall { benefactor };
    rpc.call(minting_contract, &call, BlockId::latest()).await
}

/// `isCustodianAddress(custodian)` at the latest block.
///
/// # Errors
/// Any [`ChainError`] of the `eth_call`.
pub async fn is_custodian(
    rpc: &ChainRpc,
    minting_contract: Address,
    custodian: Address,
) -> Result<bool, ChainError> {
    let call = Views::isCustodianAddressCall { custodian };
    rpc.call(minting_contract, &call, BlockId::latest()).await
}

/// `isSupportedAsset(asset)` at the latest block.
///
/// # Errors
/// Any [`ChainError`] of the `eth_call`.
pub async fn is_supported_asset(
    rpc: &ChainRpc,
    minting_contract: Address,
    asset: Address,
) -> Result<bool, ChainError> {
    let call = Views::isSupportedAssetCall { asset };
    rpc.call(minting_contract, &call, BlockId::latest()).await
}
