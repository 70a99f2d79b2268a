//! `hedger sim`: the simulators of external systems, on loopback.

/// Arguments of `hedger sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to bind the simulators to.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
}

/// Runs the simulators until interrupted; returns the exit code.
pub fn run(args: &SimArgs) -> i32 {
    eprintln!("hedger sim: no simulator is built into this version (bind {})", args.bind);
    2
}
