//! Chain gateway against a real local node (anvil from `.tools/`, installed by
//! `bash scripts/install-chain-tools.sh`) running our EthenaMinting V2 implementation and tokens
//! from `contracts/out/`.
//!
//! Each test starts its own anvil on a free loopback port (killed on drop), deploys everything,
//! and drives the real `ChainGateway` (sync agent API) while a separate alloy client plays the
//! admin, the benefactor and the gatekeeper. Missing anvil is a test failure, never a skip.

use std::future::IntoFuture;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_network::{EthereumWallet, TransactionBuilder};
use alloy_primitives::{keccak256, Address, Bytes, U256};
use alloy_provider::{DynProvider, Provider, ProviderBuilder};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{sol, SolCall, SolValue};
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{Body, ChainEventKind, Msg, SourceState};
use hedger_core::order::eip712::order_id_hash;
use hedger_core::order::{
    domain_separator, order_digest, DelegatedSignerStatus, Order, OrderSigner, OrderType, Route,
    Signature, SignatureType,
};
use hedger_gateways::chain::chainlink::{reason as cl_reason, ChainlinkFeedConfig};
use hedger_gateways::chain::events::ChainLogEvent;
use hedger_gateways::chain::gateway::reason as chain_reason;
use hedger_gateways::chain::submit::SubmissionOutcome;
use hedger_gateways::chain::{
    ChainAssetConfig, ChainConfig, ChainError, ChainGateway, ChainKeys, ChainRecord,
    SignatureRejection, SignerAuthority, VerifiedOrderSignature,
};
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};
use hedger_ipc::RingConsumer;

const CHAIN_ID: u64 = 31_337;
const ADMIN_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const MINTER_KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const BENEFACTOR_KEY: &str = "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9e8f4e0b3f65a";
/// Holds `REDEEMER_ROLE` only (the minter key holds `MINTER_ROLE` only).
const REDEEMER_KEY: &str = "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
const GATEKEEPER_KEY: &str = "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const STRANGER_KEY: &str = "00000000000000000000000000000000000000000000000000000000000b0b0b";
/// Owner of the EIP-1271 smart wallet (MockSmartWallet) in the signature tests.
const WALLET_OWNER_KEY: &str = "0000000000000000000000000000000000000000000000000000000000a11ce5";
const USDT_INSTRUMENT: u32 = 7;
const FEED_INSTRUMENT: u32 = 9;
const E18: u128 = 1_000_000_000_000_000_000;
const ASSET_MINT_CAP_USDE: u128 = 100_000 * E18;
const GLOBAL_MINT_CAP_USDE: u128 = 150_000 * E18;
const REDEEM_CAP_USDE: u128 = 50_000 * E18;

sol! {
    struct TokenConfigArg { uint8 tokenType; bool isActive; uint128 maxMintPerBlock; uint128 maxRedeemPerBlock; }
    struct GlobalConfigArg { uint128 globalMaxMintPerBlock; uint128 globalMaxRedeemPerBlock; }
    interface IAdmin {
        function grantRole(bytes32 role, address account) external;
        function addWhitelistedBenefactor(address benefactor) external;
        function disableMintRedeem() external;
        function setMinter(address newMinter) external;
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address account) external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function updateRoundData(int256 answer, uint256 updatedAt) external;
        function deposit() external payable;
    }
}

// ------------------------------------------------------------------------------ anvil harness

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An anvil child process on a free loopback port; killed on drop.
struct Anvil {
    child: Child,
    url: String,
}

