//! The chain gateway's async core ([`ChainCore`]): polls the node and turns what it sees into
//! hot-thread messages and cold-thread records. [`super::agent::ChainGateway`] runs it on the
//! cold thread.
//!
//! One poll (`ChainCore::poll`), in order:
//! 1. `head`: `eth_blockNumber`.
//! 2. `tip_check` (tracker rule 2): re-read our tip; pop orphaned blocks, drop their
//!    unconfirmed logs, emit a `Reorg` record and a `Resyncing` status.
//! 3. `walk`: fetch up to `blocks_per_poll_max` new headers, each with its logs (queried by block
//!    hash, so logs and header always belong together), append them (tracker rule 1).
//! 4. `confirm`: publish logs with enough confirmations (tracker rule 3) as `ChainEvent`s.
//! 5. `capacity`: when the tip moved, read caps and totals for the next block and publish the
//!    remaining capacity; a zero global mint cap publishes `MintingDisabled` (once per change).
//! 6. `submissions`: check in-flight transactions for final receipts.
//! 7. `chainlink`: read every configured feed.
//!
//! Messages to the hot thread (`venue` = `chain`, `exchange_ts_ns` = block time):
//! * `ChainEvent{Mint|Redeem}`: `amount` = `usde_amount`, `instrument` = the collateral asset's.
//! * `ChainEvent{CustodyTransfer|Erc20Transfer}`: `amount` = token amount, `instrument` = asset's.
//! * `ChainEvent{MintCapacity|RedeemCapacity}` per asset each new block: `block_number` is the
//!   block the capacity applies to (head + 1), `amount` = remaining USDe base units (the asset's
//!   remaining cap bounded by the global one).
//! * `ChainEvent{MintingDisabled}` when the global mint cap turns 0, `ChainEvent{MintingEnabled}`
//!   when it is non-zero again.
//! * `GatewayStatus` (`instrument` 0): `Down` on RPC failure, `Resyncing` on reorg, `Up` after.
//! * Chainlink `OraclePrice` / `GatewayStatus` (see [`super::chainlink`]).
//!
//! Every other detail (full logs, reorgs, capacity snapshots, submission outcomes) is a
//! [`ChainRecord`] that the owner drains and journals; `ChainEvent::ref_id` is its sequence.
//!
//! Blocking and allocation: every request is bounded by `rpc_timeout_ms`; the core allocates
//! (JSON-RPC), so it belongs on the cold thread.

use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use alloy_rpc_types_eth::Filter;
use alloy_sol_types::SolEvent;
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{Body, ChainEvent, ChainEventKind, GatewayStatus, Msg, Origin, SourceState};
use hedger_core::order::{Order, Route, Signature};

use super::abi::{IErc20, RevertDecoder};
use super::capacity::{read_capacity, CapacitySnapshot};
use super::chainlink::{read_feed, ChainlinkFeedConfig, FeedHealth};
use super::config::ChainConfig;
use super::error::ChainError;
use super::events::{decode_log, ChainLogEvent, DecodedLog, LogDecodeError, LogScope};
use super::keys::TxKey;
use super::rpc::{BlockRef, ChainRpc};
use super::submit::{
    mint_calldata, redeem_calldata, InFlightTx, SubmissionOutcome, SubmitMethod, SubmitPolicy,
    Submitter,
};
use super::tracker::{AppendError, ChainTracker, Rollback};
use super::verify::{verify_order_signature, VerifiedOrderSignature};

/// Reason codes of the chain's own `GatewayStatus` messages (40–49).
pub mod reason {
    /// Polling works again. State `Up`.
    pub const RECOVERED: u32 = 0;
    /// A poll failed (transport, timeout, bad response). State `Down`.
    pub const RPC: u32 = 40;
    /// Blocks were orphaned; `detail` = how many. State `Resyncing`.
    pub const REORG: u32 = 41;
    /// A reorg deeper than the window. State `Down` (terminal).
    pub const DEEP_REORG: u32 = 42;
    /// A log of a known event did not decode. State unchanged (counted).
    pub const LOG_DECODE: u32 = 43;
}

