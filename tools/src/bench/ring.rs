//! `hedger bench ring`: one-way hop latency (round trip / 2) and throughput of the hedger ring,
//! raw `rtrb`, `crossbeam::queue::ArrayQueue`, `crossbeam_channel::bounded` and
//! `std::sync::mpsc::sync_channel`, all with 64-byte [`Msg`]s between two pinned threads, beside
//! the core-to-core cache-line ping-pong floor measured before and after the queue rows, and a
//! jitter probe that counts host hiccups.
//!
//! Method (after `performance.md` §4–5): threads pinned with `sched_setaffinity`; sample buffers
//! allocated and touched before timing; TSC stamps; latency = ping-pong round trip / 2 over
//! `--round-trips` after a warm-up; throughput = best of `--runs` runs of `--messages` messages,
//! timed on the consumer. The hedger ring runs with its telemetry live (stamping and histogram
//! included) and uses its batch calls (64 per batch) for throughput.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier};

use hdrhistogram::Histogram;
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{Body, Heartbeat, Msg, Origin};
use hedger_ipc::clock::{calibrate_tsc_hz, now_tsc, ticks_to_ns};
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};
use hedger_ipc::{ring, RingConsumer, RingProducer};
use serde::Serialize;

use super::pin::spawn_pinned;

/// Arguments of `hedger bench ring`.
#[derive(Debug, Clone, clap::Args)]
pub struct RingBenchArgs {
    /// Print one JSON object per row.
    #[arg(long)]
    pub json: bool,
    /// Round trips per latency row (after a 10 % warm-up).
    #[arg(long, default_value_t = 200_000)]
    pub round_trips: usize,
    /// Messages per throughput run.
    #[arg(long, default_value_t = 5_000_000)]
    pub messages: u64,
    /// Throughput runs per queue (best is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Ring capacity in messages.
    #[arg(long, default_value_t = 4096)]
    pub capacity: usize,
    /// The two CPUs to use, `A,B` [default: the first two this process may use].
    #[arg(long, value_delimiter = ',')]
    pub cpus: Vec<usize>,
    /// Milliseconds of jitter probing.
    #[arg(long, default_value_t = 1000)]
    pub jitter_ms: u64,
}

/// One output row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: &'static str,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    pub msgs_per_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_to_floor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_to_floor: Option<f64>,
    /// Latency samples above 10 µs: host hiccups, shown rather than hidden.
    pub samples_over_10us: u64,
}

/// The jitter probe's row.
#[derive(Debug, Clone, Serialize)]
pub struct JitterRow {
    pub name: &'static str,
    pub cpu: usize,
    pub duration_ms: u64,
    pub hiccups: u64,
    pub hiccups_per_s: f64,
    pub hiccup_p50_ns: u64,
    pub hiccup_max_ns: u64,
    pub lost_pct: f64,
}

/// The run's verdict against the targets.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub name: &'static str,
    pub tsc_hz: u64,
    pub cpus: [usize; 2],
    pub floor_before_p50_ns: u64,
    pub floor_after_p50_ns: u64,
    /// The two floors differ by more than 1.5x: the host moved the vCPUs mid-run.
    pub placement_changed: bool,
    pub ring_p50_to_floor: f64,
    pub ring_p99_to_floor: f64,
    pub ring_throughput_to_arrayqueue: f64,
}

/// One direction pair of a queue: what a ping-pong side sends on and receives from.
trait Endpoint: Send + 'static {
    fn send(&mut self, msg: Msg);
    fn recv(&mut self) -> Option<Msg>;
}

struct HedgerEnd(RingProducer<Msg>, RingConsumer<Msg>);
impl Endpoint for HedgerEnd {
    #[inline]
    fn send(&mut self, msg: Msg) {
        let mut msg = msg;
        while let Err(rtrb::PushError::Full(back)) = self.0.push(msg) {
            msg = back;
            std::hint::spin_loop();
        }
    }
    #[inline]
    fn recv(&mut self) -> Option<Msg> {
        self.1.pop()
    }
}

