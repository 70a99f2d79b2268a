//! `hedger bench feed`: normalisation cost per message and wire-to-book latency.
//!
//! * `normalise/<venue>/<parser>`: ns per 20×20-level depth update (≈950 bytes for Binance),
//!   bytes → fixed-point levels, over 256 distinct generated messages so branch predictors cannot
//!   learn one input; for Binance the gateway's single-pass scanner (what it runs), the simd-json
//!   tape path (its fallback) and serde_json (derive into borrowed strings, then the same exact
//!   decimal conversion) in the same run. Per-message
//!   p50/p99 from TSC brackets (each bracket includes one ~8 ns TSC read; 10 ns TSC steps).
//! * `wire-to-book/<venue>`: frame bytes read by the gateway (its `recv_tsc` stamp) → the hot
//!   side's book updated (batch end applied), through the real gateway, ring and hot-side books,
//!   against the simulator on loopback (network time excluded by construction). Gateway and hot
//!   consumer run on two pinned threads. By default every update is 20×20 on a book 1 000 deep
//!   (`--update-levels`, `--book-depth`), the shape the targets are set for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use hedger_core::books::{BookUpdate, HotBooks};
use hedger_core::fixed::parse_decimal_written;
use hedger_core::ids::InstrumentId;
use hedger_core::msg::Msg;
use hedger_gateways::binance::session::{BinanceGateway, BinanceSessionConfig};
use hedger_gateways::binance::BinanceParser;
use hedger_gateways::venue::{ParsedFrame, WireLevel, WIRE_SCALE};
use hedger_ipc::clock::{calibrate_tsc_hz, now_tsc, ticks_to_ns};
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};
use hedger_ipc::HopStamped;
use serde::{Deserialize, Serialize};

use super::pin::spawn_pinned;
use crate::replay::ReplayVenue;
use crate::venue_sim::binance::{BinanceSim, BinanceSimConfig};

/// Arguments of `hedger bench feed`.
#[derive(Debug, Clone, clap::Args)]
pub struct FeedBenchArgs {
    /// Print one JSON object per row.
    #[arg(long)]
    pub json: bool,
    /// Passes over the 256 messages per parser.
    #[arg(long, default_value_t = 400)]
    pub passes: usize,
    /// Seconds of wire-to-book measurement.
    #[arg(long, default_value_t = 3)]
    pub wire_seconds: u64,
    /// Simulator update interval for wire-to-book, ms.
    #[arg(long, default_value_t = 1)]
    pub tick_interval_ms: u64,
    /// The two CPUs for wire-to-book (gateway, hot) [default: the first two].
    #[arg(long, value_delimiter = ',')]
    pub cpus: Vec<usize>,
    /// CPU of the simulator thread for wire-to-book [default: the gateway's CPU].
    #[arg(long)]
    pub sim_cpu: Option<usize>,
    /// Levels per side in each simulated `depthUpdate` for wire-to-book: 20 is the ~950-byte
    /// 20×20 update the targets are set for; 0 gives the quiet market's few levels an update.
    #[arg(long, default_value_t = 20)]
    pub update_levels: usize,
    /// Levels per side of the simulated book (its REST snapshot) for wire-to-book: a Binance
    /// snapshot is 1 000 deep.
    #[arg(long, default_value_t = 1_000)]
    pub book_depth: usize,
}

/// One output row.
#[derive(Debug, Clone, Serialize)]
pub struct FeedRow {
    pub name: String,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    pub mean_ns: u64,
    pub msgs_per_s: f64,
    pub samples: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_per_msg: Option<u64>,
    /// Samples left out of this row, counted (`…/no-hot-stall`: those overlapping a stall).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_samples: Option<u64>,
}

/// A gap in the hot loop longer than this (plus a per-message allowance) is a stall of its
/// vCPU: the idle loop iteration itself takes about 0.1 µs.
const STALL_NS: u64 = 1_000;

/// One wire-to-book sample, TSC stamps: frame read by the gateway, its batch pushed to the
/// ring, popped by the hot thread, applied to the hot book.
#[derive(Clone, Copy)]
struct Sample {
    recv: u64,
    pushed: u64,
    popped: u64,
    applied: u64,
}

