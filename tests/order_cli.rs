//! `hedger order hash|sign|verify` through the real binary, against the shared Ethena vectors
//! (`shared/reference/ethena-test-vectors.md` §4, vector 1).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const V2_MAINNET: &str = "0xe3490297a08d6fC8Da46Edb7B6142E4F461b62D3";
const BENEFACTOR: &str = "0xBb8A8FE4f12953a5840C6570d5e836079329BE46";
const BENEFICIARY_KEY_ADDRESS: &str = "0x4c29E4E4046602399527804752ac6f119eb89E12";
const STRUCT_HASH: &str = "0xaad1ede1507cfaf0f3df248aceb3221423820886145c5989739cd31d08d53aae";
const DIGEST: &str = "0x611c744f31694e9a7f7f80010172e3c437cea2c86257627049aba10542837793";
const SIGNATURE: &str = "0x5ff74f4629cac5c9034dc5aea4beb87f496bda590dbb90424e9131544ef429ae3edf0ad9340d058f387232196638e8cc2a24403c3ac52dfdf124fca0355b1d8c1c";
/// The same signature's high-s twin: s' = n - s, v flipped 28 -> 27.
const SIGNATURE_HIGH_S: &str = "0x5ff74f4629cac5c9034dc5aea4beb87f496bda590dbb90424e9131544ef429aec120f526cbf2fa70c78dcde699c71732908a9caa7483723dcead61ec9adb23b51b";

/// Vector 1 as the Python client sends it (JSON integers, usde_amount > u64).
const ORDER_NUMBERS: &str = r#"{"order_id":"rfq-0001","order_type":0,"expiry":1735689600,"nonce":1735689600,"benefactor":"0xBb8A8FE4f12953a5840C6570d5e836079329BE46","beneficiary":"0xBb8A8FE4f12953a5840C6570d5e836079329BE46","collateral_asset":"0xdAC17F958D2ee523a2206206994597C13D831ec7","collateral_amount":25000000,"usde_amount":24975000000000000000}"#;

/// Vector 1 as the TypeScript client sends it (strings, "MINT", lower-case addresses).
const ORDER_STRINGS: &str = r#"{"order_id":"rfq-0001","order_type":"MINT","expiry":1735689600,"nonce":1735689600,"benefactor":"0xbb8a8fe4f12953a5840c6570d5e836079329be46","beneficiary":"0xbb8a8fe4f12953a5840c6570d5e836079329be46","collateral_asset":"0xdac17f958d2ee523a2206206994597c13d831ec7","collateral_amount":"25000000","usde_amount":"24975000000000000000"}"#;

/// Writes `contents` to a fresh file under the target's temp dir and returns its path.
fn order_file(name: &str, contents: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("order_cli");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}-{}.json", std::process::id()));
    std::fs::write(&path, contents).expect("write order");
    path
}

fn hedger(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hedger"));
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run hedger")
}

/// Runs and returns (exit code, stdout parsed as JSON).
fn run_json(args: &[&str], env: &[(&str, &str)]) -> (i32, serde_json::Value) {
    let output = hedger(args, env);
    let stdout = String::from_utf8(output.stdout).expect("utf-8 stdout");
    let value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|error| panic!("stdout is not one JSON object ({error}): {stdout:?}"));
    (output.status.code().expect("exit code"), value)
}

fn domain_args() -> [&'static str; 4] {
    ["--chain-id", "1", "--contract", V2_MAINNET]
}

fn verify(order: &Path, signature: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let order = order.to_str().expect("utf-8 path");
    let mut args = vec!["order", "verify", "--order", order, "--signature", signature];
    args.extend(domain_args());
    args.extend(extra);
    run_json(&args, &[])
}

fn error_rule(value: &serde_json::Value) -> &str {
    value["error"]["rule"].as_str().unwrap_or_else(|| panic!("no error rule in {value}"))
}

#[test]
fn hash_prints_the_vector_struct_hash_and_digest_for_both_client_shapes() {
    for (name, body) in [("numbers", ORDER_NUMBERS), ("strings", ORDER_STRINGS)] {
        let path = order_file(name, body);
        let mut args = vec!["order", "hash", "--order", path.to_str().expect("path")];
        args.extend(domain_args());
        let (code, value) = run_json(&args, &[]);
        assert_eq!(code, 0, "{value}");
        assert_eq!(value["struct_hash"], STRUCT_HASH, "{name}");
        assert_eq!(value["digest"], DIGEST, "{name}");
    }
}

#[test]
fn sign_reproduces_the_vector_signature_and_never_prints_the_key() {
    let path = order_file("sign", ORDER_NUMBERS);
    let key = "0x00000000000000000000000000000000000000000000000000000000000001dc";
    let mut args = vec!["order", "sign", "--order", path.to_str().expect("path")];
    args.extend(["--key-env", "HEDGER_TEST_ORDER_KEY"]);
    args.extend(domain_args());
    let output = hedger(&args, &[("HEDGER_TEST_ORDER_KEY", key)]);
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(0), "{stdout} {stderr}");
    assert!(!stdout.contains("1dc") && !stderr.contains("1dc"), "key leaked: {stdout} {stderr}");
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(value["signature"], SIGNATURE);
    assert_eq!(value["signer"], BENEFACTOR);
}