/// The transaction keys, one per role (DESIGN.md: each key has exactly the role it needs).
#[derive(Clone, Debug, Default)]
pub struct ChainKeys {
    /// Sends `mint`/`mintWETH`.
    pub minter: Option<TxKey>,
    /// Sends `redeem`.
    pub redeemer: Option<TxKey>,
}

impl ChainKeys {
    /// Loads the keys named by `config` (`minter_key_env`, `redeemer_key_env`); an unnamed key
    /// is `None` (no submissions of that kind).
    ///
    /// # Errors
    /// [`ChainError::Key`] for a named variable that is unset or not a key.
    pub fn from_env(config: &ChainConfig) -> Result<ChainKeys, ChainError> {
        let load = |var: &Option<String>, role| var.as_deref().map(|v| TxKey::from_env(v, role));
        Ok(ChainKeys {
            minter: load(&config.minter_key_env, "minter").transpose()?,
            redeemer: load(&config.redeemer_key_env, "redeemer").transpose()?,
        })
    }
}

/// Everything the gateway observed, for the cold thread's journal and reconciliation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainRecord {
    /// A confirmed log.
    Log { ref_id: u64, log: DecodedLog, block_timestamp_s: u64 },
    /// Blocks were replaced; `dropped_logs` will not be published unless re-included.
    Reorg { ref_id: u64, rollback: Rollback },
    /// Caps and totals for `snapshot.block_number`.
    Capacity { ref_id: u64, snapshot: CapacitySnapshot },
    /// The global mint cap became zero (`disabled`) or non-zero again.
    MintingDisabled { ref_id: u64, block_number: u64, disabled: bool },
    /// A transaction became final (boxed: it carries the whole request).
    Submission { ref_id: u64, outcome: Box<SubmissionOutcome> },
    /// A log of a known event did not decode.
    BadLog { ref_id: u64, error: LogDecodeError },
}

/// Counters (read by tests and, later, telemetry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainStats {
    pub polls: u64,
    pub poll_failures: u64,
    pub blocks: u64,
    pub reorgs: u64,
    pub orphaned_blocks: u64,
    pub logs_confirmed: u64,
    pub logs_bad: u64,
    pub outbox_dropped: u64,
    pub records_dropped: u64,
}

/// What one poll produced; reused between polls.
#[derive(Debug, Default)]
pub struct ChainOutput {
    pub msgs: Vec<Msg>,
    pub records: Vec<ChainRecord>,
}

/// The async gateway core: usable directly from async code (tests, tools).
#[derive(Debug)]
pub struct ChainCore {
    config: ChainConfig,
    rpc: ChainRpc,
    tracker: ChainTracker,
    scope: LogScope,
    assets: Vec<(Address, InstrumentId)>,
    /// Sends `mint`/`mintWETH` (the key holds `MINTER_ROLE` only).
    minter: Option<Submitter>,
    /// Sends `redeem` (`REDEEMER_ROLE`); `None` with a redeemer key equal to the minter's, which
    /// then sends both so one account keeps one nonce sequence.
    redeemer: Option<Submitter>,
    feeds: Vec<(ChainlinkFeedConfig, FeedHealth)>,
    minting_disabled: Option<bool>,
    /// Tip whose capacity was last published; a failed read is retried on the next poll.
    capacity_tip: Option<B256>,
    /// The redeemer key is the minter key (one submitter sends both).
    redeem_with_minter: bool,
    record_seq: u64,
    pub(crate) stats: ChainStats,
    confirmed: Vec<DecodedLog>,
}

impl ChainCore {
    /// Validates the config, connects and checks the node's chain id.
    ///
    /// # Errors
    /// [`ChainError::Config`], [`ChainError::WrongChain`], transport errors.
    pub async fn connect(config: ChainConfig, keys: ChainKeys) -> Result<ChainCore, ChainError> {
        config.validate()?;
        let decoder = RevertDecoder::ethena_minting_v2().map_err(|error| ChainError::Config {
            problems: vec![format!("embedded V2 ABI: {error}")],
        })?;
        let timeout = Duration::from_millis(config.rpc_timeout_ms);
        let rpc = ChainRpc::connect(&config.rpc_url, timeout, decoder).await?;
        let found = rpc.chain_id().await?;
        if found != config.chain_id {
            return Err(ChainError::WrongChain { expected: config.chain_id, found });
        }
        let policy = SubmitPolicy {
            chain_id: config.chain_id,
            contract: config.minting_contract,
            gas: config.gas,
            confirmations: config.confirmations,
            pending_blocks_max: config.pending_blocks_max,
            in_flight_max: config.submissions_in_flight_max,
        };
        let same_account = matches!(
            (&keys.minter, &keys.redeemer),
            (Some(m), Some(r)) if m.address() == r.address()
        );
        let minter = keys.minter.map(|key| Submitter::new(key, policy));
        let redeemer =
            if same_account { None } else { keys.redeemer.map(|key| Submitter::new(key, policy)) };
        let mut core = ChainCore::assemble(config, rpc);
        core.minter = minter;
        core.redeemer = redeemer;
        core.redeem_with_minter = same_account;
        Ok(core)
    }