struct RtrbEnd(rtrb::Producer<Msg>, rtrb::Consumer<Msg>);
impl Endpoint for RtrbEnd {
    #[inline]
    fn send(&mut self, msg: Msg) {
        let mut msg = msg;
        while let Err(rtrb::PushError::Full(back)) = self.0.push(msg) {
            msg = back;
            std::hint::spin_loop();
        }
    }
    #[inline]
    fn recv(&mut self) -> Option<Msg> {
        self.1.pop().ok()
    }
}

struct ArrayQueueEnd(Arc<crossbeam_queue::ArrayQueue<Msg>>, Arc<crossbeam_queue::ArrayQueue<Msg>>);
impl Endpoint for ArrayQueueEnd {
    #[inline]
    fn send(&mut self, msg: Msg) {
        let mut msg = msg;
        while let Err(back) = self.0.push(msg) {
            msg = back;
            std::hint::spin_loop();
        }
    }
    #[inline]
    fn recv(&mut self) -> Option<Msg> {
        self.1.pop()
    }
}

struct ChannelEnd(crossbeam_channel::Sender<Msg>, crossbeam_channel::Receiver<Msg>);
impl Endpoint for ChannelEnd {
    #[inline]
    fn send(&mut self, msg: Msg) {
        let mut msg = msg;
        while let Err(crossbeam_channel::TrySendError::Full(back)) = self.0.try_send(msg) {
            msg = back;
            std::hint::spin_loop();
        }
    }
    #[inline]
    fn recv(&mut self) -> Option<Msg> {
        self.1.try_recv().ok()
    }
}

struct MpscEnd(mpsc::SyncSender<Msg>, mpsc::Receiver<Msg>);
impl Endpoint for MpscEnd {
    #[inline]
    fn send(&mut self, msg: Msg) {
        let mut msg = msg;
        while let Err(mpsc::TrySendError::Full(back)) = self.0.try_send(msg) {
            msg = back;
            std::hint::spin_loop();
        }
    }
    #[inline]
    fn recv(&mut self) -> Option<Msg> {
        self.1.try_recv().ok()
    }
}

fn msg(seq: u64) -> Msg {
    Msg::new(
        Origin::new(VenueId::Synthetic, InstrumentId(0)),
        Body::Heartbeat(Heartbeat { beat_seq: seq, sent_ts_ns: 0 }),
    )
}

/// Round-trip/2 samples in ticks between two pinned endpoints.
fn ping_pong<E: Endpoint>(mut a: E, mut b: E, cpus: [usize; 2], round_trips: usize) -> Vec<u64> {
    let warmup = round_trips / 10;
    let total = round_trips + warmup;
    let echo = spawn_pinned(cpus[1], move || {
        for _ in 0..total {
            let m = loop {
                if let Some(m) = b.recv() {
                    break m;
                }
                std::hint::spin_loop();
            };
            b.send(m);
        }
    });
    let timer = spawn_pinned(cpus[0], move || {
        let mut samples = vec![1u64; round_trips];
        for i in 0..total {
            let t0 = now_tsc();
            a.send(msg(i as u64));
            let back = loop {
                if let Some(m) = a.recv() {
                    break m;
                }
                std::hint::spin_loop();
            };
            let t1 = now_tsc();
            assert_eq!(back.payload[0], i as u64, "ping-pong reordered");
            if i >= warmup {
                samples[i - warmup] = (t1 - t0) / 2;
            }
        }
        samples
    });
    let samples = timer.join().unwrap_or_default();
    let _ = echo.join();
    samples
}

