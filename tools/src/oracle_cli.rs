//! `hedger oracle …`: verify oracle payloads from files and print JSON.
//!
//! Each command reads one input file (`-` for stdin), verifies it with `hedger_core::oracle`, and
//! prints exactly one JSON line per verified Pyth accumulator update, or one JSON object for
//! RedStone. Any failure prints `{"error":{"rule":…,"message":…}}` on stdout and exits 1; `rule`
//! is the name of the verification rule that failed (`quorum`, `merkle`, `threshold`, …).
//!
//! Time: `--now-s` / `--now-ms` pin "now" (tests, replays); otherwise the system clock is read
//! once at start. Pyth staleness is only enforced with `--max-age-s`; the age is always reported.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use hedger_core::oracle::bytes::{decode_base64, decode_hex, encode_hex};
use hedger_core::oracle::hermes::{verify_hermes_json, verify_sse};
use hedger_core::oracle::pyth::{
    age_s, check_staleness, verify_accumulator_update, VerifiedUpdate,
};
use hedger_core::oracle::redstone::{aggregate, parse_payload, AggregatedPrices, RedstoneConfig};
use hedger_core::oracle::redstone_json::{aggregate_gateway, parse_gateway_json, GatewayPrices};
use hedger_core::oracle::wormhole::{GuardianSets, SignerSet};
use hedger_core::oracle::EthAddress;
use serde::Serialize;

/// Exit code for every reported error (clap uses 2 for usage errors).
const EXIT_ERROR: i32 = 1;
/// Largest input file accepted (the RedStone gateway sample is 1.5 MB).
const INPUT_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Subcommands of `hedger oracle`.
#[derive(Debug, clap::Subcommand)]
pub enum OracleCommand {
    /// Verify a Pyth accumulator update (PNAU) against a guardian/signer set; print its prices.
    VerifyPyth(VerifyPythArgs),
    /// Verify RedStone packages (binary payload or gateway JSON); print the median per feed.
    VerifyRedstone(VerifyRedstoneArgs),
}

/// Input encodings of `verify-pyth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PythEncoding {
    /// The raw update as hex text (optional `0x`).
    Hex,
    /// The raw update as base64 text.
    Base64,
    /// A Hermes `/v2/updates/price/latest` body (`binary` + optional `parsed`).
    HermesJson,
    /// A Hermes `/v2/updates/price/stream` SSE capture (`data:<json>` events).
    Sse,
}

/// Arguments of `verify-pyth`.
#[derive(Debug, clap::Args)]
pub struct VerifyPythArgs {
    /// Input file (`-` for stdin).
    #[arg(long)]
    pub input: PathBuf,
    /// Input encoding; detected from the content when omitted.
    #[arg(long, value_enum)]
    pub encoding: Option<PythEncoding>,
    /// Wormhole mainnet guardian set index (1..=7, shipped with hedger).
    #[arg(long = "guardian-set", required_unless_present = "signers", conflicts_with = "signers")]
    pub guardian_set: Option<u32>,
    /// Signer set file: addresses one per line, a JSON array, or
    /// `{"guardian_set_index":N,"signers":[…],"quorum":Q}`.
    #[arg(long)]
    pub signers: Option<PathBuf>,
    /// Valid signatures required (default: floor(2n/3)+1, 13 of 19).
    #[arg(long)]
    pub quorum: Option<usize>,
    /// Reject prices whose |now − publish_time| exceeds this many seconds.
    #[arg(long = "max-age-s")]
    pub max_age_s: Option<u64>,
    /// "Now" in unix seconds (default: the system clock).
    #[arg(long = "now-s", allow_negative_numbers = true)]
    pub now_s: Option<i64>,
}

/// Input formats of `verify-redstone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RedstoneFormat {
    /// A binary payload as hex text (ends with the RedStone marker).
    Hex,
    /// A gateway `/data-packages/...` JSON response.
    GatewayJson,
}

/// Arguments of `verify-redstone`.
#[derive(Debug, clap::Args)]
pub struct VerifyRedstoneArgs {
    /// Input file (`-` for stdin).
    #[arg(long)]
    pub input: PathBuf,
    /// Input format; detected from the content when omitted.
    #[arg(long, value_enum)]
    pub format: Option<RedstoneFormat>,
    /// `primary-prod` (the five on-chain signers) or a file of addresses.
    #[arg(long)]
    pub signers: String,
    /// Distinct authorised signers each feed needs.
    #[arg(long, default_value_t = 3)]
    pub threshold: usize,
    /// "Now" in unix milliseconds (default: the system clock).
    #[arg(long = "now-ms")]
    pub now_ms: Option<u64>,
}

