//! Encoders that *produce* signed oracle data: Pyth accumulator updates (PNAU with a Wormhole VAA)
//! signed by a test guardian set, and RedStone data packages (binary payloads and gateway JSON)
//! signed by test nodes.
//!
//! Why it exists: the oracle simulators of `hedger sim` and the tests must speak the exact wire
//! formats the verifiers in this module accept, signed by keys the system is configured to trust.
//! Each encoder is the inverse of a parser here, and the unit tests close the loop (encode, then
//! verify with the production verifier).
//!
//! What it promises: deterministic output for a given seed and input (RFC 6979 signatures); keys
//! come only from [`TestKeys::from_seed`], never from the environment, so nothing here can sign
//! with a real key. Allocation is per call (simulators and tests only, never a pinned thread).
//!
//! Fault knobs ([`PnauFaults`], [`RedstoneFaults`]) build the must-fail variants the gateways have
//! to quarantine: a corrupted signature, fewer signers than the quorum, a broken Merkle proof.

use base64::Engine;
use k256::ecdsa::SigningKey;

use super::pyth::{AUWV_MAGIC, MAJOR_VERSION, PNAU_MAGIC};
use super::redstone::{FeedId, REDSTONE_MARKER};
use super::redstone_json::f64_to_fixed;
use super::secp::{keccak256, EthAddress};
use super::u256::U256;
use super::wormhole::{PYTHNET_ACCUMULATOR_EMITTER, PYTHNET_CHAIN_ID};

/// Why an encoder could not build its output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A count does not fit its wire field, or an input list is empty.
    #[error("{field}: {count} does not fit (max {max})")]
    Count {
        /// Wire field.
        field: &'static str,
        /// Requested count.
        count: usize,
        /// Largest allowed.
        max: usize,
    },
    /// The signing library refused (never expected with valid keys).
    #[error("signing failed")]
    Signing,
    /// A value cannot be represented.
    #[error("value {value_e8} for feed {feed} cannot be encoded")]
    Value {
        /// Feed name.
        feed: String,
        /// Requested value.
        value_e8: i64,
    },
}

/// Deterministic secp256k1 keys for simulators and tests.
#[derive(Clone)]
pub struct TestKeys {
    keys: Vec<SigningKey>,
}

impl std::fmt::Debug for TestKeys {
    /// Lists addresses only; private keys never reach Debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKeys").field("addresses", &self.addresses()).finish()
    }
}

impl TestKeys {
    /// `count` keys derived from `label` and `seed`: key i = keccak256(label ‖ seed ‖ i ‖ retry),
    /// retrying the (astronomically rare) hash that is not a valid scalar.
    pub fn from_seed(label: &str, seed: u64, count: usize) -> Self {
        let keys = (0..count)
            .map(|index| {
                (0u32..)
                    .find_map(|retry| {
                        let mut preimage = label.as_bytes().to_vec();
                        preimage.extend_from_slice(&seed.to_be_bytes());
                        preimage.extend_from_slice(&(index as u64).to_be_bytes());
                        preimage.extend_from_slice(&retry.to_be_bytes());
                        SigningKey::from_bytes(&keccak256(&preimage).into()).ok()
                    })
                    .unwrap_or_else(|| unreachable!("some retry yields a valid scalar"))
            })
            .collect();
        Self { keys }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Ethereum addresses of the keys, in index order.
    pub fn addresses(&self) -> Vec<EthAddress> {
        self.keys.iter().map(address_of).collect()
    }

    /// Signs a 32-byte prehash with key `index`: returns (r, s, recovery id 0/1), low-s.
    ///
    /// # Errors
    /// [`EncodeError::Count`] for an index out of range, [`EncodeError::Signing`].
    pub fn sign(
        &self,
        index: usize,
        digest: &[u8; 32],
    ) -> Result<([u8; 32], [u8; 32], u8), EncodeError> {
        let key = self.keys.get(index).ok_or(EncodeError::Count {
            field: "key index",
            count: index,
            max: self.keys.len(),
        })?;
        let (signature, recovery) =
            key.sign_prehash_recoverable(digest).map_err(|_| EncodeError::Signing)?;
        let bytes = signature.to_bytes();
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&bytes[..32]);
        s.copy_from_slice(&bytes[32..]);
        Ok((r, s, recovery.to_byte()))
    }
}

