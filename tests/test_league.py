"""The AlphaStar league's rules (league/league.py), each against hand-computed cases and a seeded RNG."""

from __future__ import annotations

import collections
import json

import numpy as np
import pytest

from league.league import (
    DECAY,
    League,
    LeagueConfig,
    Payoff,
    pfsp,
    remove_monotonic_suffix,
)


def test_pfsp_weightings_and_the_uniform_fallback():
    x = np.array([0.2, 0.5, 0.9])
    np.testing.assert_allclose(pfsp(x, "squared"), (1 - x) ** 2 / ((1 - x) ** 2).sum())
    np.testing.assert_allclose(pfsp(x, "variance"), x * (1 - x) / (x * (1 - x)).sum())
    np.testing.assert_allclose(pfsp(x, "linear"), (1 - x) / (1 - x).sum())
    capped = np.minimum(0.5, 1 - x)
    np.testing.assert_allclose(pfsp(x, "linear_capped"), capped / capped.sum())
    np.testing.assert_allclose(pfsp([1.0, 1.0, 1.0, 1.0], "squared"), [0.25] * 4)  # weights sum to 0
    np.testing.assert_allclose(pfsp([0.0, 1.0], "variance"), [0.5, 0.5])


def test_payoff_decays_both_entries_before_adding_a_result():
    payoff = Payoff()
    assert payoff.win_rate("a", "b") == 0.5
    payoff.update("a", "b", "win")
    payoff.update("a", "b", "draw")
    # games: 1 * 0.99 + 1; a's wins: 0.99; draws: 1
    assert payoff.stats[("a", "b")] == pytest.approx([DECAY + 1, DECAY, 1.0, 0.0])
    assert payoff.stats[("b", "a")] == pytest.approx([DECAY + 1, 0.0, 1.0, DECAY])
    assert payoff.win_rate("a", "b") == pytest.approx((DECAY + 0.5) / (DECAY + 1))
    assert payoff.win_rate("b", "a") == pytest.approx(0.5 / (DECAY + 1))
    payoff.update("b", "a", "loss")
    assert payoff.stats[("a", "b")][0] == pytest.approx((DECAY + 1) * DECAY + 1)
    with pytest.raises(ValueError):
        payoff.update("a", "b", "lose")


def test_remove_monotonic_suffix():
    assert remove_monotonic_suffix([0.2, 0.5, 0.4, 0.3], "abcd") == ([0.2, 0.5], ["a", "b"])
    assert remove_monotonic_suffix([0.5, 0.4, 0.3], "abc") == ([], [])
    assert remove_monotonic_suffix([0.3, 0.4], "ab") == ([0.3, 0.4], ["a", "b"])
    assert remove_monotonic_suffix([0.6], "a") == ([], [])
    assert remove_monotonic_suffix([], []) == ([], [])


def branches(league: League, name: str, n: int = 2000) -> collections.Counter:
    return collections.Counter(league.get_match(name).branch for _ in range(n))


def beat(league: League, home: str, away: str, wins: int, losses: int) -> None:
    for _ in range(wins):
        league.update(home, away, "win")
    for _ in range(losses):
        league.update(home, away, "loss")


def test_a_new_league_and_its_main_agents_branches():
    league = League(LeagueConfig(), seed=0)
    assert league.learning() == ["main_0", "main_exploiter_0", "league_exploiter_0", "league_exploiter_1"]
    assert league.frozen() == ["main_0_v0"]  # the main agent's initial weights enter frozen
    counts = branches(league, "main_0")
    # no exploiter snapshots, one main snapshot (no suffix left to check): pfsp half, self-play the rest
    assert set(counts) == {"pfsp", "selfplay"} and abs(counts["pfsp"] / 2000 - 0.5) < 0.04
    beat(league, "main_0", "main_0", 0, 10)  # against itself a player's win rate stays 0.5
    assert league.payoff.win_rate("main_0", "main_0") == 0.5
    league = League(LeagueConfig(main_agents=2), seed=0)
    beat(league, "main_0", "main_1", 0, 10)  # too strong an opponent: its snapshots as curriculum
    matches = [league.get_match("main_0") for _ in range(2000)]
    curriculum = {m.away for m in matches if m.branch == "selfplay_curriculum"}
    assert curriculum == {"main_1_v0"} and {m.away for m in matches if m.branch == "selfplay"} == {"main_0"}


