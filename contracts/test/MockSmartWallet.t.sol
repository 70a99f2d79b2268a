// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.20;

import {EthenaMinting, IUSDeMintable} from "../src/EthenaMinting.sol";
import {MockSmartWallet} from "../src/MockSmartWallet.sol";
import {USDe, MockERC20, MockWETH} from "../src/Tokens.sol";

/// The forge cheatcodes these tests use (forge-std is not vendored; the project stays offline).
interface WalletVm {
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function prank(address sender) external;
    function warp(uint256 timestamp) external;
    function expectRevert() external;
    function expectRevert(bytes4 selector) external;
}

/// MockSmartWallet as an EIP-1271 benefactor of EthenaMinting (ethena.md §3.3): the owner's ECDSA
/// signature of the order digest is accepted through `isValidSignature`, anything else reverts
/// `InvalidEIP1271Signature()`.
contract MockSmartWalletTest {
    bool public IS_TEST = true;
    WalletVm private constant vm = WalletVm(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 private constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 private constant REDEEMER_ROLE = keccak256("REDEEMER_ROLE");
    uint256 private constant OWNER_KEY = 0x0A11CE;
    uint256 private constant OTHER_KEY = 0x0B0B;
    uint256 private constant CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    bytes4 private constant MAGIC = 0x1626ba7e;
    bytes4 private constant INVALID = 0xffffffff;

    EthenaMinting private minting;
    USDe private usde;
    MockERC20 private usdt;
    MockSmartWallet private wallet;
    address private owner;
    address private minter = address(0xA11CE);
    address private custodian = address(0xC1);

    function setUp() public {
        vm.warp(1_700_000_000);
        owner = vm.addr(OWNER_KEY);
        usde = new USDe(address(this));
        usdt = new MockERC20("Tether USD", "USDT", 6);
        MockWETH weth = new MockWETH();
        address[] memory assets = new address[](1);
        assets[0] = address(usdt);
        EthenaMinting.TokenConfig[] memory configs = new EthenaMinting.TokenConfig[](1);
        configs[0] = EthenaMinting.TokenConfig(EthenaMinting.TokenType.STABLE, true, 1_000e18, 1_000e18);
        address[] memory custodians = new address[](1);
        custodians[0] = custodian;
        minting = new EthenaMinting(
            IUSDeMintable(address(usde)),
            address(weth),
            assets,
            configs,
            EthenaMinting.GlobalConfig(1_000e18, 1_000e18),
            custodians,
            address(this)
        );
        usde.setMinter(address(minting));
        minting.grantRole(MINTER_ROLE, minter);
        minting.grantRole(REDEEMER_ROLE, minter);
        wallet = new MockSmartWallet(owner);
        minting.addWhitelistedBenefactor(address(wallet));
        usdt.mint(address(wallet), 100e6);
        usdt.mint(address(minting), 100e6);
        vm.prank(owner);
        wallet.execute(address(usdt), 0, abi.encodeCall(usdt.approve, (address(minting), type(uint256).max)));
        vm.prank(owner);
        wallet.execute(address(usde), 0, abi.encodeCall(usde.approve, (address(minting), type(uint256).max)));
    }

    function _order(EthenaMinting.OrderType orderType, uint128 nonce)
        private
        view
        returns (EthenaMinting.Order memory)
    {
        return EthenaMinting.Order({
            order_id: "rfq-1271",
            order_type: orderType,
            expiry: uint120(block.timestamp + 60),
            nonce: nonce,
            benefactor: address(wallet),
            beneficiary: address(wallet),
            collateral_asset: address(usdt),
            collateral_amount: 10e6,
            usde_amount: 10e18
        });
    }

    function _ecdsa(uint256 key, bytes32 digest) private pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _route() private view returns (EthenaMinting.Route memory route) {
        route.addresses = new address[](1);
        route.ratios = new uint128[](1);
        route.addresses[0] = custodian;
        route.ratios[0] = 10_000;
    }

    function _sig1271(bytes memory blob) private pure returns (EthenaMinting.Signature memory) {
        return EthenaMinting.Signature(EthenaMinting.SignatureType.EIP1271, blob);
    }

    function test_isValidSignature_accepts_only_the_owners_well_formed_signature() public view {
        bytes32 digest = keccak256("digest");
        bytes memory good = _ecdsa(OWNER_KEY, digest);
        require(wallet.isValidSignature(digest, good) == MAGIC, "owner signature");
        require(wallet.isValidSignature(keccak256("other"), good) == INVALID, "other digest");
        require(wallet.isValidSignature(digest, _ecdsa(OTHER_KEY, digest)) == INVALID, "other key");
        require(wallet.isValidSignature(digest, hex"") == INVALID, "empty");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(OWNER_KEY, digest);
        require(wallet.isValidSignature(digest, abi.encodePacked(r, s)) == INVALID, "64 bytes");
        bytes memory highS = abi.encodePacked(r, bytes32(CURVE_ORDER - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        require(wallet.recover(digest, highS) == address(0), "high s refused");
        require(wallet.isValidSignature(digest, highS) == INVALID, "high s");
        require(wallet.isValidSignature(digest, abi.encodePacked(r, s, v - 27)) == INVALID, "v 0/1");
    }

    function test_only_the_owner_executes_and_reverts_bubble_up() public {
        vm.expectRevert(MockSmartWallet.OnlyOwner.selector);
        wallet.execute(address(usdt), 0, abi.encodeCall(usdt.approve, (address(this), 1)));
        vm.expectRevert(EthenaMinting.DelegationNotInitiated.selector);
        vm.prank(owner);
        wallet.execute(address(minting), 0, abi.encodeCall(minting.confirmDelegatedSigner, (address(this))));
    }

    function test_mint_and_redeem_with_an_eip1271_signature() public {
        EthenaMinting.Order memory order = _order(EthenaMinting.OrderType.MINT, 1);
        bytes memory blob = _ecdsa(OWNER_KEY, minting.hashOrder(order));
        require(minting.verifyOrder(order, _sig1271(blob)) == minting.hashOrder(order), "verifyOrder");
        vm.prank(minter);
        minting.mint(order, _route(), _sig1271(blob));
        require(usde.balanceOf(address(wallet)) == 10e18, "usde to the wallet");
        require(usdt.balanceOf(custodian) == 10e6, "collateral from the wallet");
        EthenaMinting.Order memory redeem = _order(EthenaMinting.OrderType.REDEEM, 2);
        bytes memory redeemBlob = _ecdsa(OWNER_KEY, minting.hashOrder(redeem));
        vm.prank(minter);
        minting.redeem(redeem, _sig1271(redeemBlob));
        require(usde.balanceOf(address(wallet)) == 0, "usde burned");
        require(usdt.balanceOf(address(wallet)) == 100e6, "collateral back");
    }

    function test_wrong_owner_signature_reverts_InvalidEIP1271Signature() public {
        EthenaMinting.Order memory order = _order(EthenaMinting.OrderType.MINT, 1);
        bytes32 digest = minting.hashOrder(order);
        EthenaMinting.Route memory route = _route();
        vm.expectRevert(EthenaMinting.InvalidEIP1271Signature.selector);
        vm.prank(minter);
        minting.mint(order, route, _sig1271(_ecdsa(OTHER_KEY, digest)));
        // The owner's key signs for the wallet only through EIP-1271, not as an EIP-712 signer.
        vm.expectRevert(EthenaMinting.InvalidEIP712Signature.selector);
        vm.prank(minter);
        minting.mint(order, route, EthenaMinting.Signature(EthenaMinting.SignatureType.EIP712, _ecdsa(OWNER_KEY, digest)));
        // After handing the wallet over, the old owner's signature no longer counts.
        bytes memory oldOwnerBlob = _ecdsa(OWNER_KEY, digest);
        vm.prank(owner);
        wallet.setOwner(vm.addr(OTHER_KEY));
        vm.expectRevert(EthenaMinting.InvalidEIP1271Signature.selector);
        vm.prank(minter);
        minting.mint(order, route, _sig1271(oldOwnerBlob));
        vm.prank(minter);
        minting.mint(order, route, _sig1271(_ecdsa(OTHER_KEY, digest)));
    }

    function test_eip1271_for_an_eoa_benefactor_reverts_without_data() public {
        address eoa = vm.addr(OWNER_KEY);
        minting.addWhitelistedBenefactor(eoa);
        EthenaMinting.Order memory order = _order(EthenaMinting.OrderType.MINT, 1);
        order.benefactor = eoa;
        order.beneficiary = eoa;
        bytes memory blob = _ecdsa(OWNER_KEY, minting.hashOrder(order));
        vm.expectRevert();
        minting.verifyOrder(order, _sig1271(blob));
    }
}