    fn assemble(config: ChainConfig, rpc: ChainRpc) -> ChainCore {
        let assets: Vec<(Address, InstrumentId)> =
            config.assets.iter().map(|a| (a.address, InstrumentId(a.instrument))).collect();
        let mut tokens: Vec<Address> = assets.iter().map(|(address, _)| *address).collect();
        tokens.extend(config.watched_tokens.iter().copied());
        let mut watched_wallets = config.custodians.clone();
        watched_wallets.push(config.minting_contract);
        let scope = LogScope { minting_contract: config.minting_contract, tokens, watched_wallets };
        let tracker = ChainTracker::new(
            config.confirmations,
            config.reorg_depth_max,
            config.pending_logs_max,
        );
        let feeds = config.chainlink.iter().map(|f| (f.clone(), FeedHealth::default())).collect();
        ChainCore {
            config,
            rpc,
            tracker,
            scope,
            assets,
            minter: None,
            redeemer: None,
            redeem_with_minter: false,
            feeds,
            minting_disabled: None,
            capacity_tip: None,
            record_seq: 0,
            stats: ChainStats::default(),
            confirmed: Vec::new(),
        }
    }

    /// The RPC client (for last-look reads such as whitelists).
    pub fn rpc(&self) -> &ChainRpc {
        &self.rpc
    }

    /// Counters.
    pub fn stats(&self) -> ChainStats {
        self.stats
    }

    /// Our newest canonical block.
    pub fn tip(&self) -> Option<BlockRef> {
        self.tracker.tip().copied()
    }

    /// Transactions sent and not yet final.
    pub fn in_flight(&self) -> Vec<InFlightTx> {
        let minter = self.minter.iter().flat_map(|s| s.in_flight());
        minter.chain(self.redeemer.iter().flat_map(|s| s.in_flight())).cloned().collect()
    }

    fn next_ref(&mut self) -> u64 {
        self.record_seq += 1;
        self.record_seq
    }

    /// One poll (steps 1–7 of the module docs). `now_s` is the clock for Chainlink heartbeats.
    ///
    /// # Errors
    /// The first [`ChainError`] of steps 1–6; what was done before it is kept and published.
    pub async fn poll(&mut self, now_s: u64, out: &mut ChainOutput) -> Result<(), ChainError> {
        self.stats.polls += 1;
        let head = self.rpc.block_number().await?;
        self.tip_check(out).await?;
        self.walk(head, out).await?;
        self.confirm(head, out);
        let tip = self.tracker.tip().copied();
        if let Some(tip) = tip.filter(|tip| Some(tip.hash) != self.capacity_tip) {
            self.publish_capacity(tip, out).await?;
            self.capacity_tip = Some(tip.hash);
        }
        self.poll_submissions(head, out).await?;
        self.poll_feeds(now_s, out).await;
        Ok(())
    }

