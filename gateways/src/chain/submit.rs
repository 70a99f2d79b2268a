//! Submission of `mint` / `mintWETH` / `redeem` with the minter (or redeemer) key.
//!
//! Procedure per transaction (each step is a function below):
//! 1. `preflight`: `eth_estimateGas` on the pending state. A revert here is reported with its
//!    custom error name and **nothing is sent** (no gas spent, no nonce used).
//! 2. `gas`: limit = estimate × (100 + `gas_limit_margin_pct`) / 100, rounded up; EIP-1559 fees:
//!    priority = `priority_fee_per_gas_wei`, max = 2 × latest base fee + priority, refused above
//!    `max_fee_per_gas_wei_max` (we never overpay silently).
//! 3. `nonce`: our own counter, seeded from `eth_getTransactionCount(pending)` and re-seeded after
//!    any send error or dropped transaction, so a failed send never leaves a gap.
//! 4. `send`: sign locally (alloy `EthereumWallet`), `eth_sendRawTransaction`.
//! 5. `track`: each poll asks for the receipt; a receipt with `confirmations` blocks on top (counting
//!    its own) is final. A failed receipt is replayed with `eth_call` on its block's state to
//!    recover the revert data and name. A transaction without a receipt for
//!    `pending_blocks_max` blocks is reported dropped.
//!
//! Blocking: every step is one bounded RPC request (see [`ChainRpc`]); waiting for
//! confirmations is done by polling [`Submitter::poll`], never by sleeping.

use alloy_network::{
    eip2718::Encodable2718, EthereumWallet, NetworkTransactionBuilder, TransactionBuilder,
};
use alloy_primitives::{Address, Bytes, B256};
use alloy_rpc_types_eth::{BlockId, TransactionRequest};
use alloy_sol_types::SolCall;
use hedger_core::order::abi::{order_call, route_call, signature_call, IEthenaMintingV2};
use hedger_core::order::{Order, Route, Signature};
use serde::Deserialize;

use super::error::ChainError;
use super::keys::TxKey;
use super::rpc::ChainRpc;

/// Gas and fee policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GasConfig {
    /// Head-room added to the estimate, percent.
    pub gas_limit_margin_pct: u64,
    /// EIP-1559 tip per gas.
    pub priority_fee_per_gas_wei: u128,
    /// Refuse to send when `2 × base fee + tip` is above this.
    pub max_fee_per_gas_wei_max: u128,
}

impl Default for GasConfig {
    fn default() -> Self {
        GasConfig {
            gas_limit_margin_pct: 20,
            priority_fee_per_gas_wei: 1_000_000_000,
            max_fee_per_gas_wei_max: 300_000_000_000,
        }
    }
}

/// The contract function a transaction calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitMethod {
    Mint,
    MintWeth,
    Redeem,
}

impl SubmitMethod {
    /// The Solidity function name.
    pub fn name(self) -> &'static str {
        match self {
            SubmitMethod::Mint => "mint",
            SubmitMethod::MintWeth => "mintWETH",
            SubmitMethod::Redeem => "redeem",
        }
    }
}

/// Calldata of `mint(order, route, signature)` (or `mintWETH` when `weth`).
///
/// # Errors
/// [`ChainError::Order`] when a field exceeds its calldata width.
pub fn mint_calldata(
    order: &Order,
    route: &Route,
    signature: &Signature,
    weth: bool,
) -> Result<Bytes, ChainError> {
    let (order, route, signature) =
        (order_call(order)?, route_call(route), signature_call(signature));
    let data = if weth {
        IEthenaMintingV2::mintWETHCall { order, route, signature }.abi_encode()
    } else {
        IEthenaMintingV2::mintCall { order, route, signature }.abi_encode()
    };
    Ok(data.into())
}

/// Calldata of `redeem(order, signature)`.
///
/// # Errors
/// [`ChainError::Order`] when a field exceeds its calldata width.
pub fn redeem_calldata(order: &Order, signature: &Signature) -> Result<Bytes, ChainError> {
    let call = IEthenaMintingV2::redeemCall {
        order: order_call(order)?,
        signature: signature_call(signature),
    };
    Ok(call.abi_encode().into())
}

/// A sent transaction waiting for its confirmations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlightTx {
    pub method: SubmitMethod,
    pub tx_hash: B256,
    pub nonce: u64,
    /// Head when it was sent.
    pub sent_head: u64,
    /// Our reference (e.g. the RFQ id) echoed in the outcome.
    pub ref_id: u64,
    request: TransactionRequest,
}

