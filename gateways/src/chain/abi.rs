//! ABI bindings the chain gateway reads and decodes, and the revert-data decoder.
//!
//! Calls that submit orders (`mint`, `mintWETH`, `redeem`) come from `hedger_core::order::abi`
//! (struct widths, shared with the CLI). This module adds the read-only getters polled each block,
//! the events the hedger indexes (V2 corrected layout: `order_id` first, `ethena.md` §3.9), the
//! ERC-20 `Transfer` event, the Chainlink aggregator reads, and [`RevertDecoder`], which turns
//! revert data into the custom error's name using the published V2 ABI
//! (`contracts/reference/EthenaMintingV2.events-corrected.abi.json`, embedded at build time).
//!
//! No I/O; the decoder allocates once when built.

use std::collections::HashMap;

use alloy_json_abi::JsonAbi;
use alloy_primitives::U256;
use alloy_sol_types::SolValue;

/// The reference V2 ABI (corrected event layout), embedded so the decoder needs no file at run time.
pub const ETHENA_MINTING_V2_ABI_JSON: &str =
    include_str!("../../../contracts/reference/EthenaMintingV2.events-corrected.abi.json");

/// `Error(string)`: a `require`/`revert("...")` message.
pub const ERROR_STRING_SELECTOR: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];
/// `Panic(uint256)`: a Solidity assertion, overflow or division by zero.
pub const PANIC_SELECTOR: [u8; 4] = [0x4e, 0x48, 0x7b, 0x71];

alloy_sol_types::sol! {
    /// `TokenConfig` as `tokenConfig(address)` returns it (four values, not a tuple).
    interface IEthenaMintingViews {
        function globalConfig() external view returns (uint128 globalMaxMintPerBlock, uint128 globalMaxRedeemPerBlock);
        function tokenConfig(address asset) external view returns (uint8 tokenType, bool isActive, uint128 maxMintPerBlock, uint128 maxRedeemPerBlock);
        function totalPerBlock(uint256 blockNumber) external view returns (uint128 mintedPerBlock, uint128 redeemedPerBlock);
        function totalPerBlockPerAsset(uint256 blockNumber, address asset) external view returns (uint128 mintedPerBlock, uint128 redeemedPerBlock);
        function isWhitelistedBenefactor(address benefactor) external view returns (bool);
        function isCustodianAddress(address custodian) external view returns (bool);
        function isSupportedAsset(address asset) external view returns (bool);
        function stablesDeltaLimit() external view returns (uint128);
        /// `DelegatedSignerStatus` (0 REJECTED, 1 PENDING, 2 ACCEPTED) of `signer` for `delegator`.
        function delegatedSigner(address signer, address delegator) external view returns (uint8);
    }

    /// EIP-1271, called on an `EIP1271` order's benefactor (a smart-contract wallet).
    interface IErc1271 {
        function isValidSignature(bytes32 hash, bytes signature) external view returns (bytes4);
    }

    /// The V2 events the hedger indexes, in the deployed (order_id-first) layout.
    interface IEthenaMintingEvents {
        event Mint(string indexed order_id, address indexed benefactor, address indexed beneficiary, address minter, address collateral_asset, uint256 collateral_amount, uint256 usde_amount);
        event Redeem(string indexed order_id, address indexed benefactor, address indexed beneficiary, address redeemer, address collateral_asset, uint256 collateral_amount, uint256 usde_amount);
        event CustodyTransfer(address indexed wallet, address indexed asset, uint256 amount);
        event BenefactorAdded(address indexed benefactor);
        event BenefactorRemoved(address indexed benefactor);
        event BeneficiaryAdded(address indexed benefactor, address indexed beneficiary);
        event BeneficiaryRemoved(address indexed benefactor, address indexed beneficiary);
        event CustodianAddressAdded(address indexed custodian);
        event CustodianAddressRemoved(address indexed custodian);
        event AssetAdded(address indexed asset);
        event AssetRemoved(address indexed asset);
        event MaxMintPerBlockChanged(uint256 oldMaxMintPerBlock, uint256 newMaxMintPerBlock, address indexed asset);
        event MaxRedeemPerBlockChanged(uint256 oldMaxRedeemPerBlock, uint256 newMaxRedeemPerBlock, address indexed asset);
        event DelegatedSignerAdded(address indexed signer, address indexed delegator);
        event DelegatedSignerRemoved(address indexed signer, address indexed delegator);
        event TokenTypeSet(address indexed token, uint256 tokenType);
    }

    /// ERC-20 reads and the `Transfer` event.
    interface IErc20 {
        event Transfer(address indexed from, address indexed to, uint256 value);
        function balanceOf(address account) external view returns (uint256);
        function decimals() external view returns (uint8);
    }

    /// Chainlink `AggregatorV3Interface` reads.
    interface IAggregatorV3 {
        function decimals() external view returns (uint8);
        function latestRoundData() external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
    }
}

