//! `hedger run` as a separate process, observed only through `hedger inspect`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const HEDGER: &str = env!("CARGO_BIN_EXE_hedger");

/// A spawned `hedger run` that is killed when the test ends, also when it fails (a leaked
/// pipeline would spin on both cores for the rest of the suite).
struct RunGuard(Child);

impl std::ops::Deref for RunGuard {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for RunGuard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_run(run_dir: &Path, extra: &[&str]) -> RunGuard {
    RunGuard(
        Command::new(HEDGER)
            .args(["run", "--run-dir"])
            .arg(run_dir)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hedger run"),
    )
}

fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn inspect(args: &[&str]) -> (Output, Value) {
    let out = Command::new(HEDGER).arg("inspect").args(args).output().expect("run inspect");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("inspect printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout))
    });
    (out, json)
}

/// Polls `inspect` until the pipeline reports `running`: every ring and thread is registered
/// only once start-up (embedded simulators, chain deployment) is done.
fn wait_running(args: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new(HEDGER).arg("inspect").args(args).output().expect("run inspect");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if report["state"] == "running" {
            return;
        }
        assert!(Instant::now() < deadline, "never running: {report}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ring<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["rings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no ring {name}"))
}

/// Polls `inspect` until every ring in `names` has carried a message (embedded oracle and chain
/// sources publish within a few seconds of start-up).
fn wait_rings_pushed(args: &[&str], names: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, report) = inspect(args);
        let pending: Vec<&&str> = names
            .iter()
            .filter(|name| {
                report["rings"].as_array().is_none_or(|rings| {
                    !rings.iter().any(|r| r["name"] == **name && r["pushed"].as_u64() > Some(0))
                })
            })
            .collect();
        if pending.is_empty() {
            return report;
        }
        assert!(Instant::now() < deadline, "rings {pending:?} never carried a message: {report}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn tel_path(dir: &Path, child: &Child) -> PathBuf {
    dir.join(format!("hedger-{}.tel", child.id()))
}

#[test]
fn inspect_sees_counters_grow_then_reports_a_killed_process_stale() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_run(dir.path(), &["--profile", "compact"]);
    let pid = child.id().to_string();
    wait_for_file(&tel_path(dir.path(), &child));
    let run_dir = dir.path().to_str().unwrap();
    let args = ["--pid", &pid, "--run-dir", run_dir, "--json", "--interval-ms", "200"];
    wait_running(&args);
    let (out1, first) = inspect(&args);
    std::thread::sleep(Duration::from_millis(300));
    let (out2, second) = inspect(&args);
    assert!(out1.status.success() && out2.status.success(), "{first}");
    assert_eq!(second["stale"], false);
    assert_eq!(second["pid"].as_u64(), Some(u64::from(child.id())));
    assert!(second["heartbeat_age_ms"].as_u64().unwrap() < 2_000);
    for name in ["feed->hot", "hot->cold", "binance->hot"] {
        let (a, b) = (ring(&first, name), ring(&second, name));
        assert!(b["pushed"].as_u64() > a["pushed"].as_u64(), "{name} did not grow: {a} -> {b}");
        assert!(b["popped"].as_u64() > a["popped"].as_u64(), "{name} did not grow");
        for key in ["capacity", "depth", "hwm", "stalls", "hop_p50_ns", "hop_p99_ns"] {
            assert!(b[key].is_u64(), "{name}.{key} missing: {b}");
        }
    }
    assert!(ring(&second, "feed->hot")["msgs_per_s"].as_f64().unwrap() > 1_000.0);
    let threads = second["threads"].as_array().unwrap();
    let names: Vec<&str> = threads.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["cold", "hot", "feed", "oracle", "chain"]);
    // The embedded oracle simulators, the local chain and every venue gateway reach the hot
    // thread through their own rings.
    let rings = ["oracle->hot", "chain->hot", "bybit->hot", "okx->hot", "deribit->hot"];
    let report = wait_rings_pushed(&args, &rings);
    for name in rings {
        assert!(ring(&report, name)["popped"].as_u64() > Some(0), "{name} never drained: {report}");
    }
    for t in threads {
        assert_eq!(t["cpu"], t["core"], "thread not on its configured core: {t}");
        assert!(t["loops_per_s"].as_f64().unwrap() > 0.0, "{t}");
    }
    // Every venue gateway's counters are in the telemetry file: each has connected and taken
    // frames, and none has seen a parse error on the simulators' well-formed feeds.
    let counter = |report: &Value, name: &str| {
        report["counters"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == name))
            .and_then(|c| c["value"].as_u64())
            .unwrap_or_else(|| panic!("no counter {name}: {}", report["counters"]))
    };
    for venue in ["binance_usdm", "bybit", "okx", "deribit"] {
        assert!(counter(&report, &format!("{venue}.connects")) >= 1, "{venue} never connected");
        assert!(counter(&report, &format!("{venue}.frames")) > 0, "{venue} took no frames");
        assert_eq!(counter(&report, &format!("{venue}.parse_errors")), 0, "{venue}");
    }

    let watch = watch_frames(&pid, run_dir, 2);
    assert!(watch.contains("feed->hot") && watch.contains("THREAD"), "{watch}");

    child.kill().unwrap();
    child.wait().unwrap();
    let (out, stale) = inspect(&args);
    assert_eq!(out.status.code(), Some(1), "stale must exit 1");
    assert_eq!(stale["stale"], true);
    assert!(stale["stale_reason"].as_str().unwrap().contains("not running"), "{stale}");
    let table = Command::new(HEDGER)
        .args(["inspect", "--pid", &pid, "--run-dir", run_dir])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("STALE: process"),
        "table must say stale"
    );
}