fn address_of(key: &SigningKey) -> EthAddress {
    let point = key.verifying_key().to_encoded_point(false);
    let mut xy = [0u8; 64];
    xy.copy_from_slice(&point.as_bytes()[1..65]);
    EthAddress::from_public_key(&xy)
}

/// One Pyth price to encode (type-0 message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythPriceInput {
    /// Feed id.
    pub feed_id: [u8; 32],
    /// Aggregate price.
    pub price: i64,
    /// Confidence.
    pub conf: u64,
    /// Decimal exponent.
    pub exponent: i32,
    /// Publish time, unix seconds.
    pub publish_time_s: i64,
    /// Previous publish time.
    pub prev_publish_time_s: i64,
    /// EMA price.
    pub ema_price: i64,
    /// EMA confidence.
    pub ema_conf: u64,
}

/// Faults a PNAU can be built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PnauFaults {
    /// Flip the first signature's recovery id (recovers to another key: `signer_mismatch`).
    pub bad_signature: bool,
    /// Sign with `quorum − 1` guardians.
    pub too_few_signers: bool,
    /// Flip a byte of the first update's first proof hash (or its message when there is none).
    pub wrong_merkle_proof: bool,
}

/// Header of the VAA that carries the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PnauHeader {
    /// Guardian set index written into the VAA.
    pub guardian_set_index: u32,
    /// Guardians that sign (the first `signers` keys, ascending indices).
    pub signers: usize,
    /// Pythnet slot.
    pub slot: u64,
    /// VAA observation time, unix seconds.
    pub timestamp_s: u32,
    /// Emitter sequence.
    pub sequence: u64,
}

/// The 85-byte price message.
pub fn encode_price_message(price: &PythPriceInput) -> Vec<u8> {
    let mut out = Vec::with_capacity(super::pyth::PRICE_MESSAGE_BYTES);
    out.push(0);
    out.extend_from_slice(&price.feed_id);
    out.extend_from_slice(&price.price.to_be_bytes());
    out.extend_from_slice(&price.conf.to_be_bytes());
    out.extend_from_slice(&price.exponent.to_be_bytes());
    out.extend_from_slice(&price.publish_time_s.to_be_bytes());
    out.extend_from_slice(&price.prev_publish_time_s.to_be_bytes());
    out.extend_from_slice(&price.ema_price.to_be_bytes());
    out.extend_from_slice(&price.ema_conf.to_be_bytes());
    out
}

fn keccak160(prefix: u8, parts: &[&[u8]]) -> [u8; 20] {
    let mut preimage = vec![prefix];
    for part in parts {
        preimage.extend_from_slice(part);
    }
    let mut out = [0u8; 20];
    out.copy_from_slice(&keccak256(&preimage)[..20]);
    out
}

/// A Merkle tree over `messages` (leaf = H(0x00 ‖ m), node = H(0x01 ‖ min ‖ max)); an odd node at
/// the end of a level moves up unchanged. Returns the root and each message's proof.
pub fn merkle_tree(messages: &[Vec<u8>]) -> ([u8; 20], Vec<Vec<[u8; 20]>>) {
    let mut level: Vec<[u8; 20]> = messages.iter().map(|m| keccak160(0x00, &[m])).collect();
    // positions[i] = index of message i's ancestor in the current level.
    let mut positions: Vec<usize> = (0..messages.len()).collect();
    let mut proofs: Vec<Vec<[u8; 20]>> = vec![Vec::new(); messages.len()];
    while level.len() > 1 {
        for (proof, position) in proofs.iter_mut().zip(positions.iter_mut()) {
            let sibling = *position ^ 1;
            if let Some(hash) = level.get(sibling) {
                proof.push(*hash);
            }
            *position /= 2;
        }
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => {
                    let (low, high) = if a <= b { (a, b) } else { (b, a) };
                    keccak160(0x01, &[low, high])
                }
                [single] => *single,
                _ => unreachable!("chunks(2) yields 1 or 2"),
            })
            .collect();
    }
    (level.first().copied().unwrap_or([0; 20]), proofs)
}