/// The core-to-core floor: two cache lines, one written by each side.
fn c2c_floor(cpus: [usize; 2], round_trips: usize) -> Vec<u64> {
    #[repr(align(128))]
    struct Line(AtomicU64);
    let ping = Arc::new(Line(AtomicU64::new(u64::MAX)));
    let pong = Arc::new(Line(AtomicU64::new(u64::MAX)));
    let warmup = round_trips / 10;
    let total = (round_trips + warmup) as u64;
    let (ping_b, pong_b) = (Arc::clone(&ping), Arc::clone(&pong));
    let echo = spawn_pinned(cpus[1], move || {
        for i in 0..total {
            while ping_b.0.load(Ordering::Acquire) != i {
                std::hint::spin_loop();
            }
            pong_b.0.store(i, Ordering::Release);
        }
    });
    let timer = spawn_pinned(cpus[0], move || {
        let mut samples = vec![1u64; round_trips];
        for i in 0..total {
            let t0 = now_tsc();
            ping.0.store(i, Ordering::Release);
            while pong.0.load(Ordering::Acquire) != i {
                std::hint::spin_loop();
            }
            let t1 = now_tsc();
            if i >= warmup as u64 {
                samples[(i - warmup as u64) as usize] = (t1 - t0) / 2;
            }
        }
        samples
    });
    let samples = timer.join().unwrap_or_default();
    let _ = echo.join();
    samples
}

/// Producer/consumer pair for a throughput run; each returns when `count` messages are through.
type Side = Box<dyn FnOnce(u64) + Send>;

fn throughput(make: &dyn Fn() -> (Side, Side), cpus: [usize; 2], count: u64, runs: u32) -> f64 {
    let mut best = 0.0f64;
    for _ in 0..runs {
        let (produce, consume) = make();
        let start = Arc::new(Barrier::new(2));
        let start_c = Arc::clone(&start);
        let producer = spawn_pinned(cpus[0], move || {
            start.wait();
            produce(count);
        });
        let consumer = spawn_pinned(cpus[1], move || {
            start_c.wait();
            let t0 = std::time::Instant::now();
            consume(count);
            t0.elapsed()
        });
        let _ = producer.join();
        if let Ok(elapsed) = consumer.join() {
            best = best.max(count as f64 / elapsed.as_secs_f64());
        }
    }
    best
}

fn hedger_throughput_sides(tel: &Arc<TelemetryFile>, capacity: usize) -> (Side, Side) {
    let (mut tx, mut rx) = ring::<Msg>(tel, "bench-tput", capacity).expect("telemetry slot");
    let produce: Side = Box::new(move |count| {
        let mut batch = [Msg::EMPTY; 64];
        let mut sent = 0u64;
        while sent < count {
            let n = (count - sent).min(64) as usize;
            for (i, m) in batch[..n].iter_mut().enumerate() {
                *m = msg(sent + i as u64);
            }
            let mut done = 0;
            while done < n {
                done += tx.push_slice(&batch[done..n]);
            }
            sent += n as u64;
        }
    });
    let consume: Side = Box::new(move |count| {
        let mut out = [Msg::EMPTY; 64];
        let mut seen = 0u64;
        while seen < count {
            let n = rx.pop_into(&mut out);
            if n > 0 {
                assert_eq!(out[0].payload[0], seen, "throughput stream reordered");
            }
            seen += n as u64;
        }
    });
    (produce, consume)
}

macro_rules! single_sides {
    ($tx:expr, $rx:expr, $push:expr, $pop:expr) => {{
        let (mut tx, mut rx) = ($tx, $rx);
        let produce: Side = Box::new(move |count| {
            for i in 0..count {
                let mut m = msg(i);
                while let Err(back) = $push(&mut tx, m) {
                    m = back;
                    std::hint::spin_loop();
                }
            }
        });
        let consume: Side = Box::new(move |count| {
            let mut seen = 0u64;
            while seen < count {
                if let Some(m) = $pop(&mut rx) {
                    debug_assert_eq!(m.payload[0], seen);
                    seen += 1;
                }
            }
        });
        (produce, consume)
    }};
}

fn histogram(samples: &[u64], tsc_hz: u64) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds");
    for ticks in samples {
        let _ = h.record(ticks_to_ns(*ticks, tsc_hz).max(1));
    }
    h
}

