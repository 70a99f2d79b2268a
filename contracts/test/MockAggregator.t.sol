// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.20;

import {MockAggregator} from "../src/MockAggregator.sol";

interface AggregatorVm {
    function warp(uint256 timestamp) external;
    function prank(address sender) external;
    function expectRevert(bytes4 selector) external;
}

/// The Chainlink-compatible read interface the chain gateway decodes (latestRoundData, decimals).
contract MockAggregatorTest {
    bool public IS_TEST = true;
    AggregatorVm private constant vm = AggregatorVm(address(uint160(uint256(keccak256("hevm cheat code")))));
    MockAggregator private feed;

    function setUp() public {
        vm.warp(1_700_000_000);
        feed = new MockAggregator(8, "USDT / USD", 100_010_000);
    }

    function test_initial_round_is_fresh() public view {
        (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            feed.latestRoundData();
        require(roundId == 1 && answeredInRound == 1, "round 1");
        require(answer == 100_010_000, "answer");
        require(updatedAt == 1_700_000_000 && startedAt == updatedAt, "stamped at deploy");
        require(feed.decimals() == 8, "decimals");
    }

    function test_rounds_advance_and_keep_history() public {
        feed.updateAnswer(99_000_000);
        feed.updateRoundData(0, 5);
        (uint80 roundId, int256 answer,, uint256 updatedAt,) = feed.latestRoundData();
        require(roundId == 3 && answer == 0 && updatedAt == 5, "explicit round");
        (, int256 second,,,) = feed.getRoundData(2);
        require(second == 99_000_000, "history");
        vm.expectRevert(MockAggregator.NoDataPresent.selector);
        feed.getRoundData(9);
    }

    function test_only_owner_sets_rounds() public {
        vm.prank(address(0xBAD));
        vm.expectRevert(MockAggregator.OnlyOwner.selector);
        feed.updateAnswer(1);
    }
}
