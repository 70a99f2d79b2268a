//! Ethena minting orders: the V2 order model, EIP-712 hashing, signing and verification.
