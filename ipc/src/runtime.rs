//! The pinned-thread runtime: named threads, each pinned to a core from config, each running one
//! or more [`Agent`]s in a polling loop with a configurable spin policy.
//!
//! Threading is configuration, not a code fork (as in Aeron's threading modes): the same agents
//! run one per dedicated core (`colocated`) or several to a thread on a 2-core box (`compact`).
//!
//! Pinning reads the process's allowed CPU set **once**, in [`Runtime::new`] on the unpinned
//! start-up thread: `core_affinity::get_core_ids()` reads the *calling thread's* mask, so asking
//! from a thread that is already pinned would return only that core. Each thread then pins
//! itself and records the CPU it really runs on (`sched_getcpu`) in its telemetry record.
//!
//! The loop never allocates and never blocks except as its spin policy says: `busy` spins,
//! `spin-yield` spins briefly then yields the core, `park` sleeps with a bounded backoff.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Deserialize;

use crate::clock::unix_ms;
use crate::telemetry::{self, TelemetryError, TelemetryFile, ThreadStats};

/// How a thread waits when its agents have no work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpinPolicy {
    /// Spin with a pause hint; owns its core. Lowest latency.
    Busy,
    /// Spin 64 idle loops, then `sched_yield`; shares a core gracefully.
    SpinYield,
    /// Sleep with a backoff from 50 µs to 1 ms; for cold work only.
    Park,
}

impl SpinPolicy {
    /// The code stored in telemetry thread records.
    pub fn code(self) -> u32 {
        match self {
            SpinPolicy::Busy => 0,
            SpinPolicy::SpinYield => 1,
            SpinPolicy::Park => 2,
        }
    }

    /// Name for a code read from telemetry.
    pub fn name_of(code: u32) -> &'static str {
        match code {
            0 => "busy",
            1 => "spin-yield",
            2 => "park",
            _ => "unknown",
        }
    }
}

/// One thread of the runtime.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadConfig {
    /// Name shown by the inspector; at most 15 bytes (the kernel's thread-name limit).
    pub name: String,
    /// CPU to pin to; unpinned when absent.
    pub core: Option<usize>,
    pub spin: SpinPolicy,
}

/// Thread placement for a process.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    #[serde(rename = "thread")]
    pub threads: Vec<ThreadConfig>,
}

/// Every problem found in a runtime config, reported together.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid thread config:\n  - {}", .problems.join("\n  - "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// Longest thread name the kernel keeps (16 bytes with the NUL).
pub const THREAD_NAME_BYTES_MAX: usize = 15;

impl RuntimeConfig {
    /// Checks the config against the threads a pipeline needs and the CPUs this process may use.
    ///
    /// Returns the warnings (a core that does not exist or is not allowed, over-subscription),
    /// which do not stop the process: an unknown core leaves the thread unpinned.
    ///
    /// # Errors
    /// [`ConfigError`] listing every error: duplicate, empty, overlong, unknown or missing names.
    pub fn validate(&self, required: &[&str], cores: &[usize]) -> Result<Vec<String>, ConfigError> {
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        for t in &self.threads {
            if t.name.is_empty() {
                problems.push("a thread has an empty name".to_string());
            } else if t.name.len() > THREAD_NAME_BYTES_MAX {
                problems.push(format!(
                    "thread name {:?} is {} bytes; at most {THREAD_NAME_BYTES_MAX}",
                    t.name,
                    t.name.len()
                ));
            }
            if !seen.insert(t.name.as_str()) {
                problems.push(format!("thread {:?} is configured twice", t.name));
            }
            if !required.contains(&t.name.as_str()) {
                problems.push(format!(
                    "thread {:?} is not part of this pipeline (expected: {})",
                    t.name,
                    required.join(", ")
                ));
            }
        }
        for name in required {
            if !seen.contains(name) {
                problems.push(format!(
                    "thread {name:?} is missing (every pipeline thread needs a [[thread]] entry)"
                ));
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(self.warnings(cores))
    }

    fn warnings(&self, cores: &[usize]) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut by_core: BTreeMap<usize, Vec<&ThreadConfig>> = BTreeMap::new();
        for t in &self.threads {
            match t.core {
                Some(core) if !cores.contains(&core) => warnings.push(format!(
                    "thread {:?}: core {core} is not available to this process (allowed: {cores:?}); the thread will run unpinned",
                    t.name
                )),
                Some(core) => by_core.entry(core).or_default().push(t),
                None => {}
            }
        }
        for (core, threads) in &by_core {
            let busy = threads.iter().filter(|t| t.spin == SpinPolicy::Busy).count();
            if busy > 0 && threads.len() > 1 {
                let names: Vec<&str> = threads.iter().map(|t| t.name.as_str()).collect();
                warnings.push(format!(
                    "core {core} is over-subscribed: {names:?} share it and {busy} of them spin with `busy`; the others will starve (use spin-yield or separate cores)"
                ));
            }
        }
        let spinning = self.threads.iter().filter(|t| t.spin != SpinPolicy::Park).count();
        if spinning > cores.len() {
            warnings.push(format!(
                "{spinning} spinning threads on {} available cores: the process is over-subscribed and latency will suffer",
                cores.len()
            ));
        }
        warnings
    }

    /// The config of thread `name`.
    pub fn thread(&self, name: &str) -> Option<&ThreadConfig> {
        self.threads.iter().find(|t| t.name == name)
    }
}

/// A unit of polled work. `do_work` must not block; it returns how many items it handled
/// (0 means idle, which lets the thread apply its spin policy).
pub trait Agent: Send {
    fn do_work(&mut self) -> usize;
    /// Called once on the agent's own thread after the loop ends, when every thread spawned
    /// after this one has already stopped: drain inputs and flush outputs here.
    fn on_stop(&mut self) {}
}

/// Why the runtime could not start or did not end cleanly.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    #[error("cannot spawn thread {name}: {source}")]
    Spawn { name: String, source: std::io::Error },
    #[error("threads panicked: {names:?}")]
    Panicked { names: Vec<String> },
}

