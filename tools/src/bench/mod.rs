//! `hedger bench …`: the latency suite driver.
//!
//! Every figure that crosses cores is reported next to a floor measured in the same run, because
//! this class of machine moves its vCPUs between "near" and "far" placements on its own
//! (`../shared/reference/performance.md`): ratios to the floor are comparable across runs,
//! absolute nanoseconds are not.

pub mod feed;
pub mod pin;
pub mod ring;

/// Subcommands of `hedger bench`.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Ring hop latency and throughput against crossbeam, std mpsc and the core-to-core floor.
    Ring(ring::RingBenchArgs),
    /// Normalise cost per message (simd-json vs serde_json) and wire-to-book latency.
    Feed(feed::FeedBenchArgs),
}

/// Runs a bench subcommand; returns the exit code.
pub fn run(cmd: &BenchCommand) -> i32 {
    match cmd {
        BenchCommand::Ring(args) => match ring::run(args) {
            Ok(()) => 0,
            Err(error) => {
                eprintln!("hedger bench ring: {error}");
                1
            }
        },
        BenchCommand::Feed(args) => match feed::run(args) {
            Ok(()) => 0,
            Err(error) => {
                eprintln!("hedger bench feed: {error}");
                1
            }
        },
    }
}
