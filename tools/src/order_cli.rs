//! `hedger order …`: hash, sign and verify Ethena minting orders.
//!
//! Every command reads one order body in the RFQ API shape (`POST /order` JSON, see
//! `hedger_core::order::json`) and prints exactly one JSON object on stdout: the result, or
//! `{"error":{"rule":…,"message":…}}` with exit code 1. `verify` exits 1 for any signature the
//! EthenaMinting V2 contract would reject (wrong length, high-s, v ∉ {27, 28}, unrecoverable,
//! signer neither the benefactor nor the delegate named with `--signer-must-be`).
//!
//! The signing key is read from the environment variable named by `--key-env`, zeroised after
//! parsing and never printed or logged.

use std::io::Read;
use std::path::{Path, PathBuf};

use alloy_primitives::{hex, Address};
use hedger_core::order::json::{parse_address_text, ORDER_JSON_BYTES_MAX};
use hedger_core::order::{
    domain_separator, order_digest, order_struct_hash, parse_order_json, verify_eip712_signature,
    DelegatedSignerStatus, Order, OrderSigner,
};
use serde_json::json;

/// Exit code for every reported error (clap uses 2 for usage errors).
const EXIT_ERROR: i32 = 1;

/// Where the order lives on chain: the EIP-712 domain.
#[derive(Debug, clap::Args)]
pub struct DomainArgs {
    /// Chain id of the EIP-712 domain (1 = Ethereum mainnet, 31337 = anvil).
    #[arg(long = "chain-id")]
    pub chain_id: u64,
    /// EthenaMinting contract address (the domain's verifyingContract).
    #[arg(long)]
    pub contract: String,
}

/// Subcommands of `hedger order`.
#[derive(Debug, clap::Subcommand)]
pub enum OrderCommand {
    /// Print the EIP-712 struct hash and digest (`hashOrder`) of an order.
    Hash {
        /// Order body as JSON (RFQ API field names).
        #[arg(long)]
        order: PathBuf,
        #[command(flatten)]
        domain: DomainArgs,
    },
    /// Sign an order's digest; prints the 65-byte signature and the signer address.
    Sign {
        /// Order body as JSON (RFQ API field names).
        #[arg(long)]
        order: PathBuf,
        /// Name of the environment variable holding the hex private key (never printed).
        #[arg(long = "key-env")]
        key_env: String,
        #[command(flatten)]
        domain: DomainArgs,
    },
    /// Recover and check the signer of a signed order; exits 1 if the contract would reject it.
    Verify {
        /// Order body as JSON (RFQ API field names).
        #[arg(long)]
        order: PathBuf,
        /// Signature bytes as hex (`0x` + 130 hex digits, r||s||v).
        #[arg(long)]
        signature: String,
        /// Require this signer; a signer other than the benefactor is then treated as an
        /// ACCEPTED delegated signer. Without it the signer must be the benefactor.
        #[arg(long = "signer-must-be")]
        signer_must_be: Option<String>,
        #[command(flatten)]
        domain: DomainArgs,
    },
}

/// A failure to report as `{"error":{"rule","message"}}`.
#[derive(Debug)]
struct CliError {
    rule: &'static str,
    message: String,
}

impl CliError {
    fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Self { rule, message: message.into() }
    }
}

/// Runs one `hedger order` subcommand; returns the process exit code.
pub fn run(cmd: &OrderCommand) -> i32 {
    let result = match cmd {
        OrderCommand::Hash { order, domain } => run_hash(order, domain),
        OrderCommand::Sign { order, key_env, domain } => run_sign(order, key_env, domain),
        OrderCommand::Verify { order, signature, signer_must_be, domain } => {
            run_verify(order, signature, signer_must_be.as_deref(), domain)
        }
    };
    match result {
        Ok(output) => {
            println!("{output}");
            0
        }
        Err(error) => {
            println!("{}", json!({ "error": { "rule": error.rule, "message": error.message } }));
            EXIT_ERROR
        }
    }
}

