//! The JSON-RPC session: one HTTP provider, every request bounded by a timeout, every failure
//! mapped to a [`ChainError`], reverts decoded to the custom error name.
//!
//! Why a thin wrapper: the gateway must never wait on a node longer than `rpc_timeout_ms`
//! (it shares the cold thread), and a revert must reach callers as a name
//! (`InvalidNonce`), not as a transport error. Only plain `eth_*` methods are used, so any
//! execution client works; anvil-only methods stay in the tests.

use std::future::{Future, IntoFuture};
use std::time::Duration;

use alloy_network::Ethereum;
use alloy_primitives::{Address, Bytes, B256};
use alloy_provider::transport::{RpcError, TransportErrorKind};
use alloy_provider::{Provider, RootProvider};
use alloy_rpc_types_eth::{
    BlockId, BlockNumberOrTag, Filter, Log, TransactionReceipt, TransactionRequest,
};
use alloy_sol_types::SolCall;

use super::abi::RevertDecoder;
use super::error::ChainError;

/// The parts of a block header the gateway tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRef {
    pub number: u64,
    pub hash: B256,
    pub parent_hash: B256,
    pub timestamp_s: u64,
    /// EIP-1559 base fee of this block; 0 before London.
    pub base_fee_per_gas_wei: u64,
}

/// An HTTP JSON-RPC client with a per-request timeout and a revert decoder.
#[derive(Clone, Debug)]
pub struct ChainRpc {
    provider: RootProvider<Ethereum>,
    timeout: Duration,
    decoder: RevertDecoder,
}

impl ChainRpc {
    /// Creates the client (no request is sent yet).
    ///
    /// # Errors
    /// [`ChainError::Config`] for an unusable URL.
    pub async fn connect(
        rpc_url: &str,
        timeout: Duration,
        decoder: RevertDecoder,
    ) -> Result<ChainRpc, ChainError> {
        let provider = RootProvider::<Ethereum>::connect(rpc_url).await.map_err(|error| {
            ChainError::Config { problems: vec![format!("rpc_url {rpc_url:?}: {error}")] }
        })?;
        Ok(ChainRpc { provider, timeout, decoder })
    }

    /// The provider, for callers that need a method this wrapper does not expose.
    pub fn provider(&self) -> &RootProvider<Ethereum> {
        &self.provider
    }

    /// The revert decoder.
    pub fn decoder(&self) -> &RevertDecoder {
        &self.decoder
    }

