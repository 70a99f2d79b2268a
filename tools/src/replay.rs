//! `hedger replay --venue V --input FILE --format jsonl`: feeds a capture file (one raw venue
//! message per line; REST snapshot responses allowed as lines) through the venue's real parser,
//! sequencer and book keeper, printing each normalised event as a JSON line and then one summary
//! line:
//!
//! ```json
//! {"summary":{"messages":N,"gaps":N,"checksum_failures":N,"parse_errors":N,"digest":"…",
//!   "books":{"BTCUSDT":{"best_bid":["px","qty"],"best_ask":["px","qty"],"bid_levels":N,"ask_levels":N,
//!   "state":"valid"}}}}
//! ```
//!
//! Prices and sizes are printed exactly as the venue wrote them (the parser keeps each value's
//! written decimals). The same input always gives the same output; `digest` is the FNV-1a 64 of
//! every event line, so two runs can be compared by one field.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::PathBuf;

use hedger_core::fixed::format_decimal;
use hedger_core::msg::Side;
use hedger_gateways::binance::{BinanceParser, BinanceSequencer};
use hedger_gateways::bybit::{BybitParser, BybitSequencer};
use hedger_gateways::deribit::{DeribitParser, DeribitSequencer};
use hedger_gateways::okx::checksum::{apply_okx_frame, OkxBookText};
use hedger_gateways::okx::{OkxParser, OkxSequencer};
use hedger_gateways::venue::keeper::KeeperLimits;
use hedger_gateways::venue::{
    reason, BookKeeper, BookSequencer, BookState, FrameKind, KeeperEvent, ParsedFrame, Symbol,
    WireError, WireLevel, WIRE_SCALE,
};
use serde_json::{json, Value};

/// Venues `replay` understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplayVenue {
    #[value(name = "binance-usdm")]
    BinanceUsdm,
    #[value(name = "bybit")]
    Bybit,
    #[value(name = "okx")]
    Okx,
    #[value(name = "deribit")]
    Deribit,
}

impl ReplayVenue {
    /// The name used on the command line and in journal file names.
    /// The venue's id.
    pub fn venue_id(self) -> hedger_core::ids::VenueId {
        use hedger_core::ids::VenueId;
        match self {
            ReplayVenue::BinanceUsdm => VenueId::BinanceUsdm,
            ReplayVenue::Bybit => VenueId::Bybit,
            ReplayVenue::Okx => VenueId::Okx,
            ReplayVenue::Deribit => VenueId::Deribit,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ReplayVenue::BinanceUsdm => "binance-usdm",
            ReplayVenue::Bybit => "bybit",
            ReplayVenue::Okx => "okx",
            ReplayVenue::Deribit => "deribit",
        }
    }
}

/// Input formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplayFormat {
    /// One raw venue message per line.
    Jsonl,
    /// A `hedger record` journal directory.
    Journal,
}

/// Replay speed for journals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplayPace {
    /// As fast as possible.
    Flat,
    /// Keep the recorded gaps between frames.
    Recorded,
}

/// Arguments of `hedger replay`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    #[arg(long, value_enum)]
    pub venue: ReplayVenue,
    /// Capture file; `-` reads standard input.
    #[arg(long)]
    pub input: PathBuf,
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ReplayFormat,
    /// Symbol for REST snapshot lines that carry none [default: the last symbol seen].
    #[arg(long)]
    pub symbol: Option<String>,
    /// Print only the summary line.
    #[arg(long)]
    pub summary_only: bool,
    /// Journal replay speed.
    #[arg(long, value_enum, default_value = "flat")]
    pub pace: ReplayPace,
}

/// A venue's frame parser behind one signature.
pub type Parser = Box<dyn FnMut(&[u8], &mut ParsedFrame) -> Result<(), WireError>>;
type Sequencer = Box<dyn BookSequencer + Send>;

/// The venue's parser, as its gateway runs it (scanner first, then simd-json).
pub fn parser_for(venue: ReplayVenue) -> Parser {
    venue_parts(venue).0
}

/// The venue's simd-json parser alone, without the scanner (benchmarks compare the two).
pub fn general_parser_for(venue: ReplayVenue) -> Parser {
    match venue {
        ReplayVenue::BinanceUsdm => {
            let mut parser = BinanceParser::general();
            Box::new(move |bytes, out| parser.parse(bytes, out))
        }
        ReplayVenue::Bybit => {
            let mut parser = BybitParser::general();
            Box::new(move |bytes, out| parser.parse(bytes, out))
        }
        ReplayVenue::Okx => {
            let mut parser = OkxParser::general();
            Box::new(move |bytes, out| parser.parse(bytes, out))
        }
        ReplayVenue::Deribit => {
            let mut parser = DeribitParser::general();
            Box::new(move |bytes, out| parser.parse(bytes, out))
        }
    }
}