/// What revert data said, as far as the known ABIs tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevertReason {
    /// A custom error from a known ABI (`InvalidNonce`, …) with its raw arguments.
    Custom { name: String, args: Vec<u8> },
    /// `Error(string)`.
    Message(String),
    /// `Panic(uint256)` with its code.
    Panic(u64),
    /// No data at all (out of gas, `revert()`, a non-contract call).
    Empty,
    /// A selector no known ABI declares.
    Unknown { selector: [u8; 4] },
}

impl RevertReason {
    /// The custom error's name, `Error(string)`'s text, `Panic(0x..)`, `""` or the selector hex.
    pub fn name(&self) -> String {
        match self {
            RevertReason::Custom { name, .. } => name.clone(),
            RevertReason::Message(text) => text.clone(),
            RevertReason::Panic(code) => format!("Panic(0x{code:x})"),
            RevertReason::Empty => String::new(),
            RevertReason::Unknown { selector } => format!("0x{}", hex_lower(selector)),
        }
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Maps error selectors to names from one or more JSON ABIs.
#[derive(Clone, Debug, Default)]
pub struct RevertDecoder {
    names_by_selector: HashMap<[u8; 4], String>,
}

impl RevertDecoder {
    /// A decoder for the EthenaMinting V2 custom errors.
    ///
    /// # Errors
    /// `serde_json::Error` only if the embedded ABI were corrupt (a build defect).
    pub fn ethena_minting_v2() -> Result<RevertDecoder, serde_json::Error> {
        let mut decoder = RevertDecoder::default();
        decoder.extend_from_abi_json(ETHENA_MINTING_V2_ABI_JSON)?;
        Ok(decoder)
    }

    /// Adds every `error` entry of a JSON ABI (an array, or an artifact object with `abi`).
    ///
    /// # Errors
    /// `serde_json::Error` when the text is neither.
    pub fn extend_from_abi_json(&mut self, json: &str) -> Result<(), serde_json::Error> {
        let value: serde_json::Value = serde_json::from_str(json)?;
        let abi_value = value.get("abi").cloned().unwrap_or(value);
        let abi: JsonAbi = serde_json::from_value(abi_value)?;
        for error in abi.errors() {
            self.names_by_selector.insert(error.selector().0, error.name.clone());
        }
        Ok(())
    }

    /// Known custom errors.
    pub fn len(&self) -> usize {
        self.names_by_selector.len()
    }

    /// True when no ABI was loaded.
    pub fn is_empty(&self) -> bool {
        self.names_by_selector.is_empty()
    }

    /// Decodes revert data. Never fails: unknown data becomes [`RevertReason::Unknown`].
    pub fn decode(&self, data: &[u8]) -> RevertReason {
        let Some(selector_bytes) = data.get(0..4) else {
            return RevertReason::Empty;
        };
        let mut selector = [0u8; 4];
        selector.copy_from_slice(selector_bytes);
        let args = &data[4..];
        if selector == ERROR_STRING_SELECTOR {
            if let Ok(text) = String::abi_decode(args) {
                return RevertReason::Message(text);
            }
        }
        if selector == PANIC_SELECTOR {
            if let Ok(code) = U256::abi_decode(args) {
                return RevertReason::Panic(u64::try_from(code).unwrap_or(u64::MAX));
            }
        }
        match self.names_by_selector.get(&selector) {
            Some(name) => RevertReason::Custom { name: name.clone(), args: args.to_vec() },
            None => RevertReason::Unknown { selector },
        }
    }
}
