//! Cheap timestamps for latency measurement.
//!
//! Hop and wire-to-book latencies are measured in TSC ticks (`rdtsc`, ~8 ns a read on the
//! reference machine, against ~21 ns for `Instant::now`). Ticks are converted to nanoseconds off
//! the hot path with the frequency measured once at start-up by [`calibrate_tsc_hz`] and written
//! into the telemetry header. On targets without a TSC the monotonic clock in ns stands in, and
//! the frequency is 1e9.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Current TSC value (or monotonic ns where there is no TSC).
#[inline(always)]
pub fn now_tsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` has no preconditions; every x86_64 CPU implements it.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        monotonic_ns()
    }
}

/// Nanoseconds since an arbitrary process-wide origin.
pub fn monotonic_ns() -> u64 {
    use std::sync::OnceLock;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Wall-clock milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Wall-clock nanoseconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Measures the tick rate of [`now_tsc`] against the monotonic clock over `window`.
///
/// 20 ms gives better than 0.1 % on an invariant TSC, which is plenty for latency percentiles.
pub fn calibrate_tsc_hz(window: Duration) -> u64 {
    if cfg!(not(target_arch = "x86_64")) {
        return 1_000_000_000;
    }
    let t0 = Instant::now();
    let c0 = now_tsc();
    while t0.elapsed() < window {
        std::hint::spin_loop();
    }
    let c1 = now_tsc();
    let elapsed_ns = t0.elapsed().as_nanos().max(1);
    let hz = u128::from(c1.wrapping_sub(c0)) * 1_000_000_000 / elapsed_ns;
    u64::try_from(hz).unwrap_or(u64::MAX).max(1)
}

/// Converts ticks to ns at `tsc_hz` (rounds down).
#[inline]
pub fn ticks_to_ns(ticks: u64, tsc_hz: u64) -> u64 {
    let ns = u128::from(ticks) * 1_000_000_000 / u128::from(tsc_hz.max(1));
    u64::try_from(ns).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_matches_the_monotonic_clock() {
        let hz = calibrate_tsc_hz(Duration::from_millis(20));
        let t0 = Instant::now();
        let c0 = now_tsc();
        std::thread::sleep(Duration::from_millis(30));
        let ticks = now_tsc() - c0;
        let wall_ns = t0.elapsed().as_nanos() as u64;
        let tsc_ns = ticks_to_ns(ticks, hz);
        let error = tsc_ns.abs_diff(wall_ns);
        assert!(error * 50 < wall_ns, "tsc {tsc_ns} ns vs wall {wall_ns} ns at {hz} Hz");
    }

    #[test]
    fn ticks_to_ns_rounds_down_and_never_divides_by_zero() {
        assert_eq!(ticks_to_ns(2_999, 3_000_000_000), 999);
        assert_eq!(ticks_to_ns(5, 0), 5_000_000_000);
    }
}
