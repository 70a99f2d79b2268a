//! Wormhole VAAs (version 1): parsing, signature verification against a signer set, and the
//! Wormhole mainnet guardian sets 1..7 shipped with the project.
//!
//! Pyth accumulator updates carry their Merkle root in a VAA, so everything Pyth says is only as
//! good as this check. The rules (reference `oracles.md` §1.4, Hermes `state/wormhole.rs`):
//!
//! 1. `version == 1`.
//! 2. The VAA's `guardian_set_index` must name a configured signer set (unknown set: reject).
//! 3. At least `quorum` signatures are present (checked before any recovery).
//! 4. Guardian indices strictly increase (no duplicates, no reordering).
//! 5. Each signature recovers (low-s, v ∈ {0, 1}) over keccak256(keccak256(body)) to exactly the
//!    address at its guardian index. Fail closed: one bad signature rejects the VAA.
//!
//! The guardian sets are derived from the governance VAAs in `data/`: line i installs set i, and
//! [`GuardianSets::mainnet`] verifies each upgrade against the previous set, starting from the
//! genesis key, so the shipped keys carry their own chain of signatures.

use super::bytes::{hex_array, Reader, Truncated};
use super::secp::{keccak256, recover_address, EthAddress, SignatureError};

/// Wormhole chain id of Pythnet, the only emitter chain Pyth accumulator updates come from.
pub const PYTHNET_CHAIN_ID: u16 = 26;
/// The Pyth accumulator emitter on Pythnet.
pub const PYTHNET_ACCUMULATOR_EMITTER: [u8; 32] =
    hex_array("e101faedac5851e32b9b23b5f9411a8c2bac4aae3ed4dd7b811dd1a72ea4aa71");
/// Wormhole mainnet guardian set 0 (a single key), the root of the governance chain.
pub const MAINNET_GENESIS_GUARDIAN: [u8; 20] =
    hex_array("58cc3ae5c097b213ce3c81979e1b9f9570746aa5");
/// Governance VAAs, one per line; line i (1-based) installs mainnet guardian set i.
const MAINNET_GUARDIAN_SET_UPGRADES: &str =
    include_str!("data/wormhole_mainnet_guardian_set_upgrade_vaas.hex.txt");
/// Wormhole governance emitter: chain 1 (Solana), address 0x…04.
const GOVERNANCE_CHAIN_ID: u16 = 1;
const GOVERNANCE_EMITTER: [u8; 32] =
    hex_array("0000000000000000000000000000000000000000000000000000000000000004");
/// Core-module governance action that installs a new guardian set.
const ACTION_GUARDIAN_SET_UPGRADE: u8 = 2;
/// Bytes of one signature entry: guardian index, r, s, v.
const SIGNATURE_ENTRY_BYTES: usize = 66;

