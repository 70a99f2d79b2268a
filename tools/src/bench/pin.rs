//! Thread pinning for benchmarks, with `sched_setaffinity` directly.
//!
//! The CPU list is read once by the caller before any thread is pinned (see the runtime docs on
//! why `core_affinity::get_core_ids()` must not be asked from a pinned thread).

/// Pins the calling thread to `cpu`; returns whether the kernel accepted it.
pub fn pin_current(cpu: usize) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `cpu_set_t` is plain data; zeroed is the empty set. CPU_SET bounds-checks
        // against the set size; sched_setaffinity(0, …) only affects the calling thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
                return false;
            }
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpu;
        false
    }
}

/// Spawns a thread pinned to `cpu` running `f`.
pub fn spawn_pinned<F, R>(cpu: usize, f: F) -> std::thread::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    std::thread::spawn(move || {
        pin_current(cpu);
        f()
    })
}
