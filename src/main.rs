//! The `hedger` binary: a thin CLI over the `hedger` library and the tools crate.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use hedger::config::AppConfig;
use hedger_ipc::telemetry::{default_run_dir, telemetry_path};

#[derive(Parser)]
#[command(
    name = "hedger",
    version,
    about = "Low-latency hedging system for a delta-neutral synthetic dollar"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline until SIGINT/SIGTERM (or --duration-s).
    Run(RunArgs),
    /// Attach read-only to a running process's telemetry and print rings and threads.
    Inspect(hedger_tools::inspect::InspectArgs),
    /// Latency and throughput benchmarks.
    Bench {
        #[command(subcommand)]
        cmd: hedger_tools::bench::BenchCommand,
    },
    /// Record a venue's raw frames with receive timestamps to a journal.
    Record(hedger_tools::record::RecordArgs),
    /// Feed a capture file through a venue's parser, sequencer and book; print JSON lines.
    Replay(hedger_tools::replay::ReplayArgs),
    /// Run the simulators of venues and oracles on loopback.
    Sim(hedger_tools::sim::SimArgs),
    /// Verify oracle payloads (Pyth, RedStone) and print JSON.
    Oracle {
        #[command(subcommand)]
        cmd: hedger_tools::oracle_cli::OracleCommand,
    },
    /// Parse a venue's instruments response body and print the specs as JSON lines.
    Instruments(hedger_tools::instruments_cli::InstrumentsArgs),
    /// Hash, sign and verify Ethena minting orders and print JSON.
    Order {
        #[command(subcommand)]
        cmd: hedger_tools::order_cli::OrderCommand,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Embedded profile: `compact` (2 cores) or `colocated` (a core per gateway and hot thread).
    #[arg(long, default_value = "compact", conflicts_with = "config")]
    profile: String,
    /// A config file of the same shape as the embedded profiles.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory for the telemetry file [default: $HEDGER_RUN_DIR or <tmp>/hedger].
    #[arg(long)]
    run_dir: Option<PathBuf>,
    /// Stop by itself after this many seconds.
    #[arg(long)]
    duration_s: Option<u64>,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    let (cfg, origin) = match &args.config {
        Some(path) => (AppConfig::load(path)?, path.display().to_string()),
        None => (AppConfig::profile(&args.profile)?, format!("profile {}", args.profile)),
    };
    let run_dir = args.run_dir.clone().unwrap_or_else(default_run_dir);
    let path = telemetry_path(&run_dir, std::process::id());
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    let pipeline = hedger::pipeline::start(&cfg, &origin, &path, Arc::clone(&stop))?;
    for warning in &pipeline.warnings {
        tracing::warn!("{warning}");
    }
    tracing::info!(pid = std::process::id(), profile = %cfg.profile, telemetry = %path.display(), "pipeline running; `hedger inspect` attaches to it");
    if let Some(seconds) = args.duration_s {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(seconds);
            while Instant::now() < until && !stop.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(20));
            }
            stop.store(true, Ordering::Release);
        });
    }
    pipeline.runtime.supervise(Duration::from_millis(100))?;
    tracing::info!("pipeline stopped cleanly");
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    init_tracing();
    let code = match &cli.command {
        Command::Run(args) => match run(args) {
            Ok(()) => 0,
            Err(error) => {
                eprintln!("hedger run: {error:#}");
                1
            }
        },
        Command::Inspect(args) => hedger_tools::inspect::run(args),
        Command::Bench { cmd } => hedger_tools::bench::run(cmd),
        Command::Sim(args) => hedger_tools::sim::run(args),
        Command::Replay(args) => hedger_tools::replay::run(args),
        Command::Record(args) => hedger_tools::record::run(args),
        Command::Oracle { cmd } => hedger_tools::oracle_cli::run(cmd),
        Command::Order { cmd } => hedger_tools::order_cli::run(cmd),
        Command::Instruments(args) => hedger_tools::instruments_cli::run(args),
    };
    std::process::exit(code);
}
