//! Transaction keys (the minter's, the redeemer's) loaded from the environment.
//!
//! Why: DESIGN.md requires that keys come from the environment (or a key file outside the repo),
//! are never logged, and each has exactly one role. [`TxKey`] keeps the secret inside alloy's
//! local signer, zeroises the text it was parsed from, and its `Debug` shows only the role and
//! the address.

use alloy_network::EthereumWallet;
use alloy_primitives::{Address, B256};
use alloy_signer_local::PrivateKeySigner;
use zeroize::Zeroize;

use super::error::ChainError;

/// A secp256k1 key that signs transactions for one role.
#[derive(Clone)]
pub struct TxKey {
    role: &'static str,
    signer: PrivateKeySigner,
}

impl std::fmt::Debug for TxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxKey")
            .field("role", &self.role)
            .field("address", &self.signer.address())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl TxKey {
    /// Reads `env_var` (64 hex digits, `0x` optional) for `role` (`"minter"`, `"redeemer"`).
    ///
    /// # Errors
    /// [`ChainError::Key`] naming the variable, never its value.
    pub fn from_env(env_var: &str, role: &'static str) -> Result<TxKey, ChainError> {
        let secret = std::env::var(env_var).map_err(|_| ChainError::Key {
            env_var: env_var.to_string(),
            reason: "not set or not unicode",
        })?;
        TxKey::from_hex_zeroizing(secret, role)
            .map_err(|reason| ChainError::Key { env_var: env_var.to_string(), reason })
    }

    /// Parses a hex secret and zeroises the text whatever the outcome.
    ///
    /// # Errors
    /// A static reason (never the secret).
    pub fn from_hex_zeroizing(
        mut secret: String,
        role: &'static str,
    ) -> Result<TxKey, &'static str> {
        let result = parse_secret(secret.trim()).map(|signer| TxKey { role, signer });
        secret.zeroize();
        result
    }

    /// The account that sends this key's transactions.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The role this key was loaded for.
    pub fn role(&self) -> &'static str {
        self.role
    }

    /// A wallet that signs with this key (clones the signer; used at start-up).
    pub fn wallet(&self) -> EthereumWallet {
        EthereumWallet::from(self.signer.clone())
    }
}

fn parse_secret(text: &str) -> Result<PrivateKeySigner, &'static str> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() != 64 {
        return Err("expected 64 hex digits");
    }
    let mut bytes = [0u8; 32];
    for (index, pair) in digits.as_bytes().chunks_exact(2).enumerate() {
        let high = hex_value(pair[0]).ok_or("not hexadecimal")?;
        let low = hex_value(pair[1]).ok_or("not hexadecimal")?;
        bytes[index] = (high << 4) | low;
    }
    let result = PrivateKeySigner::from_bytes(&B256::from(bytes)).map_err(|_| "not a valid key");
    bytes.zeroize();
    result
}

fn hex_value(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|value| value as u8)
}