fn row(name: &'static str, samples: &[u64], tsc_hz: u64, msgs_per_s: f64) -> Row {
    let h = histogram(samples, tsc_hz);
    Row {
        name,
        p50_ns: h.value_at_quantile(0.50),
        p99_ns: h.value_at_quantile(0.99),
        p999_ns: h.value_at_quantile(0.999),
        max_ns: h.max(),
        msgs_per_s: msgs_per_s.round(),
        phase: None,
        p50_to_floor: None,
        p99_to_floor: None,
        samples_over_10us: samples.iter().filter(|t| ticks_to_ns(**t, tsc_hz) > 10_000).count()
            as u64,
    }
}

/// Spins on the TSC on `cpu` and records every gap over 1 µs.
fn jitter_probe(cpu: usize, duration_ms: u64, tsc_hz: u64) -> JitterRow {
    let handle = spawn_pinned(cpu, move || {
        let threshold = tsc_hz / 1_000_000;
        let mut gaps = Vec::with_capacity(100_000);
        let start = now_tsc();
        let end = start + duration_ms * tsc_hz / 1000;
        let mut last = start;
        while last < end {
            let now = now_tsc();
            if now - last > threshold && gaps.len() < gaps.capacity() {
                gaps.push(now - last);
            }
            last = now;
        }
        gaps
    });
    let mut gaps = handle.join().unwrap_or_default();
    gaps.sort_unstable();
    let lost: u64 = gaps.iter().sum();
    let ns = |t| ticks_to_ns(t, tsc_hz);
    JitterRow {
        name: "jitter-probe",
        cpu,
        duration_ms,
        hiccups: gaps.len() as u64,
        hiccups_per_s: gaps.len() as f64 * 1000.0 / duration_ms.max(1) as f64,
        hiccup_p50_ns: gaps.get(gaps.len() / 2).map_or(0, |t| ns(*t)),
        hiccup_max_ns: gaps.last().map_or(0, |t| ns(*t)),
        lost_pct: (ns(lost) as f64 / (duration_ms.max(1) as f64 * 1e6) * 1e4).round() / 100.0,
    }
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("need two CPUs, this process may use {0:?} (pass --cpus A,B)")]
    Cpus(Vec<usize>),
    #[error(transparent)]
    Telemetry(#[from] hedger_ipc::telemetry::TelemetryError),
}

fn pick_cpus(args: &RingBenchArgs) -> Result<[usize; 2], BenchError> {
    let available = hedger_ipc::runtime::available_cores();
    match args.cpus.as_slice() {
        [a, b] if a != b => Ok([*a, *b]),
        [] if available.len() >= 2 => Ok([available[0], available[1]]),
        _ => Err(BenchError::Cpus(available)),
    }
}

