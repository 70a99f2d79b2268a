//! `hedger inspect`: attach read-only to a running process's telemetry file.
//!
//! Finds the file by path, by PID (in the run directory) or, with neither, the newest live
//! process in the run directory. Takes two snapshots `--interval-ms` apart to compute rates,
//! and states the data's age: a file whose process is gone, stopped, or whose heartbeat is older
//! than [`HEARTBEAT_STALE_MS`] is reported `stale`.
//!
//! Exit codes: 0 live; 1 stale (the JSON/table is still printed); 2 no telemetry file;
//! 3 a file of another layout version or not a telemetry file; 4 other I/O errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hedger_ipc::clock::{ticks_to_ns, unix_ms};
use hedger_ipc::hist;
use hedger_ipc::runtime::SpinPolicy;
use hedger_ipc::telemetry::{
    default_run_dir, telemetry_path, RingRecord, TelemetryError, TelemetryReader,
    TelemetrySnapshot, ThreadRecord, STATE_RUNNING, STATE_STOPPED,
};
use serde::Serialize;

/// A heartbeat older than this marks the process stale.
pub const HEARTBEAT_STALE_MS: u64 = 2_000;

/// Arguments of `hedger inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// PID of the process to inspect (its file is `<run-dir>/hedger-<PID>.tel`).
    #[arg(long, conflicts_with = "file")]
    pub pid: Option<u32>,
    /// Path of a telemetry file.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Run directory holding telemetry files [default: $HEDGER_RUN_DIR or <tmp>/hedger].
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    /// Refresh in place until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Print one JSON snapshot.
    #[arg(long)]
    pub json: bool,
    /// Window over which rates are measured, and the refresh period of --watch.
    #[arg(long, default_value_t = 500)]
    pub interval_ms: u64,
}

/// One ring in the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RingReport {
    pub name: String,
    pub capacity: u64,
    pub depth: u64,
    pub hwm: u64,
    pub pushed: u64,
    pub popped: u64,
    pub stalls: u64,
    pub msgs_per_s: f64,
    pub hop_count: u64,
    pub hop_p50_ns: u64,
    pub hop_p99_ns: u64,
    pub hop_p999_ns: u64,
    pub hop_max_ns: u64,
    pub hop_mean_ns: u64,
}

/// One thread in the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ThreadReport {
    pub name: String,
    pub core: Option<u32>,
    pub cpu: Option<u32>,
    pub policy: &'static str,
    pub state: &'static str,
    pub tid: u32,
    pub loops: u64,
    pub loops_per_s: f64,
    pub busy_pct: f64,
    pub work_items: u64,
}

/// One named counter in the report (venue gateways: `<venue>.<counter>`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CounterReport {
    pub name: String,
    pub value: u64,
    /// Change per second over the sampling interval (0 without a second sample).
    pub per_s: f64,
}

/// The whole report (`--json` prints it as one line).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub pid: u32,
    pub file: String,
    pub profile: String,
    pub state: &'static str,
    pub stale: bool,
    pub stale_reason: Option<String>,
    pub heartbeat_age_ms: u64,
    pub uptime_ms: u64,
    pub tsc_hz: u64,
    pub interval_ms: u64,
    pub rings: Vec<RingReport>,
    pub threads: Vec<ThreadReport>,
    pub counters: Vec<CounterReport>,
}

/// Why inspect could not report.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    #[error(
        "no hedger telemetry files in {0} (is hedger running? pass --run-dir, --pid or --file)"
    )]
    NoProcess(PathBuf),
    #[error("cannot list {path}: {source}")]
    RunDir { path: PathBuf, source: std::io::Error },
}

impl InspectError {
    /// The documented exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            InspectError::Telemetry(TelemetryError::Missing { .. })
            | InspectError::NoProcess(_) => 2,
            InspectError::Telemetry(
                TelemetryError::Magic { .. }
                | TelemetryError::Version { .. }
                | TelemetryError::Truncated { .. },
            ) => 3,
            _ => 4,
        }
    }
}

