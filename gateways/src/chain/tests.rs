//! Unit tests of the chain gateway parts that need no node (the node is in tests/chain_anvil.rs).

use alloy_primitives::{keccak256, Address, Bytes, LogData, B256, U256};
use alloy_rpc_types_eth::Log;
use alloy_sol_types::{SolEvent, SolValue};
use hedger_core::ids::InstrumentId;
use hedger_core::msg::{Body, SourceState};
use hedger_core::oracle::chainlink::{ChainlinkError, RoundData};
use hedger_core::order::{Order, OrderType, Route, Signature, SignatureType};

use super::abi::{
    IErc20, IEthenaMintingEvents, RevertDecoder, RevertReason, ERROR_STRING_SELECTOR,
};
use super::capacity::{remaining_usde, snapshot, AssetReading, GlobalReading};
use super::chainlink::{
    reason, scale_to_e8, ChainlinkFeedConfig, ChainlinkReadError, ChainlinkReading, FeedHealth,
};
use super::config::ChainConfig;
use super::events::{decode_log, ChainLogEvent, DecodedLog, LogRef, LogScope};
use super::keys::TxKey;
use super::rpc::BlockRef;
use super::submit::{mint_calldata, redeem_calldata};
use super::tracker::{AppendError, ChainTracker, Rollback};
use super::verify::{eip1271_rejection, SignatureRejection};

fn selector(signature: &str) -> [u8; 4] {
    let mut out = [0u8; 4];
    out.copy_from_slice(&keccak256(signature)[..4]);
    out
}

#[test]
fn every_v2_custom_error_decodes_to_its_name() {
    let decoder = RevertDecoder::ethena_minting_v2().expect("embedded ABI");
    assert_eq!(decoder.len(), 28, "ethena.md §3.10 lists 28 custom errors");
    for name in ["InvalidNonce", "SignatureExpired", "MaxMintPerBlockExceeded", "InvalidRoute"] {
        let data = selector(&format!("{name}()"));
        assert_eq!(decoder.decode(&data).name(), name);
    }
    let mut message = ERROR_STRING_SELECTOR.to_vec();
    message.extend("AccessControl: missing role".to_string().abi_encode());
    assert_eq!(
        decoder.decode(&message),
        RevertReason::Message("AccessControl: missing role".into())
    );
    let mut panic = selector("Panic(uint256)").to_vec();
    panic.extend(U256::from(0x11).abi_encode());
    assert_eq!(decoder.decode(&panic).name(), "Panic(0x11)");
    assert_eq!(decoder.decode(&[]), RevertReason::Empty);
    assert_eq!(decoder.decode(&[1, 2]), RevertReason::Empty);
    assert_eq!(decoder.decode(&[0xde, 0xad, 0xbe, 0xef]).name(), "0xdeadbeef");
    // Dirty Error(string) data does not panic; it falls through to an unknown selector.
    assert!(matches!(decoder.decode(&ERROR_STRING_SELECTOR), RevertReason::Unknown { .. }));
}

fn block(number: u64, parent: B256) -> BlockRef {
    BlockRef {
        number,
        hash: keccak256(number.to_be_bytes()),
        parent_hash: parent,
        timestamp_s: 1_000 + number,
        base_fee_per_gas_wei: 1,
    }
}

fn fork_block(number: u64, parent: B256) -> BlockRef {
    BlockRef { hash: keccak256((number + 1_000_000).to_be_bytes()), ..block(number, parent) }
}

fn log_in(block: &BlockRef, log_index: u64) -> DecodedLog {
    DecodedLog {
        at: LogRef {
            block_number: block.number,
            block_hash: block.hash,
            tx_hash: B256::ZERO,
            log_index,
        },
        event: ChainLogEvent::CustodyTransfer {
            wallet: Address::ZERO,
            asset: Address::ZERO,
            amount: U256::from(log_index),
        },
    }
}