/// The CPUs this process may run on, read once from the start-up thread.
pub fn available_cores() -> Vec<usize> {
    core_affinity::get_core_ids().unwrap_or_default().into_iter().map(|c| c.id).collect()
}

/// Runs `f` with the calling thread allowed only on `cores`, then restores its previous mask.
/// Threads and processes that `f` starts inherit the narrower mask and keep it.
///
/// Why: in-process stand-ins (venue and oracle simulators, the local chain node) are not
/// pinned. Left on every core, they run next to the hot thread, and a spin-yield hot loop hands
/// them its core for a whole scheduler slice, which showed up as ring hop p99 near 1 ms in
/// `hedger run`. With an empty `cores`, or off Linux, `f` just runs.
pub fn with_affinity<R>(cores: &[usize], f: impl FnOnce() -> R) -> R {
    #[cfg(target_os = "linux")]
    {
        let set_bytes = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: `cpu_set_t` is plain data (zeroed = empty set); CPU_SET is only called with a
        // CPU below the set's bit size; the calls affect only the calling thread (pid 0).
        let previous = unsafe {
            let mut previous: libc::cpu_set_t = std::mem::zeroed();
            let mut narrow: libc::cpu_set_t = std::mem::zeroed();
            let mut any = false;
            for &cpu in cores.iter().filter(|&&cpu| cpu < 8 * set_bytes) {
                libc::CPU_SET(cpu, &mut narrow);
                any = true;
            }
            let saved = libc::sched_getaffinity(0, set_bytes, &mut previous) == 0;
            (any && saved && libc::sched_setaffinity(0, set_bytes, &narrow) == 0)
                .then_some(previous)
        };
        let result = f();
        if let Some(previous) = previous {
            // SAFETY: as above; restores the mask read before.
            unsafe { libc::sched_setaffinity(0, set_bytes, &previous) };
        }
        result
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cores;
        f()
    }
}

/// The CPU the calling thread runs on now.
pub fn current_cpu() -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `sched_getcpu` takes no arguments and only reads per-thread kernel state.
        let cpu = unsafe { libc::sched_getcpu() };
        u32::try_from(cpu).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