/// Whether process `pid` exists (a process we may not signal still exists).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 performs only the existence and permission check; nothing is delivered.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Resolves which file to read.
///
/// # Errors
/// [`InspectError::NoProcess`] when the run directory holds no telemetry file.
pub fn locate(args: &InspectArgs) -> Result<PathBuf, InspectError> {
    if let Some(file) = &args.file {
        return Ok(file.clone());
    }
    let run_dir = args.run_dir.clone().unwrap_or_else(default_run_dir);
    if let Some(pid) = args.pid {
        return Ok(telemetry_path(&run_dir, pid));
    }
    newest_in(&run_dir)
}

/// The newest telemetry file of a live process in `run_dir`, else the newest file.
fn newest_in(run_dir: &Path) -> Result<PathBuf, InspectError> {
    let entries = match std::fs::read_dir(run_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(InspectError::NoProcess(run_dir.to_path_buf()))
        }
        Err(source) => return Err(InspectError::RunDir { path: run_dir.to_path_buf(), source }),
    };
    let mut candidates: Vec<(bool, u64, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("tel") {
            continue;
        }
        if let Ok(reader) = TelemetryReader::open(&path) {
            let snap = reader.snapshot();
            candidates.push((process_alive(snap.pid), snap.start_unix_ms, path));
        }
    }
    candidates.sort();
    candidates
        .pop()
        .map(|(_, _, path)| path)
        .ok_or_else(|| InspectError::NoProcess(run_dir.to_path_buf()))
}

fn state_name(state: u32) -> &'static str {
    match state {
        0 => "starting",
        STATE_RUNNING => "running",
        STATE_STOPPED => "stopped",
        _ => "unknown",
    }
}

fn thread_state_name(state: u32) -> &'static str {
    match state {
        0 => "new",
        1 => "running",
        2 => "stopped",
        3 => "panicked",
        _ => "unknown",
    }
}

fn rate(delta: u64, elapsed_ms: u64) -> f64 {
    if elapsed_ms == 0 {
        0.0
    } else {
        delta as f64 * 1000.0 / elapsed_ms as f64
    }
}

fn ring_report(
    now: &RingRecord,
    before: Option<&RingRecord>,
    tsc_hz: u64,
    elapsed_ms: u64,
) -> RingReport {
    let ns = |ticks| ticks_to_ns(ticks, tsc_hz);
    let delta = before.map_or(0, |b| now.popped.saturating_sub(b.popped));
    RingReport {
        name: now.name.clone(),
        capacity: now.capacity,
        depth: now.depth(),
        hwm: now.hwm,
        pushed: now.pushed,
        popped: now.popped,
        stalls: now.full_stalls,
        msgs_per_s: rate(delta, elapsed_ms),
        hop_count: now.hop_count,
        hop_p50_ns: ns(hist::quantile(&now.hop_buckets, 0.50)),
        hop_p99_ns: ns(hist::quantile(&now.hop_buckets, 0.99)),
        hop_p999_ns: ns(hist::quantile(&now.hop_buckets, 0.999)),
        hop_max_ns: ns(now.hop_max_ticks),
        hop_mean_ns: ns(now.hop_sum_ticks.checked_div(now.hop_count).unwrap_or(0)),
    }
}

fn thread_report(
    now: &ThreadRecord,
    before: Option<&ThreadRecord>,
    elapsed_ms: u64,
) -> ThreadReport {
    let (loops, work_loops) = match before {
        Some(b) if now.loops > b.loops => {
            (now.loops - b.loops, now.work_loops.saturating_sub(b.work_loops))
        }
        _ => (now.loops, now.work_loops),
    };
    let busy_pct = if loops == 0 { 0.0 } else { work_loops as f64 * 100.0 / loops as f64 };
    ThreadReport {
        name: now.name.clone(),
        core: now.core,
        cpu: now.cpu_last,
        policy: SpinPolicy::name_of(now.policy),
        state: thread_state_name(now.state),
        tid: now.tid,
        loops: now.loops,
        loops_per_s: rate(before.map_or(0, |b| now.loops.saturating_sub(b.loops)), elapsed_ms),
        busy_pct: (busy_pct * 10.0).round() / 10.0,
        work_items: now.work_items,
    }
}