    /// Step 2 (`tip_check`).
    async fn tip_check(&mut self, out: &mut ChainOutput) -> Result<(), ChainError> {
        let mut rollback = Rollback::default();
        while let Some(tip) = self.tracker.tip().copied() {
            let canonical = self.rpc.block_ref(tip.number).await?;
            if canonical.map(|block| block.hash) == Some(tip.hash) {
                break;
            }
            if rollback.orphaned.len() >= self.tracker.depth_max() {
                return Err(ChainError::DeepReorg {
                    block_number: tip.number,
                    depth_max: self.tracker.depth_max(),
                });
            }
            self.tracker.pop_orphaned_tip(&mut rollback);
        }
        if rollback.orphaned.is_empty() {
            return Ok(());
        }
        let depth = rollback.orphaned.len() as u64;
        self.stats.reorgs += 1;
        self.stats.orphaned_blocks += depth;
        tracing::warn!(
            depth,
            dropped_logs = rollback.dropped_logs.len(),
            from_block = rollback.orphaned.last().map_or(0, |b| b.number),
            "chain reorg"
        );
        out.msgs.push(chain_status(
            SourceState::Resyncing,
            reason::REORG,
            self.stats.reorgs,
            depth,
        ));
        let ref_id = self.next_ref();
        out.records.push(ChainRecord::Reorg { ref_id, rollback });
        Ok(())
    }

    /// Step 3 (`walk`).
    async fn walk(&mut self, head: u64, out: &mut ChainOutput) -> Result<(), ChainError> {
        let first = match self.tracker.tip() {
            Some(tip) => tip.number + 1,
            None => head,
        };
        let last = head.min(first.saturating_add(self.config.blocks_per_poll_max - 1));
        for number in first..=last {
            let Some(block) = self.rpc.block_ref(number).await? else {
                break;
            };
            let logs = self.block_logs(&block, out).await?;
            match self.tracker.append(block, logs) {
                Ok(()) => self.stats.blocks += 1,
                // The node moved between requests; the next poll's tip check resolves it.
                Err(AppendError::NotLinked { .. }) => break,
                Err(AppendError::LogsFull) => {
                    return Err(ChainError::BadResponse {
                        method: "eth_getLogs",
                        detail: format!(
                            "more than {} unconfirmed logs",
                            self.config.pending_logs_max
                        ),
                    })
                }
            }
        }
        Ok(())
    }

    /// The block's logs of the minting contract and watched-token transfers to watched wallets.
    async fn block_logs(
        &mut self,
        block: &BlockRef,
        out: &mut ChainOutput,
    ) -> Result<Vec<DecodedLog>, ChainError> {
        let minting = Filter::new().at_block_hash(block.hash).address(self.scope.minting_contract);
        let mut raw = self.rpc.logs(&minting).await?;
        if !self.scope.tokens.is_empty() {
            let transfers = Filter::new()
                .at_block_hash(block.hash)
                .address(self.scope.tokens.clone())
                .event_signature(IErc20::Transfer::SIGNATURE_HASH)
                .topic2(
                    self.scope.watched_wallets.iter().map(|w| w.into_word()).collect::<Vec<_>>(),
                );
            raw.extend(self.rpc.logs(&transfers).await?);
        }
        raw.sort_by_key(|log| log.log_index);
        let mut logs = Vec::with_capacity(raw.len());
        for log in &raw {
            match decode_log(log, &self.scope) {
                Ok(Some(decoded)) if decoded.at.block_hash == block.hash => logs.push(decoded),
                Ok(_) => {}
                Err(error) => {
                    self.stats.logs_bad += 1;
                    tracing::warn!(%error, "chain log does not decode");
                    out.msgs.push(chain_status(
                        SourceState::Up,
                        reason::LOG_DECODE,
                        self.stats.logs_bad,
                        error.block_number,
                    ));
                    let ref_id = self.next_ref();
                    out.records.push(ChainRecord::BadLog { ref_id, error });
                }
            }
        }
        Ok(logs)
    }

    /// Step 4 (`confirm`).
    fn confirm(&mut self, head: u64, out: &mut ChainOutput) {
        let mut confirmed = std::mem::take(&mut self.confirmed);
        self.tracker.take_confirmed(head, &mut confirmed);
        for log in confirmed.drain(..) {
            self.stats.logs_confirmed += 1;
            let block_timestamp_s =
                self.tracker.block(log.at.block_number).map_or(0, |b| b.timestamp_s);
            let ref_id = self.next_ref();
            if let Some(msg) = self.log_message(&log, block_timestamp_s, ref_id) {
                out.msgs.push(msg);
            }
            out.records.push(ChainRecord::Log { ref_id, log, block_timestamp_s });
        }
        self.confirmed = confirmed;
    }