/// Tracker rules 1 and 3: linked blocks only; a log is confirmed at `block + confirmations - 1`.
#[test]
fn tracker_links_blocks_and_confirms_at_the_exact_depth() {
    let mut tracker = ChainTracker::new(3, 8, 16);
    let b10 = block(10, B256::ZERO);
    let b11 = block(11, b10.hash);
    tracker.append(b10, vec![log_in(&b10, 0)]).expect("first block");
    tracker.append(b11, vec![log_in(&b11, 0), log_in(&b11, 1)]).expect("linked");
    let stray = block(12, B256::repeat_byte(7));
    assert!(matches!(
        tracker.append(stray, vec![]),
        Err(AppendError::NotLinked { number: 12, .. })
    ));
    let mut out = Vec::new();
    tracker.take_confirmed(11, &mut out);
    assert!(out.is_empty(), "block 10 has 2 confirmations at head 11");
    tracker.take_confirmed(12, &mut out);
    assert_eq!(out.len(), 1, "block 10 confirmed at head 12 = 10 + 3 - 1");
    tracker.take_confirmed(13, &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(tracker.pending_log_count(), 0);
}

/// Tracker rule 2: an orphaned tip takes its unconfirmed logs with it, nothing else.
#[test]
fn tracker_rollback_drops_only_orphaned_logs() {
    let mut tracker = ChainTracker::new(5, 8, 16);
    let b1 = block(1, B256::ZERO);
    let b2 = block(2, b1.hash);
    let b3 = block(3, b2.hash);
    for b in [b1, b2, b3] {
        tracker.append(b, vec![log_in(&b, 0)]).expect("append");
    }
    let mut rollback = Rollback::default();
    assert_eq!(tracker.pop_orphaned_tip(&mut rollback), Some(b3));
    assert_eq!(tracker.pop_orphaned_tip(&mut rollback), Some(b2));
    assert_eq!(rollback.orphaned, vec![b3, b2]);
    assert_eq!(rollback.dropped_logs.len(), 2);
    assert!(rollback.dropped_logs.iter().all(|l| l.at.block_number >= 2));
    assert_eq!(tracker.tip(), Some(&b1));
    let b2_new = fork_block(2, b1.hash);
    tracker.append(b2_new, vec![]).expect("new branch links to the common ancestor");
    assert_eq!(tracker.pending_log_count(), 1);
}

/// Tracker rule 4 and the log bound.
#[test]
fn tracker_window_and_log_limit_are_bounded() {
    let mut tracker = ChainTracker::new(1, 4, 2);
    let mut parent = B256::ZERO;
    for number in 0..10 {
        let b = block(number, parent);
        tracker.append(b, vec![]).expect("append");
        parent = b.hash;
    }
    assert!(tracker.block(5).is_none(), "only the last 4 blocks are kept");
    assert_eq!(tracker.block(9).map(|b| b.number), Some(9));
    let next = block(10, parent);
    let logs = vec![log_in(&next, 0), log_in(&next, 1), log_in(&next, 2)];
    assert_eq!(tracker.append(next, logs), Err(AppendError::LogsFull));
    assert_eq!(tracker.tip().map(|b| b.number), Some(9), "unchanged on error");
}

/// Capacity = min(asset cap − asset total, global cap − global total), floored at 0.
#[test]
fn remaining_capacity_takes_the_tighter_cap() {
    assert_eq!(remaining_usde(true, 100, 30, 1_000, 0), 70);
    assert_eq!(remaining_usde(true, 100, 30, 50, 10), 40);
    assert_eq!(remaining_usde(true, 100, 130, 1_000, 0), 0, "over-used never wraps");
    assert_eq!(remaining_usde(false, 100, 0, 1_000, 0), 0, "inactive asset");
    let global =
        GlobalReading { mint_cap_usde: 0, redeem_cap_usde: 5, minted_usde: 0, redeemed_usde: 0 };
    let asset = AssetReading {
        is_active: true,
        mint_cap_usde: 10,
        redeem_cap_usde: 10,
        minted_usde: 0,
        redeemed_usde: 1,
    };
    let snap = snapshot(7, global, &[(Address::ZERO, InstrumentId(3), asset)]);
    assert!(snap.minting_disabled() && !snap.redeeming_disabled());
    assert_eq!(snap.assets[0].mint_remaining_usde, 0, "disableMintRedeem zeroes the global cap");
    assert_eq!(snap.assets[0].redeem_remaining_usde, 5);
}

#[test]
fn chainlink_answers_scale_to_e8_with_truncation() {
    assert_eq!(scale_to_e8(123_456_789, 8), Some(123_456_789));
    assert_eq!(scale_to_e8(1_000_123_456_789_012_345, 18), Some(100_012_345), "truncates");
    assert_eq!(scale_to_e8(1_000_123, 6), Some(100_012_300));
    assert_eq!(scale_to_e8(i128::MAX, 0), None, "overflow is refused");
    assert_eq!(scale_to_e8(10i128.pow(35), 38), Some(100_000));
    assert_eq!(scale_to_e8(1, 80), None, "decimals beyond i128 range are refused");
}

fn feed() -> ChainlinkFeedConfig {
    ChainlinkFeedConfig {
        name: "ETH/USD".into(),
        aggregator: Address::repeat_byte(1),
        instrument: 4,
        max_age_s: 60,
    }
}

/// Statuses go out on change only; every failure is counted; prices only from valid rounds.
#[test]
fn feed_health_reports_state_changes_once() {
    let mut health = FeedHealth::default();
    let round = RoundData {
        round_id: 1,
        answer: 5,
        started_at_s: 10,
        updated_at_s: 10,
        answered_in_round: 1,
    };
    let good: Result<ChainlinkReading, ChainlinkReadError> =
        Ok(ChainlinkReading { round, decimals: 8, price_e8: 5 });
    let stale = || {
        Err(ChainlinkReadError::Invalid(ChainlinkError::Stale {
            updated_at_s: 10,
            now_s: 100,
            age_s: 90,
            max_age_s: 60,
        }))
    };
    let mut out = Vec::new();
    health.on_result(&feed(), &good, &mut out);
    assert_eq!(out.len(), 2, "Up status then the price");
    out.clear();
    health.on_result(&feed(), &stale(), &mut out);
    health.on_result(&feed(), &stale(), &mut out);
    assert_eq!(out.len(), 1, "one Stale status for two stale reads");
    let Ok(Body::GatewayStatus(status)) = out[0].body() else { panic!("status") };
    assert_eq!(
        (status.state, status.reason_code, status.detail),
        (SourceState::Stale, reason::HEARTBEAT, 90)
    );
    assert_eq!(health.failures_by_reason[(reason::HEARTBEAT - reason::RPC) as usize], 2);
    out.clear();
    health.on_result(&feed(), &good, &mut out);
    assert!(
        matches!(out[1].body(), Ok(Body::OraclePrice(p)) if p.price_e8 == 5 && p.publish_time_ms == 10_000)
    );
}

fn scope() -> LogScope {
    LogScope {
        minting_contract: Address::repeat_byte(0xee),
        tokens: vec![Address::repeat_byte(0x70)],
        watched_wallets: vec![Address::repeat_byte(0xc1)],
    }
}

fn rpc_log(emitter: Address, topics: Vec<B256>, data: Vec<u8>, block_number: Option<u64>) -> Log {
    Log {
        inner: alloy_primitives::Log {
            address: emitter,
            data: LogData::new_unchecked(topics, Bytes::from(data)),
        },
        block_hash: Some(B256::repeat_byte(0xbb)),
        block_number,
        block_timestamp: None,
        transaction_hash: Some(B256::repeat_byte(0xaa)),
        transaction_index: Some(0),
        log_index: Some(3),
        removed: false,
    }
}

/// V2 Mint (corrected layout): topic1 = keccak(order_id), topic2/3 benefactor/beneficiary.
#[test]
fn mint_logs_decode_with_the_order_id_hash_first() {
    let (benefactor, beneficiary) = (Address::repeat_byte(0xb1), Address::repeat_byte(0xb2));
    let topics = vec![
        IEthenaMintingEvents::Mint::SIGNATURE_HASH,
        keccak256("rfq-1"),
        benefactor.into_word(),
        beneficiary.into_word(),
    ];
    let data =
        (Address::repeat_byte(0x11), Address::repeat_byte(0x70), U256::from(5), U256::from(6))
            .abi_encode_params();
    let log = rpc_log(scope().minting_contract, topics.clone(), data, Some(9));
    let decoded = decode_log(&log, &scope()).expect("decodes").expect("known event");
    let ChainLogEvent::Mint(mint) = decoded.event else { panic!("mint") };
    assert_eq!(mint.order_id_hash, keccak256("rfq-1"));
    assert_eq!((mint.benefactor, mint.beneficiary), (benefactor, beneficiary));
    assert_eq!((mint.collateral_amount, mint.usde_amount), (U256::from(5), U256::from(6)));
    assert_eq!(decoded.at.block_number, 9);
    let truncated = rpc_log(scope().minting_contract, topics.clone(), vec![0; 10], Some(9));
    assert!(decode_log(&truncated, &scope()).is_err(), "known event, bad data: an error, no panic");
    let pending = rpc_log(scope().minting_contract, topics, vec![], None);
    assert!(decode_log(&pending, &scope()).is_err(), "pending logs are refused");
    let foreign = rpc_log(Address::repeat_byte(0x55), vec![B256::ZERO], vec![], Some(9));
    assert_eq!(decode_log(&foreign, &scope()), Ok(None));
}

#[test]
fn only_transfers_to_watched_wallets_are_reported() {
    let transfer = |to: Address| {
        let topics = vec![
            IErc20::Transfer::SIGNATURE_HASH,
            Address::repeat_byte(0xb1).into_word(),
            to.into_word(),
        ];
        rpc_log(Address::repeat_byte(0x70), topics, U256::from(42).abi_encode(), Some(1))
    };
    let watched = decode_log(&transfer(Address::repeat_byte(0xc1)), &scope()).expect("ok");
    assert!(
        matches!(watched.map(|d| d.event), Some(ChainLogEvent::Erc20Transfer { amount, .. }) if amount == U256::from(42))
    );
    assert_eq!(decode_log(&transfer(Address::repeat_byte(0xc9)), &scope()), Ok(None));
}

#[test]
fn keys_never_reach_debug_or_errors() {
    let secret = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    let key = TxKey::from_hex_zeroizing(format!("0x{secret}"), "minter").expect("key");
    let debug = format!("{key:?}");
    assert!(!debug.contains(secret) && !debug.contains(&secret[..16]), "{debug}");
    assert!(debug.contains("minter") && debug.contains("redacted"));
    let bad = format!("{}zz", &secret[..62]);
    let error = TxKey::from_hex_zeroizing(bad, "minter").expect_err("not hex");
    assert!(!error.contains(&secret[..16]));
    assert!(TxKey::from_hex_zeroizing("0".repeat(64), "minter").is_err(), "zero scalar");
    let missing = TxKey::from_env("HEDGER_TEST_UNSET_KEY_VARIABLE", "minter").expect_err("unset");
    assert!(
        missing.is_terminal() && missing.to_string().contains("HEDGER_TEST_UNSET_KEY_VARIABLE")
    );
}

#[test]
fn config_validation_reports_every_problem() {
    let config = ChainConfig {
        rpc_url: "https://node".into(),
        confirmations: 0,
        poll_interval_ms: 0,
        poll_budget_ms: 1,
        rpc_timeout_ms: 10,
        ..ChainConfig::default()
    };
    let Err(super::ChainError::Config { problems }) = config.validate() else { panic!("invalid") };
    assert_eq!(problems.len(), 5, "{problems:#?}");
    let json = r#"{"rpc_url":"http://127.0.0.1:8545","minting_contract":"0xe3490297a08d6fC8Da46Edb7B6142E4F461b62D3","confirmationz":3}"#;
    assert!(serde_json::from_str::<ChainConfig>(json).is_err(), "unknown fields are refused");
    let json =
        r#"{"minting_contract":"0xe3490297a08d6fC8Da46Edb7B6142E4F461b62D3","confirmations":3}"#;
    let parsed: ChainConfig = serde_json::from_str(json).expect("defaults fill the rest");
    assert_eq!(parsed.confirmations, 3);
    parsed.validate().expect("valid");
}

/// Selectors of `ethena.md` §3.11: mint `0x96eea750`, mintWETH `0x00d87483`, redeem `0x75c890dc`.
#[test]
fn submission_calldata_uses_the_v2_selectors() {
    let order = Order {
        order_id: "x".into(),
        order_type: OrderType::Mint,
        expiry_unix_s: 1,
        nonce: 1,
        benefactor: Address::repeat_byte(1),
        beneficiary: Address::repeat_byte(1),
        collateral_asset: Address::repeat_byte(2),
        collateral_amount: 1,
        usde_amount: 1,
    };
    let route = Route { addresses: vec![Address::repeat_byte(3)], ratios_bps: vec![10_000] };
    let signature =
        Signature { signature_type: SignatureType::Eip712, signature_bytes: vec![0; 65] };
    let mint = mint_calldata(&order, &route, &signature, false).expect("mint");
    let weth = mint_calldata(&order, &route, &signature, true).expect("mintWETH");
    let redeem = redeem_calldata(&order, &signature).expect("redeem");
    assert_eq!(mint[..4], [0x96, 0xee, 0xa7, 0x50]);
    assert_eq!(weth[..4], [0x00, 0xd8, 0x74, 0x83]);
    assert_eq!(redeem[..4], [0x75, 0xc8, 0x90, 0xdc]);
    let too_wide = Order { expiry_unix_s: 1 << 120, ..order };
    assert!(mint_calldata(&too_wide, &route, &signature, false).is_err());
}

/// EIP-1271 answers are judged like the contract's ABI decoder: only a clean `bytes4` word with
/// the magic value passes; a clean other value is `InvalidEIP1271Signature`; short data or dirty
/// padding fails decoding (revert without data).
#[test]
fn eip1271_answers_are_classified_like_the_contract_decoder() {
    use hedger_core::order::signing::check_eip1271_return;
    let wallet = Address::repeat_byte(0x12);
    let word = |head: [u8; 4], tail: u8| {
        let mut data = vec![tail; 32];
        data[..4].copy_from_slice(&head);
        Bytes::from(data)
    };
    let magic = word([0x16, 0x26, 0xba, 0x7e], 0);
    assert!(check_eip1271_return(&magic).is_ok());
    let mut longer = magic.to_vec();
    longer.extend([0xab; 32]);
    assert!(check_eip1271_return(&longer).is_ok(), "extra return data is ignored, as in Solidity");
    let rejected = eip1271_rejection(wallet, word([0xff; 4], 0));
    assert!(matches!(rejected, SignatureRejection::Eip1271Rejected { .. }), "{rejected:?}");
    assert_eq!(rejected.contract_error(), Some("InvalidEIP1271Signature"));
    assert_eq!(rejected.rule(), "signature_eip1271_rejected");
    for malformed in
        [Bytes::new(), Bytes::from(vec![0x16, 0x26, 0xba, 0x7e]), word([0x16, 0x26, 0xba, 0x7e], 1)]
    {
        assert!(check_eip1271_return(&malformed).is_err(), "{malformed}");
        let rejection = eip1271_rejection(wallet, malformed.clone());
        assert!(matches!(rejection, SignatureRejection::Eip1271Malformed { .. }), "{malformed}");
        assert_eq!(rejection.contract_error(), Some(""), "revert without data");
    }
}

/// Malformed ECDSA signatures are named with OpenZeppelin 4.9's revert strings (what our
/// contract's `_recover` and the deployed contract revert with).
#[test]
fn ecdsa_rejections_carry_openzeppelin_messages() {
    use hedger_core::order::SignatureError;
    let cases = [
        (SignatureError::InvalidLength { len_bytes: 64 }, "ECDSA: invalid signature length"),
        (SignatureError::HighS { s: U256::MAX }, "ECDSA: invalid signature 's' value"),
        (SignatureError::InvalidV { v: 0 }, "ECDSA: invalid signature"),
        (SignatureError::Unrecoverable, "ECDSA: invalid signature"),
    ];
    for (error, message) in cases {
        let rejection = SignatureRejection::Ecdsa(error.clone());
        assert_eq!(rejection.contract_error(), Some(message), "{error:?}");
        assert_eq!(rejection.rule(), error.rule());
        let chain = super::error::ChainError::from(rejection);
        assert_eq!(chain.contract_error(), Some(message));
        assert!(!chain.is_retryable() && !chain.is_terminal() && chain.revert_name().is_none());
    }
}
