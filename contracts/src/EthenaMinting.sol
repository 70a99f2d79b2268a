// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.20;

/// @title EthenaMinting V2 re-implementation for the hedger test chain.
/// @notice Our own implementation of the EthenaMinting V2 interface and behaviour as documented in
/// shared/reference/ethena.md §2-§3 (same ABI, the deployed EIP-712 type string with
/// `uint128 expiry,uint120 nonce`, order_id-first Mint/Redeem events, custom errors, per-asset and
/// global per-block limits, whitelists, delegated signers, nonce bitmap, routes paying custodians,
/// redeem from the contract balance, mintWETH, transferToCustody, gatekeeper disableMintRedeem).
/// Written for tests against a local node; not audited, not for real funds.

interface IUSDeMintable {
    function mint(address to, uint256 amount) external;
    function burnFrom(address account, uint256 amount) external;
    function decimals() external view returns (uint8);
}

interface IERC20Like {
    function decimals() external view returns (uint8);
}

interface IWETH9Like {
    function withdraw(uint256 amount) external;
}

interface IERC1271 {
    function isValidSignature(bytes32 hash, bytes memory signature) external view returns (bytes4);
}

contract EthenaMinting {
    // ---------------------------------------------------------------- types

    enum OrderType {
        MINT,
        REDEEM
    }

    enum SignatureType {
        EIP712,
        EIP1271
    }

    enum DelegatedSignerStatus {
        REJECTED,
        PENDING,
        ACCEPTED
    }

    enum TokenType {
        STABLE,
        ASSET
    }

    struct Order {
        string order_id;
        OrderType order_type;
        uint120 expiry;
        uint128 nonce;
        address benefactor;
        address beneficiary;
        address collateral_asset;
        uint128 collateral_amount;
        uint128 usde_amount;
    }

    struct Route {
        address[] addresses;
        uint128[] ratios;
    }

    struct Signature {
        SignatureType signature_type;
        bytes signature_bytes;
    }

    struct TokenConfig {
        TokenType tokenType;
        bool isActive;
        uint128 maxMintPerBlock;
        uint128 maxRedeemPerBlock;
    }

    struct GlobalConfig {
        uint128 globalMaxMintPerBlock;
        uint128 globalMaxRedeemPerBlock;
    }

    struct BlockTotals {
        uint128 mintedPerBlock;
        uint128 redeemedPerBlock;
    }

    // ---------------------------------------------------------------- events

    event Received(address, uint256);
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
    event AssetAdded(address indexed asset);
    event AssetRemoved(address indexed asset);
    event BenefactorAdded(address indexed benefactor);
    event BenefactorRemoved(address indexed benefactor);
    event BeneficiaryAdded(address indexed benefactor, address indexed beneficiary);
    event BeneficiaryRemoved(address indexed benefactor, address indexed beneficiary);
    event CustodianAddressAdded(address indexed custodian);
    event CustodianAddressRemoved(address indexed custodian);
    event CustodyTransfer(address indexed wallet, address indexed asset, uint256 amount);
    event USDeSet(address indexed USDe);
    event MaxMintPerBlockChanged(uint256 oldMaxMintPerBlock, uint256 newMaxMintPerBlock, address indexed asset);
    event MaxRedeemPerBlockChanged(uint256 oldMaxRedeemPerBlock, uint256 newMaxRedeemPerBlock, address indexed asset);
    event DelegatedSignerAdded(address indexed signer, address indexed delegator);
    event DelegatedSignerRemoved(address indexed signer, address indexed delegator);
    event DelegatedSignerInitiated(address indexed signer, address indexed delegator);
    event TokenTypeSet(address indexed token, uint256 tokenType);
    event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);
    event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);
    event RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole);
    event AdminTransferRequested(address indexed oldAdmin, address indexed newAdmin);
    event AdminTransferred(address indexed oldAdmin, address indexed newAdmin);

    // ---------------------------------------------------------------- errors

    error InvalidAddress();
    error InvalidUSDeAddress();
    error InvalidZeroAddress();
    error InvalidAssetAddress();
    error InvalidBenefactorAddress();
    error InvalidBeneficiaryAddress();
    error InvalidCustodianAddress();
    error InvalidOrder();
    error InvalidAmount();
    error InvalidRoute();
    error InvalidStablePrice();
    error UnknownSignatureType();
    error UnsupportedAsset();
    error NoAssetsProvided();
    error BenefactorNotWhitelisted();
    error BeneficiaryNotApproved();
    error InvalidEIP712Signature();
    error InvalidEIP1271Signature();
    error InvalidNonce();
    error SignatureExpired();
    error TransferFailed();
    error DelegationNotInitiated();
    error MaxMintPerBlockExceeded();
    error MaxRedeemPerBlockExceeded();
    error GlobalMaxMintPerBlockExceeded();
    error GlobalMaxRedeemPerBlockExceeded();
    error InvalidAdminChange();
    error NotPendingAdmin();

    // ---------------------------------------------------------------- constants

    bytes32 public constant DEFAULT_ADMIN_ROLE = 0x00;
    bytes32 private constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 private constant REDEEMER_ROLE = keccak256("REDEEMER_ROLE");
    bytes32 private constant COLLATERAL_MANAGER_ROLE = keccak256("COLLATERAL_MANAGER_ROLE");
    bytes32 private constant GATEKEEPER_ROLE = keccak256("GATEKEEPER_ROLE");

    bytes32 private constant EIP712_DOMAIN =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant EIP712_NAME = keccak256("EthenaMinting");
    bytes32 private constant EIP712_REVISION = keccak256("1");
    /// The deployed V2 string: expiry uint128, nonce uint120 (swapped against the struct).
    bytes32 private constant ORDER_TYPE = keccak256(
        "Order(string order_id,uint8 order_type,uint128 expiry,uint120 nonce,address benefactor,address beneficiary,address collateral_asset,uint128 collateral_amount,uint128 usde_amount)"
    );

    address private constant NATIVE_TOKEN = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;
    uint128 private constant ROUTE_REQUIRED_RATIO = 10_000;
    uint128 private constant STABLES_RATIO_MULTIPLIER = 10_000;
    bytes4 private constant EIP1271_MAGICVALUE = 0x1626ba7e;
    /// secp256k1 n / 2: OpenZeppelin 4.9 rejects larger s.
    uint256 private constant HALF_CURVE_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    // ---------------------------------------------------------------- state

    IUSDeMintable public immutable usde;
    address private immutable weth;
    uint256 private immutable _chainId;
    bytes32 private immutable _domainSeparator;

    mapping(bytes32 => mapping(address => bool)) private _roles;
    address private _currentAdmin;
    address private _pendingAdmin;
    uint256 private _reentrancyStatus = 1;

    mapping(address => bool) private _supportedAssets;
    mapping(address => bool) private _custodianAddresses;
    mapping(address => bool) private _whitelistedBenefactors;
    mapping(address => mapping(address => bool)) private _approvedBeneficiariesPerBenefactor;
    mapping(address => mapping(uint256 => uint256)) private _orderBitmaps;

    /// signer => delegator (benefactor) => status
    mapping(address => mapping(address => DelegatedSignerStatus)) public delegatedSigner;
    mapping(address => TokenConfig) public tokenConfig;
    GlobalConfig public globalConfig;
    mapping(uint256 => BlockTotals) public totalPerBlock;
    mapping(uint256 => mapping(address => BlockTotals)) public totalPerBlockPerAsset;
    uint128 public stablesDeltaLimit;

    // ---------------------------------------------------------------- modifiers

    modifier onlyRole(bytes32 role) {
        if (!_roles[role][msg.sender]) revert(_missingRoleMessage(role, msg.sender));
        _;
    }

    modifier nonReentrant() {
        require(_reentrancyStatus == 1, "ReentrancyGuard: reentrant call");
        _reentrancyStatus = 2;
        _;
        _reentrancyStatus = 1;
    }

    /// Per-asset then global mint cap for this block, in USDe units.
    modifier belowMaxMintPerBlock(uint128 mintAmount, address asset) {
        TokenConfig memory config = tokenConfig[asset];
        if (!config.isActive) revert UnsupportedAsset();
        if (totalPerBlockPerAsset[block.number][asset].mintedPerBlock + mintAmount > config.maxMintPerBlock) {
            revert MaxMintPerBlockExceeded();
        }
        if (totalPerBlock[block.number].mintedPerBlock + mintAmount > globalConfig.globalMaxMintPerBlock) {
            revert GlobalMaxMintPerBlockExceeded();
        }
        _;
    }

    /// Per-asset then global redeem cap for this block, in USDe units.
    modifier belowMaxRedeemPerBlock(uint128 redeemAmount, address asset) {
        TokenConfig memory config = tokenConfig[asset];
        if (!config.isActive) revert UnsupportedAsset();
        if (totalPerBlockPerAsset[block.number][asset].redeemedPerBlock + redeemAmount > config.maxRedeemPerBlock) {
            revert MaxRedeemPerBlockExceeded();
        }
        if (totalPerBlock[block.number].redeemedPerBlock + redeemAmount > globalConfig.globalMaxRedeemPerBlock) {
            revert GlobalMaxRedeemPerBlockExceeded();
        }
        _;
    }

    // ---------------------------------------------------------------- constructor

    constructor(
        IUSDeMintable _usde,
        address _weth,
        address[] memory _assets,
        TokenConfig[] memory _tokenConfig,
        GlobalConfig memory _globalConfig,
        address[] memory _custodians,
        address _admin
    ) {
        if (address(_usde) == address(0)) revert InvalidUSDeAddress();
        if (_assets.length == 0) revert NoAssetsProvided();
        if (_assets.length != _tokenConfig.length) revert InvalidAssetAddress();
        if (_admin == address(0)) revert InvalidZeroAddress();
        usde = _usde;
        weth = _weth;
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _currentAdmin = msg.sender;
        for (uint256 i = 0; i < _assets.length; i++) {
            _addSupportedAsset(_assets[i], _tokenConfig[i]);
        }
        for (uint256 j = 0; j < _custodians.length; j++) {
            _addCustodianAddress(_custodians[j]);
        }
        globalConfig = _globalConfig;
        emit USDeSet(address(_usde));
        _chainId = block.chainid;
        _domainSeparator = _computeDomainSeparator();
        if (msg.sender != _admin) {
            _pendingAdmin = _admin;
            emit AdminTransferRequested(msg.sender, _admin);
        }
    }

    receive() external payable {
        emit Received(msg.sender, msg.value);
    }

    // ---------------------------------------------------------------- mint / redeem

    function mint(Order calldata order, Route calldata route, Signature calldata signature)
        external
        nonReentrant
        onlyRole(MINTER_ROLE)
        belowMaxMintPerBlock(order.usde_amount, order.collateral_asset)
    {
        if (order.order_type != OrderType.MINT) revert InvalidOrder();
        verifyOrder(order, signature);
        if (!verifyRoute(route)) revert InvalidRoute();
        _deduplicateOrder(order.benefactor, order.nonce);
        _addMinted(order.collateral_asset, order.usde_amount);
        _transferCollateral(
            order.collateral_amount, order.collateral_asset, order.benefactor, route.addresses, route.ratios
        );
        usde.mint(order.beneficiary, order.usde_amount);
        _emitMint(order);
    }

    /// Mint with WETH collateral: pulls WETH, unwraps it, and pays the custodians native ETH.
    function mintWETH(Order calldata order, Route calldata route, Signature calldata signature)
        external
        nonReentrant
        onlyRole(MINTER_ROLE)
        belowMaxMintPerBlock(order.usde_amount, order.collateral_asset)
    {
        if (order.order_type != OrderType.MINT) revert InvalidOrder();
        if (order.collateral_asset != weth) revert InvalidAssetAddress();
        verifyOrder(order, signature);
        if (!verifyRoute(route)) revert InvalidRoute();
        _deduplicateOrder(order.benefactor, order.nonce);
        _addMinted(order.collateral_asset, order.usde_amount);
        _safeTransferFrom(weth, order.benefactor, address(this), order.collateral_amount);
        IWETH9Like(weth).withdraw(order.collateral_amount);
        _transferEthCollateral(order.collateral_amount, route.addresses, route.ratios);
        usde.mint(order.beneficiary, order.usde_amount);
        _emitMint(order);
    }

    /// Burns the benefactor's USDe and pays collateral from this contract's own balance.
    function redeem(Order calldata order, Signature calldata signature)
        external
        nonReentrant
        onlyRole(REDEEMER_ROLE)
        belowMaxRedeemPerBlock(order.usde_amount, order.collateral_asset)
    {
        if (order.order_type != OrderType.REDEEM) revert InvalidOrder();
        verifyOrder(order, signature);
        _deduplicateOrder(order.benefactor, order.nonce);
        totalPerBlockPerAsset[block.number][order.collateral_asset].redeemedPerBlock += order.usde_amount;
        totalPerBlock[block.number].redeemedPerBlock += order.usde_amount;
        usde.burnFrom(order.benefactor, order.usde_amount);
        _transferToBeneficiary(order.beneficiary, order.collateral_asset, order.collateral_amount);
        emit Redeem(
            order.order_id,
            order.benefactor,
            order.beneficiary,
            msg.sender,
            order.collateral_asset,
            order.collateral_amount,
            order.usde_amount
        );
    }

    // ---------------------------------------------------------------- views

    function hashOrder(Order calldata order) public view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", getDomainSeparator(), keccak256(encodeOrder(order))));
    }

    function encodeOrder(Order calldata order) public pure returns (bytes memory) {
        return abi.encode(
            ORDER_TYPE,
            keccak256(bytes(order.order_id)),
            order.order_type,
            order.expiry,
            order.nonce,
            order.benefactor,
            order.beneficiary,
            order.collateral_asset,
            order.collateral_amount,
            order.usde_amount
        );
    }

    function getDomainSeparator() public view returns (bytes32) {
        return block.chainid == _chainId ? _domainSeparator : _computeDomainSeparator();
    }

    /// The checks of the deployed V2 verifyOrder, in its order; returns the digest.
    function verifyOrder(Order calldata order, Signature calldata signature)
        public
        view
        returns (bytes32 taker_order_hash)
    {
        taker_order_hash = hashOrder(order);
        _verifySignature(order.benefactor, taker_order_hash, signature);
        if (!_whitelistedBenefactors[order.benefactor]) revert BenefactorNotWhitelisted();
        if (
            order.beneficiary != order.benefactor
                && !_approvedBeneficiariesPerBenefactor[order.benefactor][order.beneficiary]
        ) revert BeneficiaryNotApproved();
        if (tokenConfig[order.collateral_asset].tokenType == TokenType.STABLE) {
            if (!verifyStablesLimit(order.collateral_amount, order.usde_amount, order.collateral_asset, order.order_type))
            {
                revert InvalidStablePrice();
            }
        }
        if (order.beneficiary == address(0)) revert InvalidAddress();
        if (order.collateral_amount == 0 || order.usde_amount == 0) revert InvalidAmount();
        if (block.timestamp > order.expiry) revert SignatureExpired();
    }

    /// Only the low 64 bits of the nonce select the bit; nonce 0 is invalid.
    function verifyNonce(address sender, uint128 nonce) public view returns (uint128, uint256, uint256) {
        if (nonce == 0) revert InvalidNonce();
        uint128 invalidatorSlot = uint64(nonce) >> 8;
        uint256 invalidatorBit = 1 << uint8(nonce);
        uint256 invalidator = _orderBitmaps[sender][invalidatorSlot];
        if (invalidator & invalidatorBit != 0) revert InvalidNonce();
        return (invalidatorSlot, invalidator, invalidatorBit);
    }

    function verifyRoute(Route calldata route) public view returns (bool) {
        uint256 totalRatio = 0;
        if (route.addresses.length != route.ratios.length) return false;
        if (route.addresses.length == 0) return false;
        for (uint256 i = 0; i < route.addresses.length; i++) {
            if (
                !_custodianAddresses[route.addresses[i]] || route.addresses[i] == address(0)
                    || route.ratios[i] == 0
            ) return false;
            totalRatio += route.ratios[i];
        }
        return totalRatio == ROUTE_REQUIRED_RATIO;
    }

    /// For STABLE collateral: bounds how much better than 1:1 the user may get, in bps.
    function verifyStablesLimit(
        uint128 collateralAmount,
        uint128 usdeAmount,
        address collateralAsset,
        OrderType orderType
    ) public view returns (bool) {
        uint8 usdeDecimals = usde.decimals();
        uint8 collateralDecimals = IERC20Like(collateralAsset).decimals();
        uint128 scale = uint128(10)
            ** (collateralDecimals > usdeDecimals ? collateralDecimals - usdeDecimals : usdeDecimals - collateralDecimals);
        uint128 normalized = collateralDecimals > usdeDecimals ? collateralAmount / scale : collateralAmount * scale;
        uint128 difference = normalized > usdeAmount ? normalized - usdeAmount : usdeAmount - normalized;
        uint128 differenceInBps = (difference * STABLES_RATIO_MULTIPLIER) / usdeAmount;
        if (orderType == OrderType.MINT) {
            return usdeAmount > normalized ? differenceInBps <= stablesDeltaLimit : true;
        }
        return normalized > usdeAmount ? differenceInBps <= stablesDeltaLimit : true;
    }

    function isSupportedAsset(address asset) external view returns (bool) {
        return _supportedAssets[asset];
    }

    function isCustodianAddress(address custodian) external view returns (bool) {
        return _custodianAddresses[custodian];
    }

    function isWhitelistedBenefactor(address benefactor) external view returns (bool) {
        return _whitelistedBenefactors[benefactor];
    }

    function isApprovedBeneficiary(address benefactor, address beneficiary) external view returns (bool) {
        return _approvedBeneficiariesPerBenefactor[benefactor][beneficiary];
    }

    // ---------------------------------------------------------------- admin: limits and config

    function setMaxMintPerBlock(uint128 _maxMintPerBlock, address asset) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_supportedAssets[asset]) revert UnsupportedAsset();
        emit MaxMintPerBlockChanged(tokenConfig[asset].maxMintPerBlock, _maxMintPerBlock, asset);
        tokenConfig[asset].maxMintPerBlock = _maxMintPerBlock;
    }

    function setMaxRedeemPerBlock(uint128 _maxRedeemPerBlock, address asset) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_supportedAssets[asset]) revert UnsupportedAsset();
        emit MaxRedeemPerBlockChanged(tokenConfig[asset].maxRedeemPerBlock, _maxRedeemPerBlock, asset);
        tokenConfig[asset].maxRedeemPerBlock = _maxRedeemPerBlock;
    }

    /// No event, as on the deployed V2: watchers must poll globalConfig().
    function setGlobalMaxMintPerBlock(uint128 _globalMaxMintPerBlock) external onlyRole(DEFAULT_ADMIN_ROLE) {
        globalConfig.globalMaxMintPerBlock = _globalMaxMintPerBlock;
    }

    function setGlobalMaxRedeemPerBlock(uint128 _globalMaxRedeemPerBlock) external onlyRole(DEFAULT_ADMIN_ROLE) {
        globalConfig.globalMaxRedeemPerBlock = _globalMaxRedeemPerBlock;
    }

    /// Gatekeeper kill switch: zeroes only the global caps, emits nothing.
    function disableMintRedeem() external onlyRole(GATEKEEPER_ROLE) {
        globalConfig.globalMaxMintPerBlock = 0;
        globalConfig.globalMaxRedeemPerBlock = 0;
    }

    function setStablesDeltaLimit(uint128 _stablesDeltaLimit) external onlyRole(DEFAULT_ADMIN_ROLE) {
        stablesDeltaLimit = _stablesDeltaLimit;
    }

    function setTokenType(address asset, TokenType tokenType) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_supportedAssets[asset]) revert UnsupportedAsset();
        tokenConfig[asset].tokenType = tokenType;
        emit TokenTypeSet(asset, uint256(tokenType));
    }

    function addSupportedAsset(address asset, TokenConfig calldata _tokenConfig)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _addSupportedAsset(asset, _tokenConfig);
    }

    function removeSupportedAsset(address asset) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_supportedAssets[asset]) revert InvalidAssetAddress();
        delete _supportedAssets[asset];
        delete tokenConfig[asset];
        emit AssetRemoved(asset);
    }

    function addCustodianAddress(address custodian) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _addCustodianAddress(custodian);
    }

    function removeCustodianAddress(address custodian) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_custodianAddresses[custodian]) revert InvalidCustodianAddress();
        delete _custodianAddresses[custodian];
        emit CustodianAddressRemoved(custodian);
    }

    function addWhitelistedBenefactor(address benefactor) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (benefactor == address(0) || benefactor == address(this) || _whitelistedBenefactors[benefactor]) {
            revert InvalidBenefactorAddress();
        }
        _whitelistedBenefactors[benefactor] = true;
        emit BenefactorAdded(benefactor);
    }

    function removeWhitelistedBenefactor(address benefactor) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_whitelistedBenefactors[benefactor]) revert InvalidBenefactorAddress();
        delete _whitelistedBenefactors[benefactor];
        emit BenefactorRemoved(benefactor);
    }

    /// Called by a benefactor to let `beneficiary` receive its mints/redeems.
    function setApprovedBeneficiary(address beneficiary, bool status) external {
        if (beneficiary == address(0)) revert InvalidBeneficiaryAddress();
        _approvedBeneficiariesPerBenefactor[msg.sender][beneficiary] = status;
        if (status) {
            emit BeneficiaryAdded(msg.sender, beneficiary);
        } else {
            emit BeneficiaryRemoved(msg.sender, beneficiary);
        }
    }

    // ---------------------------------------------------------------- custody

    function transferToCustody(address wallet, address asset, uint128 amount)
        external
        nonReentrant
        onlyRole(COLLATERAL_MANAGER_ROLE)
    {
        if (wallet == address(0) || !_custodianAddresses[wallet]) revert InvalidAddress();
        if (asset == NATIVE_TOKEN) {
            (bool success,) = wallet.call{value: amount}("");
            if (!success) revert TransferFailed();
        } else {
            _safeTransfer(asset, wallet, amount);
        }
        emit CustodyTransfer(wallet, asset, amount);
    }

    // ---------------------------------------------------------------- delegated signers

    function setDelegatedSigner(address _delegateTo) external {
        delegatedSigner[_delegateTo][msg.sender] = DelegatedSignerStatus.PENDING;
        emit DelegatedSignerInitiated(_delegateTo, msg.sender);
    }

    function confirmDelegatedSigner(address _delegatedBy) external {
        if (delegatedSigner[msg.sender][_delegatedBy] != DelegatedSignerStatus.PENDING) {
            revert DelegationNotInitiated();
        }
        delegatedSigner[msg.sender][_delegatedBy] = DelegatedSignerStatus.ACCEPTED;
        emit DelegatedSignerAdded(msg.sender, _delegatedBy);
    }

    function removeDelegatedSigner(address _removedSigner) external {
        delegatedSigner[_removedSigner][msg.sender] = DelegatedSignerStatus.REJECTED;
        emit DelegatedSignerRemoved(_removedSigner, msg.sender);
    }

    // ---------------------------------------------------------------- roles (single admin)

    function hasRole(bytes32 role, address account) public view returns (bool) {
        return _roles[role][account];
    }

    /// `view` (not `pure`) to keep the deployed ABI; every role is administered by the admin.
    function getRoleAdmin(bytes32) external view returns (bytes32) {
        return DEFAULT_ADMIN_ROLE;
    }

    function owner() external view returns (address) {
        return _currentAdmin;
    }

    function grantRole(bytes32 role, address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (role == DEFAULT_ADMIN_ROLE) revert InvalidAdminChange();
        _grantRole(role, account);
    }

    function revokeRole(bytes32 role, address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (role == DEFAULT_ADMIN_ROLE) revert InvalidAdminChange();
        _revokeRole(role, account);
    }

    function renounceRole(bytes32 role, address account) external {
        require(account == msg.sender, "AccessControl: can only renounce roles for self");
        if (role == DEFAULT_ADMIN_ROLE) revert InvalidAdminChange();
        _revokeRole(role, account);
    }

    function transferAdmin(address newAdmin) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newAdmin == msg.sender) revert InvalidAdminChange();
        _pendingAdmin = newAdmin;
        emit AdminTransferRequested(msg.sender, newAdmin);
    }

    function acceptAdmin() external {
        if (msg.sender != _pendingAdmin) revert NotPendingAdmin();
        address oldAdmin = _currentAdmin;
        _revokeRole(DEFAULT_ADMIN_ROLE, oldAdmin);
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _currentAdmin = msg.sender;
        _pendingAdmin = address(0);
        emit AdminTransferred(oldAdmin, msg.sender);
    }

    function removeMinterRole(address minter) external onlyRole(GATEKEEPER_ROLE) {
        _revokeRole(MINTER_ROLE, minter);
    }

    function removeRedeemerRole(address redeemer) external onlyRole(GATEKEEPER_ROLE) {
        _revokeRole(REDEEMER_ROLE, redeemer);
    }

    function removeCollateralManagerRole(address collateralManager) external onlyRole(GATEKEEPER_ROLE) {
        _revokeRole(COLLATERAL_MANAGER_ROLE, collateralManager);
    }

    function supportsInterface(bytes4 interfaceId) external view returns (bool) {
        // IAccessControl and IERC165.
        return interfaceId == 0x7965db0b || interfaceId == 0x01ffc9a7;
    }

    // ---------------------------------------------------------------- internal

    function _verifySignature(address benefactor, bytes32 digest, Signature calldata signature) private view {
        if (signature.signature_type == SignatureType.EIP712) {
            address signer = _recover(digest, signature.signature_bytes);
            if (signer != benefactor && delegatedSigner[signer][benefactor] != DelegatedSignerStatus.ACCEPTED) {
                revert InvalidEIP712Signature();
            }
        } else if (signature.signature_type == SignatureType.EIP1271) {
            if (IERC1271(benefactor).isValidSignature(digest, signature.signature_bytes) != EIP1271_MAGICVALUE) {
                revert InvalidEIP1271Signature();
            }
        } else {
            revert UnknownSignatureType();
        }
    }

    /// ECDSA recovery with OpenZeppelin 4.9 rules and revert strings: 65 bytes, low s,
    /// and a non-zero ecrecover result (which also rejects v other than 27/28).
    function _recover(bytes32 digest, bytes calldata sig) private pure returns (address) {
        require(sig.length == 65, "ECDSA: invalid signature length");
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        require(uint256(s) <= HALF_CURVE_ORDER, "ECDSA: invalid signature 's' value");
        address signer = ecrecover(digest, v, r, s);
        require(signer != address(0), "ECDSA: invalid signature");
        return signer;
    }

    function _deduplicateOrder(address sender, uint128 nonce) private {
        (uint128 invalidatorSlot, uint256 invalidator, uint256 invalidatorBit) = verifyNonce(sender, nonce);
        _orderBitmaps[sender][invalidatorSlot] = invalidator | invalidatorBit;
    }

    function _addMinted(address asset, uint128 usdeAmount) private {
        totalPerBlockPerAsset[block.number][asset].mintedPerBlock += usdeAmount;
        totalPerBlock[block.number].mintedPerBlock += usdeAmount;
    }

    function _emitMint(Order calldata order) private {
        emit Mint(
            order.order_id,
            order.benefactor,
            order.beneficiary,
            msg.sender,
            order.collateral_asset,
            order.collateral_amount,
            order.usde_amount
        );
    }

    /// Each leg gets amount * ratio / 10000 (floor, uint128); the remainder is a second transfer
    /// to the last address.
    function _transferCollateral(
        uint128 amount,
        address asset,
        address benefactor,
        address[] calldata addresses,
        uint128[] calldata ratios
    ) private {
        if (asset == NATIVE_TOKEN) revert InvalidAssetAddress();
        if (!_supportedAssets[asset]) revert UnsupportedAsset();
        uint128 totalTransferred = 0;
        for (uint256 i = 0; i < addresses.length; i++) {
            uint128 amountToTransfer = (amount * ratios[i]) / ROUTE_REQUIRED_RATIO;
            _safeTransferFrom(asset, benefactor, addresses[i], amountToTransfer);
            totalTransferred += amountToTransfer;
        }
        uint128 remainingBalance = amount - totalTransferred;
        if (remainingBalance > 0) {
            _safeTransferFrom(asset, benefactor, addresses[addresses.length - 1], remainingBalance);
        }
    }

    function _transferEthCollateral(uint128 amount, address[] calldata addresses, uint128[] calldata ratios)
        private
    {
        uint128 totalTransferred = 0;
        for (uint256 i = 0; i < addresses.length; i++) {
            uint128 amountToTransfer = (amount * ratios[i]) / ROUTE_REQUIRED_RATIO;
            (bool success,) = addresses[i].call{value: amountToTransfer}("");
            if (!success) revert TransferFailed();
            totalTransferred += amountToTransfer;
        }
        uint128 remainingBalance = amount - totalTransferred;
        if (remainingBalance > 0) {
            (bool success,) = addresses[addresses.length - 1].call{value: remainingBalance}("");
            if (!success) revert TransferFailed();
        }
    }

    function _transferToBeneficiary(address beneficiary, address asset, uint128 amount) private {
        if (asset == NATIVE_TOKEN) {
            if (address(this).balance < amount) revert InvalidAmount();
            (bool success,) = beneficiary.call{value: amount}("");
            if (!success) revert TransferFailed();
        } else {
            if (!_supportedAssets[asset]) revert UnsupportedAsset();
            _safeTransfer(asset, beneficiary, amount);
        }
    }

    function _addSupportedAsset(address asset, TokenConfig memory config) private {
        if (asset == address(0) || asset == address(usde) || _supportedAssets[asset]) {
            revert InvalidAssetAddress();
        }
        if (config.maxMintPerBlock == 0 || config.maxRedeemPerBlock == 0) revert InvalidAmount();
        config.isActive = true;
        _supportedAssets[asset] = true;
        tokenConfig[asset] = config;
        emit AssetAdded(asset);
    }

    function _addCustodianAddress(address custodian) private {
        if (custodian == address(0) || custodian == address(usde) || _custodianAddresses[custodian]) {
            revert InvalidCustodianAddress();
        }
        _custodianAddresses[custodian] = true;
        emit CustodianAddressAdded(custodian);
    }

    function _grantRole(bytes32 role, address account) private {
        if (!_roles[role][account]) {
            _roles[role][account] = true;
            emit RoleGranted(role, account, msg.sender);
        }
    }

    function _revokeRole(bytes32 role, address account) private {
        if (_roles[role][account]) {
            _roles[role][account] = false;
            emit RoleRevoked(role, account, msg.sender);
        }
    }

    function _computeDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(EIP712_DOMAIN, EIP712_NAME, EIP712_REVISION, block.chainid, address(this)));
    }

    /// OpenZeppelin AccessControl's revert text, so role failures read the same as on mainnet.
    function _missingRoleMessage(bytes32 role, address account) private pure returns (string memory) {
        return string(
            abi.encodePacked(
                "AccessControl: account ", _toHex(abi.encodePacked(account)), " is missing role ",
                _toHex(abi.encodePacked(role))
            )
        );
    }

    function _toHex(bytes memory data) private pure returns (string memory) {
        bytes memory alphabet = "0123456789abcdef";
        bytes memory out = new bytes(2 + data.length * 2);
        out[0] = "0";
        out[1] = "x";
        for (uint256 i = 0; i < data.length; i++) {
            out[2 + i * 2] = alphabet[uint8(data[i] >> 4)];
            out[3 + i * 2] = alphabet[uint8(data[i] & 0x0f)];
        }
        return string(out);
    }

    function _safeTransfer(address token, address to, uint256 amount) private {
        (bool success, bytes memory data) = token.call(abi.encodeWithSelector(0xa9059cbb, to, amount));
        if (!success || (data.length != 0 && !abi.decode(data, (bool)))) revert TransferFailed();
    }

    function _safeTransferFrom(address token, address from, address to, uint256 amount) private {
        (bool success, bytes memory data) = token.call(abi.encodeWithSelector(0x23b872dd, from, to, amount));
        if (!success || (data.length != 0 && !abi.decode(data, (bool)))) revert TransferFailed();
    }
}
