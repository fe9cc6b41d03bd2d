"""Elo ratings from game results, with 95% intervals, and the payoff matrix.

A result is `(i, j, score)`: player i scored `score` (1 win, 0.5 draw, 0 loss) against player j.
Ratings maximise the likelihood of the scores under the Elo model,
`P(i beats j) = 1 / (1 + 10 ** ((R_j - R_i) / 400))` (a draw counts as half a win, as in Elo), with a weak
prior on each player: `prior_draws` (0.05) virtual draws against one virtual opponent, whose rating is
fitted with the others' and then dropped. Without a prior a perfect score rates infinitely far above the
loser, and players who never met, directly or through others, are not tied at all; with it every player
is tied to the virtual opponent, so 40 wins in 40 games rate about 1,290 above the loser (the games alone
rule out only gaps below about 400), and the log-likelihood is strictly concave: Newton's method finds
its maximum in a few steps.

The prior is per player, not per pair. Virtual draws between every two players (what this module did
before 2026-12-01), or between every two who played, pull each pair together with up to half a game per
draw however far apart they are, and along a chain of players who each meet only a few others (how
AlphaZero's snapshots are rated: games against `mcts:N` and the two snapshots before) those pulls add
up: 50 snapshots 1,470 Elo apart were rated 409 apart (786 with one draw on each pair that played).
One virtual opponent pulls each player by at most half a game per virtual draw, so a few hundredths of
a draw per player leave that chain's span within 5% (1,400; tests/test_elo.py) and still keep perfect
scores finite.

Ratings are shifted so that `random` is 0 when it plays (else the mean is 0). The 95% interval of each
rating comes from a bootstrap over games: the games of each pair are resampled with replacement and the
ratings fitted again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ELO_SCALE = 400.0 / np.log(10.0)  # rating points per natural-log unit of the odds
Result = tuple[int, int, float]
PRIOR_DRAWS = 0.05  # virtual draws per player against the virtual opponent


def _totals(n: int, results: Sequence[Result]) -> tuple[np.ndarray, np.ndarray]:
    """Games played `G[i, j]` and score `S[i, j]` of i against j."""
    games = np.zeros((n, n))
    scores = np.zeros((n, n))
    for i, j, s in results:
        games[i, j] += 1
        games[j, i] += 1
        scores[i, j] += s
        scores[j, i] += 1.0 - s
    return games, scores


def fit_ratings(
    n: int, games: np.ndarray, scores: np.ndarray, anchor: int | None = None, prior_draws: float = PRIOR_DRAWS
) -> np.ndarray:
    """Maximum-likelihood Elo ratings from the totals, each player with `prior_draws` virtual draws
    against a virtual opponent whose rating is fitted with the others."""
    if prior_draws <= 0:
        raise ValueError(f"prior_draws must be positive, not {prior_draws}")
    if n == 1:
        return np.zeros(1)
    m = n + 1  # the players and, last, the virtual opponent
    G = np.zeros((m, m))
    S = np.zeros((m, m))
    G[:n, :n], S[:n, :n] = games, scores
    G[:n, n] = G[n, :n] = prior_draws
    S[:n, n] = S[n, :n] = 0.5 * prior_draws
    x = np.zeros(m)  # ratings in natural-log units
    fixed = anchor if anchor is not None else 0
    free = np.array([k for k in range(m) if k != fixed])

    def log_likelihood(x: np.ndarray) -> float:
        d = x[:, None] - x[None, :]
        return float(np.sum(S * -np.logaddexp(0.0, -d)))  # sum of S_ij log p_ij over ordered pairs

    current = log_likelihood(x)
    for _ in range(100):
        d = x[:, None] - x[None, :]
        p = 1.0 / (1.0 + np.exp(-d))
        gradient = (S - G * p).sum(axis=1)
        w = G * p * (1.0 - p)
        hessian = w - np.diag(w.sum(axis=1))  # negative definite on the free ratings
        step = np.zeros(m)
        step[free] = np.linalg.solve(hessian[np.ix_(free, free)], -gradient[free])
        size = 1.0
        while True:  # Newton with step halving: the likelihood never goes down
            candidate = x + size * step
            value = log_likelihood(candidate)
            if value >= current - 1e-12 or size < 1e-6:
                break
            size /= 2
        x, improvement, current = candidate, value - current, value
        if np.max(np.abs(size * step)) < 1e-9 or abs(improvement) < 1e-12:
            break
    x = x[:n] - (x[anchor] if anchor is not None else x[:n].mean())
    return x * ELO_SCALE


def elo_ratings(
    n: int, results: Sequence[Result], anchor: int | None = None, prior_draws: float = PRIOR_DRAWS
) -> np.ndarray:
    """Ratings of players 0..n-1, `anchor` (if given) at 0, else mean 0."""
    games, scores = _totals(n, results)
    return fit_ratings(n, games, scores, anchor, prior_draws)


def bootstrap_intervals(
    n: int,
    results: Sequence[Result],
    anchor: int | None = None,
    prior_draws: float = PRIOR_DRAWS,
    samples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) rating bounds at `level`: games resampled with replacement within each pair."""
    rng = np.random.default_rng(seed)
    by_pair: dict[tuple[int, int], list[float]] = {}
    for i, j, s in results:
        key, score = ((i, j), s) if i < j else ((j, i), 1.0 - s)
        by_pair.setdefault(key, []).append(score)
    pairs = [(key, np.asarray(scores)) for key, scores in by_pair.items()]
    draws = np.empty((samples, n))
    for b in range(samples):
        games = np.zeros((n, n))
        scores = np.zeros((n, n))
        for (i, j), pair_scores in pairs:
            total = float(rng.choice(pair_scores, size=len(pair_scores), replace=True).sum())
            games[i, j] = games[j, i] = len(pair_scores)
            scores[i, j], scores[j, i] = total, len(pair_scores) - total
        draws[b] = fit_ratings(n, games, scores, anchor, prior_draws)
    tail = (1.0 - level) / 2 * 100
    return np.percentile(draws, tail, axis=0), np.percentile(draws, 100 - tail, axis=0)