/// A failure to report: the rule that failed and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct CliError {
    rule: &'static str,
    message: String,
}

impl CliError {
    fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Self { rule, message: message.into() }
    }
}

macro_rules! impl_from_rule_error {
    ($($error:ty),*) => {$(
        impl From<$error> for CliError {
            fn from(err: $error) -> Self {
                Self::new(err.rule(), err.to_string())
            }
        }
    )*};
}

impl_from_rule_error!(
    hedger_core::oracle::pyth::PythError,
    hedger_core::oracle::hermes::HermesError,
    hedger_core::oracle::wormhole::VaaError,
    hedger_core::oracle::redstone::RedstoneError
);

/// Runs one `hedger oracle` subcommand; returns the process exit code.
pub fn run(cmd: &OracleCommand) -> i32 {
    let result = match cmd {
        OracleCommand::VerifyPyth(args) => verify_pyth(args),
        OracleCommand::VerifyRedstone(args) => verify_redstone(args),
    };
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            0
        }
        Err(err) => {
            // Serialized through a struct so `rule` comes before `message`.
            #[derive(Serialize)]
            struct ErrorBody<'a> {
                error: &'a CliError,
            }
            match serde_json::to_string(&ErrorBody { error: &err }) {
                Ok(body) => println!("{body}"),
                Err(_) => println!("{{\"error\":{{\"rule\":\"output\",\"message\":\"\"}}}}"),
            }
            EXIT_ERROR
        }
    }
}

fn read_input(path: &Path) -> Result<String, CliError> {
    let input_err =
        |err: std::io::Error| CliError::new("input", format!("{}: {err}", path.display()));
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin().take(INPUT_BYTES_MAX).read_to_string(&mut text).map_err(input_err)?;
    } else {
        let file = std::fs::File::open(path).map_err(input_err)?;
        file.take(INPUT_BYTES_MAX).read_to_string(&mut text).map_err(input_err)?;
    }
    Ok(text)
}

fn system_now_ms() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------------------
// Pyth

/// One price in the output (strings for 64-bit integers, as Hermes does).
#[derive(Debug, Serialize)]
struct PriceJson {
    id: String,
    price: String,
    conf: String,
    expo: i32,
    publish_time: i64,
    prev_publish_time: i64,
    ema_price: String,
    ema_conf: String,
    age_s: i64,
}

/// One verified accumulator update in the output.
#[derive(Debug, Serialize)]
struct PythReport {
    signatures_valid: usize,
    quorum: usize,
    guardian_set_index: u32,
    slot: u64,
    updates: Vec<PriceJson>,
}

fn verify_pyth(args: &VerifyPythArgs) -> Result<Vec<String>, CliError> {
    let text = read_input(&args.input)?;
    let signers = pyth_signer_set(args)?;
    let encoding = args.encoding.unwrap_or_else(|| detect_pyth_encoding(&text));
    let updates = match encoding {
        PythEncoding::Hex => {
            let bytes = decode_hex(&text)
                .map_err(|err| CliError::new("encoding", format!("hex: {err}")))?;
            vec![verify_accumulator_update(&bytes, &signers)?]
        }
        PythEncoding::Base64 => {
            let bytes = decode_base64(&text)
                .map_err(|err| CliError::new("encoding", format!("base64: {err}")))?;
            vec![verify_accumulator_update(&bytes, &signers)?]
        }
        PythEncoding::HermesJson => verify_hermes_json(&text, &signers)?,
        PythEncoding::Sse => verify_sse(&text, &signers)?,
    };
    let now_s =
        args.now_s.unwrap_or_else(|| i64::try_from(system_now_ms() / 1000).unwrap_or(i64::MAX));
    if let Some(max_age_s) = args.max_age_s {
        for price in updates.iter().flat_map(VerifiedUpdate::prices) {
            check_staleness(price, now_s, max_age_s)?;
        }
    }
    updates.iter().map(|update| serialize(&pyth_report(update, now_s))).collect()
}

fn serialize(value: &impl Serialize) -> Result<String, CliError> {
    serde_json::to_string(value).map_err(|err| CliError::new("output", err.to_string()))
}

