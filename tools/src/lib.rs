//! The user-facing tools of hedger: the inspector, the bench-suite driver, the simulators and the
//! recorder/replay harness. Each tool is a library module driven by a subcommand of the `hedger`
//! binary, so tests can run it in-process as well as through the binary.

pub mod bench;
pub mod inspect;
pub mod instruments_cli;
pub mod local_chain;
pub mod oracle_cli;
pub mod order_cli;
pub mod record;
pub mod replay;
pub mod sim;
pub mod venue_sim;
