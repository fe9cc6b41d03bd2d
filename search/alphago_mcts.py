"""AlphaGo's search: PUCT (search/puct.py's BatchedPUCT, unchanged) with an evaluator that mixes the
networks and the rollouts, `AlphaGoEvaluator`.

The priors are the SL policy's softmax over the legal moves; a leaf's value is `(1 - mix) * v + mix * z`,
v the value network's estimate and z the outcome of one rollout of the fast policy
(search/rollout_policy.py) from the leaf, both for the player to move (`mix` is the paper's lambda).
BatchedPUCT hands the evaluator the leaves of all the trees of a batch at once (many games, and several
leaves per tree with virtual loss), so each network runs once per call and the rollouts of all those
leaves are one batch. `mix=0` runs no rollouts, `mix=1` no value network. Terminal leaves never reach the
evaluator: the search scores them exactly. The rollouts' seeds come from the evaluator's own stream, so a
game's search depends on the other games in its batch (unlike the networks' values).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from envs.errors import UsageError
from search.network_evaluator import NetworkEvaluator


class AlphaGoEvaluator:
    """The search's leaf evaluator: priors from the SL policy, value `(1 - mix) * value_net + mix *
    rollout outcome`; one network call per network for all the leaves, their rollouts in one batch."""

    def __init__(self, policy: torch.nn.Module, value: torch.nn.Module | None, rollout: Any, game: Any,
                 mix: float, device: str | torch.device = "cpu", seed: int = 0):
        if mix < 1 and value is None:
            raise UsageError("lambda < 1 needs the value network: train --stage value first")
        if mix > 0 and rollout is None:
            raise UsageError("lambda > 0 needs the rollout policy: train --stage rollout first")
        self.policy = NetworkEvaluator(policy.to(device).eval(), game, device)
        use_value = value is not None and mix < 1
        self.value = NetworkEvaluator(value.to(device).eval(), game, device) if use_value else None
        self.rollout, self.mix = rollout, mix
        self.rng = np.random.default_rng(seed)
        self.calls = self.leaves = 0

    def evaluate(self, states: Any) -> tuple[np.ndarray, np.ndarray]:
        priors, _ = self.policy.evaluate(states)
        values = np.zeros(len(states))
        if self.value is not None:
            values += (1 - self.mix) * self.value.evaluate(states)[1]
        if self.mix > 0:
            seeds = self.rng.integers(2**63, size=len(states))
            values += self.mix * self.rollout.rollout(states, seeds)
        self.calls += 1
        self.leaves += len(states)
        return priors, values