/// Why a VAA (or a signer-set configuration) was rejected. `rule()` names the failed rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaaError {
    /// The bytes ended early.
    #[error(transparent)]
    Truncated(#[from] Truncated),
    /// Rule 1.
    #[error("VAA version {version} is not 1")]
    Version {
        /// Version byte found.
        version: u8,
    },
    /// Rule 2.
    #[error("guardian set {guardian_set_index} is not configured")]
    UnknownGuardianSet {
        /// Index carried by the VAA.
        guardian_set_index: u32,
    },
    /// Rule 3 (or 5 when counting valid signatures).
    #[error("{signatures_valid} valid signatures, quorum is {quorum}")]
    Quorum {
        /// Signatures present (or valid).
        signatures_valid: usize,
        /// Required.
        quorum: usize,
    },
    /// Rule 4.
    #[error(
        "guardian index {guardian_index} at position {position} does not exceed {previous_index}"
    )]
    SignerOrder {
        /// Position in the signature list.
        position: usize,
        /// Guardian index found.
        guardian_index: u8,
        /// Index of the previous signature.
        previous_index: u8,
    },
    /// A guardian index beyond the set.
    #[error("guardian index {guardian_index} is outside a set of {set_size}")]
    SignerIndex {
        /// Guardian index found.
        guardian_index: u8,
        /// Keys in the set.
        set_size: usize,
    },
    /// Rule 5: the signature itself is malformed.
    #[error("signature of guardian {guardian_index}: {source}")]
    Signature {
        /// Guardian index of the signature.
        guardian_index: u8,
        /// What was wrong.
        source: SignatureError,
    },
    /// Rule 5: the signature recovers to another key.
    #[error("signature of guardian {guardian_index} recovers to {recovered}, expected {expected}")]
    SignerMismatch {
        /// Guardian index of the signature.
        guardian_index: u8,
        /// Address recovered.
        recovered: EthAddress,
        /// Address configured at that index.
        expected: EthAddress,
    },
    /// The emitter is not the expected one.
    #[error("emitter chain {chain} / address {address_hex} is not the expected emitter")]
    Emitter {
        /// Emitter chain found.
        chain: u16,
        /// Emitter address found, hex.
        address_hex: String,
    },
    /// A governance VAA for the shipped guardian sets is malformed.
    #[error("guardian set upgrade {line}: {reason}")]
    Governance {
        /// 1-based line of the governance file (= set installed).
        line: usize,
        /// Which governance rule failed.
        reason: &'static str,
    },
    /// A configured signer set is unusable.
    #[error("signer set of {set_size} keys cannot have quorum {quorum}")]
    SignerSetConfig {
        /// Keys in the set.
        set_size: usize,
        /// Configured quorum.
        quorum: usize,
    },
}

impl VaaError {
    /// Short name of the rule that failed (used in JSON error output).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Truncated(_) => "truncated",
            Self::Version { .. } => "vaa_version",
            Self::UnknownGuardianSet { .. } => "guardian_set",
            Self::Quorum { .. } => "quorum",
            Self::SignerOrder { .. } => "signer_order",
            Self::SignerIndex { .. } => "signer_index",
            Self::Signature { source: SignatureError::HighS, .. } => "high_s",
            Self::Signature { .. } => "signature",
            Self::SignerMismatch { .. } => "signer_mismatch",
            Self::Emitter { .. } => "emitter",
            Self::Governance { .. } => "governance",
            Self::SignerSetConfig { .. } => "signer_set",
        }
    }
}

/// One guardian signature as it appears in the VAA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardianSignature {
    /// Index of the signer in the guardian set.
    pub guardian_index: u8,
    /// ECDSA r.
    pub r: [u8; 32],
    /// ECDSA s.
    pub s: [u8; 32],
    /// Recovery id, 0 or 1.
    pub v: u8,
}

/// A parsed (not yet verified) VAA borrowing its body from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vaa<'a> {
    /// Guardian set that signed it.
    pub guardian_set_index: u32,
    /// Signatures in wire order.
    pub signatures: Vec<GuardianSignature>,
    /// The signed body (everything after the signatures).
    pub body: &'a [u8],
    /// Body: observation time, unix seconds.
    pub timestamp_s: u32,
    /// Body: nonce.
    pub nonce: u32,
    /// Body: emitter chain id.
    pub emitter_chain: u16,
    /// Body: emitter address.
    pub emitter_address: [u8; 32],
    /// Body: emitter sequence number.
    pub sequence: u64,
    /// Body: consistency level.
    pub consistency_level: u8,
    /// Body: payload.
    pub payload: &'a [u8],
}

