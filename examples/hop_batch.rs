//! Ring hop of one `push_slice` of K messages: the producer stamps, writes K slots and moves the
//! tail once; the consumer pops until it has all K. Reports the hop (push stamp → all popped) of
//! the last message, ping-pong, so only one batch is in flight. It shows what a batch costs per
//! slot on the machine at hand (`../shared/reference/performance.md`: the c2c floor moves, so
//! compare K against K = 1 in the same minute).
//!
//! ```sh
//! cargo build --release --example hop_batch
//! target/release/examples/hop_batch 40        # K [capacity=65536] [gap_us=10]
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{Body, Heartbeat, Msg, Origin};
use hedger_ipc::clock::{calibrate_tsc_hz, now_tsc, ticks_to_ns};
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};
use hedger_tools::bench::pin::spawn_pinned;

const ROUNDS: u64 = 20_000;

fn main() {
    let arg = |i: usize, default: u64| {
        std::env::args().nth(i).and_then(|a| a.parse::<u64>().ok()).unwrap_or(default)
    };
    let (k, capacity, gap_us) = (arg(1, 40).clamp(1, 256) as usize, arg(2, 65_536), arg(3, 10));
    let hz = calibrate_tsc_hz(std::time::Duration::from_millis(50));
    let path = std::env::temp_dir().join(format!("hop-batch-{}.tel", std::process::id()));
    let tel = TelemetryFile::create(&path, TelemetryLimits::default(), "hop-batch", hz, 0)
        .expect("telemetry file");
    let (mut tx, mut rx) =
        hedger_ipc::ring_sampled::<Msg>(&tel, "batch", capacity as usize, 1).expect("ring");
    let done = Arc::new(AtomicU64::new(0));
    let consumer_done = Arc::clone(&done);
    let consumer = spawn_pinned(1, move || {
        let mut buf = [Msg::EMPTY; 256];
        let mut hops = Vec::with_capacity(ROUNDS as usize);
        for round in 0..ROUNDS {
            let (mut got, mut stamp, mut popped) = (0, 0, 0);
            while got < k {
                let n = rx.pop_into(&mut buf);
                if n > 0 {
                    popped = now_tsc();
                    stamp = buf[n - 1].hop_tsc;
                    got += n;
                }
            }
            hops.push(popped.saturating_sub(stamp));
            consumer_done.store(round + 1, Ordering::Release);
        }
        hops
    });
    let producer = spawn_pinned(0, move || {
        let origin = Origin::new(VenueId::Synthetic, InstrumentId(1));
        let msgs: Vec<Msg> = (0..k as u64)
            .map(|i| Msg::new(origin, Body::Heartbeat(Heartbeat { beat_seq: i, sent_ts_ns: 0 })))
            .collect();
        let gap_ticks = hz / 1_000_000 * gap_us;
        for round in 0..ROUNDS {
            let start = now_tsc();
            while now_tsc() - start < gap_ticks {
                std::hint::spin_loop();
            }
            assert_eq!(tx.push_slice(&msgs), k);
            while done.load(Ordering::Acquire) <= round {
                std::hint::spin_loop();
            }
        }
    });
    producer.join().expect("producer");
    let mut hops = consumer.join().expect("consumer");
    hops.sort_unstable();
    let at = |q: f64| ticks_to_ns(hops[((hops.len() - 1) as f64 * q) as usize], hz);
    println!(
        "messages={k} capacity={capacity} gap_us={gap_us} p50_ns={} p90_ns={} p99_ns={}",
        at(0.5),
        at(0.9),
        at(0.99)
    );
    let _ = std::fs::remove_file(&path);
}
