//! A fixed amount of normalisation work for instruction counting under callgrind (noise-free,
//! unlike wall time on this shared VM):
//!
//! ```sh
//! cargo build --release --example feed_profile
//! valgrind --tool=callgrind target/release/examples/feed_profile binance 20
//! ```
//!
//! Venue: `binance` (generic simd-json path), `scanner` (the gateway's default Binance parser),
//! `bybit`, `okx`, `deribit`. Passes over the 256 bench messages (default 20).

use hedger_gateways::binance::BinanceParser;
use hedger_gateways::venue::ParsedFrame;
use hedger_tools::bench::feed::{binance_depth_messages, depth_messages};
use hedger_tools::replay::{parser_for, ReplayVenue};

/// One parse of one message into the frame; true when it succeeded.
type Parse = Box<dyn FnMut(&[u8], &mut ParsedFrame) -> bool>;

fn main() {
    let mut args = std::env::args().skip(1);
    let venue = args.next().unwrap_or_else(|| "binance".into());
    let passes: usize = args.next().and_then(|p| p.parse().ok()).unwrap_or(20);
    let mut frame = ParsedFrame::new();
    let mut parse: Parse = match venue.as_str() {
        "binance" => {
            let mut p = BinanceParser::general();
            Box::new(move |m, f| p.parse(m, f).is_ok())
        }
        "scanner" => {
            let mut p = BinanceParser::new();
            Box::new(move |m, f| p.parse(m, f).is_ok())
        }
        other => {
            let v = match other {
                "bybit" => ReplayVenue::Bybit,
                "okx" => ReplayVenue::Okx,
                "deribit" => ReplayVenue::Deribit,
                _ => panic!("unknown venue {other}"),
            };
            let mut p = parser_for(v);
            Box::new(move |m, f| p(m, f).is_ok())
        }
    };
    let messages = match venue.as_str() {
        "binance" | "scanner" => binance_depth_messages(),
        "bybit" => depth_messages(ReplayVenue::Bybit),
        "okx" => depth_messages(ReplayVenue::Okx),
        _ => depth_messages(ReplayVenue::Deribit),
    };
    let mut ok = 0usize;
    for _ in 0..passes {
        for m in &messages {
            ok += usize::from(parse(m, &mut frame) && frame.bids.len() == 20);
        }
    }
    println!("{venue}: {ok} of {} messages parsed", passes * messages.len());
}