/// Why a snapshot is stale, if it is.
pub fn staleness(snap: &TelemetrySnapshot, now_unix_ms: u64) -> Option<String> {
    let age_ms = now_unix_ms.saturating_sub(snap.heartbeat_unix_ms);
    if !process_alive(snap.pid) {
        Some(format!("process {} is not running (last heartbeat {age_ms} ms ago)", snap.pid))
    } else if snap.state == STATE_STOPPED {
        Some(format!("process {} has stopped its pipeline", snap.pid))
    } else if snap.state == STATE_RUNNING && age_ms > HEARTBEAT_STALE_MS {
        Some(format!("heartbeat is {age_ms} ms old (limit {HEARTBEAT_STALE_MS} ms)"))
    } else {
        None
    }
}

/// Builds a report from two snapshots `elapsed_ms` apart (`before` = None: no rates).
pub fn build_report(
    path: &Path,
    now: &TelemetrySnapshot,
    before: Option<&TelemetrySnapshot>,
    elapsed_ms: u64,
    now_unix_ms: u64,
) -> Report {
    let stale_reason = staleness(now, now_unix_ms);
    Report {
        pid: now.pid,
        file: path.display().to_string(),
        profile: now.profile.clone(),
        state: state_name(now.state),
        stale: stale_reason.is_some(),
        stale_reason,
        heartbeat_age_ms: now_unix_ms.saturating_sub(now.heartbeat_unix_ms),
        uptime_ms: now.heartbeat_unix_ms.saturating_sub(now.start_unix_ms),
        tsc_hz: now.tsc_hz,
        interval_ms: elapsed_ms,
        rings: now
            .rings
            .iter()
            .enumerate()
            .map(|(i, r)| {
                ring_report(r, before.and_then(|b| b.rings.get(i)), now.tsc_hz, elapsed_ms)
            })
            .collect(),
        threads: now
            .threads
            .iter()
            .enumerate()
            .map(|(i, t)| thread_report(t, before.and_then(|b| b.threads.get(i)), elapsed_ms))
            .collect(),
        counters: now
            .counters
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let previous = before.and_then(|b| b.counters.get(i)).map_or(c.value, |p| p.value);
                CounterReport {
                    name: c.name.clone(),
                    value: c.value,
                    per_s: rate(c.value.saturating_sub(previous), elapsed_ms),
                }
            })
            .collect(),
    }
}

/// Reads the file twice, `interval_ms` apart unless the process is already stale.
///
/// # Errors
/// The file is missing, foreign or of another version.
pub fn sample(path: &Path, interval_ms: u64) -> Result<Report, InspectError> {
    let reader = TelemetryReader::open(path)?;
    let first = reader.snapshot();
    if staleness(&first, unix_ms()).is_some() || interval_ms == 0 {
        return Ok(build_report(path, &first, None, 0, unix_ms()));
    }
    let started = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(interval_ms));
    let second = reader.snapshot();
    let elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(build_report(path, &second, Some(&first), elapsed_ms, unix_ms()))
}

fn human_ns(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{ns}ns"),
        10_000..=9_999_999 => format!("{:.1}us", ns as f64 / 1e3),
        _ => format!("{:.1}ms", ns as f64 / 1e6),
    }
}

fn human_rate(per_s: f64) -> String {
    if per_s >= 1e6 {
        format!("{:.2}M", per_s / 1e6)
    } else if per_s >= 1e3 {
        format!("{:.1}k", per_s / 1e3)
    } else {
        format!("{per_s:.0}")
    }
}