fn pyth_report(update: &VerifiedUpdate, now_s: i64) -> PythReport {
    let updates = update
        .prices()
        .map(|price| PriceJson {
            id: encode_hex(&price.feed_id),
            price: price.price.to_string(),
            conf: price.conf.to_string(),
            expo: price.exponent,
            publish_time: price.publish_time_s,
            prev_publish_time: price.prev_publish_time_s,
            ema_price: price.ema_price.to_string(),
            ema_conf: price.ema_conf.to_string(),
            age_s: age_s(price.publish_time_s, now_s),
        })
        .collect();
    PythReport {
        signatures_valid: update.signatures_valid,
        quorum: update.quorum,
        guardian_set_index: update.guardian_set_index,
        slot: update.slot,
        updates,
    }
}

/// Hermes JSON starts with `{`, SSE with a field or comment line, hex is all hex digits,
/// anything else is taken as base64.
fn detect_pyth_encoding(text: &str) -> PythEncoding {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return PythEncoding::HermesJson;
    }
    if ["data:", "event:", "id:", "retry:", ":"].iter().any(|prefix| trimmed.starts_with(prefix)) {
        return PythEncoding::Sse;
    }
    let body = trimmed.trim_end();
    let digits = body.strip_prefix("0x").unwrap_or(body);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return PythEncoding::Hex;
    }
    PythEncoding::Base64
}

fn pyth_signer_set(args: &VerifyPythArgs) -> Result<SignerSet, CliError> {
    let set = match (&args.signers, args.guardian_set) {
        (Some(path), _) => {
            let file = parse_signer_file(&read_input(path)?)?;
            SignerSet::new(file.guardian_set_index, file.addresses, file.quorum)?
        }
        (None, Some(index)) => {
            let sets = GuardianSets::mainnet()?;
            let latest_index = sets.latest_index();
            sets.get(index).cloned().ok_or_else(|| {
                CliError::new(
                    "guardian_set",
                    format!("guardian set {index} is not shipped (0..={latest_index})"),
                )
            })?
        }
        (None, None) => {
            return Err(CliError::new("signers", "give --guardian-set N or --signers FILE"))
        }
    };
    match args.quorum {
        Some(quorum) => Ok(set.with_quorum(quorum)?),
        None => Ok(set),
    }
}