/// Runs `inspect --watch` until it has redrawn `frames` times, then stops it.
fn watch_frames(pid: &str, run_dir: &str, frames: usize) -> String {
    use std::io::Read;
    let mut watch = Command::new(HEDGER)
        .args(["inspect", "--watch", "--interval-ms", "100", "--pid", pid, "--run-dir", run_dir])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn inspect --watch");
    let mut stdout = watch.stdout.take().unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(20);
    while text.matches("\x1b[2J").count() < frames + 1 && Instant::now() < deadline {
        let n = stdout.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    watch.kill().unwrap();
    watch.wait().unwrap();
    assert!(text.matches("\x1b[2J").count() > frames, "watch did not redraw: {text}");
    text
}

#[test]
fn sigterm_stops_cleanly_with_every_ring_drained() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_run(dir.path(), &[]);
    let path = tel_path(dir.path(), &child);
    wait_for_file(&path);
    let file_args = ["--file", path.to_str().unwrap(), "--json"];
    let names = ["feed->hot", "hot->cold", "binance->hot", "oracle->hot", "chain->hot"];
    wait_rings_pushed(&file_args, &names);
    // SAFETY: plain signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    assert!(status.success(), "clean shutdown must exit 0, got {status}");
    let (out, report) = inspect(&["--file", path.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["state"], "stopped");
    for r in report["rings"].as_array().unwrap() {
        assert!(r["pushed"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["pushed"], r["popped"], "messages left in ring {r}");
    }
    for t in report["threads"].as_array().unwrap() {
        assert_eq!(t["state"], "stopped", "{t}");
    }
}

#[test]
fn missing_and_foreign_files_get_clear_errors_and_distinct_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.tel");
    let out = Command::new(HEDGER)
        .args(["inspect", "--file", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no telemetry file at"));
    let foreign = dir.path().join("foreign.tel");
    std::fs::write(&foreign, [0u8; 4096]).unwrap();
    let (out, json) = inspect(&["--file", foreign.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(json["error"]["message"].as_str().unwrap().contains("not a hedger telemetry file"));
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let out = Command::new(HEDGER)
        .args(["inspect", "--run-dir", empty_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no hedger telemetry files"));
}

#[test]
fn config_errors_are_listed_together_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "profile = 'mine'\n[rings]\ncapacity = 0\n[[thread]]\nname = 'hot'\ncore = 1\nspin = 'busy'\n\
         [[thread]]\nname = 'feed'\ncore = 0\nspin = 'spin-yield'\n",
    )
    .unwrap();
    let out = Command::new(HEDGER)
        .args(["run", "--run-dir", dir.path().to_str().unwrap(), "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml")
            && err.contains("rings.capacity")
            && err.contains("\"cold\" is missing"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing may be created");
    std::fs::write(&cfg, "profile = 'x'\nturbo = true\n").unwrap();
    let out =
        Command::new(HEDGER).args(["run", "--config", cfg.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `turbo`"));
    let out = Command::new(HEDGER).args(["run", "--profile", "turbo"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown profile \"turbo\""));
}

/// `hedger run` against a separately started `hedger sim`: the sim's `--print-config` `[venues]`
/// section (URLs, `ca_cert_file` = its `--cert-out` bundle) replaces the embedded one, and all
/// four gateways stream books over TLS into their rings.
#[test]
fn run_against_a_separate_hedger_sim_over_tls() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("venues.pem");
    let mut sim = Command::new(HEDGER)
        .args(["sim", "--oracles", "none", "--venues", "all", "--print-config"])
        .args(["--duration-s", "90", "--cert-out"])
        .arg(&cert)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn hedger sim");
    let mut lines = std::io::BufReader::new(sim.stdout.take().unwrap()).lines();
    let mut venues_toml = String::new();
    let mut in_deribit = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line == "[venues]" || !venues_toml.is_empty() {
            venues_toml.push_str(&line);
            venues_toml.push('\n');
        }
        in_deribit |= line == "[venues.deribit]";
        if in_deribit && line.starts_with("rest_url") {
            break;
        }
    }
    assert!(venues_toml.contains("ca_cert_file") && venues_toml.contains("embedded_sim = false"));
    let profile = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/profiles/compact.toml"),
    )
    .unwrap();
    let (head, rest) = profile.split_once("[venues]").unwrap();
    let tail = &rest[rest.find("[oracles]").unwrap()..];
    let tail = tail
        .replace("enabled = true\nembedded_sim = true", "enabled = false")
        .replace("enabled = true\nembedded_node = true", "enabled = false");
    let cfg = dir.path().join("against-sim.toml");
    std::fs::write(&cfg, format!("{head}{venues_toml}\n{tail}")).unwrap();

    let run_dir = dir.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    let child = spawn_run(&run_dir, &["--config", cfg.to_str().unwrap()]);
    let pid = child.id().to_string();
    let run_dir = run_dir.to_str().unwrap();
    let args = ["--pid", &pid, "--run-dir", run_dir, "--json", "--interval-ms", "100"];
    wait_running(&args);
    let rings = ["binance->hot", "bybit->hot", "okx->hot", "deribit->hot"];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, report) = inspect(&args);
        // Far more than the two Down statuses a failed TLS handshake would push per attempt.
        let flowing = rings.iter().all(|name| ring(&report, name)["pushed"].as_u64() > Some(500));
        if flowing {
            break;
        }
        assert!(Instant::now() < deadline, "venue rings never streamed: {report}");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(child);
    sim.kill().unwrap();
    sim.wait().unwrap();
}