/// Renders the report as the human table.
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    let opt = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
    out.push_str(&format!(
        "hedger pid {}  profile {}  state {}  heartbeat {} ms ago  uptime {:.1} s\nfile {}\n",
        report.pid,
        report.profile,
        report.state,
        report.heartbeat_age_ms,
        report.uptime_ms as f64 / 1000.0,
        report.file
    ));
    if let Some(reason) = &report.stale_reason {
        out.push_str(&format!("STALE: {reason}; figures are the last ones written\n"));
    }
    out.push_str(&format!(
        "\n{:<16} {:>8} {:>7} {:>7} {:>9} {:>7} {:>8} {:>8} {:>8} {:>12}\n",
        "RING", "CAP", "DEPTH", "HWM", "MSGS/S", "STALLS", "HOP p50", "p99", "max", "POPPED"
    ));
    for r in &report.rings {
        out.push_str(&format!(
            "{:<16} {:>8} {:>7} {:>7} {:>9} {:>7} {:>8} {:>8} {:>8} {:>12}\n",
            r.name,
            r.capacity,
            r.depth,
            r.hwm,
            human_rate(r.msgs_per_s),
            r.stalls,
            human_ns(r.hop_p50_ns),
            human_ns(r.hop_p99_ns),
            human_ns(r.hop_max_ns),
            r.popped
        ));
    }
    out.push_str(&format!(
        "\n{:<16} {:>5} {:>5} {:<11} {:>10} {:>7} {:<9}\n",
        "THREAD", "CORE", "CPU", "POLICY", "LOOPS/S", "BUSY%", "STATE"
    ));
    for t in &report.threads {
        out.push_str(&format!(
            "{:<16} {:>5} {:>5} {:<11} {:>10} {:>7.1} {:<9}\n",
            t.name,
            opt(t.core),
            opt(t.cpu),
            t.policy,
            human_rate(t.loops_per_s),
            t.busy_pct,
            t.state
        ));
    }
    // Gateway counters, one row per venue: `<venue>.<counter>` grouped by venue, zeros left out
    // except for the headline ones, so a healthy feed reads at a glance.
    let mut venues: Vec<&str> = Vec::new();
    for c in &report.counters {
        let venue = c.name.split_once('.').map_or(c.name.as_str(), |(v, _)| v);
        if !venues.contains(&venue) {
            venues.push(venue);
        }
    }
    if !venues.is_empty() {
        out.push_str(&format!("\n{:<16} COUNTERS (value, +per s)\n", "GATEWAY"));
    }
    for venue in venues {
        let cells: Vec<String> = report
            .counters
            .iter()
            .filter_map(|c| {
                let (v, name) = c.name.split_once('.')?;
                let headline = matches!(name, "connects" | "frames" | "gaps");
                (v == venue && (headline || c.value > 0)).then(|| {
                    if c.per_s > 0.0 {
                        format!("{name} {} (+{})", c.value, human_rate(c.per_s))
                    } else {
                        format!("{name} {}", c.value)
                    }
                })
            })
            .collect();
        out.push_str(&format!("{venue:<16} {}\n", cells.join("  ")));
    }
    out
}

/// Runs `hedger inspect`; returns the exit code.
pub fn run(args: &InspectArgs) -> i32 {
    let path = match locate(args) {
        Ok(path) => path,
        Err(e) => return fail(args, &e),
    };
    loop {
        let report = match sample(&path, args.interval_ms) {
            Ok(report) => report,
            Err(e) => return fail(args, &e),
        };
        let mut stdout = std::io::stdout().lock();
        let text = if args.json {
            serde_json::to_string(&report).unwrap_or_default()
        } else {
            render_table(&report)
        };
        let clear = if args.watch && !args.json { "\x1b[2J\x1b[H" } else { "" };
        if writeln!(stdout, "{clear}{text}").is_err() {
            return 4;
        }
        let _ = stdout.flush();
        if !args.watch {
            return i32::from(report.stale);
        }
        if report.stale {
            std::thread::sleep(Duration::from_millis(args.interval_ms.max(100)));
        }
    }
}