/// Parses a version-1 VAA occupying all of `bytes`.
///
/// # Errors
/// [`VaaError::Truncated`] or [`VaaError::Version`].
pub fn parse_vaa(bytes: &[u8]) -> Result<Vaa<'_>, VaaError> {
    let mut reader = Reader::new(bytes);
    let version = reader.u8("vaa.version")?;
    if version != 1 {
        return Err(VaaError::Version { version });
    }
    let guardian_set_index = reader.u32("vaa.guardian_set_index")?;
    let signature_count = usize::from(reader.u8("vaa.signature_count")?);
    let signature_bytes = reader.take(signature_count * SIGNATURE_ENTRY_BYTES, "vaa.signatures")?;
    let mut sig_reader = Reader::new(signature_bytes);
    let mut signatures = Vec::with_capacity(signature_count);
    for _ in 0..signature_count {
        signatures.push(GuardianSignature {
            guardian_index: sig_reader.u8("vaa.signature.guardian_index")?,
            r: sig_reader.array("vaa.signature.r")?,
            s: sig_reader.array("vaa.signature.s")?,
            v: sig_reader.u8("vaa.signature.v")?,
        });
    }
    let body = reader.remaining();
    let mut body_reader = Reader::new(body);
    Ok(Vaa {
        guardian_set_index,
        signatures,
        body,
        timestamp_s: body_reader.u32("vaa.timestamp")?,
        nonce: body_reader.u32("vaa.nonce")?,
        emitter_chain: body_reader.u16("vaa.emitter_chain")?,
        emitter_address: body_reader.array("vaa.emitter_address")?,
        sequence: body_reader.u64("vaa.sequence")?,
        consistency_level: body_reader.u8("vaa.consistency_level")?,
        payload: body_reader.remaining(),
    })
}

impl Vaa<'_> {
    /// keccak256(keccak256(body)): the digest guardians sign.
    pub fn signing_digest(&self) -> [u8; 32] {
        keccak256(&keccak256(self.body))
    }

    /// Requires the given emitter.
    ///
    /// # Errors
    /// [`VaaError::Emitter`].
    pub fn require_emitter(&self, chain: u16, address: &[u8; 32]) -> Result<(), VaaError> {
        if self.emitter_chain == chain && &self.emitter_address == address {
            return Ok(());
        }
        Err(VaaError::Emitter {
            chain: self.emitter_chain,
            address_hex: hex::encode(self.emitter_address),
        })
    }
}

/// A set of signer addresses with its quorum: a Wormhole guardian set, or any configured set
/// (e.g. Pyth's routers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerSet {
    /// The guardian-set index VAAs must carry, or `None` to accept any index.
    pub guardian_set_index: Option<u32>,
    /// Signer addresses by guardian index.
    pub addresses: Vec<EthAddress>,
    /// Valid signatures required.
    pub quorum: usize,
}

impl SignerSet {
    /// Builds a set; `quorum` defaults to the Wormhole rule `floor(2n/3) + 1`.
    ///
    /// # Errors
    /// [`VaaError::SignerSetConfig`] when the set is empty, larger than 256, or the quorum is 0 or
    /// above the set size.
    pub fn new(
        guardian_set_index: Option<u32>,
        addresses: Vec<EthAddress>,
        quorum: Option<usize>,
    ) -> Result<Self, VaaError> {
        let set_size = addresses.len();
        let quorum = quorum.unwrap_or_else(|| wormhole_quorum(set_size));
        if set_size == 0 || set_size > 256 || quorum == 0 || quorum > set_size {
            return Err(VaaError::SignerSetConfig { set_size, quorum });
        }
        Ok(Self { guardian_set_index, addresses, quorum })
    }

    /// The same keys with another quorum.
    ///
    /// # Errors
    /// As [`SignerSet::new`].
    pub fn with_quorum(&self, quorum: usize) -> Result<Self, VaaError> {
        Self::new(self.guardian_set_index, self.addresses.clone(), Some(quorum))
    }
}

/// Wormhole's quorum for `set_size` guardians: `floor(2n/3) + 1` (13 of 19).
pub fn wormhole_quorum(set_size: usize) -> usize {
    set_size * 2 / 3 + 1
}

/// Where verification finds the signer set for a VAA's guardian-set index.
pub trait SignerSetSource {
    /// The set for `guardian_set_index`, or `None` if it is not configured.
    fn signer_set_for(&self, guardian_set_index: u32) -> Option<&SignerSet>;
}

