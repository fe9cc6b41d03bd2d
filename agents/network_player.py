"""A player that acts from a network's action scores (Q-values or logits), on gym envs and on games.

Shared by the value-based and policy-based learners: it encodes the input (a gymnasium observation, or a
pyspiel state from the view of the player to move), masks illegal actions and takes the argmax, or samples
from the softmax when `sample` is set.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from envs import is_game
from envs.encoding import encoder_for, legal_mask
from envs.spaces import flatten_observation


def observation_shape(env: Any) -> tuple[int, ...]:
    """The shape of what the network sees for `env`."""
    if is_game(env):
        return encoder_for(env).shape
    from envs.spaces import flat_size

    return (flat_size(env.observation_space),)


def num_actions(env: Any) -> int:
    if is_game(env):
        return env.num_distinct_actions()
    from envs.spaces import require_discrete_actions

    return require_discrete_actions(env.action_space)


class NetworkPlayer:
    """Acts greedily (or by sampling) from `network(obs) -> scores over actions`, illegal actions masked."""

    def __init__(self, network: torch.nn.Module, env: Any, device: str | torch.device = "cpu",
                 sample: bool = False, seed: int = 0):
        self.network = network.to(device).eval()
        self.device = torch.device(device)
        self.game = env if is_game(env) else None
        self.space = None if self.game is not None else env.observation_space
        self.sample = sample
        self.rng = np.random.default_rng(seed)

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def encode(self, x: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """What the network sees of one input (a state from its mover's view, or a flattened observation)
        and the legal mask (None on a gym env)."""
        if self.game is not None:
            obs = encoder_for(self.game)(x, x.current_player())
            return obs, legal_mask(x, self.game.num_distinct_actions())
        return flatten_observation(self.space, x), None

    def scores(self, x: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """The network's scores for one input and the legal mask (None on a gym env)."""
        obs, mask = self.encode(x)
        with torch.inference_mode():
            out = self.network(torch.as_tensor(obs, device=self.device).unsqueeze(0))[0].float().cpu().numpy()
        return out, mask

    def act(self, x: Any) -> int:
        scores, mask = self.scores(x)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        if self.sample:
            p = np.exp(scores - scores.max())
            return int(self.rng.choice(len(p), p=p / p.sum()))
        return int(np.argmax(scores))