/// A signer list as read from a file.
#[derive(Debug, Default, PartialEq, Eq)]
struct SignerFile {
    guardian_set_index: Option<u32>,
    addresses: Vec<EthAddress>,
    quorum: Option<usize>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SignerFileJson {
    #[serde(default)]
    guardian_set_index: Option<u32>,
    signers: Vec<String>,
    #[serde(default)]
    quorum: Option<usize>,
}

/// Addresses one per line (`#` comments), a JSON array of addresses, or a [`SignerFileJson`].
fn parse_signer_file(text: &str) -> Result<SignerFile, CliError> {
    let signers_err = |message: String| CliError::new("signers", message);
    let trimmed = text.trim_start();
    let (guardian_set_index, texts, quorum): (Option<u32>, Vec<String>, Option<usize>) = if trimmed
        .starts_with('[')
    {
        let texts = serde_json::from_str(trimmed).map_err(|err| signers_err(err.to_string()))?;
        (None, texts, None)
    } else if trimmed.starts_with('{') {
        let file: SignerFileJson =
            serde_json::from_str(trimmed).map_err(|err| signers_err(err.to_string()))?;
        (file.guardian_set_index, file.signers, file.quorum)
    } else {
        let lines = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or("").trim())
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        (None, lines, None)
    };
    let addresses = texts
        .iter()
        .map(|address| address.parse::<EthAddress>().map_err(|err| signers_err(err.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    if addresses.is_empty() {
        return Err(signers_err("the signer file lists no addresses".to_owned()));
    }
    Ok(SignerFile { guardian_set_index, addresses, quorum })
}

// ---------------------------------------------------------------------------------------------
// RedStone

/// The RedStone output.
#[derive(Debug, Serialize)]
struct RedstoneReport {
    timestamp_ms: u64,
    feeds: BTreeMap<String, String>,
    signers: BTreeMap<String, Vec<String>>,
    below_threshold: BTreeMap<String, usize>,
    unknown_signer_packages: usize,
}

fn verify_redstone(args: &VerifyRedstoneArgs) -> Result<Vec<String>, CliError> {
    let text = read_input(&args.input)?;
    let config = redstone_config(args)?;
    let now_ms = args.now_ms.unwrap_or_else(system_now_ms);
    let format = args.format.unwrap_or_else(|| {
        if text.trim_start().starts_with('{') {
            RedstoneFormat::GatewayJson
        } else {
            RedstoneFormat::Hex
        }
    });
    let report = match format {
        RedstoneFormat::Hex => {
            let bytes = decode_hex(&text)
                .map_err(|err| CliError::new("encoding", format!("hex: {err}")))?;
            let payload = parse_payload(&bytes)?;
            payload_report(&aggregate(&payload.packages, &config, now_ms)?)
        }
        RedstoneFormat::GatewayJson => {
            let groups = parse_gateway_json(&text)?;
            gateway_report(&aggregate_gateway(&groups, &config, now_ms)?)
        }
    };
    Ok(vec![serialize(&report)?])
}

fn redstone_config(args: &VerifyRedstoneArgs) -> Result<RedstoneConfig, CliError> {
    let mut config = RedstoneConfig::primary_prod();
    if args.signers != "primary-prod" {
        config.authorised_signers =
            parse_signer_file(&read_input(Path::new(&args.signers))?)?.addresses;
    }
    config.unique_signers_threshold = args.threshold;
    config.validate()?;
    Ok(config)
}

fn payload_report(prices: &AggregatedPrices) -> RedstoneReport {
    RedstoneReport {
        timestamp_ms: prices.timestamp_ms,
        feeds: prices
            .feeds
            .iter()
            .map(|(id, price)| (id.to_string(), price.value.to_string()))
            .collect(),
        signers: prices
            .feeds
            .iter()
            .map(|(id, price)| {
                (id.to_string(), price.signers.iter().map(ToString::to_string).collect())
            })
            .collect(),
        below_threshold: prices
            .below_threshold
            .iter()
            .map(|(id, count)| (id.to_string(), *count))
            .collect(),
        unknown_signer_packages: prices.unknown_signer_packages,
    }
}

fn gateway_report(prices: &GatewayPrices) -> RedstoneReport {
    let feeds = prices.feeds();
    let mut below_threshold = prices.below_threshold.clone();
    for group in prices.groups.values() {
        for (id, count) in &group.below_threshold {
            below_threshold.entry(id.to_string()).or_insert(*count);
        }
    }
    RedstoneReport {
        timestamp_ms: prices.timestamp_ms().unwrap_or_default(),
        feeds: feeds.iter().map(|(id, price)| (id.to_string(), price.value.to_string())).collect(),
        signers: feeds
            .iter()
            .map(|(id, price)| {
                (id.to_string(), price.signers.iter().map(ToString::to_string).collect())
            })
            .collect(),
        below_threshold,
        unknown_signer_packages: prices
            .groups
            .values()
            .map(|group| group.unknown_signer_packages)
            .sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected() {
        assert_eq!(detect_pyth_encoding("504e4155"), PythEncoding::Hex);
        assert_eq!(detect_pyth_encoding("0x504e4155\n"), PythEncoding::Hex);
        assert_eq!(detect_pyth_encoding("UE5BVQEAAAAD"), PythEncoding::Base64);
        assert_eq!(detect_pyth_encoding(" {\"binary\":{}}"), PythEncoding::HermesJson);
        assert_eq!(detect_pyth_encoding("data:{}\n\n"), PythEncoding::Sse);
        assert_eq!(detect_pyth_encoding(": keep-alive\n"), PythEncoding::Sse);
    }

    #[test]
    fn signer_files_in_three_shapes() {
        let a = "0x8BB8F32Df04c8b654987DAaeD53D6B6091e3B774";
        let b = "0xdEB22f54738d54976C4c0fe5ce6d408E40d88499";
        let lines = parse_signer_file(&format!("# primary\n{a}\n\n{b} # wayfarer\n")).unwrap();
        assert_eq!(lines.addresses.len(), 2);
        let array = parse_signer_file(&format!("[\"{a}\", \"{b}\"]")).unwrap();
        assert_eq!(array, lines);
        let object = parse_signer_file(&format!(
            "{{\"guardian_set_index\":4,\"signers\":[\"{a}\"],\"quorum\":1}}"
        ))
        .unwrap();
        assert_eq!((object.guardian_set_index, object.quorum), (Some(4), Some(1)));
        assert_eq!(parse_signer_file("nonsense").unwrap_err().rule, "signers");
        assert_eq!(parse_signer_file("").unwrap_err().rule, "signers");
    }
}
