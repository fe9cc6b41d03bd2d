"""league/elo.py: the per-player prior keeps long chains of sparsely connected players at their span
and perfect scores finite (the tournament-level Elo tests are in tests/test_arena.py)."""

from __future__ import annotations

import numpy as np
import pytest

from league.elo import ELO_SCALE, bootstrap_intervals, elo_ratings, rate_players


def expected_score(a: float, b: float) -> float:
    return 1.0 / (1.0 + 10.0 ** ((b - a) / 400.0))


def snapshot_chain(snapshots: int = 50, gap: float = 30.0) -> tuple[np.ndarray, list]:
    """How AlphaZero's snapshots are rated: the anchor (index 0) and `snapshots` players, each truly `gap`
    above the one before (the first level with the anchor), each playing 20 games against the anchor and
    10 against each of its two predecessors; every game scores the Elo model's expected score."""
    true = np.concatenate([[0.0], gap * np.arange(snapshots)])
    results = []
    for k in range(1, snapshots + 1):
        results += [(k, 0, expected_score(true[k], true[0]))] * 20
        for j in (k - 1, k - 2):
            if j >= 1:
                results += [(k, j, expected_score(true[k], true[j]))] * 10
    return true, results


def test_a_chain_of_snapshots_keeps_its_span():
    # A prior of virtual draws between every two players pulled the last snapshot to about +409.
    true, results = snapshot_chain()
    ratings = elo_ratings(len(true), results, anchor=0)
    assert true[-1] == 1470.0 and ratings[0] == 0.0
    assert 0.9 * true[-1] <= ratings[-1] <= 1.1 * true[-1]
    assert np.all(np.diff(ratings[1:]) > 0)  # the order of the snapshots is kept


def test_a_perfect_score_stays_finite_and_sensible():
    gap = elo_ratings(2, [(0, 1, 1.0)] * 40, anchor=1)[0]
    assert np.isfinite(gap) and 600 < gap < 1600
    # The fit is the prior's: with prior_draws d against a virtual opponent midway between the two, the
    # winner's 40 (1 - p(gap)) excess equals the pull d (p(gap / 2) - 1/2) of its virtual draws.
    x, d = gap / ELO_SCALE, 0.05
    assert 40.0 / (1.0 + np.exp(x)) == pytest.approx(d * (1.0 / (1.0 + np.exp(-x / 2)) - 0.5), rel=1e-6)
    assert elo_ratings(2, [(0, 1, 1.0)] * 40, anchor=1, prior_draws=d)[0] == pytest.approx(gap, abs=1e-9)
    # More virtual draws, a smaller gap; a perfect score against a wider field stays finite too.
    assert elo_ratings(2, [(0, 1, 1.0)] * 40, anchor=1, prior_draws=1.0)[0] < gap
    results = [(1, 0, 1.0)] * 10 + [(2, 1, 1.0)] * 10 + [(2, 0, 1.0)] * 10
    ratings = rate_players(["random", "a", "b"], results, samples=100)
    for r in ratings.values():
        assert all(np.isfinite(v) for v in r.values())
    assert 0.0 == ratings["random"]["elo"] < ratings["a"]["elo"] < ratings["b"]["elo"] < 3000


def test_players_who_never_met_stay_finite():
    # two pairs that never met and a player with no games: finite, and alike where the data are alike
    results = [(0, 1, 1.0)] * 3 + [(0, 1, 0.0)] + [(2, 3, 1.0)] * 3 + [(2, 3, 0.0)]
    ratings = elo_ratings(5, results)
    assert np.all(np.isfinite(ratings)) and ratings.sum() == pytest.approx(0.0, abs=1e-9)
    assert ratings[[0, 1]] == pytest.approx(ratings[[2, 3]], abs=1e-6)
    assert ratings[1] < ratings[4] < ratings[0]
    low, high = bootstrap_intervals(5, results, samples=50)
    assert np.all(np.isfinite(low)) and np.all(np.isfinite(high))
