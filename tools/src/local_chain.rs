//! The embedded local chain: an anvil child process running our EthenaMinting V2 implementation,
//! its USDe, the collateral tokens and Chainlink-style aggregators, all deployed at start-up from
//! the committed artifacts in `contracts/out/`.
//!
//! Why: `hedger run` on the embedded defaults must exercise the real chain gateway against a real
//! node (DESIGN.md: simulated venues, local chain, local storage), without any manual step. The
//! deployment mirrors the integration tests' (`tests/chain_anvil.rs`) but stays small: the roles
//! a desk uses (admin, minter, redeemer, gatekeeper), one whitelisted benefactor with funds and
//! approvals, and one aggregator per simulated asset, kept moving by [`ChainPriceDriver`] with
//! the same seeded price path as the oracle simulators (`sim::market`), so Chainlink agrees with
//! Pyth and RedStone.
//!
//! The accounts are anvil's published development accounts (mnemonic `test … junk`): their keys
//! are public and MUST never hold real funds. Transactions are sent with `eth_sendTransaction`
//! from anvil's unlocked accounts, so no key is needed here except the ones handed to the chain
//! gateway (minter, redeemer), which signs locally as in production.
//!
//! Anvil is found at `$HEDGER_ANVIL`, else `$HEDGER_TOOLS_DIR/bin/anvil`, else the repository's
//! `.tools/bin/anvil` (installed by `scripts/install-chain-tools.sh`), else `anvil` on `PATH`.
//! The child gets `PR_SET_PDEATHSIG`, so it dies with hedger even on `kill -9`.

use std::future::IntoFuture;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy_network::TransactionBuilder;
use alloy_primitives::{keccak256, Address, Bytes, I256, U256};
use alloy_provider::{Provider, RootProvider};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_sol_types::{sol, SolCall, SolValue};
use hedger_ipc::runtime::Agent;

use crate::sim::market::{self, SimAsset};

/// Chain id of the local node.
pub const LOCAL_CHAIN_ID: u64 = 31_337;
/// Anvil development account #1: holds `MINTER_ROLE` only.
pub const DEV_MINTER_KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// Anvil development account #4: holds `REDEEMER_ROLE` only.
pub const DEV_REDEEMER_KEY: &str =
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
/// Anvil development accounts #0–#4 (admin, minter, benefactor, gatekeeper, redeemer).
pub const DEV_ADMIN: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
pub const DEV_MINTER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
pub const DEV_BENEFACTOR: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
pub const DEV_GATEKEEPER: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
pub const DEV_REDEEMER: &str = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";

const E18: u128 = 1_000_000_000_000_000_000;
/// Per-asset and global per-block caps of the embedded deployment, in USDe base units.
pub const LOCAL_MINT_CAP_PER_BLOCK: u128 = 1_000_000 * E18;
/// Per-asset and global redeem caps per block.
pub const LOCAL_REDEEM_CAP_PER_BLOCK: u128 = 500_000 * E18;
/// Decimals of every embedded aggregator (Chainlink USD feeds use 8).
pub const AGGREGATOR_DECIMALS: u8 = 8;

sol! {
    struct LocalTokenConfig { uint8 tokenType; bool isActive; uint128 maxMintPerBlock; uint128 maxRedeemPerBlock; }
    struct LocalGlobalConfig { uint128 globalMaxMintPerBlock; uint128 globalMaxRedeemPerBlock; }
    interface ILocalAdmin {
        function grantRole(bytes32 role, address account) external;
        function addWhitelistedBenefactor(address benefactor) external;
        function setMinter(address newMinter) external;
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function updateRoundData(int256 answer, uint256 updatedAt) external;
        function deposit() external payable;
        function transfer(address to, uint256 amount) external returns (bool);
    }
}

/// Why the local chain could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalChainError {
    #[error(
        "anvil not found (tried $HEDGER_ANVIL, $HEDGER_TOOLS_DIR/bin/anvil, {repo_tools}, PATH): \
         run `bash scripts/install-chain-tools.sh`, or set [chain] embedded_node = false"
    )]
    AnvilMissing { repo_tools: String },
    #[error("cannot start {binary}: {source}")]
    Spawn { binary: String, source: std::io::Error },
    #[error("anvil did not listen on a loopback port within {waited_ms} ms (3 attempts)")]
    NotReady { waited_ms: u64 },
    #[error("embedded artifact {name}: {reason}")]
    Artifact { name: &'static str, reason: String },
    #[error("deploying the local chain: {step}: {reason}")]
    Deploy { step: String, reason: String },
}

