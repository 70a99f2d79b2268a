//! The chain in the pipeline: `[chain]` config, the embedded local node, and the cold-thread
//! agents (the chain gateway, its record log, and the local aggregators' price driver).
//!
//! ```text
//! [cold: ChainAgent (ChainGateway)] --chain->hot--> [hot: CapacityTable, ReferenceTable (Chainlink)]
//! [cold: ChainPriceDriver] --eth_sendTransaction--> anvil (embedded_node only)
//! ```
//!
//! With `embedded_node = true` (the default profiles) `hedger run` starts anvil on a free
//! loopback port, deploys the minting contract, USDe, USDT/USDC/stETH/WETH and ETH/BTC/USDC
//! aggregators (`hedger_tools::local_chain`), and builds the gateway config from that deployment:
//! collateral asset `i` of the deployment is capacity slot `i` on the hot thread, and each
//! aggregator publishes for the oracle asset of the same name. The minter and redeemer keys are
//! anvil's published development keys (never real funds). With `embedded_node = false` the
//! `[chain.gateway]` table is the whole gateway config and keys come from the environment
//! variables it names.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hedger_core::msg::Msg;
use hedger_gateways::chain::chainlink::ChainlinkFeedConfig;
use hedger_gateways::chain::{
    ChainAssetConfig, ChainConfig, ChainGateway, ChainKeys, ChainRecord, TxKey,
};
use hedger_gateways::oracle::OraclesConfig;
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::TelemetryFile;
use hedger_ipc::{ring, RingConsumer};
use hedger_tools::local_chain::{LocalChain, DEV_MINTER_KEY, DEV_REDEEMER_KEY};
use serde::Deserialize;

/// Seed of the embedded aggregators' price path; the embedded oracle simulators use the same.
pub const EMBEDDED_MARKET_SEED: u64 = 7;
/// Capacity slots the hot thread keeps (collateral assets).
pub const CHAIN_ASSETS_MAX: usize = 16;

/// `[chain]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainSection {
    /// Run the chain gateway (on the cold thread). Off when the section is absent.
    pub enabled: bool,
    /// Start anvil and deploy everything at start-up; the gateway's addresses are generated.
    pub embedded_node: bool,
    /// Block interval of the embedded node.
    pub block_time_s: u64,
    /// Interval of the embedded aggregators' price updates.
    pub price_update_ms: u64,
    /// Gateway config (`rpc_url`, `minting_contract`, `assets`, …). With `embedded_node` only
    /// its tuning fields (confirmations, intervals, limits, gas) are used.
    pub gateway: ChainConfig,
}

impl Default for ChainSection {
    fn default() -> Self {
        ChainSection {
            enabled: false,
            embedded_node: true,
            block_time_s: 1,
            price_update_ms: 2_000,
            gateway: ChainConfig::default(),
        }
    }
}

impl ChainSection {
    /// Every problem, as sentences.
    pub fn problems(&self) -> Vec<String> {
        if !self.enabled {
            return Vec::new();
        }
        let mut problems = Vec::new();
        if self.block_time_s == 0 || self.block_time_s > 60 {
            problems.push(format!("chain.block_time_s must be 1..=60, got {}", self.block_time_s));
        }
        if self.price_update_ms < 100 {
            problems.push("chain.price_update_ms must be at least 100".to_string());
        }
        let mut gateway = self.gateway.clone();
        if self.embedded_node {
            // Addresses are generated at start-up; check the tuning fields only.
            gateway.minting_contract = alloy_address_placeholder();
        }
        if let Err(error) = gateway.validate() {
            problems.extend(error.to_string().lines().map(|line| format!("chain.gateway: {line}")));
        }
        let chain_assets = if self.embedded_node { 4 } else { self.gateway.assets.len() };
        if chain_assets > CHAIN_ASSETS_MAX {
            problems.push(format!("chain.gateway.assets: at most {CHAIN_ASSETS_MAX}"));
        }
        for asset in &self.gateway.assets {
            if asset.instrument as usize >= CHAIN_ASSETS_MAX {
                problems.push(format!(
                    "chain.gateway.assets {}: instrument must be below {CHAIN_ASSETS_MAX}",
                    asset.name
                ));
            }
        }
        problems
    }
}

fn alloy_address_placeholder() -> hedger_gateways::chain::reexport::alloy_primitives::Address {
    hedger_gateways::chain::reexport::alloy_primitives::Address::repeat_byte(1)
}

/// What [`start`] built.
pub struct ChainParts {
    /// Cold-thread agents.
    pub agents: Vec<Box<dyn Agent>>,
    /// `chain->hot`.
    pub ring: RingConsumer<Msg>,
    /// The embedded node (killed when dropped).
    pub node: Option<LocalChain>,
}