/// Builds a signed PNAU accumulator update carrying `prices`.
///
/// # Errors
/// [`EncodeError::Count`] for no prices, more than 255 prices or signers, or more signers than
/// keys; [`EncodeError::Signing`].
pub fn encode_pnau(
    keys: &TestKeys,
    quorum: usize,
    header: &PnauHeader,
    prices: &[PythPriceInput],
    faults: PnauFaults,
) -> Result<Vec<u8>, EncodeError> {
    if prices.is_empty() || prices.len() > 255 {
        return Err(EncodeError::Count { field: "updates", count: prices.len(), max: 255 });
    }
    let messages: Vec<Vec<u8>> = prices.iter().map(encode_price_message).collect();
    let (root, mut proofs) = merkle_tree(&messages);
    let mut messages = messages;
    if faults.wrong_merkle_proof {
        match proofs[0].first_mut() {
            Some(hash) => hash[0] ^= 0x01,
            None => messages[0][40] ^= 0x01,
        }
    }
    let signers = if faults.too_few_signers { quorum.saturating_sub(1) } else { header.signers };
    let vaa = encode_vaa(keys, header, signers, &merkle_payload(header.slot, &root), faults)?;
    let vaa_len = u16::try_from(vaa.len()).map_err(|_| EncodeError::Count {
        field: "vaa",
        count: vaa.len(),
        max: 65_535,
    })?;
    let mut out = Vec::with_capacity(vaa.len() + messages.len() * 320 + 16);
    out.extend_from_slice(&PNAU_MAGIC);
    out.extend_from_slice(&[MAJOR_VERSION, 0, 0, 0]); // major, minor, no trailing header, proof 0
    out.extend_from_slice(&vaa_len.to_be_bytes());
    out.extend_from_slice(&vaa);
    out.push(prices.len() as u8);
    for (message, proof) in messages.iter().zip(&proofs) {
        out.extend_from_slice(&(message.len() as u16).to_be_bytes());
        out.extend_from_slice(message);
        out.push(proof.len() as u8);
        for hash in proof {
            out.extend_from_slice(hash);
        }
    }
    Ok(out)
}

fn merkle_payload(slot: u64, root: &[u8; 20]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(37);
    payload.extend_from_slice(&AUWV_MAGIC);
    payload.push(0);
    payload.extend_from_slice(&slot.to_be_bytes());
    payload.extend_from_slice(&10_000u32.to_be_bytes());
    payload.extend_from_slice(root);
    payload
}

/// A version-1 VAA from the Pyth accumulator emitter, signed by keys `0..signers`.
fn encode_vaa(
    keys: &TestKeys,
    header: &PnauHeader,
    signers: usize,
    payload: &[u8],
    faults: PnauFaults,
) -> Result<Vec<u8>, EncodeError> {
    if signers > keys.len() || signers > 255 {
        return Err(EncodeError::Count { field: "signers", count: signers, max: keys.len() });
    }
    let mut body = Vec::with_capacity(51 + payload.len());
    body.extend_from_slice(&header.timestamp_s.to_be_bytes());
    body.extend_from_slice(&0u32.to_be_bytes());
    body.extend_from_slice(&PYTHNET_CHAIN_ID.to_be_bytes());
    body.extend_from_slice(&PYTHNET_ACCUMULATOR_EMITTER);
    body.extend_from_slice(&header.sequence.to_be_bytes());
    body.push(1);
    body.extend_from_slice(payload);
    let digest = keccak256(&keccak256(&body));
    let mut out = Vec::with_capacity(6 + signers * 66 + body.len());
    out.push(1);
    out.extend_from_slice(&header.guardian_set_index.to_be_bytes());
    out.push(signers as u8);
    for index in 0..signers {
        let (r, s, mut v) = keys.sign(index, &digest)?;
        if faults.bad_signature && index == 0 {
            v ^= 1; // the other key with this r: always recovers, never to the guardian
        }
        out.push(index as u8);
        out.extend_from_slice(&r);
        out.extend_from_slice(&s);
        out.push(v);
    }
    out.extend_from_slice(&body);
    Ok(out)
}

/// One RedStone data point to sign: a feed name and a value with 8 decimals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedstonePointInput {
    /// Feed name (`ETH`), case-sensitive.
    pub feed: String,
    /// Value × 1e8; must be ≥ 0.
    pub value_e8: i64,
}

/// Faults a RedStone package set can be built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RedstoneFaults {
    /// Flip the first package's recovery id (recovers to another key).
    pub bad_signature: bool,
    /// Sign with `threshold − 1` nodes only.
    pub too_few_signers: bool,
    /// Claim another signer than the one that signed (gateway JSON `signerAddress`).
    pub wrong_signer_claim: bool,
}

