//! The canonical-chain tracker: which recent blocks we have seen, which of their logs are still
//! unconfirmed, and what a reorg takes back.
//!
//! Sync rules (the gateway's sequencer; each step is named in the code that applies it):
//! 1. `link`: a new block is accepted only if its `parent_hash` is the hash of our tip; otherwise
//!    the tip is re-checked against the node before going on.
//! 2. `tip_check`: each poll asks the node for the header at our tip's number; if the hash
//!    differs the tip was orphaned: it is popped with its unconfirmed logs, and the check repeats
//!    one block lower. Popping more than `depth_max` blocks is a deep reorg (terminal).
//! 3. `confirm`: a log is confirmed when its block has `confirmations` blocks on top counting
//!    itself (`head >= block + confirmations - 1`); only confirmed logs go to the hot thread.
//! 4. `window`: at most `depth_max` blocks are kept; older blocks are final for our purposes.
//!
//! Pure: no I/O; the async driver in [`super::gateway`] fetches and feeds it. Allocation is
//! bounded by `depth_max` blocks and `pending_logs_max` logs.

use std::collections::VecDeque;

use alloy_primitives::B256;

use super::events::DecodedLog;
use super::rpc::BlockRef;

/// What a rollback removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rollback {
    /// Blocks that are no longer canonical, newest first.
    pub orphaned: Vec<BlockRef>,
    /// Their logs that had not been confirmed (and now never will be, unless re-included).
    pub dropped_logs: Vec<DecodedLog>,
}

/// Why a block could not be appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// Rule 1: the parent is not our tip (a reorg, or the node moved on between requests).
    NotLinked { number: u64, parent_hash: B256, tip_hash: B256 },
    /// Too many unconfirmed logs are held (`pending_logs_max`).
    LogsFull,
}

/// Recent canonical blocks and their unconfirmed logs.
#[derive(Clone, Debug)]
pub struct ChainTracker {
    blocks: VecDeque<BlockRef>,
    pending_logs: VecDeque<DecodedLog>,
    confirmations: u64,
    depth_max: usize,
    pending_logs_max: usize,
}

impl ChainTracker {
    /// A tracker that confirms after `confirmations` (≥ 1) blocks and keeps `depth_max` blocks.
    ///
    /// # Panics
    /// If `confirmations == 0` or `depth_max < confirmations` (config validation rejects both).
    pub fn new(confirmations: u64, depth_max: usize, pending_logs_max: usize) -> ChainTracker {
        assert!(confirmations >= 1, "confirmations must be at least 1");
        assert!(depth_max as u64 >= confirmations, "depth_max must cover the confirmations");
        ChainTracker {
            blocks: VecDeque::with_capacity(depth_max + 1),
            pending_logs: VecDeque::with_capacity(pending_logs_max),
            confirmations,
            depth_max,
            pending_logs_max,
        }
    }

    /// Our newest canonical block.
    pub fn tip(&self) -> Option<&BlockRef> {
        self.blocks.back()
    }

    /// The block `number`, if still in the window.
    pub fn block(&self, number: u64) -> Option<&BlockRef> {
        let first = self.blocks.front()?.number;
        let index = usize::try_from(number.checked_sub(first)?).ok()?;
        self.blocks.get(index)
    }

    /// Unconfirmed logs held.
    pub fn pending_log_count(&self) -> usize {
        self.pending_logs.len()
    }

    /// Blocks a reorg may remove before it is deep.
    pub fn depth_max(&self) -> usize {
        self.depth_max
    }

    /// Rule 1 (`link`) and rule 4 (`window`): appends a block and its logs.
    ///
    /// # Errors
    /// [`AppendError`]; the tracker is unchanged.
    pub fn append(&mut self, block: BlockRef, logs: Vec<DecodedLog>) -> Result<(), AppendError> {
        if let Some(tip) = self.blocks.back() {
            if block.parent_hash != tip.hash || block.number != tip.number + 1 {
                return Err(AppendError::NotLinked {
                    number: block.number,
                    parent_hash: block.parent_hash,
                    tip_hash: tip.hash,
                });
            }
        }
        if self.pending_logs.len() + logs.len() > self.pending_logs_max {
            return Err(AppendError::LogsFull);
        }
        debug_assert!(logs.iter().all(|log| log.at.block_hash == block.hash));
        self.pending_logs.extend(logs);
        self.blocks.push_back(block);
        while self.blocks.len() > self.depth_max {
            self.blocks.pop_front();
        }
        Ok(())
    }

    /// Rule 2 (`tip_check`): removes the tip after the node reported a different hash at its
    /// height, with the tip's unconfirmed logs. Returns `None` when the window is empty.
    pub fn pop_orphaned_tip(&mut self, rollback: &mut Rollback) -> Option<BlockRef> {
        let tip = self.blocks.pop_back()?;
        while self.pending_logs.back().is_some_and(|log| log.at.block_number >= tip.number) {
            if let Some(log) = self.pending_logs.pop_back() {
                rollback.dropped_logs.push(log);
            }
        }
        rollback.orphaned.push(tip);
        Some(tip)
    }

    /// Rule 3 (`confirm`): removes and returns the logs confirmed at `head`, oldest first.
    pub fn take_confirmed(&mut self, head: u64, out: &mut Vec<DecodedLog>) {
        let confirmed_max = head.saturating_add(1).saturating_sub(self.confirmations);
        if head + 1 < self.confirmations {
            return;
        }
        while self.pending_logs.front().is_some_and(|log| log.at.block_number <= confirmed_max) {
            if let Some(log) = self.pending_logs.pop_front() {
                out.push(log);
            }
        }
    }
}
