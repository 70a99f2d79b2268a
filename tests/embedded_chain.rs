//! The embedded local chain as `hedger run` wires it: anvil with the deployment from
//! `hedger_tools::local_chain`, the chain gateway built from `hedger::chain::embedded_gateway_config`,
//! and the hot and cold agents, stepped by the test. Checks that the per-block capacity, the
//! Chainlink prices (moved by the price driver) and the gatekeeper's `disableMintRedeem` reach
//! the hot thread. Needs anvil from `scripts/install-chain-tools.sh`; missing anvil fails.

use std::time::{Duration, Instant};

use alloy_network::TransactionBuilder;
use alloy_primitives::{Address, Bytes};
use alloy_provider::{Provider, RootProvider};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_sol_types::{sol, SolCall};
use hedger::chain::{embedded_gateway_config, ChainAgent};
use hedger::pipeline::{ColdAgent, HotAgent};
use hedger_core::msg::Msg;
use hedger_core::oracle::reference::{OracleSource, SourceHealth};
use hedger_gateways::chain::{ChainConfig, ChainGateway, ChainKeys, TxKey};
use hedger_gateways::oracle::config::OracleAssetConfig;
use hedger_gateways::oracle::OraclesConfig;
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};
use hedger_tools::local_chain::{
    LocalChain, DEV_GATEKEEPER, DEV_MINTER_KEY, DEV_REDEEMER_KEY, LOCAL_MINT_CAP_PER_BLOCK,
    LOCAL_REDEEM_CAP_PER_BLOCK,
};
use hedger_tools::sim::market;

sol! {
    interface IGatekeeper { function disableMintRedeem() external; }
}

const SEED: u64 = 7;
const ETH: usize = 0;

struct Rig {
    _dir: tempfile::TempDir,
    node: LocalChain,
    chain: ChainAgent,
    hot: HotAgent,
    cold: ColdAgent,
}

impl Rig {
    fn new() -> Rig {
        let node = LocalChain::start(1, SEED).expect("anvil (run scripts/install-chain-tools.sh)");
        let oracles = OraclesConfig {
            enabled: true,
            assets: ["ETH", "BTC", "USDC"].into_iter().map(OracleAssetConfig::new).collect(),
            ..OraclesConfig::default()
        };
        let base =
            ChainConfig { confirmations: 1, poll_interval_ms: 100, ..ChainConfig::default() };
        let config = embedded_gateway_config(&base, &node, &oracles);
        assert_eq!(config.assets.len(), 4, "USDT, USDC, stETH, WETH");
        assert_eq!(config.chainlink.len(), 3, "one aggregator per oracle asset");
        let dir = tempfile::tempdir().unwrap();
        let tel = TelemetryFile::create(
            &dir.path().join("c.tel"),
            TelemetryLimits::default(),
            "t",
            1_000_000_000,
            0,
        )
        .unwrap();
        let (chain_tx, chain_rx) = hedger_ipc::ring::<Msg>(&tel, "chain->hot", 1024).unwrap();
        let (event_tx, event_rx) = hedger_ipc::ring::<Msg>(&tel, "hot->cold", 1024).unwrap();
        let key = |hex: &str, role| TxKey::from_hex_zeroizing(hex.to_owned(), role).unwrap();
        let keys = ChainKeys {
            minter: Some(key(DEV_MINTER_KEY, "minter")),
            redeemer: Some(key(DEV_REDEEMER_KEY, "redeemer")),
        };
        let gateway = ChainGateway::start(config, keys, chain_tx).expect("gateway connects");
        let limits = oracles.assets.iter().map(|a| a.limits()).collect();
        let hot = HotAgent::new(Vec::new(), event_tx, 64)
            .with_oracles(Vec::new(), limits)
            .with_chain(vec![chain_rx], 16);
        let cold = ColdAgent::new(event_rx, Duration::from_secs(3600));
        Rig { _dir: dir, node, chain: ChainAgent::new(gateway), hot, cold }
    }