fn run_hash(order_path: &Path, domain: &DomainArgs) -> Result<serde_json::Value, CliError> {
    let order = read_order(order_path)?;
    let separator =
        domain_separator(domain.chain_id, parse_address_arg("contract", &domain.contract)?);
    Ok(json!({
        "struct_hash": order_struct_hash(&order).to_string(),
        "digest": order_digest(separator, &order).to_string(),
    }))
}

fn run_sign(
    order_path: &Path,
    key_env: &str,
    domain: &DomainArgs,
) -> Result<serde_json::Value, CliError> {
    let order = read_order(order_path)?;
    order.check_signable().map_err(|error| CliError::new(error.rule(), error.to_string()))?;
    let separator =
        domain_separator(domain.chain_id, parse_address_arg("contract", &domain.contract)?);
    let secret = std::env::var(key_env).map_err(|_| {
        CliError::new(
            "key_env_missing",
            format!("environment variable {key_env} is not set or not UTF-8"),
        )
    })?;
    let signer = OrderSigner::from_hex_zeroizing(secret)
        .map_err(|error| CliError::new(error.rule(), error.to_string()))?;
    let signature = signer
        .sign_digest(&order_digest(separator, &order))
        .map_err(|error| CliError::new(error.rule(), error.to_string()))?;
    Ok(json!({
        "signature": hex::encode_prefixed(signature.to_bytes()),
        "signer": signer.address().to_checksum(None),
    }))
}

fn run_verify(
    order_path: &Path,
    signature_hex: &str,
    signer_must_be: Option<&str>,
    domain: &DomainArgs,
) -> Result<serde_json::Value, CliError> {
    let order = read_order(order_path)?;
    let separator =
        domain_separator(domain.chain_id, parse_address_arg("contract", &domain.contract)?);
    let expected_signer =
        signer_must_be.map(|text| parse_address_arg("signer-must-be", text)).transpose()?;
    let signature_bytes = hex::decode(signature_hex.trim()).map_err(|error| {
        CliError::new("signature_hex", format!("signature is not hex: {error}"))
    })?;
    let digest = order_digest(separator, &order);
    let delegated_status = |signer: Address| {
        if Some(signer) == expected_signer {
            DelegatedSignerStatus::Accepted
        } else {
            DelegatedSignerStatus::Rejected
        }
    };
    let verified =
        verify_eip712_signature(&digest, &signature_bytes, order.benefactor, delegated_status)
            .map_err(|error| CliError::new(error.rule(), error.to_string()))?;
    if let Some(expected) = expected_signer {
        if verified.signer != expected {
            return Err(CliError::new(
                "signature_signer_mismatch",
                format!(
                    "signer is {}, expected {}",
                    verified.signer.to_checksum(None),
                    expected.to_checksum(None)
                ),
            ));
        }
    }
    Ok(json!({ "signer": verified.signer.to_checksum(None) }))
}

/// Reads and parses an order file, refusing files larger than the parser accepts.
fn read_order(path: &Path) -> Result<Order, CliError> {
    let file = std::fs::File::open(path).map_err(|error| {
        CliError::new("order_file", format!("cannot open {}: {error}", path.display()))
    })?;
    let mut bytes = Vec::new();
    let limit_bytes = (ORDER_JSON_BYTES_MAX + 1) as u64;
    file.take(limit_bytes).read_to_end(&mut bytes).map_err(|error| {
        CliError::new("order_file", format!("cannot read {}: {error}", path.display()))
    })?;
    parse_order_json(&bytes).map_err(|error| CliError::new(error.rule(), error.to_string()))
}

fn parse_address_arg(flag: &'static str, text: &str) -> Result<Address, CliError> {
    parse_address_text(text.trim())
        .map_err(|reason| CliError::new("address_arg", format!("--{flag}: {reason}")))
}
