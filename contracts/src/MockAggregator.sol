// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.20;

/// @title Chainlink AggregatorV3Interface-compatible price feed with a settable round.
/// @notice Written for the hedger test chain (our own code, same read interface as Chainlink's
/// `AggregatorV3Interface`: decimals, description, version, latestRoundData, getRoundData). The
/// owner sets the answer and its timestamp, so tests can produce fresh, stale, zero and negative
/// rounds. Not audited, not for real funds.
contract MockAggregator {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
        uint80 answeredInRound;
    }

    uint8 public immutable decimals;
    string public description;
    uint256 public constant version = 4;
    address public immutable owner;
    uint80 public latestRound;
    mapping(uint80 => Round) private _rounds;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    error OnlyOwner();
    error NoDataPresent();

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
        decimals = decimals_;
        description = description_;
        owner = msg.sender;
        _setRound(initialAnswer, block.timestamp);
    }

    /// New round with the answer stamped now.
    function updateAnswer(int256 answer) external {
        if (msg.sender != owner) revert OnlyOwner();
        _setRound(answer, block.timestamp);
    }

    /// New round with an explicit `updatedAt` (0 or old values make stale rounds).
    function updateRoundData(int256 answer, uint256 updatedAt) external {
        if (msg.sender != owner) revert OnlyOwner();
        _setRound(answer, updatedAt);
    }

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return getRoundData(latestRound);
    }

    function getRoundData(uint80 roundId)
        public
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round memory round = _rounds[roundId];
        if (round.answeredInRound == 0) revert NoDataPresent();
        return (roundId, round.answer, round.startedAt, round.updatedAt, round.answeredInRound);
    }

    function latestAnswer() external view returns (int256) {
        return _rounds[latestRound].answer;
    }

    function _setRound(int256 answer, uint256 updatedAt) private {
        latestRound += 1;
        _rounds[latestRound] = Round(answer, updatedAt, updatedAt, latestRound);
        emit AnswerUpdated(answer, latestRound, updatedAt);
    }
}