/// Starts the node (if embedded) and connects the gateway.
///
/// # Errors
/// Anvil missing or failing, a deployment step, a key variable, the gateway's connect.
pub fn start(
    section: &ChainSection,
    oracles: &OraclesConfig,
    telemetry: &Arc<TelemetryFile>,
    ring_capacity: usize,
) -> anyhow::Result<ChainParts> {
    let (tx, rx) = ring::<Msg>(telemetry, "chain->hot", ring_capacity)?;
    let mut agents: Vec<Box<dyn Agent>> = Vec::new();
    let (config, keys, node) = if section.embedded_node {
        let node = LocalChain::start(section.block_time_s, EMBEDDED_MARKET_SEED)
            .context("starting the embedded chain ([chain] embedded_node = true)")?;
        tracing::info!(rpc = %node.rpc_url, minting = %node.deployment.minting, pid = node.pid(),
            "embedded local chain deployed");
        let config = embedded_gateway_config(&section.gateway, &node, oracles);
        let key = |hex: &str, role| {
            TxKey::from_hex_zeroizing(hex.to_string(), role).map_err(anyhow::Error::msg)
        };
        let keys = ChainKeys {
            minter: Some(key(DEV_MINTER_KEY, "minter")?),
            redeemer: Some(key(DEV_REDEEMER_KEY, "redeemer")?),
        };
        agents.push(Box::new(node.price_driver(section.price_update_ms)?));
        (config, keys, Some(node))
    } else {
        let keys = ChainKeys::from_env(&section.gateway).context("chain keys")?;
        (section.gateway.clone(), keys, None)
    };
    let gateway = ChainGateway::start(config, keys, tx).context("starting the chain gateway")?;
    agents.insert(0, Box::new(ChainAgent::new(gateway)));
    Ok(ChainParts { agents, ring: rx, node })
}

/// The gateway config for the embedded deployment, keeping `base`'s tuning fields.
pub fn embedded_gateway_config(
    base: &ChainConfig,
    node: &LocalChain,
    oracles: &OraclesConfig,
) -> ChainConfig {
    let deployment = &node.deployment;
    let assets = deployment
        .tokens
        .iter()
        .enumerate()
        .map(|(index, token)| ChainAssetConfig {
            name: token.symbol.to_string(),
            address: token.address,
            instrument: index as u32,
        })
        .collect();
    let chainlink = deployment
        .feeds
        .iter()
        .filter_map(|feed| {
            let asset = oracles.assets.iter().position(|a| a.name == feed.asset.name)?;
            Some(ChainlinkFeedConfig {
                name: feed.name.clone(),
                aggregator: feed.aggregator,
                instrument: asset as u32,
                max_age_s: 60,
            })
        })
        .collect();
    ChainConfig {
        rpc_url: node.rpc_url.clone(),
        chain_id: hedger_tools::local_chain::LOCAL_CHAIN_ID,
        minting_contract: deployment.minting,
        assets,
        watched_tokens: vec![deployment.usde],
        custodians: deployment.custodians.to_vec(),
        chainlink,
        minter_key_env: None,
        redeemer_key_env: None,
        ..base.clone()
    }
}

/// The chain gateway plus the owner of its records: until the journal lands (persistence
/// issue) every record is logged at `info` with its reference id, so nothing observed is lost
/// from the operator's view.
pub struct ChainAgent {
    gateway: ChainGateway,
    records: Vec<ChainRecord>,
    records_seen: u64,
    last_stats_log: std::time::Instant,
}

impl ChainAgent {
    pub fn new(gateway: ChainGateway) -> ChainAgent {
        ChainAgent {
            gateway,
            records: Vec::with_capacity(256),
            records_seen: 0,
            last_stats_log: std::time::Instant::now(),
        }
    }
}

impl Agent for ChainAgent {
    fn do_work(&mut self) -> usize {
        let work = self.gateway.do_work();
        self.gateway.drain_records(&mut self.records);
        for record in self.records.drain(..) {
            self.records_seen += 1;
            match &record {
                ChainRecord::Capacity { .. } => tracing::debug!(?record, "chain record"),
                _ => tracing::info!(?record, "chain record"),
            }
        }
        if self.last_stats_log.elapsed() >= Duration::from_secs(30) {
            self.last_stats_log = std::time::Instant::now();
            let stats = self.gateway.stats();
            tracing::info!(records = self.records_seen, ?stats, "chain gateway alive");
        }
        work
    }

    fn on_stop(&mut self) {
        self.gateway.on_stop();
    }
}

/// Name of a chain or Chainlink reason code (cold-side logs).
pub fn reason_name(code: u32) -> &'static str {
    use hedger_gateways::chain::chainlink::reason as cl;
    use hedger_gateways::chain::gateway::reason as gw;
    match code {
        cl::RPC => "chainlink_rpc",
        cl::ABI => "chainlink_abi",
        cl::ANSWER => "chainlink_answer",
        cl::HEARTBEAT => "chainlink_heartbeat",
        cl::INCOMPLETE_ROUND => "chainlink_incomplete_round",
        cl::SCALE => "chainlink_scale",
        gw::RPC => "chain_rpc",
        gw::REORG => "chain_reorg",
        gw::DEEP_REORG => "chain_deep_reorg",
        gw::LOG_DECODE => "chain_log_decode",
        other => hedger_gateways::oracle::reason::name(other),
    }
}