fn current_tid() -> u32 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `gettid` has no preconditions.
        let tid = unsafe { libc::gettid() };
        u32::try_from(tid).unwrap_or(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// Running threads and the stop flag they watch.
pub struct Runtime {
    telemetry: Arc<TelemetryFile>,
    stop: Arc<AtomicBool>,
    cores: Vec<usize>,
    /// Spawned threads with their own stop flags, in spawn order.
    handles: Vec<(String, Arc<AtomicBool>, JoinHandle<bool>)>,
}

impl Runtime {
    /// Reads the allowed CPU set; call on the unpinned start-up thread.
    pub fn new(telemetry: Arc<TelemetryFile>, stop: Arc<AtomicBool>) -> Runtime {
        Runtime { telemetry, stop, cores: available_cores(), handles: Vec::new() }
    }

    /// The CPUs read at start-up.
    pub fn cores(&self) -> &[usize] {
        &self.cores
    }

    /// The flag that stops every thread (set by signal handlers, `stop()`, or a panic).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Asks every thread to finish its current loop and stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Spawns thread `spec` running `agents` in order on each loop.
    ///
    /// # Errors
    /// A telemetry slot or the OS thread could not be had.
    pub fn spawn(
        &mut self,
        spec: &ThreadConfig,
        agents: Vec<Box<dyn Agent>>,
    ) -> Result<(), RuntimeError> {
        let core = spec.core.filter(|c| self.cores.contains(c));
        let stats = self.telemetry.register_thread(&spec.name, core, spec.spin.code())?;
        let own_stop = Arc::new(AtomicBool::new(false));
        let (thread_stop, global_stop) = (Arc::clone(&own_stop), Arc::clone(&self.stop));
        let policy = spec.spin;
        let handle = std::thread::Builder::new()
            .name(spec.name.clone())
            .spawn(move || run_thread(core, policy, agents, &stats, &thread_stop, &global_stop))
            .map_err(|source| RuntimeError::Spawn { name: spec.name.clone(), source })?;
        self.handles.push((spec.name.clone(), own_stop, handle));
        Ok(())
    }

    /// Writes the heartbeat every `interval` until the stop flag is set, then joins every thread.
    ///
    /// # Errors
    /// [`RuntimeError::Panicked`] naming the threads whose agents panicked.
    pub fn supervise(self, interval: Duration) -> Result<(), RuntimeError> {
        self.telemetry.set_state(telemetry::STATE_RUNNING);
        while !self.stop.load(Ordering::Acquire) {
            self.telemetry.heartbeat(unix_ms());
            std::thread::sleep(interval);
        }
        self.join()
    }

    /// Stops and joins every thread, the last spawned first, each before the next is stopped.
    ///
    /// Spawn consumers before their producers: then every producer has stopped (and flushed in
    /// `on_stop`) before its consumer stops and drains in its own `on_stop`, so nothing accepted
    /// into a ring is left behind on a clean shutdown.
    ///
    /// # Errors
    /// [`RuntimeError::Panicked`] naming the threads whose agents panicked.
    pub fn join(self) -> Result<(), RuntimeError> {
        self.stop();
        let mut panicked = Vec::new();
        for (name, own_stop, handle) in self.handles.into_iter().rev() {
            own_stop.store(true, Ordering::Release);
            if !handle.join().unwrap_or(false) {
                panicked.push(name);
            }
        }
        self.telemetry.heartbeat(unix_ms());
        self.telemetry.set_state(telemetry::STATE_STOPPED);
        if panicked.is_empty() {
            Ok(())
        } else {
            Err(RuntimeError::Panicked { names: panicked })
        }
    }
}

/// Body of a runtime thread; returns `false` if an agent panicked.
fn run_thread(
    core: Option<usize>,
    policy: SpinPolicy,
    mut agents: Vec<Box<dyn Agent>>,
    stats: &ThreadStats,
    stop: &AtomicBool,
    global_stop: &AtomicBool,
) -> bool {
    if let Some(id) = core {
        core_affinity::set_for_current(core_affinity::CoreId { id });
    }
    stats.store_placement(current_tid(), current_cpu());
    stats.set_state(telemetry::THREAD_RUNNING);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        poll_loop(policy, &mut agents, stats, stop);
        for agent in &mut agents {
            agent.on_stop();
        }
    }));
    if outcome.is_err() {
        stats.set_state(telemetry::THREAD_PANICKED);
        // One dead thread stops the pipeline: a half-running hedger is worse than a stopped one.
        global_stop.store(true, Ordering::Release);
        return false;
    }
    stats.set_state(telemetry::THREAD_STOPPED);
    true
}

const STATS_EVERY_LOOPS: u64 = 64;
const PLACEMENT_EVERY_LOOPS: u64 = 1 << 16;

