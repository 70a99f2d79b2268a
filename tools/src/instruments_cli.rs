//! `hedger instruments`: parse a venue's instruments response body (a file) into
//! [`InstrumentSpec`]s and print one JSON line per spec, values as exact decimal strings.
//! Bad input exits 1 with `{"error":{"rule":…,"message":…}}` on stdout.

use std::path::PathBuf;

use hedger_core::fixed::format_decimal;
use hedger_core::ids::VenueId;
use hedger_core::instrument::{ContractKind, InstrumentSpec, InstrumentStatus, QtyUnit};
use hedger_gateways::venue::instruments::{parse_instruments, select};
use serde_json::{json, Value};

/// Largest input read.
const INPUT_BYTES_MAX: u64 = 64 << 20;

/// Arguments of `hedger instruments`.
#[derive(Debug, clap::Args)]
pub struct InstrumentsArgs {
    /// `binance-usdm`, `bybit`, `okx` or `deribit`.
    #[arg(long)]
    pub venue: String,
    /// The instruments endpoint's response body (`-` for stdin).
    #[arg(long)]
    pub input: PathBuf,
    /// Only these symbols, in this order (comma separated); every one must be listed.
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
}

/// A 1e-8 value as the shortest exact decimal string.
fn decimal(value_e8: i64) -> String {
    let text = format_decimal(value_e8, 8, 8);
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() || trimmed == "-" {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// One spec as a JSON object (the shape documented in README "Instrument metadata").
pub fn spec_json(spec: &InstrumentSpec) -> Value {
    let steps: Vec<Value> = spec
        .steps()
        .iter()
        .map(|s| json!({"above_price": decimal(s.above_price_e8), "tick_size": decimal(s.tick_size_e8)}))
        .collect();
    json!({
        "venue": spec.venue.name(),
        "symbol": spec.symbol.as_str(),
        "tick_size": decimal(spec.tick_size_e8),
        "lot_size": decimal(spec.lot_size_e8),
        "min_qty": decimal(spec.min_qty_e8),
        "contract_value": decimal(spec.contract_value_e8),
        "contract_currency": spec.contract_currency.as_str(),
        "kind": match spec.kind { ContractKind::Linear => "linear", ContractKind::Inverse => "inverse" },
        "qty_unit": match spec.qty_unit { QtyUnit::Contracts => "contracts", QtyUnit::Currency => "currency" },
        "status": match spec.status { InstrumentStatus::Trading => "trading", InstrumentStatus::Halted => "halted" },
        "tick_size_steps": steps,
    })
}

fn venue_of(name: &str) -> Option<VenueId> {
    [VenueId::BinanceUsdm, VenueId::Bybit, VenueId::Okx, VenueId::Deribit]
        .into_iter()
        .find(|v| v.name() == name)
}

fn specs(args: &InstrumentsArgs) -> Result<Vec<InstrumentSpec>, (String, String)> {
    use std::io::Read;
    let venue = venue_of(&args.venue)
        .ok_or_else(|| ("unknown_venue".to_string(), format!("unknown venue {:?}", args.venue)))?;
    let mut body = Vec::new();
    let read = if args.input.as_os_str() == "-" {
        std::io::stdin().take(INPUT_BYTES_MAX).read_to_end(&mut body)
    } else {
        std::fs::File::open(&args.input)
            .and_then(|f| f.take(INPUT_BYTES_MAX).read_to_end(&mut body))
    };
    read.map_err(|e| ("input".to_string(), format!("{}: {e}", args.input.display())))?;
    let all = parse_instruments(venue, &body).map_err(|e| (e.rule().to_string(), e.to_string()))?;
    if args.symbols.is_empty() {
        return Ok(all);
    }
    let wanted: Vec<&str> = args.symbols.iter().map(String::as_str).collect();
    select(&all, &wanted).map_err(|e| (e.rule().to_string(), e.to_string()))
}

/// Runs the subcommand; the process exit code.
pub fn run(args: &InstrumentsArgs) -> i32 {
    match specs(args) {
        Ok(list) => {
            for spec in &list {
                println!("{}", spec_json(spec));
            }
            0
        }
        Err((rule, message)) => {
            // Built by hand so `rule` precedes `message` (serde_json maps sort keys).
            let body = format!(
                "{{\"error\":{{\"rule\":{},\"message\":{}}}}}",
                Value::String(rule),
                Value::String(message)
            );
            println!("{body}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimals_are_shortest_exact_strings() {
        assert_eq!(super::decimal(10_000_000), "0.1");
        assert_eq!(super::decimal(1_000_000_000), "10");
        assert_eq!(super::decimal(1), "0.00000001");
        assert_eq!(super::decimal(0), "0");
    }
}