def test_main_agent_verification_branches():
    league = League(LeagueConfig(), seed=1)
    league.add_steps("main_exploiter_0", 10)
    exploiter_snapshot = league.checkpoint("main_exploiter_0").frozen
    beat(league, "main_0", exploiter_snapshot, 1, 9)  # an exploiter's snapshot beats us
    counts = branches(league, "main_0")
    assert abs(counts["verification_exploiters"] / 2000 - 0.15) < 0.03
    # forgetting: two snapshots of the opponent, our win rate rose from the first to the second
    league = League(LeagueConfig(), seed=2)
    league.add_steps("main_0", 10)
    second = league.checkpoint("main_0").frozen
    beat(league, "main_0", "main_0_v0", 1, 3)  # 0.25 against the old one
    beat(league, "main_0", second, 3, 1)  # 0.75 against the newer one: the old one is forgotten
    matches = [league.get_match("main_0") for _ in range(2000)]
    forgetting = [m for m in matches if m.branch == "verification_forgetting"]
    assert abs(len(forgetting) / 2000 - 0.15) < 0.03 and {m.away for m in forgetting} == {"main_0_v0", second}
    assert all(m.selfplay == (m.branch == "selfplay") for m in matches)


def test_exploiters_matchmaking():
    league = League(LeagueConfig(), seed=3)
    assert set(branches(league, "main_exploiter_0", 200)) == {"exploit_main"}
    beat(league, "main_exploiter_0", "main_0", 0, 20)  # win rate 0 <= 0.1: the main agent's snapshots
    assert set(branches(league, "main_exploiter_0", 200)) == {"exploit_main_snapshots"}
    league.add_steps("main_0", 5)
    league.checkpoint("main_0")
    beat(league, "league_exploiter_0", "main_0_v0", 7, 3)  # it beats v0 more often: v1 is likelier
    frozen = league.frozen()
    expected = pfsp(league.payoff.win_rates("league_exploiter_0", frozen), "linear_capped")
    aways = collections.Counter(league.get_match("league_exploiter_0").away for _ in range(4000))
    np.testing.assert_allclose([aways[f] / 4000 for f in frozen], expected, atol=0.03)
    assert expected[1] > expected[0] > 0
    with pytest.raises(ValueError, match="frozen"):
        league.get_match("main_0_v0")


def test_checkpoint_rules_and_resets():
    config = LeagueConfig(min_steps=100, max_steps=300)
    league = League(config, seed=4)
    league.add_steps("main_0", 99)
    assert not league.ready_to_checkpoint("main_0")  # too soon, whatever it wins
    league.add_steps("main_0", 1)
    assert not league.ready_to_checkpoint("main_0")  # lowest win rate 0.5
    beat(league, "main_0", "main_0_v0", 9, 1)
    assert league.ready_to_checkpoint("main_0")  # above 0.7 against every frozen player
    assert league.checkpoint("main_0").reset is False
    assert not league.ready_to_checkpoint("main_0")
    league.add_steps("main_0", 301)
    assert league.ready_to_checkpoint("main_0")  # past max_steps
    league.add_steps("main_exploiter_0", 100)
    beat(league, "main_exploiter_0", "main_0", 8, 1)  # a main exploiter is judged against the main agents
    assert league.ready_to_checkpoint("main_exploiter_0")
    assert league.checkpoint("main_exploiter_0").reset is True  # always back to its initial weights
    resets = [league.checkpoint("league_exploiter_0").reset for _ in range(400)]
    assert 0.18 < np.mean(resets) < 0.32  # with probability 0.25


def test_a_saved_league_resumes_the_same_matchmaking():
    league = League(LeagueConfig(min_steps=10, max_steps=20), seed=5)
    rng = np.random.default_rng(0)
    for step in range(60):
        name = league.learning()[step % 4]
        match = league.get_match(name)
        league.update(match.home, match.away, ["win", "draw", "loss"][int(rng.integers(3))])
        league.add_steps(name, 3)
        if league.ready_to_checkpoint(name):
            league.checkpoint(name)
    resumed = League.from_state(json.loads(json.dumps(league.state())))
    assert resumed.state() == league.state()
    for step in range(40):
        name = league.learning()[step % 4]
        assert resumed.get_match(name) == league.get_match(name)
    assert resumed.log == league.log and len(league.frozen()) > 1
