//! The `hedger` binary.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "hedger", version, about = "Low-latency hedging system for a delta-neutral synthetic dollar")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify oracle payloads (Pyth, RedStone) and print JSON.
    Oracle {
        #[command(subcommand)]
        cmd: hedger_tools::oracle_cli::OracleCommand,
    },
    /// Hash, sign and verify Ethena minting orders and print JSON.
    Order {
        #[command(subcommand)]
        cmd: hedger_tools::order_cli::OrderCommand,
    },
}

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Oracle { cmd } => hedger_tools::oracle_cli::run(cmd),
        Command::Order { cmd } => hedger_tools::order_cli::run(cmd),
    };
    std::process::exit(code);
}