/// How a transaction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmissionOutcome {
    /// Included and confirmed.
    Confirmed { tx: InFlightTx, block_number: u64, block_hash: B256, gas_used: u64 },
    /// Included, failed; `error_name` is the decoded custom error.
    Reverted { tx: InFlightTx, block_number: u64, error_name: String },
    /// No receipt for `pending_blocks_max` blocks.
    Dropped { tx: InFlightTx },
}

/// Where and how a [`Submitter`] sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubmitPolicy {
    pub chain_id: u64,
    pub contract: Address,
    pub gas: GasConfig,
    /// Blocks on top of the receipt's block (counting it) before the outcome is final.
    pub confirmations: u64,
    /// Blocks without a receipt before a transaction is reported dropped.
    pub pending_blocks_max: u64,
    pub in_flight_max: usize,
}

/// Submits and tracks transactions of one key.
#[derive(Debug)]
pub struct Submitter {
    key: TxKey,
    wallet: EthereumWallet,
    policy: SubmitPolicy,
    next_nonce: Option<u64>,
    in_flight: Vec<InFlightTx>,
}

impl Submitter {
    /// A submitter signing with `key` under `policy`.
    pub fn new(key: TxKey, policy: SubmitPolicy) -> Submitter {
        let wallet = key.wallet();
        let policy = SubmitPolicy { confirmations: policy.confirmations.max(1), ..policy };
        Submitter {
            key,
            wallet,
            policy,
            next_nonce: None,
            in_flight: Vec::with_capacity(policy.in_flight_max),
        }
    }

    /// The sending account.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// Transactions sent and not yet final.
    pub fn in_flight(&self) -> &[InFlightTx] {
        &self.in_flight
    }