/// One collateral token of the deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalToken {
    pub symbol: &'static str,
    pub address: Address,
    pub decimals: u8,
}

/// One aggregator of the deployment, quoting `asset` in USD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalFeed {
    /// `"ETH/USD"`.
    pub name: String,
    pub asset: SimAsset,
    pub aggregator: Address,
}

/// Addresses of everything deployed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    pub minting: Address,
    pub usde: Address,
    /// USDT, USDC (6 decimals), stETH, WETH (18).
    pub tokens: Vec<LocalToken>,
    pub custodians: [Address; 2],
    pub benefactor: Address,
    pub admin: Address,
    pub feeds: Vec<LocalFeed>,
}

/// A running anvil with the deployment; the child is killed on drop.
pub struct LocalChain {
    child: Child,
    pub rpc_url: String,
    pub deployment: Deployment,
    /// Seed of the aggregators' price path (the oracle simulators' seed).
    pub seed: u64,
}

impl std::fmt::Debug for LocalChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalChain")
            .field("rpc_url", &self.rpc_url)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl Drop for LocalChain {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The anvil binary, by the rule in the module docs.
///
/// # Errors
/// [`LocalChainError::AnvilMissing`].
pub fn find_anvil() -> Result<PathBuf, LocalChainError> {
    let repo_tools = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.tools"));
    let mut candidates = Vec::new();
    if let Some(path) = std::env::var_os("HEDGER_ANVIL") {
        candidates.push(PathBuf::from(path));
    }
    if let Some(dir) = std::env::var_os("HEDGER_TOOLS_DIR") {
        candidates.push(PathBuf::from(dir).join("bin/anvil"));
    }
    candidates.push(repo_tools.join("bin/anvil"));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("anvil")));
    }
    candidates.into_iter().find(|path| path.is_file()).ok_or_else(|| {
        LocalChainError::AnvilMissing { repo_tools: repo_tools.display().to_string() }
    })
}

impl LocalChain {
    /// Starts anvil on a free loopback port, deploys everything (automining, so it takes well
    /// under a second), then switches the node to one block every `block_time_s`.
    ///
    /// # Errors
    /// [`LocalChainError`] naming the step that failed; the child is killed.
    pub fn start(block_time_s: u64, seed: u64) -> Result<LocalChain, LocalChainError> {
        let binary = find_anvil()?;
        let (child, rpc_url) = spawn_ready(&binary)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| deploy_error("tokio runtime", e))?;
        let mut chain = LocalChain { child, rpc_url, deployment: Deployment::empty(), seed };
        let provider = connect(&chain.rpc_url)?;
        chain.deployment = runtime.block_on(deploy(&provider, seed))?;
        let interval = serde_json::json!([block_time_s.max(1)]);
        runtime
            .block_on(
                provider
                    .raw_request::<_, serde_json::Value>("evm_setIntervalMining".into(), interval),
            )
            .map_err(|e| deploy_error("evm_setIntervalMining", e))?;
        Ok(chain)
    }

    /// The process id of the node (for operators and tests).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The driver that keeps the aggregators on the simulated market's price path.
    ///
    /// # Errors
    /// [`LocalChainError::Deploy`] if its runtime cannot be built.
    pub fn price_driver(&self, update_every_ms: u64) -> Result<ChainPriceDriver, LocalChainError> {
        ChainPriceDriver::new(self, update_every_ms)
    }
}

fn deploy_error(step: impl Into<String>, reason: impl std::fmt::Display) -> LocalChainError {
    LocalChainError::Deploy { step: step.into(), reason: reason.to_string() }
}

fn connect(rpc_url: &str) -> Result<RootProvider, LocalChainError> {
    let url = rpc_url.parse().map_err(|e| deploy_error("rpc url", e))?;
    Ok(RootProvider::new_http(url))
}

