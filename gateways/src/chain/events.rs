//! Decoding of the logs the hedger indexes into typed records.
//!
//! Sources (`ethena.md` §3.9, §4, read 2026-11-24): EthenaMinting V2 `Mint`/`Redeem` with the
//! corrected layout (topic1 = `keccak256(bytes(order_id))`, topic2 benefactor, topic3
//! beneficiary; data minter/redeemer, asset, amounts as `uint256`), `CustodyTransfer`, the
//! whitelist and limit events, and ERC-20 `Transfer`s of the configured collateral tokens to a
//! watched wallet (custodians and the minting contract itself, which funds redemptions).
//!
//! Pure: no I/O. A log from an unknown emitter or with an unknown topic0 is ignored (`Ok(None)`);
//! a log with a known topic0 that does not decode is an error (counted by the caller), never a
//! panic.

use alloy_primitives::{Address, B256, U256};
use alloy_rpc_types_eth::Log;
use alloy_sol_types::SolEvent;

use super::abi::{IErc20, IEthenaMintingEvents as Ev};

/// Where a log sits in the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogRef {
    pub block_number: u64,
    pub block_hash: B256,
    pub tx_hash: B256,
    pub log_index: u64,
}

/// A Mint or Redeem, as logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderEvent {
    /// topic1: `keccak256(bytes(order_id))`; the plain id is not in the log.
    pub order_id_hash: B256,
    pub benefactor: Address,
    pub beneficiary: Address,
    /// The minter (Mint) or redeemer (Redeem) that sent the transaction.
    pub sender: Address,
    pub collateral_asset: Address,
    pub collateral_amount: U256,
    pub usde_amount: U256,
}

/// What changed in an on-chain whitelist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhitelistChange {
    BenefactorAdded(Address),
    BenefactorRemoved(Address),
    BeneficiaryAdded { benefactor: Address, beneficiary: Address },
    BeneficiaryRemoved { benefactor: Address, beneficiary: Address },
    CustodianAdded(Address),
    CustodianRemoved(Address),
    AssetAdded(Address),
    AssetRemoved(Address),
    DelegatedSignerAdded { signer: Address, delegator: Address },
    DelegatedSignerRemoved { signer: Address, delegator: Address },
    TokenTypeSet { token: Address, token_type: U256 },
}

/// One decoded log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainLogEvent {
    Mint(OrderEvent),
    Redeem(OrderEvent),
    CustodyTransfer {
        wallet: Address,
        asset: Address,
        amount: U256,
    },
    Whitelist(WhitelistChange),
    /// `MaxMintPerBlockChanged` (`is_mint`) or `MaxRedeemPerBlockChanged` for `asset`.
    LimitChanged {
        asset: Address,
        is_mint: bool,
        old_max: U256,
        new_max: U256,
    },
    /// ERC-20 `Transfer` of a watched token to a watched wallet.
    Erc20Transfer {
        token: Address,
        from: Address,
        to: Address,
        amount: U256,
    },
}

/// A decoded log with its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodedLog {
    pub at: LogRef,
    pub event: ChainLogEvent,
}

/// A log that has a known topic0 but does not decode, or lacks its position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("log {log_index} in block {block_number}: {reason}")]
pub struct LogDecodeError {
    pub block_number: u64,
    pub log_index: u64,
    pub reason: String,
}

/// Which emitters and wallets matter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogScope {
    pub minting_contract: Address,
    /// Collateral tokens (and USDe) whose `Transfer`s to `watched_wallets` are reported.
    pub tokens: Vec<Address>,
    /// Custodian wallets and the minting contract.
    pub watched_wallets: Vec<Address>,
}

/// Decodes one log in `scope`.
///
/// # Errors
/// [`LogDecodeError`] when a log of a known event is malformed or has no block position
/// (pending logs are not accepted).
pub fn decode_log(log: &Log, scope: &LogScope) -> Result<Option<DecodedLog>, LogDecodeError> {
    let at = log_ref(log)?;
    let fail = |reason: String| LogDecodeError {
        block_number: at.block_number,
        log_index: at.log_index,
        reason,
    };
    let emitter = log.address();
    let topics = log.topics();
    let data = &log.data().data;
    let event = if emitter == scope.minting_contract {
        decode_minting_event(topics, data).map_err(fail)?
    } else if scope.tokens.contains(&emitter) {
        decode_transfer(emitter, topics, data, &scope.watched_wallets).map_err(fail)?
    } else {
        None
    };
    Ok(event.map(|event| DecodedLog { at, event }))
}

fn log_ref(log: &Log) -> Result<LogRef, LogDecodeError> {
    match (log.block_number, log.block_hash, log.transaction_hash, log.log_index) {
        (Some(block_number), Some(block_hash), Some(tx_hash), Some(log_index)) => {
            Ok(LogRef { block_number, block_hash, tx_hash, log_index })
        }
        _ => Err(LogDecodeError {
            block_number: log.block_number.unwrap_or(0),
            log_index: log.log_index.unwrap_or(0),
            reason: "log without block position (pending)".to_string(),
        }),
    }
}

fn decode_transfer(
    token: Address,
    topics: &[B256],
    data: &[u8],
    watched_wallets: &[Address],
) -> Result<Option<ChainLogEvent>, String> {
    if topics.first() != Some(&IErc20::Transfer::SIGNATURE_HASH) {
        return Ok(None);
    }
    let transfer = decode::<IErc20::Transfer>(topics, data)?;
    if !watched_wallets.contains(&transfer.to) {
        return Ok(None);
    }
    Ok(Some(ChainLogEvent::Erc20Transfer {
        token,
        from: transfer.from,
        to: transfer.to,
        amount: transfer.value,
    }))
}