    /// Steps 1–4: checks, prices, signs and sends `calldata` to the contract.
    ///
    /// # Errors
    /// [`ChainError::Reverted`] (nothing sent) with the custom error name,
    /// [`ChainError::FeeCapExceeded`], [`ChainError::TooManyInFlight`], transport errors.
    pub async fn submit(
        &mut self,
        rpc: &ChainRpc,
        method: SubmitMethod,
        calldata: Bytes,
        ref_id: u64,
    ) -> Result<InFlightTx, ChainError> {
        if self.in_flight.len() >= self.policy.in_flight_max {
            return Err(ChainError::TooManyInFlight {
                in_flight_count: self.in_flight.len(),
                in_flight_max: self.policy.in_flight_max,
            });
        }
        let request = TransactionRequest::default()
            .with_from(self.key.address())
            .with_to(self.policy.contract)
            .with_input(calldata);
        let gas_limit = self.preflight(rpc, method, request.clone()).await?;
        let (head, max_fee, priority_fee) = self.fees(rpc).await?;
        let nonce = self.nonce(rpc).await?;
        let request = request
            .with_nonce(nonce)
            .with_chain_id(self.policy.chain_id)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority_fee);
        let (tx_hash, encoded) = self.sign(request.clone()).await?;
        // Tracked before the send: if this future is cancelled (poll budget) while the node
        // already has the transaction, it is still followed to its receipt, or reported
        // dropped (and the nonce re-seeded) if it never arrived.
        let tx = InFlightTx { method, tx_hash, nonce, sent_head: head, ref_id, request };
        self.in_flight.push(tx.clone());
        self.next_nonce = Some(nonce + 1);
        if let Err(error) = rpc.send_raw(&encoded).await {
            self.in_flight.retain(|t| t.tx_hash != tx_hash);
            self.next_nonce = None;
            return Err(error);
        }
        tracing::info!(method = method.name(), %tx_hash, nonce, ref_id, "chain tx sent");
        Ok(tx)
    }

    /// Step 1 (`preflight`) and the gas limit of step 2.
    async fn preflight(
        &self,
        rpc: &ChainRpc,
        method: SubmitMethod,
        request: TransactionRequest,
    ) -> Result<u64, ChainError> {
        let estimate = rpc.estimate_gas(request).await.map_err(|error| match error {
            ChainError::Reverted { error_name, .. } => {
                ChainError::Reverted { method: method.name(), error_name, tx_hash: None }
            }
            other => other,
        })?;
        let margin = u128::from(100 + self.policy.gas.gas_limit_margin_pct);
        let limit = (u128::from(estimate) * margin).div_ceil(100);
        Ok(u64::try_from(limit).unwrap_or(u64::MAX))
    }

    /// Step 2 (`gas`): the fee caps; returns `(head, max_fee, priority_fee)`.
    async fn fees(&self, rpc: &ChainRpc) -> Result<(u64, u128, u128), ChainError> {
        let head = rpc.block_number().await?;
        let block = rpc.block_ref(head).await?.ok_or(ChainError::BadResponse {
            method: "eth_getBlockByNumber",
            detail: format!("head block {head} missing"),
        })?;
        let priority = self.policy.gas.priority_fee_per_gas_wei;
        let needed =
            u128::from(block.base_fee_per_gas_wei).saturating_mul(2).saturating_add(priority);
        if needed > self.policy.gas.max_fee_per_gas_wei_max {
            return Err(ChainError::FeeCapExceeded {
                needed_wei: needed,
                cap_wei: self.policy.gas.max_fee_per_gas_wei_max,
            });
        }
        Ok((head, needed, priority))
    }

    /// Step 3 (`nonce`).
    async fn nonce(&mut self, rpc: &ChainRpc) -> Result<u64, ChainError> {
        match self.next_nonce {
            Some(nonce) => Ok(nonce),
            None => rpc.pending_nonce(self.key.address()).await,
        }
    }

    /// Step 4 (`send`), first half: signs locally; returns the hash and the raw transaction.
    /// The second half (`eth_sendRawTransaction`) is in [`Submitter::submit`]; any failure
    /// there re-seeds the nonce from the node.
    async fn sign(&self, request: TransactionRequest) -> Result<(B256, Vec<u8>), ChainError> {
        let envelope = request.build(&self.wallet).await.map_err(|error| {
            ChainError::BadResponse { method: "sign", detail: error.to_string() }
        })?;
        Ok((*envelope.tx_hash(), envelope.encoded_2718()))
    }

    /// Step 5 (`track`): checks every in-flight transaction at `head`; returns the final ones.
    ///
    /// # Errors
    /// Transport errors (the in-flight set is unchanged; call again).
    pub async fn poll(
        &mut self,
        rpc: &ChainRpc,
        head: u64,
    ) -> Result<Vec<SubmissionOutcome>, ChainError> {
        let mut outcomes = Vec::new();
        let mut index = 0;
        while index < self.in_flight.len() {
            let tx = &self.in_flight[index];
            match self.outcome(rpc, tx, head).await? {
                Some(outcome) => {
                    if matches!(outcome, SubmissionOutcome::Dropped { .. }) {
                        self.next_nonce = None;
                    }
                    self.in_flight.remove(index);
                    outcomes.push(outcome);
                }
                None => index += 1,
            }
        }
        Ok(outcomes)
    }

    async fn outcome(
        &self,
        rpc: &ChainRpc,
        tx: &InFlightTx,
        head: u64,
    ) -> Result<Option<SubmissionOutcome>, ChainError> {
        let Some(receipt) = rpc.receipt(tx.tx_hash).await? else {
            let waited_blocks = head.saturating_sub(tx.sent_head);
            return Ok((waited_blocks > self.policy.pending_blocks_max)
                .then(|| SubmissionOutcome::Dropped { tx: tx.clone() }));
        };
        let (Some(block_number), Some(block_hash)) = (receipt.block_number, receipt.block_hash)
        else {
            return Ok(None);
        };
        if head + 1 < block_number + self.policy.confirmations {
            return Ok(None);
        }
        if receipt.status() {
            let gas_used = receipt.gas_used;
            return Ok(Some(SubmissionOutcome::Confirmed {
                tx: tx.clone(),
                block_number,
                block_hash,
                gas_used,
            }));
        }
        let error_name = self.replay_revert(rpc, tx, block_number).await;
        Ok(Some(SubmissionOutcome::Reverted { tx: tx.clone(), block_number, error_name }))
    }

    /// Re-executes a failed transaction on the state after its block to get the revert data
    /// (receipts carry none). That state includes the transactions before it in the block (a
    /// nonce used by an earlier one, a cap filled by it), which a replay on the parent would
    /// miss; transactions after it could in principle change the answer, so the name is best
    /// effort. An empty string means the replay succeeded or gave no data.
    async fn replay_revert(&self, rpc: &ChainRpc, tx: &InFlightTx, block_number: u64) -> String {
        let at = BlockId::number(block_number);
        let mut request = tx.request.clone();
        request.nonce = None;
        match rpc.call_request(request, at).await {
            Err(ChainError::Reverted { error_name, .. }) => error_name,
            _ => String::new(),
        }
    }
}