#[test]
fn sign_reports_a_missing_or_bad_key_as_json() {
    let path = order_file("sign-missing", ORDER_NUMBERS);
    let mut args = vec!["order", "sign", "--order", path.to_str().expect("path")];
    args.extend(["--key-env", "HEDGER_TEST_ORDER_KEY_UNSET_FOR_SURE"]);
    args.extend(domain_args());
    let (code, value) = run_json(&args, &[]);
    assert_eq!(code, 1);
    assert_eq!(error_rule(&value), "key_env_missing");
    args[5] = "HEDGER_TEST_ORDER_KEY_BAD";
    let (code, value) = run_json(&args, &[("HEDGER_TEST_ORDER_KEY_BAD", "0xnothex")]);
    assert_eq!(code, 1);
    assert_eq!(error_rule(&value), "signing_key_invalid");
    assert!(!value.to_string().contains("nothex"), "key text must not be echoed");
}

#[test]
fn verify_accepts_the_vector_signature() {
    let path = order_file("verify-ok", ORDER_STRINGS);
    let (code, value) = verify(&path, SIGNATURE, &[]);
    assert_eq!(code, 0, "{value}");
    assert_eq!(value, serde_json::json!({ "signer": BENEFACTOR }));
    let (code, _) = verify(&path, SIGNATURE, &["--signer-must-be", BENEFACTOR]);
    assert_eq!(code, 0);
}

#[test]
fn verify_rejects_what_the_contract_would_reject() {
    let path = order_file("verify-bad", ORDER_NUMBERS);
    let bad_v = format!("{}1b", &SIGNATURE[..SIGNATURE.len() - 2]);
    let v_zero = format!("{}00", &SIGNATURE[..SIGNATURE.len() - 2]);
    let short = &SIGNATURE[..SIGNATURE.len() - 2];
    let long = format!("{SIGNATURE}00");
    let cases = [
        (SIGNATURE_HIGH_S, "signature_high_s"),
        (bad_v.as_str(), "signature_wrong_signer"),
        (v_zero.as_str(), "signature_v"),
        (short, "signature_length"),
        (long.as_str(), "signature_length"),
        ("0xzz", "signature_hex"),
    ];
    for (signature, rule) in cases {
        let (code, value) = verify(&path, signature, &[]);
        assert_eq!(code, 1, "{signature}: {value}");
        assert_eq!(error_rule(&value), rule, "{signature}");
    }
    // Valid signature, but a different signer was required.
    let (code, value) = verify(&path, SIGNATURE, &["--signer-must-be", BENEFICIARY_KEY_ADDRESS]);
    assert_eq!(code, 1);
    assert_eq!(error_rule(&value), "signature_signer_mismatch");
}

#[test]
fn verify_accepts_a_named_delegate_only() {
    let path = order_file("verify-delegate", ORDER_NUMBERS);
    let mut args = vec!["order", "sign", "--order", path.to_str().expect("path")];
    args.extend(["--key-env", "HEDGER_TEST_DELEGATE_KEY"]);
    args.extend(domain_args());
    let (code, signed) = run_json(&args, &[("HEDGER_TEST_DELEGATE_KEY", "0x1DAC")]);
    assert_eq!(code, 0, "{signed}");
    let signature = signed["signature"].as_str().expect("signature").to_string();
    let (code, value) = verify(&path, &signature, &[]);
    assert_eq!((code, error_rule(&value)), (1, "signature_wrong_signer"));
    let (code, value) = verify(&path, &signature, &["--signer-must-be", BENEFICIARY_KEY_ADDRESS]);
    assert_eq!(code, 0, "{value}");
    assert_eq!(value["signer"], BENEFICIARY_KEY_ADDRESS);
}

#[test]
fn bad_inputs_are_json_errors() {
    let broken = order_file("broken", "{\"order_id\": ");
    let mut args = vec!["order", "hash", "--order", broken.to_str().expect("path")];
    args.extend(domain_args());
    let (code, value) = run_json(&args, &[]);
    assert_eq!((code, error_rule(&value)), (1, "json_syntax"));
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("does-not-exist.json");
    let mut args = vec!["order", "hash", "--order", missing.to_str().expect("path")];
    args.extend(domain_args());
    let (code, value) = run_json(&args, &[]);
    assert_eq!((code, error_rule(&value)), (1, "order_file"));
    let good = order_file("bad-contract", ORDER_NUMBERS);
    let bad_checksum = V2_MAINNET.replace("e349", "E349");
    let args = [
        "order",
        "hash",
        "--order",
        good.to_str().expect("path"),
        "--chain-id",
        "1",
        "--contract",
        &bad_checksum,
    ];
    let (code, value) = run_json(&args, &[]);
    assert_eq!((code, error_rule(&value)), (1, "address_arg"));
}
