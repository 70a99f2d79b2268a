//! The synchronous face of the chain gateway: a cold-thread [`Agent`] that owns a
//! current-thread tokio runtime and drives one [`ChainCore::poll`] per `poll_interval_ms`.
//!
//! Blocking: `do_work` returns at once between polls; a poll blocks the thread at most
//! `poll_budget_ms` (each request also at most `rpc_timeout_ms`). Submissions through
//! [`ChainGateway::submit_mint`] are bounded the same way and never wait for confirmations:
//! outcomes arrive as [`ChainRecord::Submission`] on later polls. Queues are bounded
//! (`outbox_max` messages waiting for ring space, `records_max` records waiting to be drained);
//! overflow is counted in [`ChainStats`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hedger_core::ids::VenueId;
use hedger_core::msg::{Body, GatewayStatus, Msg, SourceState};
use hedger_core::order::{Order, Route, Signature};
use hedger_ipc::runtime::Agent;
use hedger_ipc::RingProducer;

use super::config::ChainConfig;
use super::error::ChainError;
use super::gateway::{
    chain_status, reason, ChainCore, ChainKeys, ChainOutput, ChainRecord, ChainStats,
};
use super::submit::InFlightTx;
use super::verify::VerifiedOrderSignature;

/// The chain gateway as a cold-thread [`Agent`]: owns a current-thread tokio runtime and drives
/// one [`ChainCore::poll`] per `poll_interval_ms`, bounded by `poll_budget_ms`.
pub struct ChainGateway {
    runtime: tokio::runtime::Runtime,
    core: ChainCore,
    output: ChainOutput,
    outbox: VecDeque<Msg>,
    records: VecDeque<ChainRecord>,
    producer: RingProducer<Msg>,
    poll_interval: Duration,
    poll_budget: Duration,
    next_poll_at: Instant,
    rpc_up: Option<bool>,
}

impl std::fmt::Debug for ChainGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainGateway").field("core", &self.core).finish_non_exhaustive()
    }
}

