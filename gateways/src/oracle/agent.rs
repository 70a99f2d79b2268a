//! The oracle gateway agent: runs every configured source on the oracle thread and moves their
//! messages into the `oracle->hot` ring.
//!
//! A full ring never blocks: messages wait in a bounded outbox (1024) and overflow is counted.

use std::time::{Duration, Instant};

use hedger_core::msg::{Msg, SourceState};
use hedger_ipc::clock::unix_ms;
use hedger_ipc::runtime::Agent;
use hedger_ipc::RingProducer;

use super::config::OraclesConfig;
use super::hermes::HermesSource;
use super::redstone::RedstoneSource;
use super::source::{Outbox, SourceStats};

/// Messages the outbox holds while the ring is full.
pub const OUTBOX_MAX: usize = 1024;

/// The agent.
pub struct OracleGateway {
    pyth: Option<HermesSource>,
    redstone: Option<RedstoneSource>,
    ring: RingProducer<Msg>,
    outbox: Outbox,
}

impl OracleGateway {
    /// Builds the sources of a validated `[oracles]` section (API keys are read from the
    /// environment here, at start-up).
    ///
    /// # Errors
    /// A sentence naming the bad setting.
    pub fn new(cfg: &OraclesConfig, ring: RingProducer<Msg>) -> Result<OracleGateway, String> {
        let now_ms = unix_ms();
        let hold_ms = cfg.quarantine_hold_ms;
        let pyth = match &cfg.pyth {
            Some(pyth) => Some(HermesSource::new(pyth, &cfg.assets, hold_ms, now_ms)?),
            None => None,
        };
        let redstone = match &cfg.redstone {
            Some(redstone) => Some(RedstoneSource::new(redstone, &cfg.assets, hold_ms, now_ms)?),
            None => None,
        };
        Ok(OracleGateway { pyth, redstone, ring, outbox: Outbox::new(OUTBOX_MAX) })
    }

    /// Counters of the Pyth source.
    pub fn pyth_stats(&self) -> Option<SourceStats> {
        self.pyth.as_ref().map(|s| s.core.stats)
    }

    /// Counters of the RedStone source.
    pub fn redstone_stats(&self) -> Option<SourceStats> {
        self.redstone.as_ref().map(|s| s.core.stats)
    }

    /// Gateway-side state of `asset` in the Pyth source.
    pub fn pyth_state(&self, asset: u32) -> Option<SourceState> {
        self.pyth.as_ref().and_then(|s| s.core.state_of(asset))
    }

    /// Gateway-side state of `asset` in the RedStone source.
    pub fn redstone_state(&self, asset: u32) -> Option<SourceState> {
        self.redstone.as_ref().and_then(|s| s.core.state_of(asset))
    }

    /// Messages dropped because ring and outbox were full.
    pub fn dropped(&self) -> u64 {
        self.outbox.dropped
    }

    fn flush(&mut self) -> usize {
        let mut pushed = 0;
        while let Some(msg) = self.outbox.front().copied() {
            if self.ring.push(msg).is_err() {
                break;
            }
            self.outbox.pop();
            pushed += 1;
        }
        pushed
    }
}

impl Agent for OracleGateway {
    fn do_work(&mut self) -> usize {
        let now_ms = unix_ms();
        let mut work = 0;
        if let Some(pyth) = self.pyth.as_mut() {
            work += pyth.poll(now_ms, &mut self.outbox);
        }
        if let Some(redstone) = self.redstone.as_mut() {
            work += redstone.poll(now_ms, &mut self.outbox);
        }
        work + self.flush()
    }

    /// Hands what is queued to the hot thread (still running), waiting at most 1 s.
    fn on_stop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(1);
        while !self.outbox.is_empty() && Instant::now() < deadline {
            if self.flush() == 0 {
                std::thread::yield_now();
            }
        }
        self.outbox.dropped += self.outbox.len() as u64;
    }
}
