//! EIP-712 hashing of V2 orders exactly as the deployed EthenaMinting V2 contract does it.
//!
//! * Domain: `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`
//!   with name `"EthenaMinting"`, version `"1"`, no salt.
//! * Struct: `keccak256(abi.encode(ORDER_TYPEHASH, keccak256(bytes(order_id)), order_type, expiry,
//!   nonce, benefactor, beneficiary, collateral_asset, collateral_amount, usde_amount))`, every
//!   field one 32-byte word.
//! * The deployed type string says `uint128 expiry,uint120 nonce` although the struct is
//!   `uint120 expiry; uint128 nonce`. Only the string enters the hash; using the struct order
//!   gives a different digest that the contract rejects (`InvalidEIP712Signature`).
//! * Digest: `keccak256(0x19 0x01 ‖ domainSeparator ‖ structHash)`.
//!
//! Source: `shared/reference/ethena.md` §3.1–§3.2, vectors in `ethena-test-vectors.md` §1–§4.
//! Nothing here allocates: the 10-word encoding lives in a stack buffer.

use alloy_primitives::{keccak256, Address, B256, U256};

use super::model::Order;

/// The deployed V2 order type string (expiry `uint128`, nonce `uint120`).
pub const ORDER_TYPE_V2: &str = "Order(string order_id,uint8 order_type,uint128 expiry,uint120 nonce,address benefactor,address beneficiary,address collateral_asset,uint128 collateral_amount,uint128 usde_amount)";

/// The struct-order string (USDtb/UStb style). NOT what USDe V2 hashes; kept only so tests can
/// prove we do not produce it (negative control).
pub const ORDER_TYPE_V2_STRUCT_ORDER: &str = "Order(string order_id,uint8 order_type,uint120 expiry,uint128 nonce,address benefactor,address beneficiary,address collateral_asset,uint128 collateral_amount,uint128 usde_amount)";

/// `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`.
pub const DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";

/// Domain name and version of every EthenaMinting deployment.
pub const DOMAIN_NAME: &str = "EthenaMinting";
pub const DOMAIN_VERSION: &str = "1";

/// Number of 32-byte words in `encodeOrder` (typehash + 9 fields).
pub const ORDER_ENCODING_WORDS: usize = 10;
/// Byte length of `encodeOrder`.
pub const ORDER_ENCODING_BYTES: usize = ORDER_ENCODING_WORDS * 32;

/// `keccak256(ORDER_TYPE_V2)`, the deployed typehash `0x0364fb0c…2a1d`.
pub fn order_typehash_v2() -> B256 {
    keccak256(ORDER_TYPE_V2)
}

/// The separator for one deployment; cache it, it only changes with the chain id or address.
pub fn domain_separator(chain_id: u64, verifying_contract: Address) -> B256 {
    let mut words = [0u8; 5 * 32];
    words[0..32].copy_from_slice(keccak256(DOMAIN_TYPE).as_slice());
    words[32..64].copy_from_slice(keccak256(DOMAIN_NAME).as_slice());
    words[64..96].copy_from_slice(keccak256(DOMAIN_VERSION).as_slice());
    words[96..128].copy_from_slice(&U256::from(chain_id).to_be_bytes::<32>());
    words[140..160].copy_from_slice(verifying_contract.as_slice());
    keccak256(words)
}

/// `encodeOrder(order)` with an explicit typehash (the deployed one in production; tests pass
/// the struct-order one for the negative control).
pub fn encode_order_with_typehash(order: &Order, typehash: B256) -> [u8; ORDER_ENCODING_BYTES] {
    let mut words = [0u8; ORDER_ENCODING_BYTES];
    words[0..32].copy_from_slice(typehash.as_slice());
    words[32..64].copy_from_slice(keccak256(order.order_id.as_bytes()).as_slice());
    words[95] = order.order_type.as_u8();
    put_u128_word(&mut words, 3, order.expiry_unix_s);
    put_u128_word(&mut words, 4, order.nonce);
    put_address_word(&mut words, 5, order.benefactor);
    put_address_word(&mut words, 6, order.beneficiary);
    put_address_word(&mut words, 7, order.collateral_asset);
    put_u128_word(&mut words, 8, order.collateral_amount);
    put_u128_word(&mut words, 9, order.usde_amount);
    words
}

/// `encodeOrder(order)` of the deployed V2 contract.
pub fn encode_order(order: &Order) -> [u8; ORDER_ENCODING_BYTES] {
    encode_order_with_typehash(order, order_typehash_v2())
}

/// `keccak256(encodeOrder(order))`.
pub fn order_struct_hash(order: &Order) -> B256 {
    keccak256(encode_order(order))
}

/// `keccak256(0x19 0x01 ‖ domain_separator ‖ struct_hash)` (OpenZeppelin `toTypedDataHash`).
pub fn typed_data_digest(domain_separator: B256, struct_hash: B256) -> B256 {
    let mut bytes = [0u8; 66];
    bytes[0] = 0x19;
    bytes[1] = 0x01;
    bytes[2..34].copy_from_slice(domain_separator.as_slice());
    bytes[34..66].copy_from_slice(struct_hash.as_slice());
    keccak256(bytes)
}

/// What `hashOrder(order)` returns on the contract with this domain separator.
pub fn order_digest(domain_separator: B256, order: &Order) -> B256 {
    typed_data_digest(domain_separator, order_struct_hash(order))
}

/// `keccak256(bytes(order_id))`: also topic1 of the V2 `Mint`/`Redeem` events.
pub fn order_id_hash(order_id: &str) -> B256 {
    keccak256(order_id.as_bytes())
}

fn put_u128_word(words: &mut [u8; ORDER_ENCODING_BYTES], word_index: usize, value: u128) {
    let end = (word_index + 1) * 32;
    words[end - 16..end].copy_from_slice(&value.to_be_bytes());
}

fn put_address_word(words: &mut [u8; ORDER_ENCODING_BYTES], word_index: usize, value: Address) {
    let end = (word_index + 1) * 32;
    words[end - 20..end].copy_from_slice(value.as_slice());
}
