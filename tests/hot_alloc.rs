//! The hot thread allocates nothing in steady state: a counting global allocator counts every
//! allocation made on a thread while that thread is armed.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hedger::pipeline::{ColdAgent, HotAgent};
use hedger_core::msg::Msg;
use hedger_gateways::synthetic::{SyntheticConfig, SyntheticFeed};
use hedger_ipc::clock::calibrate_tsc_hz;
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};

#[global_allocator]
static GLOBAL: common::alloc::Counting = common::alloc::Counting;

#[test]
fn hot_and_feed_loops_do_not_allocate_after_start_up() {
    // Control: the counter sees an allocation made while armed.
    common::alloc::set_armed(true);
    let probe = std::hint::black_box(Box::new(7u64));
    common::alloc::set_armed(false);
    drop(probe);
    assert_eq!(
        common::alloc::ALLOCATIONS.swap(0, Ordering::Relaxed),
        1,
        "the counting allocator must count"
    );

    let dir = tempfile::tempdir().unwrap();
    let tsc_hz = calibrate_tsc_hz(Duration::from_millis(10));
    let tel = TelemetryFile::create(
        &dir.path().join("a.tel"),
        TelemetryLimits::default(),
        "t",
        tsc_hz,
        0,
    )
    .unwrap();
    let (feed_tx, feed_rx) = hedger_ipc::ring::<Msg>(&tel, "feed->hot", 1024).unwrap();
    let (event_tx, event_rx) = hedger_ipc::ring::<Msg>(&tel, "hot->cold", 1024).unwrap();
    let cfg = SyntheticConfig { ticks_per_s: 2_000_000, ..SyntheticConfig::default() };
    let mut feed = SyntheticFeed::new(&cfg, feed_tx, tsc_hz);
    let mut hot = HotAgent::new(vec![feed_rx], event_tx, 64);
    let mut cold = ColdAgent::new(event_rx, Duration::from_secs(3600));
    let stop = Arc::new(AtomicBool::new(false));

    let feed_stop = Arc::clone(&stop);
    let feed_thread = std::thread::spawn(move || {
        for _ in 0..1_000 {
            feed.do_work();
        }
        common::alloc::set_armed(true);
        while !feed_stop.load(Ordering::Relaxed) {
            feed.do_work();
        }
        common::alloc::set_armed(false);
    });
    let cold_stop = Arc::clone(&stop);
    let cold_thread = std::thread::spawn(move || {
        while !cold_stop.load(Ordering::Relaxed) {
            if cold.do_work() == 0 {
                std::thread::yield_now();
            }
        }
    });

    let warm_until = Instant::now() + Duration::from_millis(100);
    while Instant::now() < warm_until {
        hot.do_work();
    }
    let before = hot.processed();
    common::alloc::set_armed(true);
    let deadline = Instant::now() + Duration::from_secs(20);
    while hot.processed() < before + 200_000 && Instant::now() < deadline {
        if hot.do_work() == 0 {
            std::hint::spin_loop();
        }
    }
    common::alloc::set_armed(false);
    stop.store(true, Ordering::Relaxed);
    feed_thread.join().unwrap();
    cold_thread.join().unwrap();

    assert!(
        hot.processed() >= before + 200_000,
        "hot thread processed only {}",
        hot.processed() - before
    );
    // Every synthetic tick is at most 4 messages with exactly one (uncrossed) BBO, and the table
    // applies every BBO; level deltas go to the L2 books, not the table.
    assert!(hot.table().applied() >= 50_000, "table applied {}", hot.table().applied());
    assert_eq!(common::alloc::allocations(), 0, "allocations on the hot or feed thread");
}