fn venue_parts(venue: ReplayVenue) -> (Parser, fn() -> Sequencer) {
    match venue {
        ReplayVenue::BinanceUsdm => {
            let mut parser = BinanceParser::new();
            (Box::new(move |bytes, out| parser.parse(bytes, out)), || {
                Box::new(BinanceSequencer::new())
            })
        }
        ReplayVenue::Bybit => {
            let mut parser = BybitParser::new();
            (Box::new(move |bytes, out| parser.parse(bytes, out)), || {
                Box::new(BybitSequencer::new())
            })
        }
        ReplayVenue::Okx => {
            let mut parser = OkxParser::new();
            (Box::new(move |bytes, out| parser.parse(bytes, out)), || Box::new(OkxSequencer::new()))
        }
        ReplayVenue::Deribit => {
            let mut parser = DeribitParser::new();
            (Box::new(move |bytes, out| parser.parse(bytes, out)), || {
                Box::new(DeribitSequencer::new())
            })
        }
    }
}

/// One book with the written decimals of its live levels.
struct ReplayBook {
    keeper: BookKeeper<Sequencer>,
    decimals: HashMap<(u8, i64), (u8, u8)>,
    /// OKX only: the written level text its checksum is computed over.
    okx_text: Option<OkxBookText>,
}

/// Replay state; also usable in-process by tests.
pub struct Replay {
    venue: ReplayVenue,
    parser: Parser,
    new_sequencer: fn() -> Sequencer,
    frame: ParsedFrame,
    books: BTreeMap<String, ReplayBook>,
    forced_symbol: Option<String>,
    last_symbol: Option<String>,
    messages: u64,
    parse_errors: u64,
    digest: u64,
}

fn side_key(side: Side) -> u8 {
    side as u8
}

fn text(value: i64, decimals: u8) -> String {
    format_decimal(value, WIRE_SCALE, decimals)
}

fn levels_json(levels: &[WireLevel]) -> Value {
    levels
        .iter()
        .map(|l| json!([text(l.price, l.price_decimals), text(l.qty, l.qty_decimals)]))
        .collect()
}

fn state_name(state: BookState) -> &'static str {
    match state {
        BookState::Syncing => "syncing",
        BookState::Valid => "valid",
        BookState::Invalid { .. } => "invalid",
        BookState::Quarantined { .. } => "quarantined",
    }
}

impl Replay {
    pub fn new(venue: ReplayVenue, forced_symbol: Option<String>) -> Replay {
        let (parser, new_sequencer) = venue_parts(venue);
        Replay {
            venue,
            parser,
            new_sequencer,
            frame: ParsedFrame::new(),
            books: BTreeMap::new(),
            forced_symbol,
            last_symbol: None,
            messages: 0,
            parse_errors: 0,
            digest: 0xcbf2_9ce4_8422_2325,
        }
    }

    /// Processes one REST snapshot body for `symbol` (journal records carry the symbol apart).
    pub fn snapshot_for(&mut self, body: &[u8], symbol: &str, record_number: u64) -> Vec<Value> {
        let saved = self.forced_symbol.replace(symbol.to_string());
        let saved_last = self.last_symbol.take();
        let events = self.line(body, record_number);
        self.forced_symbol = saved;
        self.last_symbol = saved_last.or(Some(symbol.to_string()));
        events
    }