/// Runs every row and returns them; `emit` is called as each row completes.
///
/// # Errors
/// Fewer than two CPUs, or no telemetry file for the hedger ring.
pub fn run_rows(
    args: &RingBenchArgs,
    emit: &mut dyn FnMut(&serde_json::Value),
) -> Result<Summary, BenchError> {
    let cpus = pick_cpus(args)?;
    let tsc_hz = calibrate_tsc_hz(std::time::Duration::from_millis(50));
    let tel_path = std::env::temp_dir().join(format!("hedger-bench-{}.tel", std::process::id()));
    let tel = TelemetryFile::create(&tel_path, TelemetryLimits::default(), "bench", tsc_hz, 0)?;
    let (n, cap) = (args.round_trips.max(1_000), args.capacity.max(2));
    let mut emit_row = |r: &Row| emit(&serde_json::to_value(r).unwrap_or_default());

    let mut floor_before = row("c2c-floor", &c2c_floor(cpus, n), tsc_hz, 0.0);
    floor_before.phase = Some("before");
    floor_before.msgs_per_s = 1e9 / (2.0 * floor_before.p50_ns.max(1) as f64);
    emit_row(&floor_before);
    let ratio = |r: &mut Row| {
        r.p50_to_floor = Some(round2(r.p50_ns as f64 / floor_before.p50_ns.max(1) as f64));
        r.p99_to_floor = Some(round2(r.p99_ns as f64 / floor_before.p99_ns.max(1) as f64));
    };

    let (a_tx, b_rx) = ring::<Msg>(&tel, "bench-ab", cap)?;
    let (b_tx, a_rx) = ring::<Msg>(&tel, "bench-ba", cap)?;
    let lat = ping_pong(HedgerEnd(a_tx, a_rx), HedgerEnd(b_tx, b_rx), cpus, n);
    let tput = throughput(&|| hedger_throughput_sides(&tel, cap), cpus, args.messages, args.runs);
    let mut hedger_row = row("hedger-ring", &lat, tsc_hz, tput);
    ratio(&mut hedger_row);
    emit_row(&hedger_row);

    let (a_tx, b_rx) = rtrb::RingBuffer::new(cap);
    let (b_tx, a_rx) = rtrb::RingBuffer::new(cap);
    let lat = ping_pong(RtrbEnd(a_tx, a_rx), RtrbEnd(b_tx, b_rx), cpus, n);
    let make = || {
        let (tx, rx) = rtrb::RingBuffer::<Msg>::new(cap);
        single_sides!(
            tx,
            rx,
            |t: &mut rtrb::Producer<Msg>, m| t.push(m).map_err(|rtrb::PushError::Full(b)| b),
            |r: &mut rtrb::Consumer<Msg>| r.pop().ok()
        )
    };
    let mut r = row("rtrb-raw", &lat, tsc_hz, throughput(&make, cpus, args.messages, args.runs));
    ratio(&mut r);
    emit_row(&r);

    let (ab, ba) = (
        Arc::new(crossbeam_queue::ArrayQueue::new(cap)),
        Arc::new(crossbeam_queue::ArrayQueue::new(cap)),
    );
    let lat =
        ping_pong(ArrayQueueEnd(Arc::clone(&ab), Arc::clone(&ba)), ArrayQueueEnd(ba, ab), cpus, n);
    let make = || {
        let q = Arc::new(crossbeam_queue::ArrayQueue::<Msg>::new(cap));
        single_sides!(
            Arc::clone(&q),
            q,
            |t: &mut Arc<crossbeam_queue::ArrayQueue<Msg>>, m| t.push(m),
            |r: &mut Arc<crossbeam_queue::ArrayQueue<Msg>>| r.pop()
        )
    };
    let mut aq_row = row(
        "crossbeam-arrayqueue",
        &lat,
        tsc_hz,
        throughput(&make, cpus, args.messages, args.runs),
    );
    ratio(&mut aq_row);
    emit_row(&aq_row);

    let (ab_tx, ab_rx) = crossbeam_channel::bounded(cap);
    let (ba_tx, ba_rx) = crossbeam_channel::bounded(cap);
    let lat = ping_pong(ChannelEnd(ab_tx, ba_rx), ChannelEnd(ba_tx, ab_rx), cpus, n);
    let make = || {
        let (tx, rx) = crossbeam_channel::bounded::<Msg>(cap);
        single_sides!(
            tx,
            rx,
            |t: &mut crossbeam_channel::Sender<Msg>, m| t.try_send(m).map_err(|e| e.into_inner()),
            |r: &mut crossbeam_channel::Receiver<Msg>| r.try_recv().ok()
        )
    };
    let mut r =
        row("crossbeam-channel", &lat, tsc_hz, throughput(&make, cpus, args.messages, args.runs));
    ratio(&mut r);
    emit_row(&r);

    let (ab_tx, ab_rx) = mpsc::sync_channel(cap);
    let (ba_tx, ba_rx) = mpsc::sync_channel(cap);
    let lat = ping_pong(MpscEnd(ab_tx, ba_rx), MpscEnd(ba_tx, ab_rx), cpus, n);
    let make = || {
        let (tx, rx) = mpsc::sync_channel::<Msg>(cap);
        single_sides!(
            tx,
            rx,
            |t: &mut mpsc::SyncSender<Msg>, m| t.try_send(m).map_err(|e| match e {
                mpsc::TrySendError::Full(b) | mpsc::TrySendError::Disconnected(b) => b,
            }),
            |r: &mut mpsc::Receiver<Msg>| r.try_recv().ok()
        )
    };
    let mut r = row("std-mpsc", &lat, tsc_hz, throughput(&make, cpus, args.messages, args.runs));
    ratio(&mut r);
    emit_row(&r);

    let mut floor_after = row("c2c-floor", &c2c_floor(cpus, n), tsc_hz, 0.0);
    floor_after.phase = Some("after");
    floor_after.msgs_per_s = 1e9 / (2.0 * floor_after.p50_ns.max(1) as f64);
    emit_row(&floor_after);

    let jitter = jitter_probe(cpus[1], args.jitter_ms, tsc_hz);
    emit(&serde_json::to_value(&jitter).unwrap_or_default());
    let _ = std::fs::remove_file(&tel_path);

    let (before, after) = (floor_before.p50_ns.max(1) as f64, floor_after.p50_ns.max(1) as f64);
    Ok(Summary {
        name: "summary",
        tsc_hz,
        cpus,
        floor_before_p50_ns: floor_before.p50_ns,
        floor_after_p50_ns: floor_after.p50_ns,
        placement_changed: before.max(after) / before.min(after) > 1.5,
        ring_p50_to_floor: hedger_row.p50_to_floor.unwrap_or(0.0),
        ring_p99_to_floor: hedger_row.p99_to_floor.unwrap_or(0.0),
        ring_throughput_to_arrayqueue: round2(hedger_row.msgs_per_s / aq_row.msgs_per_s.max(1.0)),
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn print_human(value: &serde_json::Value) {
    let get = |k: &str| value.get(k).cloned().unwrap_or(serde_json::Value::Null);
    let name = get("name");
    let name = name.as_str().unwrap_or("?");
    if name == "jitter-probe" {
        println!(
            "{:<22} {} hiccups/s > 1us on cpu {}, median {} ns, max {} ns, {}% of time lost",
            name,
            get("hiccups_per_s"),
            get("cpu"),
            get("hiccup_p50_ns"),
            get("hiccup_max_ns"),
            get("lost_pct")
        );
        return;
    }
    let phase = get("phase");
    let label = match phase.as_str() {
        Some(p) => format!("{name} ({p})"),
        None => name.to_string(),
    };
    println!(
        "{:<22} {:>8} {:>8} {:>9} {:>10} {:>14} {:>7} {:>7}",
        label,
        get("p50_ns"),
        get("p99_ns"),
        get("p999_ns"),
        get("max_ns"),
        get("msgs_per_s"),
        get("p50_to_floor").as_f64().map_or("-".into(), |r| format!("{r:.2}")),
        get("p99_to_floor").as_f64().map_or("-".into(), |r| format!("{r:.2}")),
    );
}

/// Runs `hedger bench ring`.
///
/// # Errors
/// See [`run_rows`].
pub fn run(args: &RingBenchArgs) -> Result<(), BenchError> {
    let stop = AtomicBool::new(false);
    if !args.json {
        println!(
            "{:<22} {:>8} {:>8} {:>9} {:>10} {:>14} {:>7} {:>7}",
            "row (one-way ns)", "p50", "p99", "p99.9", "max", "msgs/s", "p50/fl", "p99/fl"
        );
    }
    let summary = run_rows(args, &mut |value| {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if args.json {
            println!("{value}");
        } else {
            print_human(value);
        }
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    } else {
        println!(
            "\nfloor p50 before/after: {} / {} ns{}; ring p50 {:.2}x and p99 {:.2}x the floor (targets <= 1.3x, <= 2x); batched ring throughput {:.2}x ArrayQueue (target >= 1x)",
            summary.floor_before_p50_ns,
            summary.floor_after_p50_ns,
            if summary.placement_changed { " - PLACEMENT CHANGED during the run, discard it" } else { "" },
            summary.ring_p50_to_floor,
            summary.ring_p99_to_floor,
            summary.ring_throughput_to_arrayqueue
        );
    }
    Ok(())
}
