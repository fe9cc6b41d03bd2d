"""Evaluators without a network, following the contract of DESIGN.md.

`evaluate(states) -> (priors [B, num_distinct_actions] masked and summing to 1 over the legal actions,
values [B] for the player to move)`. Values are in the game's own units, like the exact terminal values
the search reads, so the two mix in one tree. `RandomRolloutEvaluator.value(state, player)` is also an
alpha-beta leaf evaluation (scaled into [-1, 1]).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyspiel

from envs import utility_scale
from search.mcts import RandomRollout


def uniform_priors(states: Sequence[pyspiel.State], num_actions: int) -> np.ndarray:
    """Uniform over each state's legal actions, zero elsewhere: float32 [B, num_actions]."""
    priors = np.zeros((len(states), num_actions), dtype=np.float32)
    for b, state in enumerate(states):
        legal = state.legal_actions()
        priors[b, legal] = 1.0 / len(legal)
    return priors


class UniformEvaluator:
    """Uniform prior over the legal actions and value 0: PUCT then searches on terminal values alone."""

    def __init__(self, game: pyspiel.Game) -> None:
        self.num_actions = game.num_distinct_actions()

    def evaluate(self, states: Sequence[pyspiel.State]) -> tuple[np.ndarray, np.ndarray]:
        return uniform_priors(states, self.num_actions), np.zeros(len(states), dtype=np.float32)


class RandomRolloutEvaluator:
    """Uniform prior; value = mean return of `num_rollouts` uniform random playouts, run in C++."""

    def __init__(self, game: pyspiel.Game, num_rollouts: int = 1, seed: int = 0) -> None:
        self.num_actions = game.num_distinct_actions()
        self.num_rollouts = num_rollouts
        self.scale = 1.0 / utility_scale(game)
        self.rollout = RandomRollout(game, seed)
        self.num_players = game.num_players()

    def mean_returns(self, state: pyspiel.State) -> np.ndarray:
        """Mean returns per player over the rollouts from `state` (left unchanged)."""
        total = np.zeros(self.num_players)
        for _ in range(self.num_rollouts):
            total += self.rollout(state.clone())
        return total / self.num_rollouts

    def evaluate(self, states: Sequence[pyspiel.State]) -> tuple[np.ndarray, np.ndarray]:
        values = np.array([self.mean_returns(s)[s.current_player()] for s in states], dtype=np.float32)
        return uniform_priors(states, self.num_actions), values

    def value(self, state: pyspiel.State, player: int) -> float:
        """Alpha-beta leaf evaluation: the rollouts' mean return for `player`, scaled into [-1, 1]."""
        return float(self.mean_returns(state)[player] * self.scale)