fn poll_loop(
    policy: SpinPolicy,
    agents: &mut [Box<dyn Agent>],
    stats: &ThreadStats,
    stop: &AtomicBool,
) {
    let (mut loops, mut work_loops, mut work_items, mut idle_loops) = (0u64, 0u64, 0u64, 0u32);
    while !stop.load(Ordering::Relaxed) {
        let mut items = 0usize;
        for agent in agents.iter_mut() {
            items += agent.do_work();
        }
        loops += 1;
        if items > 0 {
            work_loops += 1;
            work_items += items as u64;
            idle_loops = 0;
        } else {
            idle_loops = idle_loops.saturating_add(1);
            idle(policy, idle_loops);
        }
        if loops % STATS_EVERY_LOOPS == 0 {
            stats.store_loops(loops, work_loops, work_items);
        }
        if loops % PLACEMENT_EVERY_LOOPS == 0 {
            stats.store_placement(current_tid(), current_cpu());
        }
    }
    stats.store_loops(loops, work_loops, work_items);
}

#[inline]
fn idle(policy: SpinPolicy, idle_loops: u32) {
    match policy {
        SpinPolicy::Busy => std::hint::spin_loop(),
        SpinPolicy::SpinYield if idle_loops < 64 => std::hint::spin_loop(),
        SpinPolicy::SpinYield => std::thread::yield_now(),
        SpinPolicy::Park if idle_loops < 16 => std::hint::spin_loop(),
        SpinPolicy::Park => {
            let shift = (idle_loops - 16).min(5);
            std::thread::park_timeout(
                Duration::from_micros(50u64 << shift).min(Duration::from_millis(1)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    fn allowed_cpus() -> Vec<usize> {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let list = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).unwrap();
        let mut cpus = Vec::new();
        for part in list.trim().split(',') {
            let (lo, hi) = part.split_once('-').unwrap_or((part, part));
            cpus.extend(lo.parse::<usize>().unwrap()..=hi.parse::<usize>().unwrap());
        }
        cpus
    }

    /// Inside `with_affinity` the thread and the threads it spawns run only on the cores given
    /// (spawned ones keep that mask); afterwards the caller's own mask is back.
    #[cfg(target_os = "linux")]
    #[test]
    fn with_affinity_narrows_for_the_closure_and_its_threads_then_restores() {
        let before = allowed_cpus();
        let only = *before.last().unwrap();
        let (inside, spawned) = with_affinity(&[only], || {
            let child = std::thread::spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                allowed_cpus()
            });
            (allowed_cpus(), child)
        });
        assert_eq!(inside, vec![only]);
        assert_eq!(allowed_cpus(), before, "the caller's mask is restored");
        assert_eq!(spawned.join().unwrap(), vec![only], "a thread started inside keeps the mask");
        assert_eq!(with_affinity(&[], allowed_cpus), before, "no cores: nothing changes");
    }
    use crate::telemetry::{TelemetryLimits, TelemetryReader};
    use std::sync::atomic::AtomicU64;

    fn config(text: &str) -> Result<RuntimeConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn unknown_fields_and_bad_policies_are_rejected_by_the_parser() {
        let err = config("[[thread]]\nname='hot'\ncore=1\nspin='fast'\n").unwrap_err();
        assert!(err.to_string().contains("unknown variant `fast`"), "{err}");
        let err = config("[[thread]]\nname='hot'\nspin='busy'\ncpu=1\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `cpu`"), "{err}");
    }

    #[test]
    fn validation_reports_every_error_at_once() {
        let cfg = config(
            "[[thread]]\nname='hot'\nspin='busy'\n[[thread]]\nname='hot'\nspin='park'\n\
             [[thread]]\nname='a-very-long-thread-name'\nspin='park'\n",
        )
        .unwrap();
        let err = cfg.validate(&["hot", "cold"], &[0, 1]).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 4, "{text}");
        assert!(text.contains("\"hot\" is configured twice"), "{text}");
        assert!(text.contains("at most 15"), "{text}");
        assert!(text.contains("\"cold\" is missing"), "{text}");
        assert!(text.contains("not part of this pipeline"), "{text}");
    }

    #[test]
    fn unknown_cores_and_over_subscription_warn() {
        let cfg = config(
            "[[thread]]\nname='feed'\ncore=0\nspin='busy'\n[[thread]]\nname='hot'\ncore=0\nspin='spin-yield'\n\
             [[thread]]\nname='cold'\ncore=7\nspin='spin-yield'\n",
        )
        .unwrap();
        let warnings = cfg.validate(&["feed", "hot", "cold"], &[0, 1]).unwrap();
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(warnings[0].contains("core 7 is not available"));
        assert!(warnings[1].contains("core 0 is over-subscribed"));
        assert!(warnings[2].contains("3 spinning threads on 2 available cores"));
    }

    struct Counter(Arc<AtomicU64>, Option<u32>);

    impl Agent for Counter {
        fn do_work(&mut self) -> usize {
            self.0.fetch_add(1, Ordering::Relaxed);
            self.1 = current_cpu();
            1
        }
        fn on_stop(&mut self) {
            self.0.store(u64::MAX - u64::from(self.1.unwrap_or(999)), Ordering::Release);
        }
    }

    struct Panicker;

    impl Agent for Panicker {
        fn do_work(&mut self) -> usize {
            panic!("agent failure under test");
        }
    }

    fn telemetry() -> (tempfile::TempDir, Arc<TelemetryFile>) {
        let dir = tempfile::tempdir().unwrap();
        let file = TelemetryFile::create(
            &dir.path().join("rt.tel"),
            TelemetryLimits::default(),
            "t",
            1,
            0,
        )
        .unwrap();
        (dir, file)
    }

    #[test]
    fn every_thread_runs_on_the_core_its_config_names() {
        let (_dir, tel) = telemetry();
        let mut rt = Runtime::new(Arc::clone(&tel), Arc::new(AtomicBool::new(false)));
        let cores = rt.cores().to_vec();
        assert!(!cores.is_empty());
        let mut results = Vec::new();
        for (i, core) in cores.iter().rev().enumerate() {
            let spec = ThreadConfig {
                name: format!("t{i}"),
                core: Some(*core),
                spin: SpinPolicy::SpinYield,
            };
            let counter = Arc::new(AtomicU64::new(0));
            rt.spawn(&spec, vec![Box::new(Counter(Arc::clone(&counter), None))]).unwrap();
            results.push((*core, counter));
        }
        while results.iter().any(|(_, c)| c.load(Ordering::Relaxed) < 1000) {
            std::thread::yield_now();
        }
        rt.join().unwrap();
        for (core, counter) in &results {
            let seen_cpu = u64::MAX - counter.load(Ordering::Acquire);
            assert_eq!(seen_cpu, *core as u64, "thread for core {core} ran on {seen_cpu}");
        }
        let snap = TelemetryReader::open(tel.path()).unwrap().snapshot();
        assert_eq!(snap.state, telemetry::STATE_STOPPED);
        for (thread, (core, _)) in snap.threads.iter().zip(&results) {
            assert_eq!(thread.core, Some(*core as u32));
            assert_eq!(thread.cpu_last, Some(*core as u32));
            assert_eq!(thread.state, telemetry::THREAD_STOPPED);
            assert!(thread.loops >= 1000 && thread.work_loops == thread.loops);
        }
    }

    #[test]
    fn a_panicking_agent_stops_the_whole_runtime_and_is_reported() {
        let (_dir, tel) = telemetry();
        let mut rt = Runtime::new(Arc::clone(&tel), Arc::new(AtomicBool::new(false)));
        let counter = Arc::new(AtomicU64::new(0));
        let ok = ThreadConfig { name: "ok".into(), core: None, spin: SpinPolicy::Park };
        let bad = ThreadConfig { name: "bad".into(), core: None, spin: SpinPolicy::Park };
        rt.spawn(&ok, vec![Box::new(Counter(Arc::clone(&counter), None))]).unwrap();
        rt.spawn(&bad, vec![Box::new(Panicker)]).unwrap();
        let err = rt.supervise(Duration::from_millis(5)).unwrap_err();
        assert!(matches!(err, RuntimeError::Panicked { ref names } if names == &["bad"]));
        assert!(counter.load(Ordering::Acquire) > u64::MAX / 2, "ok thread ran on_stop");
        let snap = TelemetryReader::open(tel.path()).unwrap().snapshot();
        assert_eq!(snap.threads[1].state, telemetry::THREAD_PANICKED);
    }
}