/// Pushes while there is preallocated room (measurement never allocates).
fn push_bounded<T>(v: &mut Vec<T>, item: T) {
    if v.len() < v.capacity() {
        v.push(item);
    }
}

/// Whether `[from, to]` overlaps any of the time-ordered, disjoint `stalls`.
fn overlaps_stall(stalls: &[(u64, u64)], from: u64, to: u64) -> bool {
    let first_ending_after = stalls.partition_point(|&(_, end)| end <= from);
    stalls.get(first_ending_after).is_some_and(|&(start, _)| start < to)
}

/// A decimal string as a JSON number the way Deribit writes one: trailing fraction zeros
/// dropped (`"10.500"` → `10.5`, `"10.000"` → `10`), an integer left whole (`"10"` → `10`).
fn json_number(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

/// 256 distinct depth updates with 20 bids and 20 asks in `venue`'s wire format.
pub fn depth_messages(venue: ReplayVenue) -> Vec<Vec<u8>> {
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    (0..256u64)
        .map(|i| {
            let mid = 349_000 + (next() % 2_000) as i64;
            let mut levels = |sign: i64| -> Vec<(String, String)> {
                (1..=20)
                    .map(|k| {
                        let price = mid + sign * k * 5;
                        let r = next();
                        let qty = if r.is_multiple_of(10) { 0 } else { r % 100_000 };
                        (format!("{}.{:02}", price / 100, price % 100), format!("{}.{:03}", qty / 1000, qty % 1000))
                    })
                    .collect()
            };
            let (bids, asks) = (levels(-1), levels(1));
            let seq = 5_800_000 + i;
            let text = match venue {
                ReplayVenue::BinanceUsdm => return binance_depth_messages()[i as usize].clone(),
                ReplayVenue::Bybit => {
                    let f = |l: &[(String, String)]| l.iter().map(|(p, q)| format!("[\"{p}\",\"{q}\"]")).collect::<Vec<_>>().join(",");
                    format!(r#"{{"topic":"orderbook.50.ETHUSDT","type":"delta","ts":1672304484978,"data":{{"s":"ETHUSDT","b":[{}],"a":[{}],"u":{seq},"seq":{}}},"cts":1672304484976}}"#, f(&bids), f(&asks), seq * 7)
                }
                ReplayVenue::Okx => {
                    let f = |l: &[(String, String)]| l.iter().map(|(p, q)| format!("[\"{p}\",\"{q}\",\"0\",\"1\"]")).collect::<Vec<_>>().join(",");
                    format!(r#"{{"arg":{{"channel":"books","instId":"ETH-USDT-SWAP"}},"action":"update","data":[{{"asks":[{}],"bids":[{}],"ts":"1597026383085","checksum":0,"prevSeqId":{},"seqId":{seq}}}]}}"#, f(&asks), f(&bids), seq - 1)
                }
                ReplayVenue::Deribit => {
                    let f = |l: &[(String, String)]| l.iter().map(|(p, q)| format!("[\"change\",{p},{}]", json_number(q))).collect::<Vec<_>>().join(",");
                    format!(r#"{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"book.ETH-PERPETUAL.100ms","data":{{"type":"change","timestamp":1554373962454,"prev_change_id":{},"instrument_name":"ETH-PERPETUAL","change_id":{seq},"bids":[{}],"asks":[{}]}}}}}}"#, seq - 1, f(&bids), f(&asks))
                }
            };
            text.into_bytes()
        })
        .collect()
}

/// 256 distinct Binance depth updates with 20 bids and 20 asks.
pub fn binance_depth_messages() -> Vec<Vec<u8>> {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    (0..256u64)
        .map(|i| {
            let mid = 349_000 + (next() % 2_000) as i64;
            let level = |price: i64, r: u64| {
                let qty = if r.is_multiple_of(10) { 0 } else { r % 100_000 };
                format!("[\"{}.{:02}\",\"{}.{:03}\"]", price / 100, price % 100, qty / 1000, qty % 1000)
            };
            let bids: Vec<String> = (1..=20).map(|k| level(mid - k * 5, next())).collect();
            let asks: Vec<String> = (1..=20).map(|k| level(mid + k * 5, next())).collect();
            let u = 5_800_000_000_000 + i * 40;
            format!(
                r#"{{"e":"depthUpdate","E":{},"T":{},"s":"ETHUSDT","U":{},"u":{},"pu":{},"b":[{}],"a":[{}]}}"#,
                1_732_000_000_000 + i,
                1_732_000_000_000 + i,
                u + 1,
                u + 40,
                u,
                bids.join(","),
                asks.join(",")
            )
            .into_bytes()
        })
        .collect()
}

#[derive(Deserialize)]
struct SerdeDepth<'a> {
    #[serde(borrow, rename = "s")]
    _symbol: &'a str,
    #[serde(rename = "U")]
    _first: u64,
    #[serde(rename = "u")]
    _last: u64,
    #[serde(rename = "pu")]
    _prev: i64,
    #[serde(borrow)]
    b: Vec<[&'a str; 2]>,
    #[serde(borrow)]
    a: Vec<[&'a str; 2]>,
}

/// The serde_json baseline: same output (exact fixed-point levels) from a derived struct.
fn serde_normalise(bytes: &[u8], out: &mut Vec<WireLevel>) -> bool {
    let Ok(depth) = serde_json::from_slice::<SerdeDepth<'_>>(bytes) else { return false };
    out.clear();
    for [p, q] in depth.b.iter().chain(depth.a.iter()) {
        let (Ok((price, _)), Ok((qty, _))) = (
            parse_decimal_written(p.as_bytes(), WIRE_SCALE),
            parse_decimal_written(q.as_bytes(), WIRE_SCALE),
        ) else {
            return false;
        };
        out.push(WireLevel { price, qty, price_decimals: 0, qty_decimals: 0 });
    }
    true
}

fn row_from(
    name: String,
    samples_ticks: &[u64],
    tsc_hz: u64,
    bytes_per_msg: Option<u64>,
) -> FeedRow {
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("bounds");
    let mut sum_ns = 0u64;
    for t in samples_ticks {
        let ns = ticks_to_ns(*t, tsc_hz).max(1);
        sum_ns += ns;
        let _ = h.record(ns);
    }
    let count = samples_ticks.len().max(1) as u64;
    let mean_ns = sum_ns / count;
    FeedRow {
        name,
        p50_ns: h.value_at_quantile(0.5),
        p99_ns: h.value_at_quantile(0.99),
        p999_ns: h.value_at_quantile(0.999),
        max_ns: h.max(),
        mean_ns,
        msgs_per_s: if mean_ns == 0 { 0.0 } else { (1e9 / mean_ns as f64).round() },
        samples: samples_ticks.len() as u64,
        bytes_per_msg,
        excluded_samples: None,
    }
}

/// Times `parse` on every message, `passes` times; returns per-message ticks.
fn time_parser(
    messages: &[Vec<u8>],
    passes: usize,
    mut parse: impl FnMut(&[u8]) -> bool,
) -> Vec<u64> {
    let mut samples = vec![0u64; messages.len() * passes];
    for m in messages {
        assert!(parse(m), "benchmark input must parse");
    }
    let mut i = 0;
    for _ in 0..passes {
        for m in messages {
            let t0 = now_tsc();
            let ok = parse(m);
            let t1 = now_tsc();
            std::hint::black_box(ok);
            samples[i] = t1 - t0;
            i += 1;
        }
    }
    samples
}

/// Normalisation rows for every venue (the gateway's simd-json parser) and serde_json on Binance.
pub fn normalise_rows(passes: usize, tsc_hz: u64) -> Vec<FeedRow> {
    let mut rows = Vec::new();
    for venue in [ReplayVenue::Bybit, ReplayVenue::Okx, ReplayVenue::Deribit] {
        let messages = depth_messages(venue);
        let bytes = (messages.iter().map(Vec::len).sum::<usize>() / messages.len()) as u64;
        // The simd-json row is the general path; the gateways run their scanners first (their
        // own rows below).
        let mut parser = crate::replay::general_parser_for(venue);
        let mut frame = ParsedFrame::new();
        let samples = time_parser(&messages, passes, |m| {
            parser(m, &mut frame).is_ok() && frame.bids.len() == 20
        });
        rows.push(row_from(
            format!("normalise/{}/simd-json", venue.name()),
            &samples,
            tsc_hz,
            Some(bytes),
        ));
        let mut gateway_parser = crate::replay::parser_for(venue);
        let samples = time_parser(&messages, passes, |m| {
            gateway_parser(m, &mut frame).is_ok() && frame.bids.len() == 20
        });
        let name = format!("normalise/{}/scanner", venue.name());
        rows.push(row_from(name, &samples, tsc_hz, Some(bytes)));
    }
    rows.extend(binance_normalise_rows(passes, tsc_hz));
    rows
}

fn binance_normalise_rows(passes: usize, tsc_hz: u64) -> Vec<FeedRow> {
    let messages = binance_depth_messages();
    let bytes = (messages.iter().map(Vec::len).sum::<usize>() / messages.len()) as u64;
    let mut parser = BinanceParser::general();
    let mut frame = ParsedFrame::new();
    let simd = time_parser(&messages, passes, |m| {
        parser.parse(m, &mut frame).is_ok() && frame.bids.len() == 20
    });
    let mut gateway_parser = BinanceParser::new();
    let scanner = time_parser(&messages, passes, |m| {
        gateway_parser.parse(m, &mut frame).is_ok() && frame.bids.len() == 20
    });
    let mut levels = Vec::with_capacity(64);
    let serde =
        time_parser(&messages, passes, |m| serde_normalise(m, &mut levels) && levels.len() == 40);
    vec![
        row_from("normalise/binance-usdm/scanner".into(), &scanner, tsc_hz, Some(bytes)),
        row_from("normalise/binance-usdm/simd-json".into(), &simd, tsc_hz, Some(bytes)),
        row_from("normalise/binance-usdm/serde-json".into(), &serde, tsc_hz, Some(bytes)),
    ]
}

/// Wire-to-book latency through the Binance gateway against the simulator.
///
/// # Errors
/// The simulator or gateway could not start.
pub fn wire_to_book_row(args: &FeedBenchArgs, tsc_hz: u64) -> Result<FeedRow, String> {
    wire_to_book_rows(args, tsc_hz).map(|mut rows| rows.swap_remove(0))
}

/// Wire-to-book latency, then the same samples split at the moment the hot thread popped the
/// batch: `…/to-pop` (gateway parse + publish + ring hop) and `…/hot-apply` (book apply of the
/// popped messages up to the update's batch end). The split shows which side a tail comes from.
///
/// # Errors
/// The simulator or gateway could not start.
pub fn wire_to_book_rows(args: &FeedBenchArgs, tsc_hz: u64) -> Result<Vec<FeedRow>, String> {
    let available = hedger_ipc::runtime::available_cores();
    let cpus = match args.cpus.as_slice() {
        [a, b] => [*a, *b],
        _ if available.len() >= 2 => [available[0], available[1]],
        _ => return Err(format!("need two CPUs, have {available:?}")),
    };
    // The simulator shares the gateway's CPU: its work can only delay the gateway's socket read,
    // which happens before `recv_tsc` is stamped, so the measured path stays network-free.
    let sim = BinanceSim::start(BinanceSimConfig {
        tls: false,
        tick_interval_ms: args.tick_interval_ms,
        pin_cpu: Some(args.sim_cpu.unwrap_or(cpus[0])),
        update_levels: args.update_levels,
        book_levels: args.book_depth,
        ..BinanceSimConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let tel_path =
        std::env::temp_dir().join(format!("hedger-bench-feed-{}.tel", std::process::id()));
    let tel = TelemetryFile::create(&tel_path, TelemetryLimits::default(), "bench-feed", tsc_hz, 0)
        .map_err(|e| e.to_string())?;
    let (tx, mut rx) =
        // Every message carries its push stamp, so each sample also splits at the publish.
        hedger_ipc::ring_sampled::<Msg>(&tel, "binance->hot", 65_536, 1)
            .map_err(|e| e.to_string())?;
    let symbols =
        vec![("BTCUSDT".to_string(), InstrumentId(0)), ("ETHUSDT".to_string(), InstrumentId(1))];
    let cfg = BinanceSessionConfig::new(&sim.ws_url(), &sim.rest_url(), symbols);
    let mut gateway = BinanceGateway::new(cfg, tx, 1).map_err(|e| e.to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let gateway_stop = Arc::clone(&stop);
    let gateway_thread = spawn_pinned(cpus[0], move || {
        while !gateway_stop.load(Ordering::Relaxed) {
            gateway.do_work();
        }
    });
    let seconds = args.wire_seconds.max(1);
    let hot_stop = Arc::clone(&stop);
    let stall_ticks = tsc_hz.saturating_mul(STALL_NS) / 1_000_000_000;
    let hot = spawn_pinned(cpus[1], move || {
        let mut books = HotBooks::new(2, 4096);
        // (recv_tsc, pushed, popped, applied) per update, and the hot thread's own stalls,
        // preallocated: no allocation while measuring.
        let mut samples: Vec<Sample> = Vec::with_capacity(1 << 20);
        let mut stalls: Vec<(u64, u64)> = Vec::with_capacity(1 << 18);
        // Deadlines on the TSC: the loop reads no wall clock (as the runtime's poll loop).
        let start = now_tsc();
        let warm_until = start + tsc_hz / 2;
        let end = warm_until + seconds * tsc_hz;
        let mut batch = [Msg::EMPTY; 256];
        let (mut previous_end, mut previous_n) = (start, 0usize);
        loop {
            let n = rx.pop_into(&mut batch);
            let popped = now_tsc();
            if popped > end {
                break;
            }
            let measuring = popped > warm_until;
            // Between the last iteration's end and this pop the loop reads one clock, copies `n`
            // messages and records the hop stamps of the previous pop (telemetry flush): a gap
            // longer than that, with 62 ns a message to spare, means the vCPU was not running.
            let pop_allowance = stall_ticks + (n + previous_n) as u64 * stall_ticks / 16;
            if measuring && popped.saturating_sub(previous_end) > pop_allowance {
                push_bounded(&mut stalls, (previous_end, popped));
            }
            previous_n = n;
            for msg in &batch[..n] {
                if let BookUpdate::BatchEnd { .. } = books.apply(msg) {
                    if measuring {
                        let applied = now_tsc();
                        let sample =
                            Sample { recv: msg.recv_tsc, pushed: msg.hop_tsc(), popped, applied };
                        push_bounded(&mut samples, sample);
                    }
                }
            }
            // Applying takes ~60 ns a message (hot-apply row); allow 250 ns each on top of the
            // threshold, so a slow apply of ours is never taken for a stall.
            let applied = now_tsc();
            if measuring
                && applied.saturating_sub(popped) > stall_ticks + n as u64 * stall_ticks / 4
            {
                push_bounded(&mut stalls, (popped, applied));
            }
            previous_end = applied;
        }
        hot_stop.store(true, Ordering::Relaxed);
        (samples, stalls)
    });
    let (samples, stalls) = hot.join().map_err(|_| "hot thread panicked".to_string())?;
    stop.store(true, Ordering::Relaxed);
    let _ = gateway_thread.join();
    let _ = std::fs::remove_file(&tel_path);
    drop(sim);
    let total: Vec<u64> = samples.iter().map(|s| s.applied.saturating_sub(s.recv)).collect();
    let to_pop: Vec<u64> = samples.iter().map(|s| s.popped.saturating_sub(s.recv)).collect();
    let apply: Vec<u64> = samples.iter().map(|s| s.applied.saturating_sub(s.popped)).collect();
    let gateway: Vec<u64> = samples.iter().map(|s| s.pushed.saturating_sub(s.recv)).collect();
    let hop: Vec<u64> = samples.iter().map(|s| s.popped.saturating_sub(s.pushed)).collect();
    let clean: Vec<u64> = samples
        .iter()
        .filter(|s| !overlaps_stall(&stalls, s.recv, s.applied))
        .map(|s| s.applied.saturating_sub(s.recv))
        .collect();
    let excluded = (samples.len() - clean.len()) as u64;
    let stall_ticks_seen: Vec<u64> = stalls.iter().map(|&(a, b)| b - a).collect();
    let name = "wire-to-book/binance-usdm";
    let mut rows = vec![
        row_from(name.into(), &total, tsc_hz, None),
        row_from(format!("{name}/to-pop"), &to_pop, tsc_hz, None),
        row_from(format!("{name}/hot-apply"), &apply, tsc_hz, None),
        FeedRow {
            excluded_samples: Some(excluded),
            ..row_from(format!("{name}/no-hot-stall"), &clean, tsc_hz, None)
        },
        row_from(format!("{name}/gateway"), &gateway, tsc_hz, None),
        row_from(format!("{name}/hop"), &hop, tsc_hz, None),
    ];
    for row in &mut rows {
        row.msgs_per_s = (total.len() as f64 / seconds as f64).round();
    }
    let mut stall_row = row_from("hot-cpu-stalls".into(), &stall_ticks_seen, tsc_hz, None);
    stall_row.msgs_per_s = (stalls.len() as f64 / seconds as f64).round();
    rows.push(stall_row);
    Ok(rows)
}

/// Runs `hedger bench feed`.
///
/// # Errors
/// The wire-to-book harness could not start.
pub fn run(args: &FeedBenchArgs) -> Result<(), String> {
    let tsc_hz = calibrate_tsc_hz(Duration::from_millis(50));
    let mut rows = normalise_rows(args.passes.max(1), tsc_hz);
    rows.extend(wire_to_book_rows(args, tsc_hz)?);
    for row in &rows {
        if args.json {
            println!("{}", serde_json::to_string(row).unwrap_or_default());
        } else {
            println!(
                "{:<38} p50 {:>7} ns  p99 {:>7} ns  p99.9 {:>8} ns  max {:>9} ns  mean {:>7} ns  {:>12} msgs/s  n={}",
                row.name, row.p50_ns, row.p99_ns, row.p999_ns, row.max_ns, row.mean_ns, row.msgs_per_s, row.samples
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_overlapping_a_stall_are_found() {
        let stalls = [(100, 200), (500, 520)];
        assert!(overlaps_stall(&stalls, 150, 160), "inside");
        assert!(overlaps_stall(&stalls, 50, 101), "ends inside");
        assert!(overlaps_stall(&stalls, 199, 300), "starts inside");
        assert!(overlaps_stall(&stalls, 0, 1_000), "spans both");
        assert!(!overlaps_stall(&stalls, 200, 500), "between, touching");
        assert!(!overlaps_stall(&stalls, 0, 100), "before");
        assert!(!overlaps_stall(&stalls, 521, 600), "after");
        assert!(!overlaps_stall(&[], 0, 600), "no stalls");
    }

    #[test]
    fn generated_depth_messages_parse_to_twenty_levels_per_side_on_every_venue() {
        for venue in
            [ReplayVenue::BinanceUsdm, ReplayVenue::Bybit, ReplayVenue::Okx, ReplayVenue::Deribit]
        {
            let messages = depth_messages(venue);
            assert_eq!(messages.len(), 256);
            let mut parser = crate::replay::parser_for(venue);
            let mut frame = ParsedFrame::new();
            for m in &messages {
                parser(m, &mut frame)
                    .unwrap_or_else(|e| panic!("{venue:?}: {e}: {}", String::from_utf8_lossy(m)));
                assert_eq!((frame.bids.len(), frame.asks.len()), (20, 20), "{venue:?}");
            }
            let mut levels = Vec::new();
            assert!(
                serde_normalise(&binance_depth_messages()[0], &mut levels) && levels.len() == 40
            );
        }
    }
}