fn decode<E: SolEvent>(topics: &[B256], data: &[u8]) -> Result<E, String> {
    E::decode_raw_log(topics.iter().copied(), data)
        .map_err(|error| format!("{}: {error}", E::SIGNATURE))
}

fn decode_minting_event(topics: &[B256], data: &[u8]) -> Result<Option<ChainLogEvent>, String> {
    let Some(topic0) = topics.first() else {
        return Ok(None);
    };
    let event = match *topic0 {
        Ev::Mint::SIGNATURE_HASH => {
            let e = decode::<Ev::Mint>(topics, data)?;
            ChainLogEvent::Mint(OrderEvent {
                order_id_hash: e.order_id,
                benefactor: e.benefactor,
                beneficiary: e.beneficiary,
                sender: e.minter,
                collateral_asset: e.collateral_asset,
                collateral_amount: e.collateral_amount,
                usde_amount: e.usde_amount,
            })
        }
        Ev::Redeem::SIGNATURE_HASH => {
            let e = decode::<Ev::Redeem>(topics, data)?;
            ChainLogEvent::Redeem(OrderEvent {
                order_id_hash: e.order_id,
                benefactor: e.benefactor,
                beneficiary: e.beneficiary,
                sender: e.redeemer,
                collateral_asset: e.collateral_asset,
                collateral_amount: e.collateral_amount,
                usde_amount: e.usde_amount,
            })
        }
        Ev::CustodyTransfer::SIGNATURE_HASH => {
            let e = decode::<Ev::CustodyTransfer>(topics, data)?;
            ChainLogEvent::CustodyTransfer { wallet: e.wallet, asset: e.asset, amount: e.amount }
        }
        Ev::MaxMintPerBlockChanged::SIGNATURE_HASH => {
            let e = decode::<Ev::MaxMintPerBlockChanged>(topics, data)?;
            ChainLogEvent::LimitChanged {
                asset: e.asset,
                is_mint: true,
                old_max: e.oldMaxMintPerBlock,
                new_max: e.newMaxMintPerBlock,
            }
        }
        Ev::MaxRedeemPerBlockChanged::SIGNATURE_HASH => {
            let e = decode::<Ev::MaxRedeemPerBlockChanged>(topics, data)?;
            ChainLogEvent::LimitChanged {
                asset: e.asset,
                is_mint: false,
                old_max: e.oldMaxRedeemPerBlock,
                new_max: e.newMaxRedeemPerBlock,
            }
        }
        other => match decode_whitelist_event(other, topics, data)? {
            Some(change) => ChainLogEvent::Whitelist(change),
            None => return Ok(None),
        },
    };
    Ok(Some(event))
}

fn decode_whitelist_event(
    topic0: B256,
    topics: &[B256],
    data: &[u8],
) -> Result<Option<WhitelistChange>, String> {
    use WhitelistChange as W;
    let change = match topic0 {
        Ev::BenefactorAdded::SIGNATURE_HASH => {
            W::BenefactorAdded(decode::<Ev::BenefactorAdded>(topics, data)?.benefactor)
        }
        Ev::BenefactorRemoved::SIGNATURE_HASH => {
            W::BenefactorRemoved(decode::<Ev::BenefactorRemoved>(topics, data)?.benefactor)
        }
        Ev::BeneficiaryAdded::SIGNATURE_HASH => {
            let e = decode::<Ev::BeneficiaryAdded>(topics, data)?;
            W::BeneficiaryAdded { benefactor: e.benefactor, beneficiary: e.beneficiary }
        }
        Ev::BeneficiaryRemoved::SIGNATURE_HASH => {
            let e = decode::<Ev::BeneficiaryRemoved>(topics, data)?;
            W::BeneficiaryRemoved { benefactor: e.benefactor, beneficiary: e.beneficiary }
        }
        Ev::CustodianAddressAdded::SIGNATURE_HASH => {
            W::CustodianAdded(decode::<Ev::CustodianAddressAdded>(topics, data)?.custodian)
        }
        Ev::CustodianAddressRemoved::SIGNATURE_HASH => {
            W::CustodianRemoved(decode::<Ev::CustodianAddressRemoved>(topics, data)?.custodian)
        }
        Ev::AssetAdded::SIGNATURE_HASH => {
            W::AssetAdded(decode::<Ev::AssetAdded>(topics, data)?.asset)
        }
        Ev::AssetRemoved::SIGNATURE_HASH => {
            W::AssetRemoved(decode::<Ev::AssetRemoved>(topics, data)?.asset)
        }
        Ev::DelegatedSignerAdded::SIGNATURE_HASH => {
            let e = decode::<Ev::DelegatedSignerAdded>(topics, data)?;
            W::DelegatedSignerAdded { signer: e.signer, delegator: e.delegator }
        }
        Ev::DelegatedSignerRemoved::SIGNATURE_HASH => {
            let e = decode::<Ev::DelegatedSignerRemoved>(topics, data)?;
            W::DelegatedSignerRemoved { signer: e.signer, delegator: e.delegator }
        }
        Ev::TokenTypeSet::SIGNATURE_HASH => {
            let e = decode::<Ev::TokenTypeSet>(topics, data)?;
            W::TokenTypeSet { token: e.token, token_type: e.tokenType }
        }
        _ => return Ok(None),
    };
    Ok(Some(change))
}