    /// Runs `request` within the timeout; transport errors become [`ChainError::Rpc`] and
    /// reverts (error responses carrying revert data) become [`ChainError::Reverted`].
    async fn bounded<T>(
        &self,
        method: &'static str,
        request: impl Future<Output = Result<T, RpcError<TransportErrorKind>>>,
    ) -> Result<T, ChainError> {
        match tokio::time::timeout(self.timeout, request).await {
            Err(_) => Err(ChainError::Timeout { method, timeout_ms: millis(self.timeout) }),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.map_rpc_error(method, &error)),
        }
    }

    fn map_rpc_error(
        &self,
        method: &'static str,
        error: &RpcError<TransportErrorKind>,
    ) -> ChainError {
        if let Some(payload) = error.as_error_resp() {
            if let Some(data) = payload.as_revert_data() {
                let error_name = self.decoder.decode(&data).name();
                return ChainError::Reverted { method, error_name, tx_hash: None };
            }
            if payload.message.contains("revert") {
                return ChainError::Reverted {
                    method,
                    error_name: payload.message.to_string(),
                    tx_hash: None,
                };
            }
        }
        ChainError::Rpc { method, detail: error.to_string() }
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        self.bounded("eth_chainId", self.provider.get_chain_id().into_future()).await
    }

    /// `eth_blockNumber`.
    pub async fn block_number(&self) -> Result<u64, ChainError> {
        self.bounded("eth_blockNumber", self.provider.get_block_number().into_future()).await
    }

    /// The header of block `number` (`None` when the node does not have it yet).
    pub async fn block_ref(&self, number: u64) -> Result<Option<BlockRef>, ChainError> {
        let request = self.provider.get_block_by_number(BlockNumberOrTag::Number(number));
        let block = self.bounded("eth_getBlockByNumber", request.into_future()).await?;
        Ok(block.map(|block| BlockRef {
            number: block.header.inner.number,
            hash: block.header.hash,
            parent_hash: block.header.inner.parent_hash,
            timestamp_s: block.header.inner.timestamp,
            base_fee_per_gas_wei: block.header.inner.base_fee_per_gas.unwrap_or(0),
        }))
    }

    /// `eth_getLogs`.
    pub async fn logs(&self, filter: &Filter) -> Result<Vec<Log>, ChainError> {
        self.bounded("eth_getLogs", self.provider.get_logs(filter)).await
    }

    /// `eth_call` of a typed call at `block`, decoding the return data.
    ///
    /// # Errors
    /// [`ChainError::Reverted`] with the decoded name, transport errors, or
    /// [`ChainError::BadResponse`] for return data that does not decode.
    pub async fn call<C: SolCall>(
        &self,
        to: Address,
        call: &C,
        block: BlockId,
    ) -> Result<C::Return, ChainError> {
        let data = self.call_raw(to, call.abi_encode().into(), block).await?;
        C::abi_decode_returns(&data).map_err(|error| ChainError::BadResponse {
            method: "eth_call",
            detail: format!("{}: {error}", C::SIGNATURE),
        })
    }

    /// `eth_call` returning raw bytes (for decoders that judge the bytes themselves).
    pub async fn call_raw(
        &self,
        to: Address,
        data: Bytes,
        block: BlockId,
    ) -> Result<Bytes, ChainError> {
        let request = TransactionRequest::default().to(to).input(data.into());
        self.bounded("eth_call", self.provider.call(request).block(block).into_future()).await
    }

    /// `eth_call` of a full transaction request (used to replay a reverted transaction).
    pub async fn call_request(
        &self,
        request: TransactionRequest,
        block: BlockId,
    ) -> Result<Bytes, ChainError> {
        self.bounded("eth_call", self.provider.call(request).block(block).into_future()).await
    }

    /// `eth_estimateGas` against the pending state; a revert comes back decoded.
    pub async fn estimate_gas(&self, request: TransactionRequest) -> Result<u64, ChainError> {
        let call = self.provider.estimate_gas(request).block(BlockId::pending());
        self.bounded("eth_estimateGas", call.into_future()).await
    }

    /// `eth_getTransactionCount(address, "pending")`.
    pub async fn pending_nonce(&self, address: Address) -> Result<u64, ChainError> {
        let call = self.provider.get_transaction_count(address).pending();
        self.bounded("eth_getTransactionCount", call.into_future()).await
    }

    /// `eth_maxPriorityFeePerGas`.
    pub async fn max_priority_fee(&self) -> Result<u128, ChainError> {
        let call = self.provider.get_max_priority_fee_per_gas();
        self.bounded("eth_maxPriorityFeePerGas", call.into_future()).await
    }

    /// `eth_sendRawTransaction`; returns the hash.
    pub async fn send_raw(&self, encoded: &[u8]) -> Result<B256, ChainError> {
        let pending = self
            .bounded("eth_sendRawTransaction", self.provider.send_raw_transaction(encoded))
            .await?;
        Ok(*pending.tx_hash())
    }

    /// `eth_getTransactionReceipt` (`None` while pending or after being dropped).
    pub async fn receipt(&self, tx_hash: B256) -> Result<Option<TransactionReceipt>, ChainError> {
        let call = self.provider.get_transaction_receipt(tx_hash);
        self.bounded("eth_getTransactionReceipt", call.into_future()).await
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