    /// Processes one line; returns the event lines it produced.
    pub fn line(&mut self, line: &[u8], line_number: u64) -> Vec<Value> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Vec::new();
        }
        self.messages += 1;
        let events = match (self.parser)(line, &mut self.frame) {
            Ok(()) => self.on_frame(),
            Err(error) => {
                self.parse_errors += 1;
                vec![json!({"event":"parse_error","line":line_number,"error":error.to_string()})]
            }
        };
        for event in &events {
            self.fold_digest(event.to_string().as_bytes());
        }
        events
    }

    fn fold_digest(&mut self, bytes: &[u8]) {
        for b in bytes.iter().chain(b"\n") {
            self.digest ^= u64::from(*b);
            self.digest = self.digest.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn symbol_of_frame(&mut self) -> Option<String> {
        let named = self.frame.symbol.as_str();
        if !named.is_empty() {
            self.last_symbol = Some(named.to_string());
            return Some(named.to_string());
        }
        self.forced_symbol.clone().or_else(|| self.last_symbol.clone())
    }

    fn on_frame(&mut self) -> Vec<Value> {
        let symbol = self.symbol_of_frame();
        let f = &self.frame;
        match f.kind {
            FrameKind::BookSnapshot | FrameKind::BookDelta | FrameKind::Heartbeat => match symbol {
                Some(symbol) => self.on_book_frame(&symbol),
                None => {
                    self.parse_errors += 1;
                    vec![
                        json!({"event":"parse_error","error":"snapshot without a symbol before any symbol was seen; pass --symbol"}),
                    ]
                }
            },
            FrameKind::Trades => f
                .trades
                .iter()
                .map(|t| {
                    json!({"event":"trade","symbol":symbol,"price":text(t.price, t.price_decimals),
                           "qty":text(t.qty, t.qty_decimals),
                           "aggressor":t.aggressor.map(|s| if s == Side::Buy {"buy"} else {"sell"}),
                           "trade_id":t.trade_id,"ts_ms":t.ts_ms})
                })
                .collect(),
            FrameKind::Bbo => vec![json!({"event":"bbo","symbol":symbol,
                "bid":[text(f.bbo.bid.price, f.bbo.bid.price_decimals), text(f.bbo.bid.qty, f.bbo.bid.qty_decimals)],
                "ask":[text(f.bbo.ask.price, f.bbo.ask.price_decimals), text(f.bbo.ask.qty, f.bbo.ask.qty_decimals)],
                "ts_ms":f.exchange_ts_ms})],
            FrameKind::MarkFunding => vec![json!({"event":"mark","symbol":symbol,
                "mark_price_e8":f.mark.mark_price,"index_price_e8":f.mark.index_price,
                "funding_rate_e8":f.mark.funding_rate,"next_funding_ms":f.mark.next_funding_ms,
                "ts_ms":f.exchange_ts_ms})],
            FrameKind::Control | FrameKind::Ignored => Vec::new(),
        }
    }

    fn on_book_frame(&mut self, symbol: &str) -> Vec<Value> {
        if self.frame.symbol.as_str().is_empty() {
            self.frame.symbol = Symbol::new(symbol);
        }
        let new_sequencer = self.new_sequencer;
        let is_okx = self.venue == ReplayVenue::Okx;
        let book = self.books.entry(symbol.to_string()).or_insert_with(|| ReplayBook {
            keeper: BookKeeper::new(new_sequencer(), KeeperLimits::default()),
            decimals: HashMap::new(),
            okx_text: is_okx.then(|| OkxBookText::new(KeeperLimits::default().levels_max)),
        });
        let f = &self.frame;
        let event = match book.okx_text.as_mut() {
            Some(text) => apply_okx_frame(&mut book.keeper, text, f),
            None => book.keeper.on_frame(f),
        };
        // Decimals are remembered per price for as long as the replay runs (not cleared on a
        // snapshot: buffered frames replayed after it have already recorded theirs).
        if matches!(
            event,
            KeeperEvent::SnapshotApplied | KeeperEvent::Applied | KeeperEvent::Buffered
        ) {
            for (side, levels) in [(Side::Buy, &f.bids), (Side::Sell, &f.asks)] {
                for l in levels.iter() {
                    book.decimals
                        .insert((side_key(side), l.price), (l.price_decimals, l.qty_decimals));
                }
            }
        }
        let ids = f.ids;
        let out = match event {
            KeeperEvent::SnapshotApplied => {
                json!({"event":"book_snapshot","symbol":symbol,"seq":ids.last,
                "bids":levels_json(&f.bids),"asks":levels_json(&f.asks)})
            }
            KeeperEvent::Applied => {
                json!({"event":"book_delta","symbol":symbol,"first_seq":ids.first,"seq":ids.last,
                "bids":levels_json(&f.bids),"asks":levels_json(&f.asks)})
            }
            KeeperEvent::Buffered => {
                json!({"event":"book_buffered","symbol":symbol,"seq":ids.last})
            }
            KeeperEvent::Stale => {
                json!({"event":"book_stale_dropped","symbol":symbol,"seq":ids.last})
            }
            KeeperEvent::Heartbeat => {
                json!({"event":"book_heartbeat","symbol":symbol,"seq":ids.last})
            }
            KeeperEvent::Invalidated { reason_code, expected, got } => {
                json!({"event":"book_invalid",
                "symbol":symbol,"reason":reason::name(reason_code),"expected":expected,"got":got,"seq":ids.last})
            }
            KeeperEvent::Quarantined { reason_code } => {
                json!({"event":"book_quarantined","symbol":symbol,
                "reason":reason::name(reason_code),"seq":ids.last})
            }
            KeeperEvent::NotBook => return Vec::new(),
        };
        vec![out]
    }

    /// The summary line.
    pub fn summary(&self) -> Value {
        let mut books = serde_json::Map::new();
        let (mut gaps, mut checksum_failures) = (0u64, 0u64);
        for (symbol, b) in &self.books {
            let c = b.keeper.counters();
            gaps += c.gaps;
            checksum_failures += c.checksum_failures;
            let book = b.keeper.book();
            let best = |side: Side, level: Option<hedger_core::book::Level>| {
                level.map(|l| {
                    let (pd, qd) = b
                        .decimals
                        .get(&(side_key(side), l.price_ticks))
                        .copied()
                        .unwrap_or((WIRE_SCALE, WIRE_SCALE));
                    json!([text(l.price_ticks, pd), text(l.qty_lots, qd)])
                })
            };
            let (bid_levels, ask_levels) = book.depth();
            books.insert(symbol.clone(), json!({
                "best_bid": best(Side::Buy, book.best_bid()),
                "best_ask": best(Side::Sell, book.best_ask()),
                "bid_levels": bid_levels, "ask_levels": ask_levels,
                "state": state_name(b.keeper.state()),
                "snapshots": c.snapshots, "stale_dropped": c.stale_dropped, "resyncs": c.resyncs,
            }));
        }
        json!({"summary":{"messages":self.messages,"gaps":gaps,"checksum_failures":checksum_failures,
            "parse_errors":self.parse_errors,"digest":format!("{:016x}", self.digest),"books":books}})
    }
}

/// Replays a `hedger record` journal, calling `emit` per event; returns the replay for its
/// summary.
///
/// # Errors
/// A journal that cannot be read (corruption other than a torn tail, bad metadata).
pub fn replay_journal(args: &ReplayArgs, emit: &mut dyn FnMut(&Value)) -> Result<Replay, String> {
    use crate::record::{KIND_INSTRUMENTS, KIND_META, KIND_REST_SNAPSHOT, KIND_WS_FRAME};
    let name = args.venue.name();
    let mut reader =
        hedger_ipc::journal::JournalReader::open(&args.input, name).map_err(|e| e.to_string())?;
    let mut replay = Replay::new(args.venue, args.symbol.clone());
    let mut symbols: Vec<String> = Vec::new();
    let (mut number, mut first_ts_ns, started) = (0u64, None, std::time::Instant::now());
    while let Some(record) = reader.next_record().map_err(|e| e.to_string())? {
        number += 1;
        if args.pace == ReplayPace::Recorded {
            let first = *first_ts_ns.get_or_insert(record.ts_ns);
            let due = std::time::Duration::from_nanos(record.ts_ns.saturating_sub(first));
            while started.elapsed() < due {
                std::thread::sleep(
                    (due - started.elapsed()).min(std::time::Duration::from_millis(5)),
                );
            }
        }
        let events = match record.kind {
            KIND_META => {
                let meta: Value = serde_json::from_slice(&record.payload)
                    .map_err(|e| format!("bad metadata record: {e}"))?;
                symbols = meta["symbols"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                Vec::new()
            }
            KIND_REST_SNAPSHOT => match symbols.get(record.source as usize) {
                Some(symbol) => {
                    let symbol = symbol.clone();
                    replay.snapshot_for(&record.payload, &symbol, number)
                }
                None => {
                    return Err(format!(
                        "record {number}: snapshot for unknown symbol index {}",
                        record.source
                    ))
                }
            },
            KIND_WS_FRAME => replay.line(&record.payload, number),
            // Instruments bodies serve the replay simulator; books do not depend on them.
            KIND_INSTRUMENTS => Vec::new(),
            other => return Err(format!("record {number}: unknown record kind {other}")),
        };
        for event in &events {
            emit(event);
        }
    }
    Ok(replay)
}

/// Runs `hedger replay`; returns the exit code (0 done, 2 unreadable input).
pub fn run(args: &ReplayArgs) -> i32 {
    if args.format == ReplayFormat::Journal {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let mut write_failed = false;
        let result = replay_journal(args, &mut |event| {
            if !args.summary_only && writeln!(out, "{event}").is_err() {
                write_failed = true;
            }
        });
        return match result {
            Ok(replay) if !write_failed => {
                if writeln!(out, "{}", replay.summary()).is_err() || out.flush().is_err() {
                    return 2;
                }
                0
            }
            Ok(_) => 2,
            Err(e) => {
                let _ = out.flush();
                eprintln!("hedger replay: {}: {e}", args.input.display());
                2
            }
        };
    }
    let reader: Box<dyn BufRead> = if args.input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(&args.input) {
            Ok(file) => Box::new(std::io::BufReader::new(file)),
            Err(e) => {
                eprintln!("hedger replay: cannot open {}: {e}", args.input.display());
                return 2;
            }
        }
    };
    let mut replay = Replay::new(args.venue, args.symbol.clone());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                eprintln!("hedger replay: reading {}: {e}", args.input.display());
                return 2;
            }
        };
        for event in replay.line(&line, index as u64 + 1) {
            if !args.summary_only && writeln!(out, "{event}").is_err() {
                return 2;
            }
        }
    }
    if writeln!(out, "{}", replay.summary()).is_err() || out.flush().is_err() {
        return 2;
    }
    0
}
