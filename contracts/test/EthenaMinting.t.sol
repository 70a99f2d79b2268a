// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.20;

import {EthenaMinting, IUSDeMintable} from "../src/EthenaMinting.sol";
import {USDe, MockERC20, MockWETH} from "../src/Tokens.sol";

/// The forge cheatcodes these tests use (forge-std is not vendored; the project stays offline).
interface Vm {
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function roll(uint256 blockNumber) external;
    function warp(uint256 timestamp) external;
    function deal(address account, uint256 balance) external;
    function expectRevert(bytes4 selector) external;
    function expectRevert(bytes calldata message) external;
    function expectEmit(bool topic1, bool topic2, bool topic3, bool data, address emitter) external;
}

/// An EIP-1271 smart wallet that accepts exactly one signature blob.
contract MockContractWallet {
    bytes32 private accepted;

    function setAccepted(bytes calldata blob) external {
        accepted = keccak256(blob);
    }

    function isValidSignature(bytes32, bytes calldata blob) external view returns (bytes4) {
        return keccak256(blob) == accepted ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
    }
}

contract EthenaMintingTest {
    bool public IS_TEST = true;
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    event Mint(
        string indexed order_id,
        address indexed benefactor,
        address indexed beneficiary,
        address minter,
        address collateral_asset,
        uint256 collateral_amount,
        uint256 usde_amount
    );
    event Redeem(
        string indexed order_id,
        address indexed benefactor,
        address indexed beneficiary,
        address redeemer,
        address collateral_asset,
        uint256 collateral_amount,
        uint256 usde_amount
    );
    event CustodyTransfer(address indexed wallet, address indexed asset, uint256 amount);

    bytes32 private constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 private constant REDEEMER_ROLE = keccak256("REDEEMER_ROLE");
    bytes32 private constant COLLATERAL_MANAGER_ROLE = keccak256("COLLATERAL_MANAGER_ROLE");
    bytes32 private constant GATEKEEPER_ROLE = keccak256("GATEKEEPER_ROLE");
    uint256 private constant BENEFACTOR_KEY = 0x1DC;
    uint256 private constant OTHER_KEY = 0x1DAC;
    uint128 private constant ASSET_CAP = 1_000_000e18;
    uint128 private constant GLOBAL_CAP = 1_500_000e18;

    EthenaMinting private minting;
    USDe private usde;
    MockERC20 private usdt;
    MockERC20 private steth;
    MockWETH private weth;
    address private benefactor;
    address private other;
    address private minter = address(0xA11CE);
    address private redeemer = address(0xB0B);
    address private collateralManager = address(0xC0C);
    address private gatekeeper = address(0x6A7E);
    address private custodian1 = address(0xC1);
    address private custodian2 = address(0xC2);
    uint128 private nextNonce = 1;

    function setUp() public {
        benefactor = vm.addr(BENEFACTOR_KEY);
        other = vm.addr(OTHER_KEY);
        usde = new USDe(address(this));
        usdt = new MockERC20("Tether USD", "USDT", 6);
        steth = new MockERC20("Liquid staked Ether", "stETH", 18);
        weth = new MockWETH();
        address[] memory assets = new address[](3);
        assets[0] = address(usdt);
        assets[1] = address(steth);
        assets[2] = address(weth);
        EthenaMinting.TokenConfig[] memory configs = new EthenaMinting.TokenConfig[](3);
        configs[0] = EthenaMinting.TokenConfig(EthenaMinting.TokenType.STABLE, true, ASSET_CAP, ASSET_CAP);
        configs[1] = EthenaMinting.TokenConfig(EthenaMinting.TokenType.ASSET, true, ASSET_CAP, ASSET_CAP);
        configs[2] = EthenaMinting.TokenConfig(EthenaMinting.TokenType.ASSET, true, ASSET_CAP, ASSET_CAP);
        address[] memory custodians = new address[](2);
        custodians[0] = custodian1;
        custodians[1] = custodian2;
        minting = new EthenaMinting(
            IUSDeMintable(address(usde)), address(weth), assets, configs, EthenaMinting.GlobalConfig(GLOBAL_CAP, GLOBAL_CAP), custodians, address(this)
        );
        usde.setMinter(address(minting));
        minting.grantRole(MINTER_ROLE, minter);
        minting.grantRole(REDEEMER_ROLE, redeemer);
        minting.grantRole(COLLATERAL_MANAGER_ROLE, collateralManager);
        minting.grantRole(GATEKEEPER_ROLE, gatekeeper);
        minting.addWhitelistedBenefactor(benefactor);
        usdt.mint(benefactor, 10_000_000e6);
        steth.mint(benefactor, 10_000e18);
        vm.startPrank(benefactor);
        usdt.approve(address(minting), type(uint256).max);
        steth.approve(address(minting), type(uint256).max);
        weth.approve(address(minting), type(uint256).max);
        usde.approve(address(minting), type(uint256).max);
        vm.stopPrank();
        vm.warp(1_700_000_000);
    }

    // ------------------------------------------------------------ helpers

    function _eq(uint256 a, uint256 b, string memory what) private pure {
        if (a != b) revert(string(abi.encodePacked("not equal: ", what)));
    }

    function _usdtMint(uint128 collateral, uint128 usdeAmount) private returns (EthenaMinting.Order memory order) {
        order = EthenaMinting.Order({
            order_id: "rfq-0001",
            order_type: EthenaMinting.OrderType.MINT,
            expiry: uint120(block.timestamp + 60),
            nonce: nextNonce++,
            benefactor: benefactor,
            beneficiary: benefactor,
            collateral_asset: address(usdt),
            collateral_amount: collateral,
            usde_amount: usdeAmount
        });
    }

    function _sign(uint256 key, EthenaMinting.Order memory order) private view returns (EthenaMinting.Signature memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, minting.hashOrder(order));
        return EthenaMinting.Signature(EthenaMinting.SignatureType.EIP712, abi.encodePacked(r, s, v));
    }

    function _route(uint128 ratio1) private view returns (EthenaMinting.Route memory route) {
        uint256 legs = ratio1 == 10_000 ? 1 : 2;
        route.addresses = new address[](legs);
        route.ratios = new uint128[](legs);
        route.addresses[0] = custodian1;
        route.ratios[0] = ratio1;
        if (legs == 2) {
            route.addresses[1] = custodian2;
            route.ratios[1] = 10_000 - ratio1;
        }
    }

    function _mint(EthenaMinting.Order memory order) private {
        EthenaMinting.Signature memory signature = _sign(BENEFACTOR_KEY, order);
        vm.prank(minter);
        minting.mint(order, _route(3333), signature);
    }

    function _expectMintRevert(EthenaMinting.Order memory order, bytes4 selector) private {
        EthenaMinting.Signature memory signature = _sign(BENEFACTOR_KEY, order);
        EthenaMinting.Route memory route = _route(5000);
        vm.expectRevert(selector);
        vm.prank(minter);
        minting.mint(order, route, signature);
    }

    // ------------------------------------------------------------ hashing (shared vectors)

    function test_VectorStructHashAndTypehash() public view {
        EthenaMinting.Order memory order = EthenaMinting.Order({
            order_id: "rfq-0001",
            order_type: EthenaMinting.OrderType.MINT,
            expiry: 1735689600,
            nonce: 1735689600,
            benefactor: 0xBb8A8FE4f12953a5840C6570d5e836079329BE46,
            beneficiary: 0xBb8A8FE4f12953a5840C6570d5e836079329BE46,
            collateral_asset: 0xdAC17F958D2ee523a2206206994597C13D831ec7,
            collateral_amount: 25000000,
            usde_amount: 24975000000000000000
        });
        bytes memory encoded = minting.encodeOrder(order);
        bytes32 typehash;
        assembly {
            typehash := mload(add(encoded, 32))
        }
        require(typehash == 0x0364fb0ceb19d9be21807e255d5221bd3766eb5974667c7c8ab9bc6fd85b2a1d, "typehash");
        require(keccak256(encoded) == 0xaad1ede1507cfaf0f3df248aceb3221423820886145c5989739cd31d08d53aae, "struct hash");
        bytes32 separator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("EthenaMinting"),
                keccak256("1"),
                block.chainid,
                address(minting)
            )
        );
        require(minting.getDomainSeparator() == separator, "domain separator");
    }

    // ------------------------------------------------------------ mint

    function test_MintPaysCustodiansWithRemainderOnLastLegAndEmitsMint() public {
        EthenaMinting.Order memory order = _usdtMint(1_000_001, 1e18);
        vm.expectEmit(true, true, true, true, address(minting));
        emit Mint("rfq-0001", benefactor, benefactor, minter, address(usdt), 1_000_001, 1e18);
        _mint(order);
        _eq(usdt.balanceOf(custodian1), 333_300, "custodian1 3333 bps");
        _eq(usdt.balanceOf(custodian2), 666_701, "custodian2 6667 bps + remainder");
        _eq(usde.balanceOf(benefactor), 1e18, "usde minted");
        (uint128 minted,) = minting.totalPerBlock(block.number);
        _eq(minted, 1e18, "global block total");
        (uint128 mintedAsset,) = minting.totalPerBlockPerAsset(block.number, address(usdt));
        _eq(mintedAsset, 1e18, "asset block total");
    }

    function test_MintFailsWhenExpired() public {
        EthenaMinting.Order memory order = _usdtMint(1e6, 1e18);
        order.expiry = uint120(block.timestamp - 1);
        _expectMintRevert(order, EthenaMinting.SignatureExpired.selector);
    }

    function test_MintFailsOnReusedNonceIncludingLow64BitCollision() public {
        EthenaMinting.Order memory order = _usdtMint(1e6, 1e18);
        _mint(order);
        _expectMintRevert(order, EthenaMinting.InvalidNonce.selector);
        order.nonce = order.nonce + uint128(1 << 64);
        _expectMintRevert(order, EthenaMinting.InvalidNonce.selector);
        order.nonce = 0;
        _expectMintRevert(order, EthenaMinting.InvalidNonce.selector);
    }

    function test_MintFailsOverPerAssetThenGlobalCapAndResetsNextBlock() public {
        steth.mint(benefactor, 1);
        EthenaMinting.Order memory order = _usdtMint(1_000_001e6, ASSET_CAP + 1);
        _expectMintRevert(order, EthenaMinting.MaxMintPerBlockExceeded.selector);
        _mint(_usdtMint(1_000_000e6, ASSET_CAP));
        EthenaMinting.Order memory stethOrder = _usdtMint(500_001e18, GLOBAL_CAP - ASSET_CAP + 1);
        stethOrder.collateral_asset = address(steth);
        stethOrder.collateral_amount = 1;
        _expectMintRevert(stethOrder, EthenaMinting.GlobalMaxMintPerBlockExceeded.selector);
        vm.roll(block.number + 1);
        _mint(_usdtMint(1_000_000e6, ASSET_CAP));
    }

    function test_MintFailsForRouteNotCustodianOrBadRatios() public {
        EthenaMinting.Order memory order = _usdtMint(1e6, 1e18);
        EthenaMinting.Signature memory signature = _sign(BENEFACTOR_KEY, order);
        EthenaMinting.Route memory route = _route(5000);
        route.addresses[1] = address(0xBAD);
        vm.expectRevert(EthenaMinting.InvalidRoute.selector);
        vm.prank(minter);
        minting.mint(order, route, signature);
        route = _route(5000);
        route.ratios[1] = 4999;
        vm.expectRevert(EthenaMinting.InvalidRoute.selector);
        vm.prank(minter);
        minting.mint(order, route, signature);
    }

    function test_MintFailsForBenefactorNotWhitelistedAndBeneficiaryNotApproved() public {
        EthenaMinting.Order memory order = _usdtMint(1e6, 1e18);
        order.beneficiary = other;
        _expectMintRevert(order, EthenaMinting.BeneficiaryNotApproved.selector);
        vm.prank(benefactor);
        minting.setApprovedBeneficiary(other, true);
        _mint(order);
        _eq(usde.balanceOf(other), 1e18, "approved beneficiary receives");
        minting.removeWhitelistedBenefactor(benefactor);
        _expectMintRevert(_usdtMint(1e6, 1e18), EthenaMinting.BenefactorNotWhitelisted.selector);
    }

    function test_MintFailsStablesLimit() public {
        // 25 USDT for 25.01 USDe: 3 bps better than par for the user, limit 0.
        _expectMintRevert(_usdtMint(25e6, 25.01e18), EthenaMinting.InvalidStablePrice.selector);
        minting.setStablesDeltaLimit(4);
        _mint(_usdtMint(25e6, 25.01e18));
    }

    function test_MintFailsForWrongSignerUntilDelegationAccepted() public {
        EthenaMinting.Order memory order = _usdtMint(1e6, 1e18);
        EthenaMinting.Signature memory signature = _sign(OTHER_KEY, order);
        EthenaMinting.Route memory route = _route(5000);
        vm.expectRevert(EthenaMinting.InvalidEIP712Signature.selector);
        vm.prank(minter);
        minting.mint(order, route, signature);
        vm.prank(benefactor);
        minting.setDelegatedSigner(other);
        vm.expectRevert(EthenaMinting.InvalidEIP712Signature.selector);
        vm.prank(minter);
        minting.mint(order, route, signature);
        vm.prank(other);
        minting.confirmDelegatedSigner(benefactor);
        vm.prank(minter);
        minting.mint(order, route, signature);
        _eq(usde.balanceOf(benefactor), 1e18, "delegate-signed mint pays the benefactor's beneficiary");
    }

    function test_MintRejectsHighSAndBadLength() public {
        EthenaMinting.Order memory order = _usdtMint(1e6, 1e18);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(BENEFACTOR_KEY, minting.hashOrder(order));
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes memory highS = abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        EthenaMinting.Route memory route = _route(5000);
        vm.expectRevert(bytes("ECDSA: invalid signature 's' value"));
        vm.prank(minter);
        minting.mint(order, route, EthenaMinting.Signature(EthenaMinting.SignatureType.EIP712, highS));
        vm.expectRevert(bytes("ECDSA: invalid signature length"));
        vm.prank(minter);
        minting.mint(order, route, EthenaMinting.Signature(EthenaMinting.SignatureType.EIP712, abi.encodePacked(r, s)));
    }

    function test_Eip1271WalletSignature() public {
        MockContractWallet wallet = new MockContractWallet();
        minting.addWhitelistedBenefactor(address(wallet));
        usdt.mint(address(wallet), 1e6);
        vm.prank(address(wallet));
        usdt.approve(address(minting), type(uint256).max);
        EthenaMinting.Order memory order = _usdtMint(1e6, 1e18);
        order.benefactor = address(wallet);
        order.beneficiary = address(wallet);
        wallet.setAccepted(hex"c0ffee");
        EthenaMinting.Route memory route = _route(5000);
        vm.expectRevert(EthenaMinting.InvalidEIP1271Signature.selector);
        vm.prank(minter);
        minting.mint(order, route, EthenaMinting.Signature(EthenaMinting.SignatureType.EIP1271, hex"bad0"));
        vm.prank(minter);
        minting.mint(order, route, EthenaMinting.Signature(EthenaMinting.SignatureType.EIP1271, hex"c0ffee"));
        _eq(usde.balanceOf(address(wallet)), 1e18, "1271 mint");
    }

    function test_OnlyMinterMintsAndOrderTypeMustMatch() public {
        EthenaMinting.Order memory order = _usdtMint(1e6, 1e18);
        EthenaMinting.Signature memory signature = _sign(BENEFACTOR_KEY, order);
        EthenaMinting.Route memory route = _route(5000);
        vm.expectRevert(
            bytes(
                "AccessControl: account 0x0000000000000000000000000000000000000b0b is missing role 0x9f2df0fed2c77648de5860a4cc508cd0818c85b8b8a1ab4ceeef8d981c8956a6"
            )
        );
        vm.prank(redeemer);
        minting.mint(order, route, signature);
        order.order_type = EthenaMinting.OrderType.REDEEM;
        _expectMintRevert(order, EthenaMinting.InvalidOrder.selector);
    }

    // ------------------------------------------------------------ gatekeeper

    function test_GatekeeperDisablesMintRedeemAndRemovesMinter() public {
        vm.prank(gatekeeper);
        minting.disableMintRedeem();
        (uint128 globalMint, uint128 globalRedeem) = minting.globalConfig();
        _eq(globalMint + globalRedeem, 0, "global caps zeroed");
        (,, uint128 assetMint,) = minting.tokenConfig(address(usdt));
        _eq(assetMint, ASSET_CAP, "per-asset caps untouched");
        _expectMintRevert(_usdtMint(1e6, 1e18), EthenaMinting.GlobalMaxMintPerBlockExceeded.selector);
        vm.prank(gatekeeper);
        minting.removeMinterRole(minter);
        require(!minting.hasRole(MINTER_ROLE, minter), "minter removed");
    }

    // ------------------------------------------------------------ redeem and custody

    function test_RedeemBurnsUsdeAndPaysFromContractBalance() public {
        _mint(_usdtMint(100e6, 100e18));
        usdt.mint(address(minting), 50e6);
        uint256 before = usdt.balanceOf(benefactor);
        EthenaMinting.Order memory order = _usdtMint(40e6, 40e18);
        order.order_type = EthenaMinting.OrderType.REDEEM;
        order.order_id = "rfq-redeem";
        EthenaMinting.Signature memory signature = _sign(BENEFACTOR_KEY, order);
        vm.expectEmit(true, true, true, true, address(minting));
        emit Redeem("rfq-redeem", benefactor, benefactor, redeemer, address(usdt), 40e6, 40e18);
        vm.prank(redeemer);
        minting.redeem(order, signature);
        _eq(usdt.balanceOf(benefactor) - before, 40e6, "collateral paid");
        _eq(usdt.balanceOf(address(minting)), 10e6, "from contract balance");
        _eq(usde.balanceOf(benefactor), 60e18, "usde burned");
        order.nonce = nextNonce++;
        order.collateral_amount = 11e6;
        order.usde_amount = 11e18;
        signature = _sign(BENEFACTOR_KEY, order);
        vm.expectRevert(EthenaMinting.TransferFailed.selector);
        vm.prank(redeemer);
        minting.redeem(order, signature);
    }

    function test_MintWethPaysCustodiansInEther() public {
        vm.deal(benefactor, 10 ether);
        vm.prank(benefactor);
        weth.deposit{value: 10 ether}();
        EthenaMinting.Order memory order = _usdtMint(7, 1e18);
        order.collateral_asset = address(weth);
        EthenaMinting.Signature memory signature = _sign(BENEFACTOR_KEY, order);
        EthenaMinting.Route memory route = _route(5000);
        vm.prank(minter);
        minting.mintWETH(order, route, signature);
        _eq(custodian1.balance, 3, "leg 1 in ETH");
        _eq(custodian2.balance, 4, "leg 2 + remainder in ETH");
        _eq(weth.balanceOf(custodian1) + weth.balanceOf(custodian2), 0, "no WETH to custodians");
        order.nonce = nextNonce++;
        order.collateral_asset = address(usdt);
        signature = _sign(BENEFACTOR_KEY, order);
        vm.expectRevert(EthenaMinting.InvalidAssetAddress.selector);
        vm.prank(minter);
        minting.mintWETH(order, route, signature);
    }

    function test_TransferToCustodyOnlyToCustodians() public {
        usdt.mint(address(minting), 5e6);
        vm.expectRevert(EthenaMinting.InvalidAddress.selector);
        vm.prank(collateralManager);
        minting.transferToCustody(address(0xBAD), address(usdt), 1e6);
        vm.expectEmit(true, true, true, true, address(minting));
        emit CustodyTransfer(custodian1, address(usdt), 5e6);
        vm.prank(collateralManager);
        minting.transferToCustody(custodian1, address(usdt), 5e6);
        _eq(usdt.balanceOf(custodian1), 5e6, "custody received");
    }

    function test_AdminConfigRules() public {
        vm.expectRevert(EthenaMinting.InvalidAdminChange.selector);
        minting.grantRole(bytes32(0), other);
        vm.expectRevert(EthenaMinting.InvalidCustodianAddress.selector);
        minting.addCustodianAddress(custodian1);
        EthenaMinting.TokenConfig memory zeroCap =
            EthenaMinting.TokenConfig(EthenaMinting.TokenType.ASSET, true, 0, 1);
        vm.expectRevert(EthenaMinting.InvalidAmount.selector);
        minting.addSupportedAsset(address(0xA55E7), zeroCap);
        minting.removeSupportedAsset(address(usdt));
        require(!minting.isSupportedAsset(address(usdt)), "removed");
        _expectMintRevert(_usdtMint(1e6, 1e18), EthenaMinting.UnsupportedAsset.selector);
        minting.transferAdmin(other);
        vm.expectRevert(EthenaMinting.NotPendingAdmin.selector);
        minting.acceptAdmin();
        vm.prank(other);
        minting.acceptAdmin();
        require(minting.owner() == other && !minting.hasRole(bytes32(0), address(this)), "admin moved");
    }
}