/// A signed package in both wire shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPackage {
    /// Signer that produced it.
    pub signer: EthAddress,
    /// The binary package (signable bytes ‖ r ‖ s ‖ v).
    pub bytes: Vec<u8>,
    /// The gateway JSON object for the package.
    pub json: serde_json::Value,
}

/// The JSON number a gateway sends for `value_e8`, and the 8-decimal integer its signer signed
/// (`parseUnits(Number(x).toFixed(8))`, which can differ from `value_e8` by rounding).
///
/// # Errors
/// [`EncodeError::Value`] for a negative value or one `toFixed` cannot express.
pub fn gateway_value(feed: &str, value_e8: i64) -> Result<(f64, U256), EncodeError> {
    let err = || EncodeError::Value { feed: feed.to_owned(), value_e8 };
    if value_e8 < 0 {
        return Err(err());
    }
    let float = value_e8 as f64 / 1e8;
    let fixed = f64_to_fixed(float, 8).ok_or_else(err)?;
    Ok((float, fixed))
}

/// Signs one package with key `key_index` of `keys`.
///
/// # Errors
/// [`EncodeError`] for a bad value, too many points or a failed signature.
pub fn encode_redstone_package(
    keys: &TestKeys,
    key_index: usize,
    timestamp_ms: u64,
    points: &[RedstonePointInput],
    data_package_id: &str,
    data_service_id: &str,
) -> Result<EncodedPackage, EncodeError> {
    let mut rows: Vec<(FeedId, U256, f64, &str)> = Vec::with_capacity(points.len());
    for point in points {
        let (float, fixed) = gateway_value(&point.feed, point.value_e8)?;
        rows.push((FeedId::from_name(&point.feed), fixed, float, &point.feed));
    }
    rows.sort_by_key(|row| row.0);
    if rows.len() >= (1 << 24) {
        return Err(EncodeError::Count { field: "points", count: rows.len(), max: (1 << 24) - 1 });
    }
    let mut bytes = Vec::with_capacity(rows.len() * 64 + 13 + 65);
    for (feed_id, value, _, _) in &rows {
        bytes.extend_from_slice(&feed_id.0);
        bytes.extend_from_slice(&value.to_be_bytes());
    }
    bytes.extend_from_slice(&timestamp_ms.to_be_bytes()[2..]);
    bytes.extend_from_slice(&32u32.to_be_bytes());
    bytes.extend_from_slice(&(rows.len() as u32).to_be_bytes()[1..]);
    let (r, s, v) = keys.sign(key_index, &keccak256(&bytes))?;
    bytes.extend_from_slice(&r);
    bytes.extend_from_slice(&s);
    bytes.push(v + 27);
    let signer = keys.addresses()[key_index];
    let data_points: Vec<serde_json::Value> = rows
        .iter()
        .map(|(_, _, float, feed)| serde_json::json!({ "dataFeedId": feed, "value": float }))
        .collect();
    let signature = &bytes[bytes.len() - 65..];
    let json = serde_json::json!({
        "timestampMilliseconds": timestamp_ms,
        "signature": base64::engine::general_purpose::STANDARD.encode(signature),
        "isSignatureValid": true,
        "dataPoints": data_points,
        "dataServiceId": data_service_id,
        "dataFeedId": data_package_id,
        "dataPackageId": data_package_id,
        "signerAddress": signer.to_string(),
    });
    Ok(EncodedPackage { signer, bytes, json })
}