def payoff_matrix(n: int, results: Sequence[Result]) -> list[list[float | None]]:
    """`payoff[i][j]`: mean score of i against j over their games; None on the diagonal and where unplayed."""
    games, scores = _totals(n, results)
    return [
        [None if i == j or games[i, j] == 0 else float(scores[i, j] / games[i, j]) for j in range(n)]
        for i in range(n)
    ]


def rate_players(
    names: Sequence[str],
    results: Sequence[Result],
    anchor_name: str = "random",
    prior_draws: float = PRIOR_DRAWS,
    samples: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """`{name: {"elo", "low", "high"}}` with `anchor_name` at 0 when it is among the players."""
    names = list(names)
    anchor = names.index(anchor_name) if anchor_name in names else None
    ratings = elo_ratings(len(names), results, anchor, prior_draws)
    low, high = bootstrap_intervals(len(names), results, anchor, prior_draws, samples, seed)
    return {
        name: {"elo": float(ratings[k]), "low": float(low[k]), "high": float(high[k])}
        for k, name in enumerate(names)
    }


def format_table(ratings: dict[str, dict[str, float]], payoff: list[list[float | None]]) -> str:
    """The Elo table (best first) and the payoff matrix, as text."""
    names = list(ratings)
    width = max(8, *(len(n) for n in names)) + 2
    lines = [f"{'player':<{width}}{'elo':>8}{'95% interval':>20}"]
    for name in sorted(names, key=lambda n: -ratings[n]["elo"]):
        r = ratings[name]
        interval = f"[{round(r['low'])}, {round(r['high'])}]"
        lines.append(f"{name:<{width}}{round(r['elo']):>8}{interval:>20}")
    column = max(7, *(len(n) for n in names)) + 1
    lines += ["", "payoff (score of the row player against the column player):"]
    lines.append(" " * width + "".join(f"{n:>{column}}" for n in names))
    for name, row in zip(names, payoff, strict=True):
        cells = "".join(f"{'-' if v is None else format(v, '.2f'):>{column}}" for v in row)
        lines.append(f"{name:<{width}}{cells}")
    return "\n".join(lines)
