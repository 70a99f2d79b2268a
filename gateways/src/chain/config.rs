//! Chain gateway configuration (`[chain]` in the hedger TOML), validated all at once.

use alloy_primitives::Address;
use serde::Deserialize;

use super::chainlink::ChainlinkFeedConfig;
use super::error::ChainError;
use super::submit::GasConfig;

/// A collateral asset the gateway reads caps for and watches transfers of.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainAssetConfig {
    /// Name for logs (`"USDT"`).
    pub name: String,
    pub address: Address,
    /// `instrument` of this asset's chain messages.
    pub instrument: u32,
}

/// Everything the chain gateway needs. Defaults (see `Default`) suit a local node; mainnet
/// deployments raise `confirmations` and the timeouts.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainConfig {
    /// `http://` JSON-RPC endpoint (a node the desk runs; no TLS backend is linked).
    pub rpc_url: String,
    pub chain_id: u64,
    pub minting_contract: Address,
    pub assets: Vec<ChainAssetConfig>,
    /// Extra tokens whose transfers to watched wallets are reported (USDe, say).
    pub watched_tokens: Vec<Address>,
    /// Custodian wallets whose incoming ERC-20 transfers are reported.
    pub custodians: Vec<Address>,
    /// Blocks on top of a log's block (counting it) before the hot thread hears of it.
    pub confirmations: u64,
    /// Blocks kept for reorg detection; a deeper reorg is terminal.
    pub reorg_depth_max: usize,
    /// Time between polls of the node.
    pub poll_interval_ms: u64,
    /// Bound of one RPC request.
    pub rpc_timeout_ms: u64,
    /// Bound of one whole poll (`do_work` never blocks longer).
    pub poll_budget_ms: u64,
    /// New blocks processed per poll (catch-up is spread over polls).
    pub blocks_per_poll_max: u64,
    /// Unconfirmed logs held.
    pub pending_logs_max: usize,
    /// Records waiting for the owner to drain them; more are dropped and counted.
    pub records_max: usize,
    /// Messages waiting for room in the ring; more are dropped and counted.
    pub outbox_max: usize,
    /// Env var holding the minter key (`MINTER_ROLE`); no mints without it.
    pub minter_key_env: Option<String>,
    /// Env var holding the redeemer key (`REDEEMER_ROLE`); no redeems without it. May name the
    /// same key as the minter's (one account, one nonce sequence).
    pub redeemer_key_env: Option<String>,
    pub gas: GasConfig,
    /// Blocks a sent transaction may stay without receipt before it is reported dropped.
    pub pending_blocks_max: u64,
    pub submissions_in_flight_max: usize,
    pub chainlink: Vec<ChainlinkFeedConfig>,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            rpc_url: "http://127.0.0.1:8545".to_string(),
            chain_id: 31_337,
            minting_contract: Address::ZERO,
            assets: Vec::new(),
            watched_tokens: Vec::new(),
            custodians: Vec::new(),
            confirmations: 2,
            reorg_depth_max: 64,
            poll_interval_ms: 1_000,
            rpc_timeout_ms: 500,
            poll_budget_ms: 2_000,
            blocks_per_poll_max: 16,
            pending_logs_max: 4_096,
            records_max: 4_096,
            outbox_max: 1_024,
            minter_key_env: None,
            redeemer_key_env: None,
            gas: GasConfig::default(),
            pending_blocks_max: 50,
            submissions_in_flight_max: 16,
            chainlink: Vec::new(),
        }
    }
}

impl ChainConfig {
    /// Every problem, reported together.
    ///
    /// # Errors
    /// [`ChainError::Config`] listing them.
    pub fn validate(&self) -> Result<(), ChainError> {
        let mut problems = Vec::new();
        if !self.rpc_url.starts_with("http://") {
            problems.push(format!("rpc_url {:?} must be http:// (no TLS backend)", self.rpc_url));
        }
        if self.minting_contract == Address::ZERO {
            problems.push("minting_contract is not set".to_string());
        }
        if self.confirmations == 0 {
            problems.push("confirmations must be at least 1".to_string());
        }
        if (self.reorg_depth_max as u64) < self.confirmations {
            problems.push("reorg_depth_max must be at least confirmations".to_string());
        }
        for (name, value) in [
            ("poll_interval_ms", self.poll_interval_ms),
            ("rpc_timeout_ms", self.rpc_timeout_ms),
            ("blocks_per_poll_max", self.blocks_per_poll_max),
        ] {
            if value == 0 {
                problems.push(format!("{name} must be positive"));
            }
        }
        if self.poll_budget_ms < self.rpc_timeout_ms {
            problems.push("poll_budget_ms must be at least rpc_timeout_ms".to_string());
        }
        for (name, value) in [
            ("pending_logs_max", self.pending_logs_max),
            ("records_max", self.records_max),
            ("outbox_max", self.outbox_max),
            ("submissions_in_flight_max", self.submissions_in_flight_max),
        ] {
            if value == 0 {
                problems.push(format!("{name} must be positive"));
            }
        }
        self.check_duplicates(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ChainError::Config { problems })
        }
    }

    fn check_duplicates(&self, problems: &mut Vec<String>) {
        let mut seen = std::collections::BTreeSet::new();
        for asset in &self.assets {
            if !seen.insert(asset.address) {
                problems.push(format!("asset {} is configured twice", asset.address));
            }
        }
        for feed in &self.chainlink {
            if feed.max_age_s == 0 {
                problems.push(format!("chainlink feed {}: max_age_s must be positive", feed.name));
            }
        }
    }
}