    fn instrument_of(&self, asset: Address) -> InstrumentId {
        self.assets.iter().find(|(a, _)| *a == asset).map_or(InstrumentId(0), |(_, id)| *id)
    }

    fn log_message(&self, log: &DecodedLog, timestamp_s: u64, ref_id: u64) -> Option<Msg> {
        let (event, asset, amount) = match log.event {
            ChainLogEvent::Mint(e) => (ChainEventKind::Mint, e.collateral_asset, e.usde_amount),
            ChainLogEvent::Redeem(e) => (ChainEventKind::Redeem, e.collateral_asset, e.usde_amount),
            ChainLogEvent::CustodyTransfer { asset, amount, .. } => {
                (ChainEventKind::CustodyTransfer, asset, amount)
            }
            ChainLogEvent::Erc20Transfer { token, amount, .. } => {
                (ChainEventKind::Erc20Transfer, token, amount)
            }
            ChainLogEvent::Whitelist(_) | ChainLogEvent::LimitChanged { .. } => return None,
        };
        let body = ChainEvent {
            event,
            block_number: log.at.block_number,
            amount: saturating_u128(amount),
            ref_id,
        };
        Some(chain_message(self.instrument_of(asset), timestamp_s, body))
    }

    /// Step 5 (`capacity`).
    async fn publish_capacity(
        &mut self,
        tip: BlockRef,
        out: &mut ChainOutput,
    ) -> Result<(), ChainError> {
        let snapshot =
            read_capacity(&self.rpc, self.config.minting_contract, tip.number, &self.assets)
                .await?;
        let disabled = snapshot.minting_disabled();
        if self.minting_disabled != Some(disabled) {
            let was_known = self.minting_disabled.is_some();
            self.minting_disabled = Some(disabled);
            let ref_id = self.next_ref();
            if disabled || was_known {
                let event = if disabled {
                    tracing::warn!(block = tip.number, "minting disabled: global mint cap is zero");
                    ChainEventKind::MintingDisabled
                } else {
                    tracing::info!(block = tip.number, "minting enabled again");
                    ChainEventKind::MintingEnabled
                };
                let body = ChainEvent { event, block_number: tip.number, amount: 0, ref_id };
                out.msgs.push(chain_message(InstrumentId(0), tip.timestamp_s, body));
            }
            if disabled || was_known {
                let block_number = tip.number;
                out.records.push(ChainRecord::MintingDisabled { ref_id, block_number, disabled });
            }
        }
        for asset in &snapshot.assets {
            for (event, amount) in [
                (ChainEventKind::MintCapacity, asset.mint_remaining_usde),
                (ChainEventKind::RedeemCapacity, asset.redeem_remaining_usde),
            ] {
                let body =
                    ChainEvent { event, block_number: snapshot.block_number, amount, ref_id: 0 };
                out.msgs.push(chain_message(asset.instrument, tip.timestamp_s, body));
            }
        }
        let ref_id = self.next_ref();
        out.records.push(ChainRecord::Capacity { ref_id, snapshot });
        Ok(())
    }

    /// Step 6 (`submissions`).
    async fn poll_submissions(
        &mut self,
        head: u64,
        out: &mut ChainOutput,
    ) -> Result<(), ChainError> {
        let mut outcomes = Vec::new();
        for submitter in self.minter.iter_mut().chain(self.redeemer.iter_mut()) {
            outcomes.extend(submitter.poll(&self.rpc, head).await?);
        }
        for outcome in outcomes {
            log_outcome(&outcome);
            let ref_id = self.next_ref();
            out.records.push(ChainRecord::Submission { ref_id, outcome: Box::new(outcome) });
        }
        Ok(())
    }

    /// Step 7 (`chainlink`): a failing feed is reported, never fails the poll.
    async fn poll_feeds(&mut self, now_s: u64, out: &mut ChainOutput) {
        for (feed, health) in &mut self.feeds {
            let result = read_feed(&self.rpc, feed, now_s).await;
            if let Err(error) = &result {
                tracing::warn!(feed = %feed.name, %error, "chainlink read rejected");
            }
            health.on_result(feed, &result, &mut out.msgs);
        }
    }

