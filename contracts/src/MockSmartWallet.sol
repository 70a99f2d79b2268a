// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.20;

/// @title Minimal EIP-1271 smart-contract wallet for the hedger test chain.
/// @notice Acts as an EthenaMinting benefactor that signs with `signature_type = EIP1271`
/// (shared/reference/ethena.md §3.3): `isValidSignature(digest, sig)` returns the magic value
/// `0x1626ba7e` iff `sig` is a 65-byte `r‖s‖v` ECDSA signature by `owner` over `digest` itself
/// (no extra wrapping), with OpenZeppelin 4.9 rules (low s, v 27/28). Any other signature gets
/// `0xffffffff` (never a revert), so the minting contract reverts `InvalidEIP1271Signature()`.
/// The owner moves the wallet's tokens (approve the minting contract, `setApprovedBeneficiary`)
/// through `execute`. Written for tests against a local node; not audited, not for real funds.
contract MockSmartWallet {
    bytes4 public constant EIP1271_MAGIC_VALUE = 0x1626ba7e;
    bytes4 public constant EIP1271_INVALID = 0xffffffff;
    uint256 private constant HALF_CURVE_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    address public owner;

    event OwnerChanged(address indexed previousOwner, address indexed newOwner);

    error OnlyOwner();
    error InvalidOwner();

    constructor(address initialOwner) {
        if (initialOwner == address(0)) revert InvalidOwner();
        owner = initialOwner;
        emit OwnerChanged(address(0), initialOwner);
    }

    receive() external payable {}

    /// EIP-1271: the magic value iff `signature` is the owner's ECDSA signature of `hash`.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        return recover(hash, signature) == owner ? EIP1271_MAGIC_VALUE : EIP1271_INVALID;
    }

    /// The signer of `hash`, or address(0) for a malformed, high-s or unrecoverable signature.
    function recover(bytes32 hash, bytes calldata signature) public pure returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > HALF_CURVE_ORDER || (v != 27 && v != 28)) return address(0);
        return ecrecover(hash, v, r, s);
    }

    /// Calls `target` with `value` and `data` as the wallet; bubbles up a revert unchanged.
    function execute(address target, uint256 value, bytes calldata data) external returns (bytes memory result) {
        if (msg.sender != owner) revert OnlyOwner();
        bool ok;
        (ok, result) = target.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// Hands the wallet (and its signing authority) to `newOwner`.
    function setOwner(address newOwner) external {
        if (msg.sender != owner) revert OnlyOwner();
        if (newOwner == address(0)) revert InvalidOwner();
        emit OwnerChanged(owner, newOwner);
        owner = newOwner;
    }
}