impl ChainGateway {
    /// Builds the runtime, connects (bounded by `poll_budget_ms`) and checks the chain id.
    ///
    /// # Errors
    /// [`ChainError::Runtime`], [`ChainError::Config`], [`ChainError::WrongChain`], transport.
    pub fn start(
        config: ChainConfig,
        keys: ChainKeys,
        producer: RingProducer<Msg>,
    ) -> Result<ChainGateway, ChainError> {
        config.validate()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ChainError::Runtime)?;
        let poll_budget = Duration::from_millis(config.poll_budget_ms);
        let poll_interval = Duration::from_millis(config.poll_interval_ms);
        let (outbox_max, records_max) = (config.outbox_max, config.records_max);
        let connect = ChainCore::connect(config, keys);
        let core = runtime.block_on(bounded(poll_budget, "connect", connect))?;
        Ok(ChainGateway {
            runtime,
            core,
            output: ChainOutput::default(),
            outbox: VecDeque::with_capacity(outbox_max),
            records: VecDeque::with_capacity(records_max),
            producer,
            poll_interval,
            poll_budget,
            next_poll_at: Instant::now(),
            rpc_up: None,
        })
    }

    /// The async core.
    pub fn core(&self) -> &ChainCore {
        &self.core
    }

    /// Runs a future on the gateway's runtime (for last-look reads through [`ChainCore::rpc`]).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Polls now, whatever the interval; returns the messages queued for the hot thread.
    ///
    /// # Errors
    /// The poll's [`ChainError`] (already reported as a `GatewayStatus` message).
    pub fn poll_now(&mut self, now_s: u64) -> Result<usize, ChainError> {
        self.next_poll_at = Instant::now() + self.poll_interval;
        let poll = self.core.poll(now_s, &mut self.output);
        let result = self.runtime.block_on(bounded(self.poll_budget, "poll", poll));
        self.note_poll_result(&result);
        let queued = self.output.msgs.len();
        self.stage_output();
        self.flush();
        result.map(|()| queued)
    }

    fn note_poll_result(&mut self, result: &Result<(), ChainError>) {
        let up = result.is_ok();
        if let Err(error) = result {
            self.core.stats.poll_failures += 1;
            tracing::warn!(%error, "chain poll failed");
        }
        if self.rpc_up != Some(up) {
            let (state, code) = match result {
                Ok(()) => (SourceState::Up, reason::RECOVERED),
                Err(ChainError::DeepReorg { .. }) => (SourceState::Down, reason::DEEP_REORG),
                Err(_) => (SourceState::Down, reason::RPC),
            };
            let count = self.core.stats.poll_failures;
            self.output.msgs.push(chain_status(state, code, count, 0));
            self.rpc_up = Some(up);
        } else if up && self.output.msgs.iter().any(is_resync_status) {
            self.output.msgs.push(chain_status(SourceState::Up, reason::RECOVERED, 0, 0));
        }
    }

    fn stage_output(&mut self) {
        for msg in self.output.msgs.drain(..) {
            if self.outbox.len() >= self.outbox.capacity().max(1) {
                self.core.stats.outbox_dropped += 1;
                continue;
            }
            self.outbox.push_back(msg);
        }
        for record in self.output.records.drain(..) {
            if self.records.len() >= self.records.capacity().max(1) {
                self.core.stats.records_dropped += 1;
                continue;
            }
            self.records.push_back(record);
        }
    }

    /// Pushes queued messages into the ring until it is full; returns how many went.
    fn flush(&mut self) -> usize {
        let mut pushed = 0;
        while let Some(msg) = self.outbox.pop_front() {
            if let Err(full) = self.producer.push(msg) {
                let rtrb::PushError::Full(msg) = full;
                self.outbox.push_front(msg);
                break;
            }
            pushed += 1;
        }
        pushed
    }

    /// Moves every waiting record into `out` (the cold thread journals them).
    pub fn drain_records(&mut self, out: &mut Vec<ChainRecord>) {
        out.extend(self.records.drain(..));
    }

    /// Counters.
    pub fn stats(&self) -> ChainStats {
        self.core.stats
    }

    /// [`ChainCore::verify_order_signature`], bounded by `poll_budget_ms`.
    ///
    /// # Errors
    /// As [`ChainCore::verify_order_signature`], or [`ChainError::Timeout`].
    pub fn verify_order_signature(
        &self,
        order: &Order,
        signature: &Signature,
    ) -> Result<VerifiedOrderSignature, ChainError> {
        let verify = self.core.verify_order_signature(order, signature);
        self.runtime.block_on(bounded(self.poll_budget, "verify_order_signature", verify))
    }

    /// [`ChainCore::submit_mint`], bounded by `poll_budget_ms`.
    ///
    /// # Errors
    /// As [`ChainCore::submit_mint`], or [`ChainError::Timeout`].
    pub fn submit_mint(
        &mut self,
        order: &Order,
        route: &Route,
        signature: &Signature,
        weth: bool,
        ref_id: u64,
    ) -> Result<InFlightTx, ChainError> {
        let submit = self.core.submit_mint(order, route, signature, weth, ref_id);
        self.runtime.block_on(bounded(self.poll_budget, "submit", submit))
    }

    /// [`ChainCore::submit_redeem`], bounded by `poll_budget_ms`.
    ///
    /// # Errors
    /// As [`ChainCore::submit_redeem`], or [`ChainError::Timeout`].
    pub fn submit_redeem(
        &mut self,
        order: &Order,
        signature: &Signature,
        ref_id: u64,
    ) -> Result<InFlightTx, ChainError> {
        let submit = self.core.submit_redeem(order, signature, ref_id);
        self.runtime.block_on(bounded(self.poll_budget, "submit", submit))
    }
}

fn is_resync_status(msg: &Msg) -> bool {
    matches!(
        msg.body(),
        Ok(Body::GatewayStatus(GatewayStatus { state: SourceState::Resyncing, .. }))
    ) && msg.venue == VenueId::Chain as u8
}

async fn bounded<T>(
    budget: Duration,
    method: &'static str,
    future: impl std::future::Future<Output = Result<T, ChainError>>,
) -> Result<T, ChainError> {
    let timeout_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX);
    tokio::time::timeout(budget, future)
        .await
        .unwrap_or(Err(ChainError::Timeout { method, timeout_ms }))
}

impl Agent for ChainGateway {
    fn do_work(&mut self) -> usize {
        let mut work = self.flush();
        if Instant::now() >= self.next_poll_at {
            let now_s = hedger_ipc::clock::unix_ms() / 1000;
            // Failures are reported as status messages; the next interval retries.
            work += self.poll_now(now_s).map_or(1, |queued| queued.max(1));
        }
        work
    }

    fn on_stop(&mut self) {
        self.flush();
    }
}