    /// Checks `signature` for `order` as the contract's `verifyOrder` would, on the latest block:
    /// EIP-712 against the benefactor or an `ACCEPTED` delegated signer (read from the
    /// contract), EIP-1271 by `eth_call` of the benefactor's `isValidSignature`. Sends nothing.
    ///
    /// # Errors
    /// [`ChainError::SignatureRejected`] (with the contract's error name) when the contract
    /// would revert; [`ChainError::Order`]; transport errors (retryable).
    pub async fn verify_order_signature(
        &self,
        order: &Order,
        signature: &Signature,
    ) -> Result<VerifiedOrderSignature, ChainError> {
        let (chain_id, contract) = (self.config.chain_id, self.config.minting_contract);
        let latest = alloy_rpc_types_eth::BlockId::latest();
        verify_order_signature(&self.rpc, chain_id, contract, order, signature, latest).await
    }

    /// Sends `mint` (or `mintWETH`) for a signed order with the minter key.
    ///
    /// # Errors
    /// [`ChainError::Key`] without a minter key; else as [`Submitter::submit`]: a revert in the
    /// pre-flight is returned with its custom error name and nothing is sent.
    pub async fn submit_mint(
        &mut self,
        order: &Order,
        route: &Route,
        signature: &Signature,
        weth: bool,
        ref_id: u64,
    ) -> Result<InFlightTx, ChainError> {
        let calldata = mint_calldata(order, route, signature, weth)?;
        let method = if weth { SubmitMethod::MintWeth } else { SubmitMethod::Mint };
        let (rpc, submitter) = self.submit_parts(false)?;
        submitter.submit(rpc, method, calldata, ref_id).await
    }

    /// Sends `redeem` for a signed order with the redeemer key (`REDEEMER_ROLE`).
    ///
    /// # Errors
    /// [`ChainError::Key`] without a redeemer key; else as [`ChainCore::submit_mint`].
    pub async fn submit_redeem(
        &mut self,
        order: &Order,
        signature: &Signature,
        ref_id: u64,
    ) -> Result<InFlightTx, ChainError> {
        let calldata = redeem_calldata(order, signature)?;
        let (rpc, submitter) = self.submit_parts(true)?;
        submitter.submit(rpc, SubmitMethod::Redeem, calldata, ref_id).await
    }

    fn submit_parts(&mut self, redeem: bool) -> Result<(&ChainRpc, &mut Submitter), ChainError> {
        let (slot, env_var, reason) = if redeem && !self.redeem_with_minter {
            (&mut self.redeemer, &self.config.redeemer_key_env, "no redeemer key loaded")
        } else {
            (&mut self.minter, &self.config.minter_key_env, "no minter key loaded")
        };
        let env_var = env_var.clone().unwrap_or_default();
        let submitter = slot.as_mut().ok_or(ChainError::Key { env_var, reason })?;
        Ok((&self.rpc, submitter))
    }
}

fn log_outcome(outcome: &SubmissionOutcome) {
    match outcome {
        SubmissionOutcome::Confirmed { tx, block_number, .. } => {
            tracing::info!(method = tx.method.name(), tx_hash = %tx.tx_hash, block_number, "chain tx confirmed");
        }
        SubmissionOutcome::Reverted { tx, error_name, .. } => {
            tracing::warn!(method = tx.method.name(), tx_hash = %tx.tx_hash, %error_name, "chain tx reverted");
        }
        SubmissionOutcome::Dropped { tx } => {
            tracing::warn!(method = tx.method.name(), tx_hash = %tx.tx_hash, "chain tx dropped");
        }
    }
}

fn saturating_u128(amount: U256) -> u128 {
    u128::try_from(amount).unwrap_or(u128::MAX)
}

fn chain_message(instrument: InstrumentId, timestamp_s: u64, body: ChainEvent) -> Msg {
    let mut origin = Origin::new(VenueId::Chain, instrument);
    origin.exchange_ts_ns = timestamp_s.saturating_mul(1_000_000_000);
    Msg::new(origin, Body::ChainEvent(body))
}

pub(crate) fn chain_status(
    state: SourceState,
    reason_code: u32,
    reason_count: u64,
    detail: u64,
) -> Msg {
    let origin = Origin::new(VenueId::Chain, InstrumentId(0));
    Msg::new(
        origin,
        Body::GatewayStatus(GatewayStatus { state, reason_code, reason_count, detail }),
    )
}
