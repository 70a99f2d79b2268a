//! `hedger oracle …` through the real binary: every fixture of
//! `core/tests/fixtures/oracles/README.md` with its expected result, plus derived negatives.
//! Failures must exit non-zero with `{"error":{"rule":…}}` naming the rule.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use hedger_core::oracle::bytes::{decode_base64, decode_hex, encode_hex};
use hedger_core::oracle::hermes::hermes_json_for;
use hedger_core::oracle::pyth::verify_accumulator_update;
use hedger_core::oracle::secp::SECP256K1_ORDER;
use hedger_core::oracle::wormhole::GuardianSets;
use serde_json::Value;

const BTC_ID: &str = "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";
const TRUMP_ID: &str = "879551021853eec7a7dc827578e8e69da7e4fa8148339aa0d3d5296405be4b1a";
const TRUMP_PUBLISH_TIME_S: i64 = 1_743_631_834;

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("core/tests/fixtures/oracles").join(relative)
}

fn fixture_text(relative: &str) -> String {
    std::fs::read_to_string(fixture(relative)).unwrap()
}

/// A file in the temp dir, removed when dropped.
struct TempFile(PathBuf);

impl std::ops::Deref for TempFile {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes `contents` to a fresh file in the temp dir.
fn temp_file(name: &str, contents: &str) -> TempFile {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let serial = COUNTER.fetch_add(1, Ordering::Relaxed);
    let file_name = format!("hedger-oracle-cli-{}-{serial}-{name}", std::process::id());
    let path = std::env::temp_dir().join(file_name);
    std::fs::write(&path, contents).unwrap();
    TempFile(path)
}

/// Runs `hedger oracle <args>`; returns (exit code, stdout lines parsed as JSON).
fn oracle(args: &[&str]) -> (i32, Vec<Value>) {
    let output =
        Command::new(env!("CARGO_BIN_EXE_hedger")).arg("oracle").args(args).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    (output.status.code().unwrap_or(-1), lines)
}

fn ok_one(args: &[&str]) -> Value {
    let (code, lines) = oracle(args);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.into_iter().next().unwrap()
}

fn fails_with(args: &[&str], rule: &str) {
    let (code, lines) = oracle(args);
    assert_ne!(code, 0, "{lines:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["error"]["rule"], rule, "{lines:?}");
    assert!(lines[0]["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn trump_bytes() -> Vec<u8> {
    decode_hex(&fixture_text("pyth/pnau_trump_2025-04-02.hex")).unwrap()
}

fn btc_bytes() -> Vec<u8> {
    decode_base64(&fixture_text("pyth/pnau_btc_2023-07-28_gs3.b64")).unwrap()
}

fn hex_file(name: &str, bytes: &[u8]) -> TempFile {
    temp_file(name, &encode_hex(bytes))
}

// --------------------------------------------------------------------------------------------
// Pyth

#[test]
fn pyth_btc_base64_verifies_with_guardian_set_3() {
    let input = fixture("pyth/pnau_btc_2023-07-28_gs3.b64");
    for encoding in [None, Some("base64")] {
        let mut args = vec!["verify-pyth", "--input", path_str(&input), "--guardian-set", "3"];
        args.extend(["--now-s", "1690576645"]);
        if let Some(encoding) = encoding {
            args.extend(["--encoding", encoding]);
        }
        let out = ok_one(&args);
        assert_eq!(
            (out["signatures_valid"].as_u64(), out["quorum"].as_u64()),
            (Some(13), Some(13))
        );
        assert_eq!(out["slot"], 85_480_034);
        let update = &out["updates"][0];
        assert_eq!(out["updates"].as_array().unwrap().len(), 1);
        assert_eq!(update["id"], BTC_ID);
        assert_eq!(update["price"], "2931999000000");
        assert_eq!(update["conf"], "705950551");
        assert_eq!(update["expo"], -8);
        assert_eq!(update["publish_time"], 1_690_576_635);
        assert_eq!(update["prev_publish_time"], 1_690_576_634);
        assert_eq!(update["ema_price"], "2929734300000");
        assert_eq!(update["ema_conf"], "625449400");
        assert_eq!(update["age_s"], 10);
    }
}

#[test]
fn pyth_trump_hex_verifies_with_guardian_set_4() {
    let input = fixture("pyth/pnau_trump_2025-04-02.hex");
    let out = ok_one(&[
        "verify-pyth",
        "--input",
        path_str(&input),
        "--encoding",
        "hex",
        "--guardian-set",
        "4",
    ]);
    assert_eq!((out["signatures_valid"].as_u64(), out["quorum"].as_u64()), (Some(13), Some(13)));
    assert_eq!(out["slot"], 208_075_477);
    let update = &out["updates"][0];
    assert_eq!(update["id"], TRUMP_ID);
    assert_eq!(update["price"], "960310184");
    assert_eq!(update["conf"], "11022234");
    assert_eq!(update["expo"], -8);
    assert_eq!(update["publish_time"], TRUMP_PUBLISH_TIME_S);
    assert_eq!(update["prev_publish_time"], TRUMP_PUBLISH_TIME_S);
    assert_eq!(update["ema_price"], "1022389000");
    assert_eq!(update["ema_conf"], "2406225");
    // Without --max-age-s the (years old) fixture passes; the age is reported.
    assert!(update["age_s"].as_i64().unwrap() > 365 * 24 * 3600);
}

#[test]
fn pyth_staleness_is_enforced_only_with_max_age() {
    let input = fixture("pyth/pnau_trump_2025-04-02.hex");
    let input = path_str(&input);
    let fresh_now = (TRUMP_PUBLISH_TIME_S + 30).to_string();
    let out = ok_one(&[
        "verify-pyth",
        "--input",
        input,
        "--guardian-set",
        "4",
        "--max-age-s",
        "30",
        "--now-s",
        &fresh_now,
    ]);
    assert_eq!(out["updates"][0]["age_s"], 30);
    let late_now = (TRUMP_PUBLISH_TIME_S + 31).to_string();
    fails_with(
        &[
            "verify-pyth",
            "--input",
            input,
            "--guardian-set",
            "4",
            "--max-age-s",
            "30",
            "--now-s",
            &late_now,
        ],
        "staleness",
    );
    // Absolute difference: a price from the future beyond max age is stale too.
    let early_now = (TRUMP_PUBLISH_TIME_S - 31).to_string();
    fails_with(
        &[
            "verify-pyth",
            "--input",
            input,
            "--guardian-set",
            "4",
            "--max-age-s",
            "30",
            "--now-s",
            &early_now,
        ],
        "staleness",
    );
    // Against the wall clock the fixture is stale.
    fails_with(
        &["verify-pyth", "--input", input, "--guardian-set", "4", "--max-age-s", "60"],
        "staleness",
    );
}

#[test]
fn pyth_wrong_or_unknown_guardian_set_is_rejected() {
    let input = fixture("pyth/pnau_trump_2025-04-02.hex");
    fails_with(
        &["verify-pyth", "--input", path_str(&input), "--guardian-set", "3"],
        "guardian_set",
    );
    fails_with(
        &["verify-pyth", "--input", path_str(&input), "--guardian-set", "9"],
        "guardian_set",
    );
    let mut bytes = trump_bytes();
    let vaa_start = 4 + 3 + usize::from(bytes[6]) + 1 + 2;
    bytes[vaa_start + 4] = 42; // the VAA now names guardian set 42
    let forged = hex_file("unknown-set.hex", &bytes);
    fails_with(
        &["verify-pyth", "--input", path_str(&forged), "--guardian-set", "4"],
        "guardian_set",
    );
}

#[test]
fn pyth_signer_files_and_quorum() {
    let sets = GuardianSets::mainnet().unwrap();
    let set4: Vec<String> =
        sets.get(4).unwrap().addresses.iter().map(ToString::to_string).collect();
    let lines = temp_file("set4.txt", &set4.join("\n"));
    let input = fixture("pyth/pnau_trump_2025-04-02.hex");
    let out = ok_one(&["verify-pyth", "--input", path_str(&input), "--signers", path_str(&lines)]);
    assert_eq!(out["quorum"], 13);
    let out = ok_one(&[
        "verify-pyth",
        "--input",
        path_str(&input),
        "--signers",
        path_str(&lines),
        "--quorum",
        "5",
    ]);
    assert_eq!((out["signatures_valid"].as_u64(), out["quorum"].as_u64()), (Some(13), Some(5)));
    // A quorum above the signatures present is a quorum failure.
    fails_with(
        &[
            "verify-pyth",
            "--input",
            path_str(&input),
            "--signers",
            path_str(&lines),
            "--quorum",
            "14",
        ],
        "quorum",
    );
    // A JSON signer file pinned to set 3 rejects a set-4 VAA.
    let pinned = temp_file(
        "set3.json",
        &serde_json::json!({ "guardian_set_index": 3, "signers": set4 }).to_string(),
    );
    fails_with(
        &["verify-pyth", "--input", path_str(&input), "--signers", path_str(&pinned)],
        "guardian_set",
    );
    // Set 3's keys (index 0 differs) do not verify the set-4 update.
    let set3: Vec<String> =
        sets.get(3).unwrap().addresses.iter().map(ToString::to_string).collect();
    let wrong = temp_file("set3.txt", &set3.join("\n"));
    fails_with(
        &["verify-pyth", "--input", path_str(&input), "--signers", path_str(&wrong)],
        "signer_mismatch",
    );
    // Neither --guardian-set nor --signers is a usage error.
    let (code, _) = oracle(&["verify-pyth", "--input", path_str(&input)]);
    assert_eq!(code, 2);
}

#[test]
fn pyth_derived_negatives_fail_with_their_rule() {
    // Flipped byte inside the price message -> Merkle proof fails.
    let mut bytes = btc_bytes();
    let message_byte = bytes.len() - 1 - 8 * 20 - 1 - 30;
    bytes[message_byte] ^= 0x01;
    let input = hex_file("flipped.hex", &bytes);
    fails_with(&["verify-pyth", "--input", path_str(&input), "--guardian-set", "3"], "merkle");
    // Bad magic.
    let mut bytes = btc_bytes();
    bytes[0] ^= 0xff;
    let input = hex_file("magic.hex", &bytes);
    fails_with(&["verify-pyth", "--input", path_str(&input), "--guardian-set", "3"], "magic");
    // Major version 2.
    let mut bytes = btc_bytes();
    bytes[4] = 2;
    let input = hex_file("major.hex", &bytes);
    fails_with(
        &["verify-pyth", "--input", path_str(&input), "--guardian-set", "3"],
        "major_version",
    );
    // Truncated.
    let bytes = btc_bytes();
    let input = hex_file("short.hex", &bytes[..bytes.len() - 7]);
    fails_with(&["verify-pyth", "--input", path_str(&input), "--guardian-set", "3"], "truncated");
    // Not decodable.
    let input = temp_file("garbage.txt", "this is not base64!");
    fails_with(&["verify-pyth", "--input", path_str(&input), "--guardian-set", "3"], "encoding");
    fails_with(
        &["verify-pyth", "--input", "/nonexistent/update.hex", "--guardian-set", "3"],
        "input",
    );
}

/// Keeps the first `keep` signatures of the VAA inside an accumulator update.
fn keep_signatures(bytes: &[u8], keep: usize) -> Vec<u8> {
    let header_end = 4 + 3 + usize::from(bytes[6]) + 1;
    let vaa_len = usize::from(u16::from_be_bytes([bytes[header_end], bytes[header_end + 1]]));
    let vaa = &bytes[header_end + 2..header_end + 2 + vaa_len];
    let count = usize::from(vaa[5]);
    let mut new_vaa = vaa[..5].to_vec();
    new_vaa.push(u8::try_from(keep).unwrap());
    new_vaa.extend_from_slice(&vaa[6..6 + keep * 66]);
    new_vaa.extend_from_slice(&vaa[6 + count * 66..]);
    let mut out = bytes[..header_end].to_vec();
    out.extend_from_slice(&u16::try_from(new_vaa.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&new_vaa);
    out.extend_from_slice(&bytes[header_end + 2 + vaa_len..]);
    out
}

#[test]
fn pyth_too_few_signatures_fail_the_quorum() {
    let input = hex_file("twelve.hex", &keep_signatures(&trump_bytes(), 12));
    fails_with(&["verify-pyth", "--input", path_str(&input), "--guardian-set", "4"], "quorum");
    let out = ok_one(&[
        "verify-pyth",
        "--input",
        path_str(&input),
        "--guardian-set",
        "4",
        "--quorum",
        "12",
    ]);
    assert_eq!(out["signatures_valid"], 12);
}

/// n − s (the malleated twin of a signature's s).
fn negate_scalar(s: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for index in (0..32).rev() {
        let mut diff = i16::from(SECP256K1_ORDER[index]) - i16::from(s[index]) - borrow;
        borrow = i16::from(diff < 0);
        if diff < 0 {
            diff += 256;
        }
        out[index] = u8::try_from(diff).unwrap();
    }
    out
}

#[test]
fn pyth_high_s_signature_is_rejected() {
    let mut bytes = trump_bytes();
    let vaa_start = 4 + 3 + usize::from(bytes[6]) + 1 + 2;
    let s_start = vaa_start + 6 + 1 + 32;
    let high_s = negate_scalar(&bytes[s_start..s_start + 32]);
    bytes[s_start..s_start + 32].copy_from_slice(&high_s);
    bytes[s_start + 32] ^= 1;
    let input = hex_file("high-s.hex", &bytes);
    fails_with(&["verify-pyth", "--input", path_str(&input), "--guardian-set", "4"], "high_s");
}

fn trump_hermes_body() -> Value {
    let bytes = trump_bytes();
    let update = verify_accumulator_update(&bytes, &GuardianSets::mainnet().unwrap()).unwrap();
    hermes_json_for(&[encode_hex(&bytes)], &[update])
}

#[test]
fn pyth_hermes_json_and_sse_verify_and_cross_check() {
    let body = trump_hermes_body();
    let json_file = temp_file("hermes.json", &body.to_string());
    for encoding in [None, Some("hermes-json")] {
        let mut args = vec!["verify-pyth", "--input", path_str(&json_file), "--guardian-set", "4"];
        if let Some(encoding) = encoding {
            args.extend(["--encoding", encoding]);
        }
        let out = ok_one(&args);
        assert_eq!(out["updates"][0]["price"], "960310184");
    }
    let sse = format!(": keep-alive\n\ndata:{body}\n\ndata: {body}\n\n");
    let sse_file = temp_file("stream.sse", &sse);
    let (code, lines) =
        oracle(&["verify-pyth", "--input", path_str(&sse_file), "--guardian-set", "4"]);
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|line| line["slot"] == 208_075_477));
    let closing = format!("data:{body}\n\nevent: error\ndata: closing after 24h\n\n");
    let closing_file = temp_file("closing.sse", &closing);
    fails_with(
        &[
            "verify-pyth",
            "--input",
            path_str(&closing_file),
            "--encoding",
            "sse",
            "--guardian-set",
            "4",
        ],
        "stream_error",
    );
    let mut lying = body.clone();
    *lying.pointer_mut("/parsed/0/price/price").unwrap() = Value::from("960310185");
    let lying_file = temp_file("lying.json", &lying.to_string());
    fails_with(
        &["verify-pyth", "--input", path_str(&lying_file), "--guardian-set", "4"],
        "parsed_mismatch",
    );
}

// --------------------------------------------------------------------------------------------
// RedStone

fn redstone(file: &str, extra: &[&str]) -> (i32, Vec<Value>) {
    let input = fixture(file);
    let mut args = vec!["verify-redstone", "--input", path_str(&input)];
    args.extend_from_slice(extra);
    oracle(&args)
}

fn redstone_ok(file: &str, extra: &[&str]) -> Value {
    let (code, lines) = redstone(file, extra);
    assert_eq!(code, 0, "{lines:?}");
    lines.into_iter().next().unwrap()
}

fn redstone_fails(file: &str, extra: &[&str], rule: &str) {
    let (code, lines) = redstone(file, extra);
    assert_ne!(code, 0, "{lines:?}");
    assert_eq!(lines[0]["error"]["rule"], rule, "{lines:?}");
}

const PRIMARY: [&str; 4] = ["--signers", "primary-prod", "--threshold", "3"];

fn with_now<'a>(base: &[&'a str], now_ms: &'a str) -> Vec<&'a str> {
    let mut args = base.to_vec();
    args.extend(["--now-ms", now_ms]);
    args
}

#[test]
fn redstone_eth_primary_3sig() {
    let out = redstone_ok("redstone/ETH_PRIMARY_3sig.hex", &with_now(&PRIMARY, "1744563500000"));
    assert_eq!(out["timestamp_ms"], 1_744_563_500_000u64);
    assert_eq!(out["feeds"]["ETH"], "159504422175");
    assert_eq!(
        out["signers"]["ETH"],
        serde_json::json!([
            "0x51ce04be4b3e32572c4ec9135221d0691ba7d202",
            "0x9c5ae89c4af6aa32ce58588dbaf90d18a855b6de",
            "0xdd682daec5a90dd295d14da4b0bec9281017b5be"
        ])
    );
    let mut args = with_now(&PRIMARY, "1744563500000");
    args.extend(["--format", "hex"]);
    assert_eq!(redstone_ok("redstone/ETH_PRIMARY_3sig.hex", &args)["feeds"]["ETH"], "159504422175");
}

#[test]
fn redstone_eth_primary_3sig_newer() {
    let out =
        redstone_ok("redstone/ETH_PRIMARY_3sig_newer.hex", &with_now(&PRIMARY, "1744563600000"));
    assert_eq!(out["timestamp_ms"], 1_744_563_600_000u64);
    assert_eq!(out["feeds"]["ETH"], "159526674144");
}

#[test]
fn redstone_eth_primary_2sig_fails_the_threshold() {
    redstone_fails(
        "redstone/ETH_PRIMARY_2sig.hex",
        &with_now(&PRIMARY, "1744563670000"),
        "threshold",
    );
}

#[test]
fn redstone_avax_old_needs_the_avalanche_signers() {
    let signers = temp_file(
        "avalanche-prod.txt",
        "0x109B4a318A4F5ddcbCA6349B45f881B4137deaFB\n0x12470f7aba85c8b81d63137dd5925d6ee114952b\n\
         0x1ea62d73edf8ac05dfcea1a34b9796e937a29eff\n0x83cba8c619fb629b81a65c2e67fe15cf3e3c9747\n\
         0x2c59617248994D12816EE1Fa77CE0a64eEB456BF\n",
    );
    let args = ["--signers", path_str(&signers), "--threshold", "3", "--now-ms", "1707738270000"];
    let out = redstone_ok("redstone/ETH_BTC_AVAX_5sig_OLD.hex", &args);
    assert_eq!(out["feeds"]["ETH"], "248111446713");
    assert_eq!(out["feeds"]["BTC"], "4783856731782");
    assert_eq!(out["feeds"]["AVAX"], "3859000000");
    redstone_fails(
        "redstone/ETH_BTC_AVAX_5sig_OLD.hex",
        &with_now(&PRIMARY, "1707738270000"),
        "threshold",
    );
}

#[test]
fn redstone_fixtures_are_stale_against_the_wall_clock() {
    for file in ["redstone/ETH_PRIMARY_3sig.hex", "redstone/ETH_PRIMARY_3sig_newer.hex"] {
        redstone_fails(file, &PRIMARY, "timestamp_too_old");
    }
    redstone_fails("redstone/primary-prod-data-packages.json", &PRIMARY, "timestamp_too_old");
}

#[test]
fn redstone_gateway_json_gives_the_expected_medians() {
    for format in [None, Some("gateway-json")] {
        let mut args = with_now(&PRIMARY, "1719856900000");
        if let Some(format) = format {
            args.extend(["--format", format]);
        }
        let out = redstone_ok("redstone/primary-prod-data-packages.json", &args);
        assert_eq!(out["timestamp_ms"], 1_719_856_900_000u64);
        let expected = [
            ("ETH", "348695203485"),
            ("BTC", "6359779995623"),
            ("USDT", "99877775"),
            ("USDC", "99988697"),
            ("stETH", "348566049560"),
            ("USDe", "99845969"),
        ];
        for (feed, value) in expected {
            assert_eq!(out["feeds"][feed], value, "{feed}");
            assert_eq!(out["signers"][feed].as_array().unwrap().len(), 5, "{feed}");
        }
        assert!(out["feeds"]["USDC.DAI"].is_string());
        assert_eq!(out["below_threshold"], serde_json::json!({}));
    }
}

#[test]
fn redstone_unknown_signers_are_skipped() {
    // Only two of the three signers of the 3sig fixture are authorised: the third is skipped.
    let signers = temp_file(
        "two-signers.json",
        r#"["0x51Ce04Be4b3E32572C4Ec9135221d0691Ba7d202", "0xDD682daEC5A90dD295d14DA4b0bec9281017b5bE"]"#,
    );
    let args = ["--signers", path_str(&signers), "--threshold", "2", "--now-ms", "1744563500000"];
    let out = redstone_ok("redstone/ETH_PRIMARY_3sig.hex", &args);
    assert_eq!(out["unknown_signer_packages"], 1);
    assert_eq!(out["signers"]["ETH"].as_array().unwrap().len(), 2);
    let args = ["--signers", path_str(&signers), "--threshold", "3", "--now-ms", "1744563500000"];
    redstone_fails("redstone/ETH_PRIMARY_3sig.hex", &args, "config");
}

#[test]
fn redstone_high_s_and_forged_payloads_are_rejected() {
    let bytes = decode_hex(&fixture_text("redstone/ETH_PRIMARY_3sig.hex")).unwrap();
    // Second package: points + header are 77 bytes, then r (32), s (32), v (1).
    let mut high_s = bytes.clone();
    let s_start = 142 + 77 + 32;
    let negated = negate_scalar(&high_s[s_start..s_start + 32]);
    high_s[s_start..s_start + 32].copy_from_slice(&negated);
    high_s[s_start + 32] = if high_s[s_start + 32] == 27 { 28 } else { 27 };
    let input = hex_file("redstone-high-s.hex", &high_s);
    let args = [
        "verify-redstone",
        "--input",
        path_str(&input),
        "--signers",
        "primary-prod",
        "--now-ms",
        "1744563500000",
    ];
    fails_with(&args, "high_s");
    // A flipped value byte recovers an unknown signer: the feed drops below the threshold.
    let mut forged = bytes.clone();
    forged[63] ^= 1;
    let input = hex_file("redstone-forged.hex", &forged);
    let args = [
        "verify-redstone",
        "--input",
        path_str(&input),
        "--signers",
        "primary-prod",
        "--now-ms",
        "1744563500000",
    ];
    fails_with(&args, "threshold");
    // A broken marker.
    let mut marker = bytes;
    *marker.last_mut().unwrap() = 7;
    let input = hex_file("redstone-marker.hex", &marker);
    let args = [
        "verify-redstone",
        "--input",
        path_str(&input),
        "--signers",
        "primary-prod",
        "--now-ms",
        "1744563500000",
    ];
    fails_with(&args, "marker");
}
