//! `hedger bench ring --json`: the public row format (names and keys), on a tiny run. The figures
//! themselves are measured by the benchmark, not asserted here.

use std::process::Command;

#[test]
fn bench_ring_json_prints_one_row_per_queue_with_the_documented_keys() {
    let out = Command::new(env!("CARGO_BIN_EXE_hedger"))
        .args(["bench", "ring", "--json", "--round-trips", "2000", "--messages", "20000"])
        .args(["--runs", "1", "--jitter-ms", "20", "--capacity", "256"])
        .output()
        .expect("run hedger bench ring");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    for name in
        ["hedger-ring", "crossbeam-arrayqueue", "crossbeam-channel", "std-mpsc", "c2c-floor"]
    {
        let row = rows
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no {name}: {names:?}"));
        for key in ["p50_ns", "p99_ns", "p999_ns", "max_ns"] {
            assert!(row[key].as_u64().unwrap() > 0, "{name}.{key}: {row}");
        }
        assert!(row["msgs_per_s"].as_f64().unwrap() > 0.0, "{row}");
        assert!(row["p50_ns"].as_u64() <= row["p99_ns"].as_u64(), "{row}");
    }
    let floors: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["name"] == "c2c-floor").collect();
    assert_eq!(floors.len(), 2);
    assert_eq!(
        (floors[0]["phase"].as_str(), floors[1]["phase"].as_str()),
        (Some("before"), Some("after"))
    );
    assert!(names.contains(&"jitter-probe"));
    let summary = rows.last().unwrap();
    assert_eq!(summary["name"], "summary");
    assert!(summary["ring_p50_to_floor"].as_f64().unwrap() > 0.0);
}