fn spawn_ready(binary: &std::path::Path) -> Result<(Child, String), LocalChainError> {
    // One start at a time per process: two starts must not race for the same free port.
    static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = STARTING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let limit = Duration::from_secs(10);
    for _attempt in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|source| LocalChainError::Spawn { binary: "a loopback port".into(), source })?
            .port();
        let mut command = Command::new(binary);
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--silent"])
            .args(["--chain-id", &LOCAL_CHAIN_ID.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        die_with_parent(&mut command);
        let mut child = command.spawn().map_err(|source| LocalChainError::Spawn {
            binary: binary.display().to_string(),
            source,
        })?;
        if wait_listening(&mut child, port, limit) {
            return Ok((child, format!("http://127.0.0.1:{port}")));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    Err(LocalChainError::NotReady { waited_ms: 3 * limit.as_millis() as u64 })
}

#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only calls prctl, which is
    // async-signal-safe; it allocates nothing and touches no lock.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
}

fn wait_listening(child: &mut Child, port: u16, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // Ours, not another process holding the port: still running a moment later.
            std::thread::sleep(Duration::from_millis(20));
            return matches!(child.try_wait(), Ok(None));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn artifact(name: &'static str) -> Result<Vec<u8>, LocalChainError> {
    let text = match name {
        "USDe" => include_str!("../../contracts/out/USDe.json"),
        "MockERC20" => include_str!("../../contracts/out/MockERC20.json"),
        "MockWETH" => include_str!("../../contracts/out/MockWETH.json"),
        "EthenaMinting" => include_str!("../../contracts/out/EthenaMinting.json"),
        "MockAggregator" => include_str!("../../contracts/out/MockAggregator.json"),
        _ => return Err(LocalChainError::Artifact { name, reason: "not embedded".into() }),
    };
    let bad = |reason: &str| LocalChainError::Artifact { name, reason: reason.to_string() };
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let hex = json["bytecode"].as_str().ok_or_else(|| bad("no bytecode field"))?;
    hedger_core::oracle::bytes::decode_hex(hex.trim_start_matches("0x"))
        .map_err(|_| bad("bytecode is not hex"))
}

fn dev_address(text: &str) -> Address {
    text.parse().unwrap_or(Address::ZERO)
}

impl Deployment {
    fn empty() -> Deployment {
        Deployment {
            minting: Address::ZERO,
            usde: Address::ZERO,
            tokens: Vec::new(),
            custodians: [Address::repeat_byte(0xc1), Address::repeat_byte(0xc2)],
            benefactor: dev_address(DEV_BENEFACTOR),
            admin: dev_address(DEV_ADMIN),
            feeds: Vec::new(),
        }
    }

    /// The token with this symbol.
    pub fn token(&self, symbol: &str) -> Option<&LocalToken> {
        self.tokens.iter().find(|token| token.symbol == symbol)
    }
}

async fn deploy(provider: &RootProvider, seed: u64) -> Result<Deployment, LocalChainError> {
    let mut out = Deployment::empty();
    let admin = out.admin;
    out.usde = deploy_contract(provider, "USDe", admin.abi_encode()).await?;
    for (symbol, name, decimals) in
        [("USDT", "Tether USD", 6u8), ("USDC", "USD Coin", 6), ("stETH", "Liquid staked Ether", 18)]
    {
        let args = (name, symbol, U256::from(decimals)).abi_encode_params();
        let address = deploy_contract(provider, "MockERC20", args).await?;
        out.tokens.push(LocalToken { symbol, address, decimals });
    }
    let weth = deploy_contract(provider, "MockWETH", Vec::new()).await?;
    out.tokens.push(LocalToken { symbol: "WETH", address: weth, decimals: 18 });
    let config = |stable: bool| LocalTokenConfig {
        tokenType: u8::from(!stable),
        isActive: true,
        maxMintPerBlock: LOCAL_MINT_CAP_PER_BLOCK,
        maxRedeemPerBlock: LOCAL_REDEEM_CAP_PER_BLOCK,
    };
    let args = (
        out.usde,
        weth,
        out.tokens.iter().map(|t| t.address).collect::<Vec<_>>(),
        out.tokens.iter().map(|t| config(t.decimals == 6)).collect::<Vec<_>>(),
        LocalGlobalConfig {
            globalMaxMintPerBlock: LOCAL_MINT_CAP_PER_BLOCK,
            globalMaxRedeemPerBlock: LOCAL_REDEEM_CAP_PER_BLOCK,
        },
        out.custodians.to_vec(),
        admin,
    )
        .abi_encode_params();
    out.minting = deploy_contract(provider, "EthenaMinting", args).await?;
    grant_roles(provider, &out).await?;
    fund(provider, &out).await?;
    let now_ms = hedger_ipc::clock::unix_ms();
    for asset in market::default_assets() {
        let answer = I256::try_from(market::price_e8(seed, &asset, now_ms, 0))
            .map_err(|e| deploy_error("aggregator answer", e))?;
        let description = format!("{} / USD", asset.name);
        let args =
            (U256::from(AGGREGATOR_DECIMALS), description.clone(), answer).abi_encode_params();
        let aggregator = deploy_contract(provider, "MockAggregator", args).await?;
        out.feeds.push(LocalFeed { name: format!("{}/USD", asset.name), asset, aggregator });
    }
    Ok(out)
}

async fn grant_roles(provider: &RootProvider, out: &Deployment) -> Result<(), LocalChainError> {
    let admin = out.admin;
    send(provider, admin, out.usde, ILocalAdmin::setMinterCall { newMinter: out.minting }).await?;
    for (role, account) in [
        ("MINTER_ROLE", dev_address(DEV_MINTER)),
        ("REDEEMER_ROLE", dev_address(DEV_REDEEMER)),
        ("GATEKEEPER_ROLE", dev_address(DEV_GATEKEEPER)),
    ] {
        let call = ILocalAdmin::grantRoleCall { role: keccak256(role), account };
        send(provider, admin, out.minting, call).await?;
    }
    let call = ILocalAdmin::addWhitelistedBenefactorCall { benefactor: out.benefactor };
    send(provider, admin, out.minting, call).await
}

/// The benefactor gets 10M of each mock token (1 000 WETH, wrapped from its dev-account ETH) and
/// approves the contract for them and for USDe; the contract holds 1M of each (100 WETH) for
/// redemptions.
async fn fund(provider: &RootProvider, out: &Deployment) -> Result<(), LocalChainError> {
    for token in &out.tokens {
        let unit = U256::from(10u8).pow(U256::from(token.decimals));
        if token.symbol == "WETH" {
            let deposit = ILocalAdmin::depositCall {};
            send_value(provider, out.benefactor, token.address, &deposit, unit * U256::from(1_000))
                .await?;
            send_value(provider, out.admin, token.address, &deposit, unit * U256::from(100))
                .await?;
            let call =
                ILocalAdmin::transferCall { to: out.minting, amount: unit * U256::from(100) };
            send(provider, out.admin, token.address, call).await?;
            continue;
        }
        for (to, units) in [(out.benefactor, 10_000_000u64), (out.minting, 1_000_000)] {
            let call = ILocalAdmin::mintCall { to, amount: unit * U256::from(units) };
            send(provider, out.admin, token.address, call).await?;
        }
    }
    let approvals = out.tokens.iter().map(|t| t.address).chain([out.usde]);
    for token in approvals.collect::<Vec<_>>() {
        let call = ILocalAdmin::approveCall { spender: out.minting, amount: U256::MAX };
        send(provider, out.benefactor, token, call).await?;
    }
    Ok(())
}

async fn deploy_contract(
    provider: &RootProvider,
    name: &'static str,
    args: Vec<u8>,
) -> Result<Address, LocalChainError> {
    let mut code = artifact(name)?;
    code.extend(args);
    let request = TransactionRequest::default()
        .with_from(dev_address(DEV_ADMIN))
        .with_deploy_code(Bytes::from(code));
    let receipt = bounded(name, async {
        provider.send_transaction(request).await?.get_receipt().await.map_err(Into::into)
    })
    .await?;
    if !receipt.status() {
        return Err(deploy_error(format!("deploy {name}"), "reverted"));
    }
    receipt.contract_address.ok_or_else(|| deploy_error(format!("deploy {name}"), "no address"))
}

async fn send<C: SolCall>(
    provider: &RootProvider,
    from: Address,
    to: Address,
    call: C,
) -> Result<(), LocalChainError> {
    send_value(provider, from, to, &call, U256::ZERO).await
}

async fn send_value<C: SolCall>(
    provider: &RootProvider,
    from: Address,
    to: Address,
    call: &C,
    value_wei: U256,
) -> Result<(), LocalChainError> {
    let request = TransactionRequest::default()
        .with_from(from)
        .with_to(to)
        .with_value(value_wei)
        .with_input(Bytes::from(call.abi_encode()));
    let receipt = bounded(C::SIGNATURE, async {
        provider.send_transaction(request).await?.get_receipt().await.map_err(Into::into)
    })
    .await?;
    if receipt.status() {
        Ok(())
    } else {
        Err(deploy_error(C::SIGNATURE, "reverted"))
    }
}

type SendResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

async fn bounded<T>(
    step: &str,
    future: impl std::future::Future<Output = SendResult<T>>,
) -> Result<T, LocalChainError> {
    match tokio::time::timeout(Duration::from_secs(10), future).await {
        Err(_) => Err(deploy_error(step, "no receipt within 10 s")),
        Ok(Err(error)) => Err(deploy_error(step, error)),
        Ok(Ok(value)) => Ok(value),
    }
}

/// Counters of the price driver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PriceDriverStats {
    pub updates_sent: u64,
    pub update_failures: u64,
}

/// A cold-thread agent that writes a new round to every aggregator each `update_every_ms`
/// (`updateRoundData(price_e8(seed, asset, now), now_s)`, fire and forget: the chain gateway
/// reads the round back like any Chainlink feed). Failures are counted and logged, never fatal.
pub struct ChainPriceDriver {
    runtime: tokio::runtime::Runtime,
    provider: RootProvider,
    admin: Address,
    feeds: Vec<LocalFeed>,
    seed: u64,
    every: Duration,
    next_at: Instant,
    stats: PriceDriverStats,
}

impl ChainPriceDriver {
    fn new(chain: &LocalChain, update_every_ms: u64) -> Result<ChainPriceDriver, LocalChainError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| deploy_error("tokio runtime", e))?;
        Ok(ChainPriceDriver {
            runtime,
            provider: connect(&chain.rpc_url)?,
            admin: chain.deployment.admin,
            feeds: chain.deployment.feeds.clone(),
            seed: chain.seed,
            every: Duration::from_millis(update_every_ms.max(100)),
            next_at: Instant::now(),
            stats: PriceDriverStats::default(),
        })
    }

    /// Counters.
    pub fn stats(&self) -> PriceDriverStats {
        self.stats
    }

    /// Sends one round to every aggregator now; returns how many were accepted by the node.
    pub fn update_now(&mut self, now_ms: u64) -> usize {
        let mut sent = 0;
        for index in 0..self.feeds.len() {
            let feed = self.feeds[index].clone();
            let price_e8 = market::price_e8(self.seed, &feed.asset, now_ms, 0);
            let call = ILocalAdmin::updateRoundDataCall {
                answer: I256::try_from(price_e8).unwrap_or(I256::ONE),
                updatedAt: U256::from(now_ms / 1000),
            };
            let request = TransactionRequest::default()
                .with_from(self.admin)
                .with_to(feed.aggregator)
                .with_input(Bytes::from(call.abi_encode()));
            let send = self.provider.send_transaction(request).into_future();
            // The timer must be created inside the runtime.
            let bounded = async { tokio::time::timeout(Duration::from_millis(500), send).await };
            match self.runtime.block_on(bounded) {
                Ok(Ok(_pending)) => {
                    sent += 1;
                    self.stats.updates_sent += 1;
                }
                Ok(Err(error)) => self.note_failure(&feed.name, &error.to_string()),
                Err(_) => self.note_failure(&feed.name, "timed out after 500 ms"),
            }
        }
        sent
    }

    fn note_failure(&mut self, feed: &str, error: &str) {
        self.stats.update_failures += 1;
        tracing::warn!(
            feed,
            error,
            failures = self.stats.update_failures,
            "aggregator update failed"
        );
    }
}

impl Agent for ChainPriceDriver {
    fn do_work(&mut self) -> usize {
        if Instant::now() < self.next_at {
            return 0;
        }
        self.next_at = Instant::now() + self.every;
        self.update_now(hedger_ipc::clock::unix_ms()).max(1)
    }
}