fn fail(args: &InspectArgs, error: &InspectError) -> i32 {
    if args.json {
        let body =
            serde_json::json!({"error": {"code": error.exit_code(), "message": error.to_string()}});
        println!("{body}");
    }
    eprintln!("hedger inspect: {error}");
    error.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};

    #[test]
    fn report_computes_rates_percentiles_and_staleness() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.tel");
        let file = TelemetryFile::create(
            &path,
            TelemetryLimits::default(),
            "compact",
            1_000_000_000,
            1_000,
        )
        .unwrap();
        let (tx, rx) = file.register_ring("feed->hot", 64, 64).unwrap();
        let thread = file.register_thread("hot", Some(1), 1).unwrap();
        let gaps = file.register_counter("bybit.gaps").unwrap();
        let errors = file.register_counter("bybit.parse_errors").unwrap();
        file.register_counter("bybit.pings").unwrap();
        gaps.store(2);
        file.set_state(STATE_RUNNING);
        file.heartbeat(10_000);
        let reader = TelemetryReader::open(&path).unwrap();
        let before = reader.snapshot();
        gaps.store(7);
        errors.store(1);
        tx.store(1_000, 1);
        rx.store_popped(990, 12);
        for ticks in [100, 200, 300, 5_000] {
            rx.record_hop(ticks);
        }
        thread.store_loops(2_000, 500, 990);
        let after = reader.snapshot();
        let report = build_report(&path, &after, Some(&before), 500, 10_100);
        assert!(!report.stale, "{:?}", report.stale_reason);
        assert_eq!(report.heartbeat_age_ms, 100);
        let ring = &report.rings[0];
        assert_eq!((ring.depth, ring.hwm, ring.stalls, ring.msgs_per_s), (10, 12, 1, 1980.0));
        assert!((200..=223).contains(&ring.hop_p50_ns), "{}", ring.hop_p50_ns);
        assert_eq!(ring.hop_max_ns, 5_000);
        let t = &report.threads[0];
        assert_eq!((t.loops_per_s, t.busy_pct, t.policy), (4000.0, 25.0, "spin-yield"));
        let late = build_report(&path, &after, None, 0, 10_000 + HEARTBEAT_STALE_MS + 1);
        assert!(late.stale && late.stale_reason.unwrap().contains("heartbeat is 2001 ms old"));
        file.set_state(STATE_STOPPED);
        assert!(build_report(&path, &reader.snapshot(), None, 0, 10_100).stale);
        let counters: Vec<(&str, u64, f64)> =
            report.counters.iter().map(|c| (c.name.as_str(), c.value, c.per_s)).collect();
        assert_eq!(
            counters,
            vec![("bybit.gaps", 7, 10.0), ("bybit.parse_errors", 1, 2.0), ("bybit.pings", 0, 0.0)]
        );
        let table = render_table(&report);
        assert!(table.contains("feed->hot") && table.contains("spin-yield"), "{table}");
        let bybit = table.lines().find(|l| l.starts_with("bybit")).expect("a bybit row");
        assert!(bybit.contains("gaps 7 (+10)") && bybit.contains("parse_errors 1 (+2)"), "{bybit}");
        assert!(!bybit.contains("pings"), "zero non-headline counters are left out: {bybit}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["counters"][0]["name"], "bybit.gaps");
    }

    #[test]
    fn a_dead_pid_is_stale_and_missing_files_get_exit_code_2() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(0));
        let dir = tempfile::tempdir().unwrap();
        let args = InspectArgs {
            pid: Some(4_000_000),
            file: None,
            run_dir: Some(dir.path().to_path_buf()),
            watch: false,
            json: true,
            interval_ms: 0,
        };
        let path = locate(&args).unwrap();
        let err = sample(&path, 0).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("hedger-4000000.tel"), "{err}");
        let none = InspectArgs { pid: None, ..args };
        assert_eq!(locate(&none).unwrap_err().exit_code(), 2);
    }
}