impl SignerSetSource for SignerSet {
    fn signer_set_for(&self, guardian_set_index: u32) -> Option<&SignerSet> {
        match self.guardian_set_index {
            Some(index) if index != guardian_set_index => None,
            _ => Some(self),
        }
    }
}

/// Result of a successful signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedSignatures {
    /// Guardian set the VAA named.
    pub guardian_set_index: u32,
    /// Signatures that recovered to their guardian (all of them: verification fails closed).
    pub signatures_valid: usize,
    /// Quorum that was required.
    pub quorum: usize,
}

/// Verifies the VAA's signatures (rules 2–5 of the module docs).
///
/// # Errors
/// The [`VaaError`] of the first rule that fails.
pub fn verify_signatures(
    vaa: &Vaa<'_>,
    source: &impl SignerSetSource,
) -> Result<VerifiedSignatures, VaaError> {
    let guardian_set_index = vaa.guardian_set_index;
    let set = source
        .signer_set_for(guardian_set_index)
        .ok_or(VaaError::UnknownGuardianSet { guardian_set_index })?;
    if vaa.signatures.len() < set.quorum {
        return Err(VaaError::Quorum {
            signatures_valid: vaa.signatures.len(),
            quorum: set.quorum,
        });
    }
    let digest = vaa.signing_digest();
    let mut previous_index: Option<u8> = None;
    for (position, signature) in vaa.signatures.iter().enumerate() {
        let guardian_index = signature.guardian_index;
        if let Some(previous_index) = previous_index.filter(|previous| guardian_index <= *previous)
        {
            return Err(VaaError::SignerOrder { position, guardian_index, previous_index });
        }
        previous_index = Some(guardian_index);
        let expected = *set
            .addresses
            .get(usize::from(guardian_index))
            .ok_or(VaaError::SignerIndex { guardian_index, set_size: set.addresses.len() })?;
        let recovered = recover_address(&digest, &signature.r, &signature.s, signature.v)
            .map_err(|source| VaaError::Signature { guardian_index, source })?;
        if recovered != expected {
            return Err(VaaError::SignerMismatch { guardian_index, recovered, expected });
        }
    }
    Ok(VerifiedSignatures {
        guardian_set_index,
        signatures_valid: vaa.signatures.len(),
        quorum: set.quorum,
    })
}

/// Wormhole guardian sets by index (index = position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardianSets {
    sets: Vec<SignerSet>,
}

impl GuardianSets {
    /// Mainnet sets 0..=7: the genesis key, then each governance upgrade shipped in `data/`,
    /// each verified against the set before it (emitter, module, action, index, quorum).
    ///
    /// # Errors
    /// [`VaaError`] if the shipped data does not verify (a corrupted build).
    pub fn mainnet() -> Result<Self, VaaError> {
        let genesis = SignerSet::new(Some(0), vec![EthAddress(MAINNET_GENESIS_GUARDIAN)], None)?;
        let mut sets = vec![genesis];
        let lines = MAINNET_GUARDIAN_SET_UPGRADES.lines().map(str::trim).filter(|l| !l.is_empty());
        for (offset, line_text) in lines.enumerate() {
            let line = offset + 1;
            let bytes = super::bytes::decode_hex(line_text)
                .map_err(|_| VaaError::Governance { line, reason: "not hex" })?;
            let previous = &sets[sets.len() - 1];
            let next = apply_guardian_set_upgrade(&bytes, previous, line)?;
            sets.push(next);
        }
        Ok(Self { sets })
    }

    /// The set with this index.
    pub fn get(&self, guardian_set_index: u32) -> Option<&SignerSet> {
        self.sets.get(usize::try_from(guardian_set_index).ok()?)
    }