    /// Steps every agent until `done` holds (panics with `what` after 20 s).
    fn step_until(&mut self, what: &str, mut done: impl FnMut(&Rig) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.chain.do_work();
            self.hot.do_work();
            self.cold.do_work();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn chainlink_eth(&self) -> (SourceHealth, i64, u64) {
        let slot = self.hot.references().source(ETH, OracleSource::Chainlink).unwrap();
        (slot.state, slot.price_e8, slot.publish_time_ms)
    }
}

#[test]
fn capacity_and_chainlink_prices_reach_the_hot_thread_and_a_gatekeeper_disable_zeroes_capacity() {
    let mut rig = Rig::new();
    rig.step_until("the first capacity reading and Chainlink prices", |rig| {
        let capacity = rig.hot.capacity();
        let block = capacity.latest_block();
        block > 0
            && capacity.mint_remaining_usde(0, block) > 0
            && rig.chainlink_eth().0 == SourceHealth::Up
    });
    let capacity = rig.hot.capacity();
    let block = capacity.latest_block();
    for asset in 0..4 {
        assert_eq!(capacity.mint_remaining_usde(asset, block), LOCAL_MINT_CAP_PER_BLOCK);
        assert_eq!(capacity.redeem_remaining_usde(asset, block), LOCAL_REDEEM_CAP_PER_BLOCK);
    }
    assert_eq!(capacity.mint_remaining_usde(4, block), 0, "no fifth asset");
    assert!(!capacity.minting_disabled());

    // The price driver writes a new round on the oracle simulators' price path.
    let mut driver = rig.node.price_driver(100).unwrap();
    let now_ms = hedger_ipc::clock::unix_ms() + 1_000;
    assert_eq!(driver.update_now(now_ms), 3, "{:?}", driver.stats());
    let eth = market::default_assets().into_iter().find(|a| a.name == "ETH").unwrap();
    let expected_e8 = market::price_e8(SEED, &eth, now_ms, 0);
    rig.step_until("the driven Chainlink round", |rig| {
        rig.chainlink_eth().2 == now_ms / 1000 * 1000
    });
    assert_eq!(rig.chainlink_eth().1, expected_e8);
    let reference = rig.hot.references().evaluate(ETH, now_ms).expect("a reference from Chainlink");
    assert_eq!(reference.price_e8, expected_e8);

    // The gatekeeper disables minting; V2 emits no event, the gateway sees the zero caps.
    let provider = RootProvider::new_http(rig.node.rpc_url.parse().unwrap());
    let request = TransactionRequest::default()
        .with_from(DEV_GATEKEEPER.parse::<Address>().unwrap())
        .with_to(rig.node.deployment.minting)
        .with_input(Bytes::from(IGatekeeper::disableMintRedeemCall {}.abi_encode()));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let receipt: alloy_rpc_types_eth::TransactionReceipt = runtime
        .block_on(async {
            let pending: alloy_provider::PendingTransactionBuilder<alloy_network::Ethereum> =
                provider.send_transaction(request).await.map_err(|e| e.to_string())?;
            pending.get_receipt().await.map_err(|e| e.to_string())
        })
        .expect("disableMintRedeem");
    assert!(receipt.status());
    let disabled_in = receipt.block_number.unwrap();
    rig.step_until("minting disabled on the hot thread", |rig| {
        rig.hot.capacity().minting_disabled() && rig.cold.chain_events() >= 1
    });
    let capacity = rig.hot.capacity();
    assert!(capacity.latest_block() <= disabled_in + 2, "detected late: {capacity:?}");
    assert_eq!(capacity.mint_remaining_usde(0, capacity.latest_block()), 0);
    assert_eq!(capacity.redeem_remaining_usde(0, capacity.latest_block()), 0);
    assert_eq!(capacity.disabled_changes(), 1);
}