/// Signs `points` once per signer (`signers` first keys, or one fewer with `too_few_signers`)
/// and applies the faults.
///
/// # Errors
/// As [`encode_redstone_package`].
pub fn encode_redstone_packages(
    keys: &TestKeys,
    signers: usize,
    timestamp_ms: u64,
    points: &[RedstonePointInput],
    data_package_id: &str,
    faults: RedstoneFaults,
) -> Result<Vec<EncodedPackage>, EncodeError> {
    let signers = if faults.too_few_signers { signers.saturating_sub(1) } else { signers };
    let mut packages = (0..signers)
        .map(|key_index| {
            encode_redstone_package(
                keys,
                key_index,
                timestamp_ms,
                points,
                data_package_id,
                "redstone-primary-prod",
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(first) = packages.first_mut() {
        if faults.bad_signature {
            let at = first.bytes.len() - 1;
            first.bytes[at] = 55 - first.bytes[at]; // v 27 <-> 28: recovers to another key
            let signature = &first.bytes[first.bytes.len() - 65..];
            first.json["signature"] =
                base64::engine::general_purpose::STANDARD.encode(signature).into();
        }
        if faults.wrong_signer_claim {
            let other = keys.addresses().get(signers).copied().unwrap_or(EthAddress([0x11; 20]));
            first.json["signerAddress"] = other.to_string().into();
        }
    }
    Ok(packages)
}

/// The binary payload of `packages`: packages ‖ count u16 ‖ no metadata ‖ L = 0 ‖ marker.
///
/// # Errors
/// [`EncodeError::Count`] for more than 65 535 packages.
pub fn encode_redstone_payload(packages: &[EncodedPackage]) -> Result<Vec<u8>, EncodeError> {
    let count = u16::try_from(packages.len()).map_err(|_| EncodeError::Count {
        field: "packages",
        count: packages.len(),
        max: 65_535,
    })?;
    let mut out: Vec<u8> = packages.iter().flat_map(|p| p.bytes.iter().copied()).collect();
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&REDSTONE_MARKER);
    Ok(out)
}

/// The gateway response body `{ "<dataPackageId>": [packages…], … }` for groups of packages.
pub fn redstone_gateway_json(groups: &[(String, Vec<EncodedPackage>)]) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = groups
        .iter()
        .map(|(id, packages)| {
            (
                id.clone(),
                serde_json::Value::Array(packages.iter().map(|p| p.json.clone()).collect()),
            )
        })
        .collect();
    serde_json::Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::hermes::{hermes_json_for, verify_hermes_json};
    use crate::oracle::pyth::{verify_accumulator_update, PythMessage};
    use crate::oracle::redstone::{aggregate, parse_payload, RedstoneConfig};
    use crate::oracle::redstone_json::{aggregate_gateway, parse_gateway_json};
    use crate::oracle::wormhole::SignerSet;

    fn price(feed: u8, price: i64, publish_time_s: i64) -> PythPriceInput {
        PythPriceInput {
            feed_id: [feed; 32],
            price,
            conf: 1_000,
            exponent: -8,
            publish_time_s,
            prev_publish_time_s: publish_time_s - 1,
            ema_price: price,
            ema_conf: 900,
        }
    }

    fn header() -> PnauHeader {
        PnauHeader { guardian_set_index: 4, signers: 13, slot: 99, timestamp_s: 1_700, sequence: 5 }
    }

    fn guardian_setup() -> (TestKeys, SignerSet) {
        let keys = TestKeys::from_seed("guardian", 7, 19);
        let set = SignerSet::new(Some(4), keys.addresses(), None).unwrap();
        (keys, set)
    }

    #[test]
    fn pnau_round_trips_through_the_verifier_for_1_to_5_updates() {
        let (keys, set) = guardian_setup();
        for count in 1..=5u8 {
            let prices: Vec<_> = (0..count).map(|i| price(i, 100 + i64::from(i), 1_000)).collect();
            let bytes = encode_pnau(&keys, 13, &header(), &prices, PnauFaults::default()).unwrap();
            let update = verify_accumulator_update(&bytes, &set).unwrap();
            assert_eq!((update.signatures_valid, update.quorum, update.slot), (13, 13, 99));
            let got: Vec<_> = update
                .messages
                .iter()
                .map(|m| match m {
                    PythMessage::Price(p) => p.price,
                    PythMessage::Twap(_) => -1,
                })
                .collect();
            assert_eq!(got, prices.iter().map(|p| p.price).collect::<Vec<_>>());
        }
    }

    #[test]
    fn pnau_faults_fail_with_their_rule() {
        let (keys, set) = guardian_setup();
        let prices = [price(1, 5, 1), price(2, 6, 1), price(3, 7, 1)];
        let cases = [
            (PnauFaults { bad_signature: true, ..Default::default() }, "signer_mismatch"),
            (PnauFaults { too_few_signers: true, ..Default::default() }, "quorum"),
            (PnauFaults { wrong_merkle_proof: true, ..Default::default() }, "merkle"),
        ];
        for (faults, rule) in cases {
            let bytes = encode_pnau(&keys, 13, &header(), &prices, faults).unwrap();
            let err = verify_accumulator_update(&bytes, &set).unwrap_err();
            assert_eq!(err.rule(), rule, "{faults:?}: {err}");
        }
        let single = encode_pnau(
            &keys,
            13,
            &header(),
            &prices[..1],
            PnauFaults { wrong_merkle_proof: true, ..Default::default() },
        )
        .unwrap();
        assert_eq!(verify_accumulator_update(&single, &set).unwrap_err().rule(), "merkle");
    }

    #[test]
    fn pnau_in_hermes_json_cross_checks() {
        let (keys, set) = guardian_setup();
        let bytes =
            encode_pnau(&keys, 13, &header(), &[price(9, 42, 7)], PnauFaults::default()).unwrap();
        let update = verify_accumulator_update(&bytes, &set).unwrap();
        let body = hermes_json_for(&[hex::encode(&bytes)], &[update]);
        assert_eq!(verify_hermes_json(&body.to_string(), &set).unwrap().len(), 1);
    }

    fn redstone_config(keys: &TestKeys) -> RedstoneConfig {
        RedstoneConfig {
            authorised_signers: keys.addresses(),
            unique_signers_threshold: 3,
            ..RedstoneConfig::primary_prod()
        }
    }

    fn eth_points() -> Vec<RedstonePointInput> {
        vec![RedstonePointInput { feed: "ETH".to_owned(), value_e8: 301_234_567_891 }]
    }

    #[test]
    fn redstone_binary_and_json_round_trip() {
        let keys = TestKeys::from_seed("redstone", 7, 5);
        let config = redstone_config(&keys);
        let now_ms = 1_700_000_000_000;
        let packages =
            encode_redstone_packages(&keys, 5, now_ms, &eth_points(), "ETH", Default::default())
                .unwrap();
        let payload = parse_payload(&encode_redstone_payload(&packages).unwrap()).unwrap();
        let prices = aggregate(&payload.packages, &config, now_ms).unwrap();
        let eth = &prices.feeds[&FeedId::from_name("ETH")];
        assert_eq!((eth.value.to_u128(), eth.signers.len()), (Some(301_234_567_891), 5));
        let body = redstone_gateway_json(&[("ETH".to_owned(), packages)]).to_string();
        let groups = parse_gateway_json(&body).unwrap();
        let prices = aggregate_gateway(&groups, &config, now_ms).unwrap();
        assert_eq!(prices.feeds()[&FeedId::from_name("ETH")].value.to_u128(), eth.value.to_u128());
    }

    #[test]
    fn redstone_faults_fail_with_their_rule() {
        let keys = TestKeys::from_seed("redstone", 7, 5);
        let config = redstone_config(&keys);
        let now_ms = 1_700_000_000_000;
        let cases = [
            (RedstoneFaults { bad_signature: true, ..Default::default() }, "signer_mismatch"),
            (RedstoneFaults { too_few_signers: true, ..Default::default() }, "threshold"),
            (RedstoneFaults { wrong_signer_claim: true, ..Default::default() }, "signer_mismatch"),
        ];
        for (faults, rule) in cases {
            let packages =
                encode_redstone_packages(&keys, 3, now_ms, &eth_points(), "ETH", faults).unwrap();
            let body = redstone_gateway_json(&[("ETH".to_owned(), packages)]).to_string();
            let groups = parse_gateway_json(&body).unwrap();
            let err = aggregate_gateway(&groups, &config, now_ms).unwrap_err();
            assert_eq!(err.rule(), rule, "{faults:?}: {err}");
        }
        let stale =
            encode_redstone_packages(&keys, 3, now_ms, &eth_points(), "ETH", Default::default())
                .unwrap();
        let body = redstone_gateway_json(&[("ETH".to_owned(), stale)]).to_string();
        let err = aggregate_gateway(&parse_gateway_json(&body).unwrap(), &config, now_ms + 200_000)
            .unwrap_err();
        assert_eq!(err.rule(), "timestamp_too_old");
    }

    #[test]
    fn keys_are_deterministic_and_debug_shows_no_secret() {
        let a = TestKeys::from_seed("x", 1, 3);
        assert_eq!(a.addresses(), TestKeys::from_seed("x", 1, 3).addresses());
        assert_ne!(a.addresses(), TestKeys::from_seed("x", 2, 3).addresses());
        assert!(format!("{a:?}").contains("addresses"));
    }
}