    /// Highest index known.
    pub fn latest_index(&self) -> u32 {
        u32::try_from(self.sets.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }
}

impl SignerSetSource for GuardianSets {
    fn signer_set_for(&self, guardian_set_index: u32) -> Option<&SignerSet> {
        self.get(guardian_set_index)
    }
}

/// Verifies one governance VAA against `previous` and returns the set it installs.
fn apply_guardian_set_upgrade(
    bytes: &[u8],
    previous: &SignerSet,
    line: usize,
) -> Result<SignerSet, VaaError> {
    let governance = |reason| VaaError::Governance { line, reason };
    let vaa = parse_vaa(bytes)?;
    verify_signatures(&vaa, previous)?;
    vaa.require_emitter(GOVERNANCE_CHAIN_ID, &GOVERNANCE_EMITTER)?;
    let mut reader = Reader::new(vaa.payload);
    let module: [u8; 32] = reader.array("governance.module")?;
    if module[..28] != [0u8; 28] || &module[28..] != b"Core" {
        return Err(governance("module is not Core"));
    }
    if reader.u8("governance.action")? != ACTION_GUARDIAN_SET_UPGRADE {
        return Err(governance("action is not a guardian set upgrade"));
    }
    if reader.u16("governance.chain")? != 0 {
        return Err(governance("upgrade is not for all chains"));
    }
    let new_index = reader.u32("governance.new_guardian_set_index")?;
    if Some(new_index) != previous.guardian_set_index.and_then(|index| index.checked_add(1)) {
        return Err(governance("new index does not follow the previous set"));
    }
    let key_count = usize::from(reader.u8("governance.key_count")?);
    let mut addresses = Vec::with_capacity(key_count);
    for _ in 0..key_count {
        addresses.push(EthAddress(reader.array("governance.key")?));
    }
    if !reader.remaining().is_empty() {
        return Err(governance("trailing bytes after the keys"));
    }
    SignerSet::new(Some(new_index), addresses, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainnet_sets_verify_as_a_chain_and_have_19_keys() {
        let sets = GuardianSets::mainnet().unwrap();
        assert_eq!(sets.latest_index(), 7);
        for index in 1..=7 {
            let set = sets.get(index).unwrap();
            assert_eq!(set.addresses.len(), 19, "set {index}");
            assert_eq!(set.quorum, 13, "set {index}");
            assert_eq!(set.guardian_set_index, Some(index));
        }
        // README: set 3 and set 4 differ only at index 0.
        let (set3, set4) = (sets.get(3).unwrap(), sets.get(4).unwrap());
        assert_ne!(set3.addresses[0], set4.addresses[0]);
        assert_eq!(set3.addresses[1..], set4.addresses[1..]);
        assert!(sets.get(8).is_none());
    }

    #[test]
    fn a_tampered_governance_vaa_breaks_the_chain() {
        let first = MAINNET_GUARDIAN_SET_UPGRADES.lines().next().unwrap();
        let mut bytes = hex::decode(first.trim()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let genesis =
            SignerSet::new(Some(0), vec![EthAddress(MAINNET_GENESIS_GUARDIAN)], None).unwrap();
        let err = apply_guardian_set_upgrade(&bytes, &genesis, 1).unwrap_err();
        assert_eq!(err.rule(), "signer_mismatch");
    }

    #[test]
    fn signer_set_config_is_validated() {
        let key = EthAddress([1; 20]);
        assert_eq!(SignerSet::new(None, vec![key; 19], None).unwrap().quorum, 13);
        assert!(SignerSet::new(None, vec![], None).is_err());
        assert!(SignerSet::new(None, vec![key; 3], Some(4)).is_err());
        assert!(SignerSet::new(None, vec![key; 3], Some(0)).is_err());
        assert_eq!(wormhole_quorum(5), 4);
    }

    #[test]
    fn short_and_wrong_version_vaas_are_rejected() {
        assert_eq!(parse_vaa(&[2]).unwrap_err(), VaaError::Version { version: 2 });
        assert_eq!(parse_vaa(&[1, 0, 0]).unwrap_err().rule(), "truncated");
        // One signature announced, none present.
        assert_eq!(parse_vaa(&[1, 0, 0, 0, 0, 1]).unwrap_err().rule(), "truncated");
    }
}
