// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.20;

/// @title Minimal ERC-20 base used by the test tokens and the USDe-like token.
/// @notice Written for the hedger test chain; not audited, not for real funds.
abstract contract BaseERC20 {
    string public name;
    string public symbol;
    uint8 public immutable decimals;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    error InsufficientBalance();
    error InsufficientAllowance();
    error ZeroAddressException();

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _transfer(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        _spendAllowance(from, msg.sender, amount);
        _transfer(from, to, amount);
        return true;
    }

    function _spendAllowance(address owner, address spender, uint256 amount) internal {
        uint256 allowed = allowance[owner][spender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientAllowance();
            allowance[owner][spender] = allowed - amount;
        }
    }

    function _transfer(address from, address to, uint256 amount) internal {
        if (to == address(0)) revert ZeroAddressException();
        uint256 balance = balanceOf[from];
        if (balance < amount) revert InsufficientBalance();
        balanceOf[from] = balance - amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }

    function _mint(address to, uint256 amount) internal {
        if (to == address(0)) revert ZeroAddressException();
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function _burn(address from, uint256 amount) internal {
        uint256 balance = balanceOf[from];
        if (balance < amount) revert InsufficientBalance();
        balanceOf[from] = balance - amount;
        totalSupply -= amount;
        emit Transfer(from, address(0), amount);
    }
}

/// @title USDe-like stablecoin: 18 decimals, a single minter (the minting contract) set by the
/// owner, burnable by holders and by approved spenders (redeem uses burnFrom).
contract USDe is BaseERC20 {
    address public owner;
    address public minter;

    event MinterUpdated(address indexed newMinter, address indexed oldMinter);

    error OnlyMinter();
    error OnlyOwner();

    constructor(address admin) BaseERC20("USDe", "USDe", 18) {
        if (admin == address(0)) revert ZeroAddressException();
        owner = admin;
    }

    function setMinter(address newMinter) external {
        if (msg.sender != owner) revert OnlyOwner();
        emit MinterUpdated(newMinter, minter);
        minter = newMinter;
    }

    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert OnlyMinter();
        _mint(to, amount);
    }

    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    function burnFrom(address account, uint256 amount) external {
        _spendAllowance(account, msg.sender, amount);
        _burn(account, amount);
    }
}

/// @title Freely mintable test token (USDT/USDC with 6 decimals, stETH with 18).
contract MockERC20 is BaseERC20 {
    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        BaseERC20(name_, symbol_, decimals_)
    {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// @title WETH9-like wrapper: deposit ETH for WETH, withdraw WETH for ETH.
contract MockWETH is BaseERC20 {
    error EthTransferFailed();

    constructor() BaseERC20("Wrapped Ether", "WETH", 18) {}

    receive() external payable {
        deposit();
    }

    function deposit() public payable {
        _mint(msg.sender, msg.value);
    }

    function withdraw(uint256 amount) external {
        _burn(msg.sender, amount);
        (bool sent,) = msg.sender.call{value: amount}("");
        if (!sent) revert EthTransferFailed();
    }
}
