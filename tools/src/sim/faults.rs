//! Fault knobs of an oracle simulator, switchable while it runs (tests flip them mid-stream).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// A fault a simulator can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Sign with a corrupted recovery id (recovers to a key that is not trusted).
    BadSignature,
    /// One signer fewer than the quorum/threshold.
    TooFewSigners,
    /// Timestamps 200 s in the past.
    StaleTimestamp,
    /// Pyth: a broken Merkle proof. RedStone: a package claiming another signer.
    WrongProof,
    /// Keep serving the last update (REST) / send only keep-alives (SSE).
    Stall,
}

impl Fault {
    /// Parses a CLI name (`bad-signature`, `too-few-signers`, `stale-timestamp`, `wrong-proof`,
    /// `stall`).
    pub fn parse(name: &str) -> Option<Fault> {
        Some(match name {
            "bad-signature" => Fault::BadSignature,
            "too-few-signers" => Fault::TooFewSigners,
            "stale-timestamp" => Fault::StaleTimestamp,
            "wrong-proof" | "wrong-merkle-proof" => Fault::WrongProof,
            "stall" => Fault::Stall,
            _ => return None,
        })
    }
}

/// How far in the past a `stale-timestamp` update claims to be.
pub const STALE_BY_MS: u64 = 200_000;

/// The live fault settings of one simulator.
#[derive(Debug, Default)]
pub struct Faults {
    bad_signature: AtomicBool,
    too_few_signers: AtomicBool,
    stale_timestamp: AtomicBool,
    wrong_proof: AtomicBool,
    stall: AtomicBool,
    /// Added to every price, in basis points (a source that is "off").
    pub price_offset_bps: AtomicI64,
    /// SSE: send an `error` event and close after this many events (0 = never).
    pub close_after_events: AtomicU64,
}

impl Faults {
    fn flag(&self, fault: Fault) -> &AtomicBool {
        match fault {
            Fault::BadSignature => &self.bad_signature,
            Fault::TooFewSigners => &self.too_few_signers,
            Fault::StaleTimestamp => &self.stale_timestamp,
            Fault::WrongProof => &self.wrong_proof,
            Fault::Stall => &self.stall,
        }
    }

    /// Turns a fault on or off.
    pub fn set(&self, fault: Fault, on: bool) {
        self.flag(fault).store(on, Ordering::Release);
    }

    /// Whether a fault is on.
    pub fn is_on(&self, fault: Fault) -> bool {
        self.flag(fault).load(Ordering::Acquire)
    }

    /// Turns every fault off.
    pub fn clear(&self) {
        for fault in [
            Fault::BadSignature,
            Fault::TooFewSigners,
            Fault::StaleTimestamp,
            Fault::WrongProof,
            Fault::Stall,
        ] {
            self.set(fault, false);
        }
        self.price_offset_bps.store(0, Ordering::Release);
        self.close_after_events.store(0, Ordering::Release);
    }
}