impl Anvil {
    fn start() -> Anvil {
        // One start at a time in this process: two tests must not pick the same free port.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = STARTING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Same location rule as scripts/install-chain-tools.sh (HEDGER_TOOLS_DIR or .tools/).
        let tools_dir = std::env::var_os("HEDGER_TOOLS_DIR")
            .map_or_else(|| repo_root().join(".tools"), PathBuf::from);
        let binary = tools_dir.join("bin/anvil");
        assert!(
            binary.exists(),
            "anvil not found at {}: run `bash scripts/install-chain-tools.sh` first \
             (installs the pinned @foundry-rs/anvil-linux-amd64 into .tools/)",
            binary.display()
        );
        for _attempt in 0..3 {
            let port = free_port();
            let child = Command::new(&binary)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--chain-id", &CHAIN_ID.to_string(), "--silent", "--accounts", "4"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut anvil = Anvil { child, url: format!("http://127.0.0.1:{port}") };
            if anvil.wait_ready(Duration::from_secs(10)) {
                return anvil;
            }
        }
        panic!("anvil did not start listening (3 attempts)");
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let started = Instant::now();
        let address = self.url.trim_start_matches("http://").to_string();
        while started.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if std::net::TcpStream::connect(&address).is_ok() {
                // Ours, not another process that holds the port: still running a moment later.
                std::thread::sleep(Duration::from_millis(20));
                return matches!(self.child.try_wait(), Ok(None));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("addr").port()
}

fn artifact_bytecode(name: &str) -> Bytes {
    let path = repo_root().join("contracts/out").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `bash contracts/build.sh`)", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("artifact json");
    let hex = json["bytecode"].as_str().expect("bytecode").trim_start_matches("0x");
    Bytes::from(decode_hex(hex))
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn signer(key: &str) -> PrivateKeySigner {
    key.parse().expect("key")
}

fn address_of(key: &str) -> Address {
    signer(key).address()
}

// ------------------------------------------------------------------------------ deployment

/// Everything deployed, plus an admin-side client that signs as any of the test keys.
struct World {
    anvil: Anvil,
    rt: tokio::runtime::Runtime,
    client: DynProvider,
    minting: Address,
    usde: Address,
    usdt: Address,
    weth: Address,
    feed: Address,
    custodians: [Address; 2],
    benefactor: Address,
    _dir: tempfile::TempDir,
    telemetry: Arc<TelemetryFile>,
}

impl World {
    fn deploy() -> World {
        let anvil = Anvil::start();
        let rt = runtime();
        let mut wallet = EthereumWallet::from(signer(ADMIN_KEY));
        for key in [
            MINTER_KEY,
            REDEEMER_KEY,
            BENEFACTOR_KEY,
            GATEKEEPER_KEY,
            STRANGER_KEY,
            WALLET_OWNER_KEY,
        ] {
            wallet.register_signer(signer(key));
        }
        let url = anvil.url.parse().expect("url");
        let client = ProviderBuilder::new().wallet(wallet).connect_http(url).erased();
        let dir = tempfile::tempdir().expect("tempdir");
        let telemetry = TelemetryFile::create(
            &dir.path().join("chain.tel"),
            TelemetryLimits::default(),
            "test",
            1,
            0,
        )
        .expect("telemetry");
        let mut world = World {
            anvil,
            rt,
            client,
            minting: Address::ZERO,
            usde: Address::ZERO,
            usdt: Address::ZERO,
            weth: Address::ZERO,
            feed: Address::ZERO,
            custodians: [Address::repeat_byte(0xc1), Address::repeat_byte(0xc2)],
            benefactor: address_of(BENEFACTOR_KEY),
            _dir: dir,
            telemetry,
        };
        let rt = std::mem::replace(&mut world.rt, runtime());
        rt.block_on(world.setup());
        world.rt = rt;
        world
    }

    async fn setup(&mut self) {
        let admin = address_of(ADMIN_KEY);
        for key in [MINTER_KEY, REDEEMER_KEY, BENEFACTOR_KEY, GATEKEEPER_KEY, STRANGER_KEY] {
            self.set_balance(address_of(key)).await;
        }
        self.usde = self.deploy_contract("USDe", admin.abi_encode()).await;
        self.usdt = self
            .deploy_contract("MockERC20", ("Tether", "USDT", U256::from(6)).abi_encode_params())
            .await;
        let weth = self.deploy_contract("MockWETH", Vec::new()).await;
        self.weth = weth;
        let config = |token_type: u8, mint_cap: u128| TokenConfigArg {
            tokenType: token_type,
            isActive: true,
            maxMintPerBlock: mint_cap,
            maxRedeemPerBlock: REDEEM_CAP_USDE,
        };
        let args = (
            self.usde,
            weth,
            vec![self.usdt, weth],
            vec![config(0, ASSET_MINT_CAP_USDE), config(1, ASSET_MINT_CAP_USDE)],
            GlobalConfigArg {
                globalMaxMintPerBlock: GLOBAL_MINT_CAP_USDE,
                globalMaxRedeemPerBlock: REDEEM_CAP_USDE,
            },
            self.custodians.to_vec(),
            admin,
        )
            .abi_encode_params();
        self.minting = self.deploy_contract("EthenaMinting", args).await;
        let feed_args = (
            U256::from(8),
            "USDT / USD".to_string(),
            alloy_primitives::I256::try_from(100_010_000i64).unwrap(),
        )
            .abi_encode_params();
        self.feed = self.deploy_contract("MockAggregator", feed_args).await;
        self.grant_roles().await;
        self.fund_benefactor().await;
    }

    async fn grant_roles(&self) {
        let admin = address_of(ADMIN_KEY);
        self.send(admin, self.usde, IAdmin::setMinterCall { newMinter: self.minting }).await;
        let minter = address_of(MINTER_KEY);
        for (role, account) in [
            ("MINTER_ROLE", minter),
            ("REDEEMER_ROLE", address_of(REDEEMER_KEY)),
            ("GATEKEEPER_ROLE", address_of(GATEKEEPER_KEY)),
        ] {
            let call = IAdmin::grantRoleCall { role: keccak256(role), account };
            self.send(admin, self.minting, call).await;
        }
        let call = IAdmin::addWhitelistedBenefactorCall { benefactor: self.benefactor };
        self.send(admin, self.minting, call).await;
    }

    async fn fund_benefactor(&self) {
        let admin = address_of(ADMIN_KEY);
        let amount = U256::from(1_000_000_000_000u64); // 1M USDT
        for to in [self.benefactor, self.minting, address_of(STRANGER_KEY)] {
            self.send(admin, self.usdt, IAdmin::mintCall { to, amount }).await;
        }
        for owner in [self.benefactor, address_of(STRANGER_KEY)] {
            for token in [self.usdt, self.usde] {
                let call = IAdmin::approveCall { spender: self.minting, amount: U256::MAX };
                self.send(owner, token, call).await;
            }
        }
    }

    async fn set_balance(&self, account: Address) {
        let params = (account, U256::from(10u128 * E18));
        let _: serde_json::Value =
            self.client.raw_request("anvil_setBalance".into(), params).await.expect("setBalance");
    }

    async fn deploy_contract(&self, name: &str, args: Vec<u8>) -> Address {
        let mut code = artifact_bytecode(name).to_vec();
        code.extend(args);
        let request = TransactionRequest::default()
            .with_from(address_of(ADMIN_KEY))
            .with_deploy_code(Bytes::from(code));
        let receipt = self
            .client
            .send_transaction(request)
            .await
            .expect("deploy send")
            .get_receipt()
            .await
            .expect("deploy receipt");
        assert!(receipt.status(), "deploy {name} reverted");
        receipt.contract_address.expect("contract address")
    }

    async fn send<C: SolCall>(&self, from: Address, to: Address, call: C) {
        let request = TransactionRequest::default()
            .with_from(from)
            .with_to(to)
            .with_input(Bytes::from(call.abi_encode()));
        let receipt = self
            .client
            .send_transaction(request)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", C::SIGNATURE))
            .get_receipt()
            .await
            .expect("receipt");
        assert!(receipt.status(), "{} reverted", C::SIGNATURE);
    }

    fn transact<C: SolCall>(&self, from_key: &str, to: Address, call: C) {
        self.rt.block_on(self.send(address_of(from_key), to, call));
    }

    fn balance(&self, token: Address, account: Address) -> U256 {
        let data = Bytes::from(IAdmin::balanceOfCall { account }.abi_encode());
        let request = TransactionRequest::default().with_to(token).with_input(data);
        let out = self.rt.block_on(self.client.call(request).into_future()).expect("balanceOf");
        U256::abi_decode(&out).expect("uint256")
    }

    fn total_supply(&self, token: Address) -> U256 {
        let data = Bytes::from(IAdmin::totalSupplyCall {}.abi_encode());
        let request = TransactionRequest::default().with_to(token).with_input(data);
        let out = self.rt.block_on(self.client.call(request).into_future()).expect("totalSupply");
        U256::abi_decode(&out).expect("uint256")
    }

    fn rpc(&self, method: &'static str, params: serde_json::Value) -> serde_json::Value {
        self.rt.block_on(self.client.raw_request(method.into(), params)).expect(method)
    }

    fn mine(&self, blocks: u64) {
        self.rpc("anvil_mine", serde_json::json!([blocks]));
    }

    /// Waits for an automined transaction's receipt; returns its block.
    fn wait_mined(&self, tx_hash: alloy_primitives::B256) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let receipt =
                self.rt.block_on(self.client.get_transaction_receipt(tx_hash).into_future());
            if let Some(block) = receipt.expect("receipt").and_then(|r| r.block_number) {
                return block;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("transaction {tx_hash} not mined");
    }

    fn head(&self) -> u64 {
        self.rt.block_on(self.client.get_block_number()).expect("head")
    }

    fn now_s(&self) -> u64 {
        let block = self
            .rt
            .block_on(
                self.client
                    .get_block_by_number(alloy_rpc_types_eth::BlockNumberOrTag::Latest)
                    .into_future(),
            )
            .expect("block")
            .expect("latest");
        block.header.inner.timestamp
    }

    fn config(&self, confirmations: u64, minter_env: &str) -> ChainConfig {
        ChainConfig {
            rpc_url: self.anvil.url.clone(),
            chain_id: CHAIN_ID,
            minting_contract: self.minting,
            assets: vec![ChainAssetConfig {
                name: "USDT".into(),
                address: self.usdt,
                instrument: USDT_INSTRUMENT,
            }],
            watched_tokens: vec![self.usde],
            custodians: self.custodians.to_vec(),
            confirmations,
            poll_interval_ms: 50,
            rpc_timeout_ms: 2_000,
            poll_budget_ms: 5_000,
            minter_key_env: Some(minter_env.to_string()),
            pending_blocks_max: 2,
            ..ChainConfig::default()
        }
    }

    /// A gateway with the minter and redeemer keys taken from per-test environment variables.
    fn gateway(&self, confirmations: u64, test_name: &str) -> (ChainGateway, RingConsumer<Msg>) {
        self.gateway_with_redeemer(confirmations, test_name, REDEEMER_KEY)
    }

    /// As [`World::gateway`], with `redeemer_key` loaded as the redeemer.
    fn gateway_with_redeemer(
        &self,
        confirmations: u64,
        test_name: &str,
        redeemer_key: &str,
    ) -> (ChainGateway, RingConsumer<Msg>) {
        let env_var = format!("HEDGER_TEST_MINTER_KEY_{}", test_name.to_uppercase());
        let redeemer_env = format!("HEDGER_TEST_REDEEMER_KEY_{}", test_name.to_uppercase());
        // SAFETY-free in edition 2021; each test uses its own variable names.
        std::env::set_var(&env_var, format!("0x{MINTER_KEY}"));
        std::env::set_var(&redeemer_env, redeemer_key);
        let (tx, rx) =
            hedger_ipc::ring::<Msg>(&self.telemetry, &format!("chain-{test_name}"), 4096)
                .expect("ring");
        let mut config = self.config(confirmations, &env_var);
        config.redeemer_key_env = Some(redeemer_env);
        let keys = ChainKeys::from_env(&config).expect("keys");
        let debug = format!("{keys:?}");
        assert!(!debug.contains(MINTER_KEY) && debug.contains("redacted"), "{debug}");
        assert!(!debug.contains(redeemer_key), "{debug}");
        let gateway = ChainGateway::start(config, keys, tx).expect("gateway start");
        (gateway, rx)
    }

    fn feed_config(&self, max_age_s: u64) -> ChainlinkFeedConfig {
        ChainlinkFeedConfig {
            name: "USDT/USD".into(),
            aggregator: self.feed,
            instrument: FEED_INSTRUMENT,
            max_age_s,
        }
    }
}

// ------------------------------------------------------------------------------ orders

fn usdt_order(world: &World, order_id: &str, nonce: u128, collateral: u128, usde: u128) -> Order {
    Order {
        order_id: order_id.to_string(),
        order_type: OrderType::Mint,
        expiry_unix_s: u128::from(world.now_s() + 600),
        nonce,
        benefactor: world.benefactor,
        beneficiary: world.benefactor,
        collateral_asset: world.usdt,
        collateral_amount: collateral,
        usde_amount: usde,
    }
}

fn sign(world: &World, order: &Order, key: &str) -> Signature {
    let digest = order_digest(domain_separator(CHAIN_ID, world.minting), order);
    let signature = OrderSigner::from_hex(key).expect("key").sign_digest(&digest).expect("sign");
    Signature {
        signature_type: SignatureType::Eip712,
        signature_bytes: signature.to_bytes().to_vec(),
    }
}

fn custody_route(world: &World) -> Route {
    Route { addresses: world.custodians.to_vec(), ratios_bps: vec![6_000, 4_000] }
}

fn drain(rx: &mut RingConsumer<Msg>) -> Vec<Msg> {
    let mut out = Vec::new();
    while let Some(msg) = rx.pop() {
        out.push(msg);
    }
    out
}

fn chain_events(
    msgs: &[Msg],
    kind: ChainEventKind,
) -> Vec<(InstrumentId, hedger_core::msg::ChainEvent)> {
    msgs.iter()
        .filter_map(|m| match m.body() {
            Ok(Body::ChainEvent(e)) if e.event == kind => Some((m.instrument, e)),
            _ => None,
        })
        .collect()
}

fn records(gateway: &mut ChainGateway) -> Vec<ChainRecord> {
    let mut out = Vec::new();
    gateway.drain_records(&mut out);
    out
}

fn outcomes(records: &[ChainRecord]) -> Vec<SubmissionOutcome> {
    records
        .iter()
        .filter_map(|r| match r {
            ChainRecord::Submission { outcome, .. } => Some(outcome.as_ref().clone()),
            _ => None,
        })
        .collect()
}

fn logs(records: &[ChainRecord]) -> Vec<ChainLogEvent> {
    records
        .iter()
        .filter_map(|r| match r {
            ChainRecord::Log { log, .. } => Some(log.event),
            _ => None,
        })
        .collect()
}

// ------------------------------------------------------------------------------ tests

/// Mint with a two-leg route and a redeem, end to end: signed by the benefactor, submitted with
/// the minter key, confirmed after 2 blocks, events decoded, balances per route, capacity.
#[test]
fn mint_and_redeem_end_to_end() {
    let world = World::deploy();
    let (mut gateway, mut rx) = world.gateway(2, "e2e");
    gateway.poll_now(world.now_s()).expect("first poll");
    let msgs = drain(&mut rx);
    let mint_capacity = chain_events(&msgs, ChainEventKind::MintCapacity);
    let redeem_capacity = chain_events(&msgs, ChainEventKind::RedeemCapacity);
    assert_eq!(mint_capacity.len(), 1, "{mint_capacity:?}");
    assert_eq!(mint_capacity[0].0, InstrumentId(USDT_INSTRUMENT));
    assert_eq!(mint_capacity[0].1.amount, ASSET_MINT_CAP_USDE, "min(asset cap, global cap)");
    assert_eq!(mint_capacity[0].1.block_number, world.head() + 1);
    assert_eq!(redeem_capacity.len(), 1, "{redeem_capacity:?}");
    assert_eq!(redeem_capacity[0].1.amount, REDEEM_CAP_USDE);

    // Mint 1.000001 USDT -> 1 USDe, split 60/40 with the remainder on the last leg.
    let collateral = 1_000_001u128;
    let order = usdt_order(&world, "rfq-e2e-1", 1, collateral, E18);
    let route = custody_route(&world);
    let sent = gateway
        .submit_mint(&order, &route, &sign(&world, &order, BENEFACTOR_KEY), false, 77)
        .expect("mint submitted");
    world.wait_mined(sent.tx_hash);
    gateway.poll_now(world.now_s()).expect("poll");
    assert!(chain_events(&drain(&mut rx), ChainEventKind::Mint).is_empty(), "1 confirmation only");
    world.mine(1);
    gateway.poll_now(world.now_s()).expect("poll");
    let msgs = drain(&mut rx);
    let all = records(&mut gateway);
    let done = outcomes(&all);
    assert!(
        matches!(&done[..], [SubmissionOutcome::Confirmed { tx, .. }] if tx.tx_hash == sent.tx_hash && tx.ref_id == 77),
        "{done:?}"
    );
    let mints = chain_events(&msgs, ChainEventKind::Mint);
    assert_eq!(mints.len(), 1, "{msgs:?}");
    assert_eq!(mints[0].0, InstrumentId(USDT_INSTRUMENT));
    assert_eq!(mints[0].1.amount, E18);
    let mint_log = logs(&all)
        .into_iter()
        .find_map(|e| match e {
            ChainLogEvent::Mint(m) => Some(m),
            _ => None,
        })
        .expect("mint log");
    assert_eq!(mint_log.order_id_hash, keccak256("rfq-e2e-1"));
    assert_eq!(mint_log.order_id_hash, order_id_hash("rfq-e2e-1"));
    assert_eq!(mint_log.benefactor, world.benefactor);
    assert_eq!(mint_log.sender, address_of(MINTER_KEY));
    assert_eq!(mint_log.collateral_amount, U256::from(collateral));
    let (legs, split) = route.split(collateral).expect("split");
    assert_eq!(legs, vec![600_000, 400_001]);
    assert_eq!(split.remainder, 1);
    for (custodian, expected) in world.custodians.iter().zip(&legs) {
        assert_eq!(world.balance(world.usdt, *custodian), U256::from(*expected));
    }
    let custody_transfers: u128 = chain_events(&msgs, ChainEventKind::Erc20Transfer)
        .iter()
        .filter(|(instrument, _)| *instrument == InstrumentId(USDT_INSTRUMENT))
        .map(|(_, e)| e.amount)
        .sum();
    assert_eq!(custody_transfers, collateral, "Transfer logs to custodians add up");
    assert_eq!(world.balance(world.usde, world.benefactor), U256::from(E18));

    // Redeem 0.5 USDe for 0.499 USDT paid from the contract's own balance.
    let contract_before = world.balance(world.usdt, world.minting);
    let benefactor_before = world.balance(world.usdt, world.benefactor);
    let supply_before = world.total_supply(world.usde);
    let mut redeem = usdt_order(&world, "rfq-e2e-redeem", 2, 499_000, E18 / 2);
    redeem.order_type = OrderType::Redeem;
    let sent =
        gateway.submit_redeem(&redeem, &sign(&world, &redeem, BENEFACTOR_KEY), 78).expect("redeem");
    world.wait_mined(sent.tx_hash);
    world.mine(1);
    gateway.poll_now(world.now_s()).expect("poll");
    let msgs = drain(&mut rx);
    let all = records(&mut gateway);
    assert!(matches!(&outcomes(&all)[..], [SubmissionOutcome::Confirmed { .. }]), "{all:?}");
    let redeems = chain_events(&msgs, ChainEventKind::Redeem);
    assert_eq!(redeems.len(), 1);
    assert_eq!(redeems[0].1.amount, E18 / 2);
    assert_eq!(world.balance(world.usdt, world.minting), contract_before - U256::from(499_000));
    assert_eq!(
        world.balance(world.usdt, world.benefactor),
        benefactor_before + U256::from(499_000)
    );
    assert_eq!(world.total_supply(world.usde), supply_before - U256::from(E18 / 2));
    assert_eq!(gateway.stats().logs_bad, 0);
}

/// `mintWETH`: the contract pulls WETH, unwraps it and pays the custodians native ETH per route.
#[test]
fn mint_weth_pays_custodians_in_eth() {
    let world = World::deploy();
    let benefactor = world.benefactor;
    let amount = 3 * E18 + 1;
    let deposit = TransactionRequest::default()
        .with_from(benefactor)
        .with_to(world.weth)
        .with_value(U256::from(amount))
        .with_input(Bytes::from(IAdmin::depositCall {}.abi_encode()));
    let pending = world.rt.block_on(world.client.send_transaction(deposit)).expect("deposit");
    world.wait_mined(*pending.tx_hash());
    world.transact(
        BENEFACTOR_KEY,
        world.weth,
        IAdmin::approveCall { spender: world.minting, amount: U256::MAX },
    );
    let (mut gateway, mut rx) = world.gateway(1, "weth");
    let eth_before: Vec<U256> = world
        .custodians
        .iter()
        .map(|c| world.rt.block_on(world.client.get_balance(*c).into_future()).expect("balance"))
        .collect();
    let mut order = usdt_order(&world, "rfq-weth", 51, amount, 9_000 * E18);
    order.collateral_asset = world.weth;
    let route = custody_route(&world);
    let signature = sign(&world, &order, BENEFACTOR_KEY);
    let sent = gateway.submit_mint(&order, &route, &signature, true, 2).expect("mintWETH");
    world.wait_mined(sent.tx_hash);
    gateway.poll_now(world.now_s()).expect("poll");
    let all = records(&mut gateway);
    assert!(matches!(&outcomes(&all)[..], [SubmissionOutcome::Confirmed { .. }]), "{all:?}");
    let (legs, _) = route.split(amount).expect("split");
    for ((custodian, before), leg) in world.custodians.iter().zip(&eth_before).zip(&legs) {
        let after =
            world.rt.block_on(world.client.get_balance(*custodian).into_future()).expect("balance");
        assert_eq!(after - *before, U256::from(*leg), "native ETH per route leg");
    }
    assert_eq!(chain_events(&drain(&mut rx), ChainEventKind::Mint).len(), 1);
}

/// Every failure path is refused before sending, with the contract's custom error name; a
/// transaction that fails on chain (same nonce twice in one block) is named by replay.
#[test]
fn failures_are_reported_with_the_custom_error_name() {
    let world = World::deploy();
    let (mut gateway, _rx) = world.gateway(1, "failures");
    let route = custody_route(&world);
    let submit = |gateway: &mut ChainGateway, order: &Order, route: &Route, key: &str| {
        gateway.submit_mint(order, route, &sign(&world, order, key), false, 1)
    };
    let ok = usdt_order(&world, "ok", 11, 1_000_000, E18);
    let sent = submit(&mut gateway, &ok, &route, BENEFACTOR_KEY).expect("first use of nonce 11");
    world.wait_mined(sent.tx_hash);
    let mut cases: Vec<(&str, Order, Route, &str)> = Vec::new();
    let mut expired = usdt_order(&world, "expired", 12, 1_000_000, E18);
    expired.expiry_unix_s = u128::from(world.now_s() - 10);
    cases.push(("SignatureExpired", expired, route.clone(), BENEFACTOR_KEY));
    cases.push((
        "InvalidNonce",
        usdt_order(&world, "again", 11, 1_000_000, E18),
        route.clone(),
        BENEFACTOR_KEY,
    ));
    let over = ASSET_MINT_CAP_USDE + 1;
    let over_order = usdt_order(&world, "over", 13, over / 1_000_000_000_000 + 1, over);
    cases.push(("MaxMintPerBlockExceeded", over_order, route.clone(), BENEFACTOR_KEY));
    let stranger_route =
        Route { addresses: vec![Address::repeat_byte(0x99)], ratios_bps: vec![10_000] };
    cases.push((
        "InvalidRoute",
        usdt_order(&world, "route", 14, 1_000_000, E18),
        stranger_route,
        BENEFACTOR_KEY,
    ));
    let mut stranger = usdt_order(&world, "stranger", 15, 1_000_000, E18);
    stranger.benefactor = address_of(STRANGER_KEY);
    stranger.beneficiary = stranger.benefactor;
    cases.push(("BenefactorNotWhitelisted", stranger, route.clone(), STRANGER_KEY));
    // 1 USDT for 1.01 USDe: 100 bps better than 1:1 with stablesDeltaLimit 0.
    let greedy = usdt_order(&world, "greedy", 16, 1_000_000, E18 + E18 / 100);
    cases.push(("InvalidStablePrice", greedy, route.clone(), BENEFACTOR_KEY));
    let nonce_before = world
        .rt
        .block_on(world.client.get_transaction_count(address_of(MINTER_KEY)).into_future())
        .unwrap();
    for (expected, order, route, key) in &cases {
        let error = submit(&mut gateway, order, route, key).expect_err(expected);
        assert!(
            matches!(&error, ChainError::Reverted { error_name, method: "mint", tx_hash: None } if error_name == expected),
            "{expected}: got {error:?}"
        );
        assert_eq!(error.revert_name(), Some(*expected));
        assert!(!error.is_retryable() && !error.is_terminal());
    }
    let nonce_after = world
        .rt
        .block_on(world.client.get_transaction_count(address_of(MINTER_KEY)).into_future())
        .unwrap();
    assert_eq!(nonce_before, nonce_after, "refused orders send nothing");

    // Automine off: the node's pending state already holds the first order, so reusing its
    // nonce in the same block is refused at preflight.
    world.rpc("evm_setAutomine", serde_json::json!([false]));
    let first = usdt_order(&world, "same-block-1", 21, 1_000_000, E18);
    let second = usdt_order(&world, "same-block-2", 21, 2_000_000, 2 * E18);
    let first_sent = submit(&mut gateway, &first, &route, BENEFACTOR_KEY).expect("first");
    let error = submit(&mut gateway, &second, &route, BENEFACTOR_KEY).expect_err("same nonce");
    assert_eq!(error.revert_name(), Some("InvalidNonce"));
    // On-chain revert: the gatekeeper's disableMintRedeem pays a higher tip and lands first in
    // the block, so the mint that passed preflight fails on chain; the receipt carries no
    // reason, the gateway recovers the name by replay.
    let disable = TransactionRequest::default()
        .with_from(address_of(GATEKEEPER_KEY))
        .with_to(world.minting)
        .with_input(Bytes::from(IAdmin::disableMintRedeemCall {}.abi_encode()))
        .with_max_priority_fee_per_gas(100_000_000_000)
        .with_max_fee_per_gas(300_000_000_000);
    let disable_sent =
        world.rt.block_on(world.client.send_transaction(disable)).expect("gatekeeper send");
    world.mine(1);
    world.rpc("evm_setAutomine", serde_json::json!([true]));
    let disable_block = world.wait_mined(*disable_sent.tx_hash());
    assert_eq!(world.wait_mined(first_sent.tx_hash), disable_block, "same block");
    gateway.poll_now(world.now_s()).expect("poll");
    let all = records(&mut gateway);
    let reverted: Vec<_> = outcomes(&all)
        .into_iter()
        .filter_map(|o| match o {
            SubmissionOutcome::Reverted { tx, error_name, .. } => Some((tx.tx_hash, error_name)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reverted,
        vec![(first_sent.tx_hash, "GlobalMaxMintPerBlockExceeded".to_string())],
        "{all:?}"
    );
}

/// `disableMintRedeem()` emits nothing in V2; the gateway sees the zero global caps at the very
/// block that contains the call, through the `Agent` interface.
#[test]
fn disable_mint_redeem_is_detected_within_one_block() {
    let world = World::deploy();
    let (mut gateway, mut rx) = world.gateway(1, "disable");
    gateway.poll_now(world.now_s()).expect("poll");
    assert!(chain_events(&drain(&mut rx), ChainEventKind::MintingDisabled).is_empty());
    world.transact(GATEKEEPER_KEY, world.minting, IAdmin::disableMintRedeemCall {});
    let disabled_block = world.head();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut msgs = Vec::new();
    while chain_events(&msgs, ChainEventKind::MintingDisabled).is_empty()
        && Instant::now() < deadline
    {
        gateway.do_work();
        msgs.extend(drain(&mut rx));
        std::thread::sleep(Duration::from_millis(5));
    }
    let disabled = chain_events(&msgs, ChainEventKind::MintingDisabled);
    assert_eq!(disabled.len(), 1, "{msgs:?}");
    assert_eq!(disabled[0].1.block_number, disabled_block, "detected at the block of the call");
    let capacity = chain_events(&msgs, ChainEventKind::MintCapacity);
    assert!(!capacity.is_empty() && capacity.iter().all(|(_, e)| e.amount == 0), "{capacity:?}");
    assert!(msgs.iter().all(|m| m.venue == VenueId::Chain as u8));
    let all = records(&mut gateway);
    assert!(all.iter().any(|r| matches!(r, ChainRecord::MintingDisabled { disabled: true, .. })));
    let order = usdt_order(&world, "after-disable", 31, 1_000_000, E18);
    let error = gateway
        .submit_mint(
            &order,
            &custody_route(&world),
            &sign(&world, &order, BENEFACTOR_KEY),
            false,
            1,
        )
        .expect_err("disabled");
    assert_eq!(error.revert_name(), Some("GlobalMaxMintPerBlockExceeded"));
}

/// A mint in an unconfirmed block that is reorged out is never published; the gateway reports
/// the reorg, drops the transaction after `pending_blocks_max`, re-seeds its nonce and mints again.
#[test]
fn reorg_of_an_unconfirmed_block_is_handled() {
    let world = World::deploy();
    let (mut gateway, mut rx) = world.gateway(3, "reorg");
    gateway.poll_now(world.now_s()).expect("poll");
    drain(&mut rx);
    let snapshot = world.rpc("evm_snapshot", serde_json::json!([]));
    let order = usdt_order(&world, "reorged", 41, 1_000_000, E18);
    let signature = sign(&world, &order, BENEFACTOR_KEY);
    let sent =
        gateway.submit_mint(&order, &custody_route(&world), &signature, false, 5).expect("mint");
    let mined_block = world.wait_mined(sent.tx_hash);
    gateway.poll_now(world.now_s()).expect("poll sees the block, unconfirmed");
    assert_eq!(gateway.core().tip().map(|b| b.number), Some(mined_block));
    let reverted = world.rpc("evm_revert", serde_json::json!([snapshot]));
    assert_eq!(reverted, serde_json::Value::Bool(true));
    world.mine(3);
    gateway.poll_now(world.now_s()).expect("poll after reorg");
    let msgs = drain(&mut rx);
    assert!(chain_events(&msgs, ChainEventKind::Mint).is_empty(), "orphaned mint never published");
    let status: Vec<_> = msgs
        .iter()
        .filter_map(|m| match m.body() {
            Ok(Body::GatewayStatus(s)) => Some(s),
            _ => None,
        })
        .collect();
    assert!(status
        .iter()
        .any(|s| s.state == SourceState::Resyncing && s.reason_code == chain_reason::REORG));
    let all = records(&mut gateway);
    let rollback = all
        .iter()
        .find_map(|r| match r {
            ChainRecord::Reorg { rollback, .. } => Some(rollback.clone()),
            _ => None,
        })
        .expect("reorg record");
    assert!(rollback.orphaned.iter().any(|b| b.number == mined_block), "{rollback:?}");
    assert!(
        rollback.dropped_logs.iter().any(
            |l| matches!(l.event, ChainLogEvent::Mint(m) if m.order_id_hash == keccak256("reorged"))
        ),
        "{rollback:?}"
    );
    assert_eq!(gateway.stats().reorgs, 1);
    // The transaction is gone with its block; after pending_blocks_max it is reported dropped.
    let mut done = outcomes(&all);
    world.mine(3);
    gateway.poll_now(world.now_s()).expect("poll");
    done.extend(outcomes(&records(&mut gateway)));
    assert!(
        matches!(&done[..], [SubmissionOutcome::Dropped { tx }] if tx.tx_hash == sent.tx_hash),
        "{done:?}"
    );
    // Nonce re-seeded from the node: the same order (its nonce is unused on the new chain) mints.
    let again =
        gateway.submit_mint(&order, &custody_route(&world), &signature, false, 6).expect("re-mint");
    world.wait_mined(again.tx_hash);
    world.mine(2);
    gateway.poll_now(world.now_s()).expect("poll");
    let mints = chain_events(&drain(&mut rx), ChainEventKind::Mint);
    assert_eq!(mints.len(), 1, "re-included mint published once");
}

/// Chainlink through eth_call: a fresh round becomes an OraclePrice on the 1e8 scale; a zero
/// answer and a stale round are rejected with a status and no price; a fresh round recovers.
#[test]
fn chainlink_round_is_read_and_bad_rounds_rejected() {
    let world = World::deploy();
    let mut config = world.config(1, "unused");
    config.minter_key_env = None;
    config.chainlink = vec![world.feed_config(3_600)];
    let (tx, mut rx) = hedger_ipc::ring::<Msg>(&world.telemetry, "chainlink", 1024).expect("ring");
    let mut gateway = ChainGateway::start(config, ChainKeys::default(), tx).expect("gateway");
    let poll = |gateway: &mut ChainGateway, rx: &mut RingConsumer<Msg>| {
        gateway.poll_now(world.now_s()).expect("poll");
        drain(rx).into_iter().filter(|m| m.venue == VenueId::Chainlink as u8).collect::<Vec<_>>()
    };
    let prices = |msgs: &[Msg]| -> Vec<hedger_core::msg::OraclePrice> {
        msgs.iter()
            .filter_map(|m| match m.body() {
                Ok(Body::OraclePrice(p)) => Some(p),
                _ => None,
            })
            .collect()
    };
    let statuses = |msgs: &[Msg]| -> Vec<(SourceState, u32)> {
        msgs.iter()
            .filter_map(|m| match m.body() {
                Ok(Body::GatewayStatus(s)) => Some((s.state, s.reason_code)),
                _ => None,
            })
            .collect()
    };
    let msgs = poll(&mut gateway, &mut rx);
    let fresh = prices(&msgs);
    assert_eq!(fresh.len(), 1, "{msgs:?}");
    assert_eq!(fresh[0].price_e8, 100_010_000);
    assert!(msgs.iter().all(|m| m.instrument == InstrumentId(FEED_INSTRUMENT)));
    assert_eq!(statuses(&msgs), vec![(SourceState::Up, cl_reason::RECOVERED)]);

    let now = world.now_s();
    let zero = IAdmin::updateRoundDataCall {
        answer: alloy_primitives::I256::ZERO,
        updatedAt: U256::from(now),
    };
    world.transact(ADMIN_KEY, world.feed, zero);
    let msgs = poll(&mut gateway, &mut rx);
    assert!(prices(&msgs).is_empty(), "zero answer never published");
    assert_eq!(statuses(&msgs), vec![(SourceState::Quarantined, cl_reason::ANSWER)]);

    let answer = alloy_primitives::I256::try_from(99_990_000i64).unwrap();
    let stale = IAdmin::updateRoundDataCall { answer, updatedAt: U256::from(now - 7_200) };
    world.transact(ADMIN_KEY, world.feed, stale);
    let msgs = poll(&mut gateway, &mut rx);
    assert!(prices(&msgs).is_empty(), "stale round never published");
    assert_eq!(statuses(&msgs), vec![(SourceState::Stale, cl_reason::HEARTBEAT)]);

    let fresh = IAdmin::updateRoundDataCall { answer, updatedAt: U256::from(world.now_s()) };
    world.transact(ADMIN_KEY, world.feed, fresh);
    let msgs = poll(&mut gateway, &mut rx);
    assert_eq!(statuses(&msgs), vec![(SourceState::Up, cl_reason::RECOVERED)]);
    assert_eq!(prices(&msgs).iter().map(|p| p.price_e8).collect::<Vec<_>>(), vec![99_990_000]);
}

/// A wrong chain id or a dead endpoint is a typed error, never a hang.
#[test]
fn wrong_chain_and_dead_node_are_typed_errors() {
    let world = World::deploy();
    let telemetry = Arc::clone(&world.telemetry);
    let mut config = world.config(1, "unused");
    config.minter_key_env = None;
    config.chain_id = 1;
    let (tx, _rx) = hedger_ipc::ring::<Msg>(&telemetry, "wrong-chain", 16).expect("ring");
    let error = ChainGateway::start(config, ChainKeys::default(), tx).expect_err("wrong chain");
    assert!(matches!(error, ChainError::WrongChain { expected: 1, found: CHAIN_ID }), "{error:?}");
    assert!(error.is_terminal());

    let mut config = world.config(1, "unused");
    config.minter_key_env = None;
    let (tx, mut rx) = hedger_ipc::ring::<Msg>(&telemetry, "dead-node", 16).expect("ring");
    let mut gateway = ChainGateway::start(config, ChainKeys::default(), tx).expect("gateway");
    gateway.poll_now(world.now_s()).expect("poll");
    drop(world); // kills anvil
    let started = Instant::now();
    let error = gateway.poll_now(0).expect_err("node gone");
    assert!(started.elapsed() < Duration::from_secs(6), "bounded by poll_budget_ms");
    assert!(error.is_retryable(), "{error:?}");
    let down = drain(&mut rx).into_iter().any(|m| {
        matches!(m.body(), Ok(Body::GatewayStatus(s)) if s.state == SourceState::Down && s.reason_code == chain_reason::RPC)
    });
    assert!(down, "Down status published");
}

// ------------------------------------------------------------------------------ signatures

sol! {
    interface ISignerAdmin {
        function execute(address target, uint256 value, bytes data) external returns (bytes result);
        function setDelegatedSigner(address delegateTo) external;
        function confirmDelegatedSigner(address delegatedBy) external;
        function removeDelegatedSigner(address removedSigner) external;
    }
}

/// Deploys a MockSmartWallet owned by `WALLET_OWNER_KEY`, whitelists it as a benefactor, funds
/// it with USDT and has the owner approve the minting contract through the wallet.
fn deploy_smart_wallet(world: &World) -> Address {
    let owner = address_of(WALLET_OWNER_KEY);
    world.rt.block_on(world.set_balance(owner));
    let wallet = world.rt.block_on(world.deploy_contract("MockSmartWallet", owner.abi_encode()));
    let whitelist = IAdmin::addWhitelistedBenefactorCall { benefactor: wallet };
    world.transact(ADMIN_KEY, world.minting, whitelist);
    let amount = U256::from(1_000_000_000u64); // 1000 USDT
    world.transact(ADMIN_KEY, world.usdt, IAdmin::mintCall { to: wallet, amount });
    let approve = IAdmin::approveCall { spender: world.minting, amount: U256::MAX };
    let execute = ISignerAdmin::executeCall {
        target: world.usdt,
        value: U256::ZERO,
        data: Bytes::from(approve.abi_encode()),
    };
    world.transact(WALLET_OWNER_KEY, wallet, execute);
    wallet
}

/// An EIP-1271 signature for MockSmartWallet: `key`'s ECDSA signature of the order digest.
fn sign_1271(world: &World, order: &Order, key: &str) -> Signature {
    Signature { signature_type: SignatureType::Eip1271, ..sign(world, order, key) }
}

fn mint_log_of(all: &[ChainRecord]) -> hedger_gateways::chain::events::OrderEvent {
    logs(all)
        .into_iter()
        .find_map(|e| match e {
            ChainLogEvent::Mint(m) => Some(m),
            _ => None,
        })
        .expect("mint log")
}

/// Issue 6, EIP-1271: a smart wallet benefactor (owner-signed) is verified by the gateway through
/// `eth_call` of `isValidSignature` and accepted by the contract; another key's signature, the
/// owner's key as an EIP-712 signer, a benefactor without `isValidSignature` and one without code
/// are refused by the gateway and by the contract with the same error.
#[test]
fn eip1271_wallet_signature_is_verified_by_gateway_and_contract() {
    let world = World::deploy();
    let wallet = deploy_smart_wallet(&world);
    let (mut gateway, mut rx) = world.gateway(1, "eip1271");
    let route = custody_route(&world);
    let mut order = usdt_order(&world, "rfq-1271", 61, 2_000_001, 2 * E18);
    order.benefactor = wallet;
    order.beneficiary = wallet;
    let digest = order_digest(domain_separator(CHAIN_ID, world.minting), &order);
    let minter_nonce = || {
        let count = world.client.get_transaction_count(address_of(MINTER_KEY));
        world.rt.block_on(count.into_future()).expect("nonce")
    };
    let nonce_before = minter_nonce();

    let forged = sign_1271(&world, &order, STRANGER_KEY);
    let error = gateway.verify_order_signature(&order, &forged).expect_err("not the owner");
    assert!(
        matches!(&error, ChainError::SignatureRejected(SignatureRejection::Eip1271Rejected { wallet: w, return_data })
            if *w == wallet && return_data.len() == 32 && return_data[..4] == [0xff; 4]),
        "{error:?}"
    );
    assert_eq!(error.contract_error(), Some("InvalidEIP1271Signature"));
    assert!(!error.is_retryable() && !error.is_terminal());
    let error = gateway.submit_mint(&order, &route, &forged, false, 1).expect_err("contract");
    assert_eq!(error.revert_name(), Some("InvalidEIP1271Signature"), "{error:?}");

    let owner_as_eip712 = sign(&world, &order, WALLET_OWNER_KEY);
    let error = gateway.verify_order_signature(&order, &owner_as_eip712).expect_err("712");
    assert!(
        matches!(&error, ChainError::SignatureRejected(SignatureRejection::NotAuthorised { signer, benefactor, status: DelegatedSignerStatus::Rejected })
            if *signer == address_of(WALLET_OWNER_KEY) && *benefactor == wallet),
        "{error:?}"
    );
    assert_eq!(error.contract_error(), Some("InvalidEIP712Signature"));
    let error = gateway.submit_mint(&order, &route, &owner_as_eip712, false, 1).expect_err("712");
    assert_eq!(error.revert_name(), Some("InvalidEIP712Signature"), "{error:?}");

    for (label, benefactor) in [("no-1271", world.usdt), ("eoa", world.benefactor)] {
        let mut other = usdt_order(&world, label, 62, 1_000_000, E18);
        other.benefactor = benefactor;
        other.beneficiary = benefactor;
        let signature = sign_1271(&world, &other, WALLET_OWNER_KEY);
        let error = gateway.verify_order_signature(&other, &signature).expect_err(label);
        let rejection = match &error {
            ChainError::SignatureRejected(rejection) => rejection.clone(),
            other => panic!("{label}: unexpected {other:?}"),
        };
        match label {
            // USDT has no isValidSignature (nor fallback): the call reverts without data.
            "no-1271" => assert_eq!(
                rejection,
                SignatureRejection::Eip1271Reverted { wallet: world.usdt, reason: String::new() }
            ),
            // An EOA has no code: the call returns nothing, which is not an ABI bytes4.
            _ => assert_eq!(
                rejection,
                SignatureRejection::Eip1271Malformed {
                    wallet: world.benefactor,
                    return_data: Bytes::new()
                }
            ),
        }
        let contract = gateway.submit_mint(&other, &route, &signature, false, 1).expect_err(label);
        assert!(matches!(contract, ChainError::Reverted { .. }), "{label}: {contract:?}");
        assert_eq!(error.contract_error(), contract.revert_name(), "{label}: revert without data");
    }
    assert_eq!(minter_nonce(), nonce_before, "refused orders send nothing");

    let signature = sign_1271(&world, &order, WALLET_OWNER_KEY);
    let verified = gateway.verify_order_signature(&order, &signature).expect("owner-signed");
    let expected = VerifiedOrderSignature {
        digest,
        signer: wallet,
        authority: SignerAuthority::Eip1271Wallet,
    };
    assert_eq!(verified, expected);
    let sent = gateway.submit_mint(&order, &route, &signature, false, 61).expect("mint");
    world.wait_mined(sent.tx_hash);
    gateway.poll_now(world.now_s()).expect("poll");
    let all = records(&mut gateway);
    assert!(
        matches!(&outcomes(&all)[..], [SubmissionOutcome::Confirmed { tx, .. }] if tx.tx_hash == sent.tx_hash),
        "{all:?}"
    );
    let mint = mint_log_of(&all);
    assert_eq!((mint.benefactor, mint.beneficiary), (wallet, wallet));
    assert_eq!(mint.order_id_hash, keccak256("rfq-1271"));
    assert_eq!(chain_events(&drain(&mut rx), ChainEventKind::Mint).len(), 1);
    assert_eq!(world.balance(world.usde, wallet), U256::from(2 * E18));
    let (legs, _) = route.split(order.collateral_amount).expect("split");
    for (custodian, leg) in world.custodians.iter().zip(&legs) {
        assert_eq!(world.balance(world.usdt, *custodian), U256::from(*leg));
    }
}

/// Issue 6, delegated signers: a delegate's EIP-712 signature is refused by the gateway and the
/// contract (`InvalidEIP712Signature`) while its status is REJECTED or PENDING, verified and
/// minted once ACCEPTED, and refused again after the benefactor removes it.
#[test]
fn delegated_signer_counts_only_when_accepted() {
    let world = World::deploy();
    let (mut gateway, mut rx) = world.gateway(1, "delegation");
    let delegate = address_of(STRANGER_KEY);
    let route = custody_route(&world);
    let order = usdt_order(&world, "rfq-delegate", 71, 1_000_000, E18);
    let digest = order_digest(domain_separator(CHAIN_ID, world.minting), &order);
    let own = sign(&world, &order, BENEFACTOR_KEY);
    let verified = gateway.verify_order_signature(&order, &own).expect("benefactor");
    let expected = VerifiedOrderSignature {
        digest,
        signer: world.benefactor,
        authority: SignerAuthority::Benefactor,
    };
    assert_eq!(verified, expected);

    // Malformed ECDSA: the same OpenZeppelin message from the gateway and from the contract.
    let mut short = own.clone();
    short.signature_bytes.truncate(64);
    let mut high_s = own.clone();
    let s = U256::from_be_slice(&own.signature_bytes[32..64]);
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .expect("n");
    high_s.signature_bytes[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    high_s.signature_bytes[64] ^= 1; // 27 <-> 28: the same signer, malleable form
    for (malformed, message) in
        [(short, "ECDSA: invalid signature length"), (high_s, "ECDSA: invalid signature 's' value")]
    {
        let error = gateway.verify_order_signature(&order, &malformed).expect_err(message);
        assert!(matches!(error, ChainError::SignatureRejected(SignatureRejection::Ecdsa(_))));
        assert_eq!(error.contract_error(), Some(message));
        let contract =
            gateway.submit_mint(&order, &route, &malformed, false, 1).expect_err(message);
        assert_eq!(contract.revert_name(), Some(message));
    }

    let signature = sign(&world, &order, STRANGER_KEY);
    let refused = |gateway: &mut ChainGateway, order: &Order, signature: &Signature| {
        let error = gateway.verify_order_signature(order, signature).expect_err("gateway");
        let status = match &error {
            ChainError::SignatureRejected(SignatureRejection::NotAuthorised {
                signer,
                benefactor,
                status,
            }) if *signer == delegate && *benefactor == world.benefactor => *status,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(error.contract_error(), Some("InvalidEIP712Signature"));
        let error = gateway.submit_mint(order, &route, signature, false, 1).expect_err("contract");
        assert_eq!(error.revert_name(), Some("InvalidEIP712Signature"), "{error:?}");
        status
    };
    assert_eq!(refused(&mut gateway, &order, &signature), DelegatedSignerStatus::Rejected);
    let initiate = ISignerAdmin::setDelegatedSignerCall { delegateTo: delegate };
    world.transact(BENEFACTOR_KEY, world.minting, initiate);
    assert_eq!(refused(&mut gateway, &order, &signature), DelegatedSignerStatus::Pending);

    let confirm = ISignerAdmin::confirmDelegatedSignerCall { delegatedBy: world.benefactor };
    world.transact(STRANGER_KEY, world.minting, confirm);
    let verified = gateway.verify_order_signature(&order, &signature).expect("accepted");
    let expected = VerifiedOrderSignature {
        digest,
        signer: delegate,
        authority: SignerAuthority::DelegatedSigner,
    };
    assert_eq!(verified, expected);
    let usde_before = world.balance(world.usde, world.benefactor);
    let sent = gateway.submit_mint(&order, &route, &signature, false, 71).expect("mint");
    world.wait_mined(sent.tx_hash);
    gateway.poll_now(world.now_s()).expect("poll");
    let all = records(&mut gateway);
    assert!(
        matches!(&outcomes(&all)[..], [SubmissionOutcome::Confirmed { tx, .. }] if tx.tx_hash == sent.tx_hash),
        "{all:?}"
    );
    assert_eq!(mint_log_of(&all).benefactor, world.benefactor, "minted for the benefactor");
    assert_eq!(chain_events(&drain(&mut rx), ChainEventKind::Mint).len(), 1);
    assert_eq!(world.balance(world.usde, world.benefactor), usde_before + U256::from(E18));

    let remove = ISignerAdmin::removeDelegatedSignerCall { removedSigner: delegate };
    world.transact(BENEFACTOR_KEY, world.minting, remove);
    let next = usdt_order(&world, "rfq-delegate-2", 72, 1_000_000, E18);
    let next_signature = sign(&world, &next, STRANGER_KEY);
    assert_eq!(refused(&mut gateway, &next, &next_signature), DelegatedSignerStatus::Rejected);
}

/// Each key has exactly its role: with the minter key loaded as the redeemer too, `redeem` is
/// refused in the pre-flight (nothing is sent) because that account lacks `REDEEMER_ROLE`; the
/// redeemer key in turn cannot mint. Without a redeemer key, a redeem is a typed key error.
#[test]
fn minter_and_redeemer_keys_keep_their_roles() {
    let world = World::deploy();
    let (mut gateway, _rx) = world.gateway_with_redeemer(1, "roles_same", MINTER_KEY);
    let mut redeem = usdt_order(&world, "roles-redeem", 41, 499_000, E18 / 2);
    redeem.order_type = OrderType::Redeem;
    let signature = sign(&world, &redeem, BENEFACTOR_KEY);
    let error = gateway.submit_redeem(&redeem, &signature, 1).expect_err("minter cannot redeem");
    assert!(matches!(error, ChainError::Reverted { .. }), "{error:?}");
    assert!(gateway.core().in_flight().is_empty(), "nothing was sent");

    let mut config = world.config(1, "HEDGER_TEST_MINTER_KEY_ROLES_SAME");
    config.minter_key_env = Some("HEDGER_TEST_REDEEMER_KEY_ROLES_ONLY".into());
    std::env::set_var("HEDGER_TEST_REDEEMER_KEY_ROLES_ONLY", REDEEMER_KEY);
    let keys = ChainKeys::from_env(&config).expect("keys");
    let (tx, _rx2) = hedger_ipc::ring::<Msg>(&world.telemetry, "roles-swapped", 64).expect("ring");
    let mut swapped = ChainGateway::start(config, keys, tx).expect("gateway");
    let order = usdt_order(&world, "roles-mint", 42, 1_000_000, E18);
    let error = swapped
        .submit_mint(
            &order,
            &custody_route(&world),
            &sign(&world, &order, BENEFACTOR_KEY),
            false,
            1,
        )
        .expect_err("redeemer cannot mint");
    assert!(matches!(error, ChainError::Reverted { .. }), "{error:?}");
    let error = swapped.submit_redeem(&redeem, &signature, 2).expect_err("no redeemer key");
    assert!(matches!(error, ChainError::Key { .. }), "{error:?}");
}
