"""A player that acts from a network's action scores (Q-values or logits), on gym envs and on games.

Shared by the value-based and policy-based learners: it encodes the input (a gymnasium observation, a
pyspiel state from the view of the player to move, or a PettingZoo agent's observation with its seat),
masks illegal actions and takes the argmax, or samples from the softmax when `sample` is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from envs import is_game, is_pettingzoo
from envs.encoding import encoder_for, legal_mask
from envs.spaces import flatten_observation
from envs.turn_based import acting_seat


def observation_shape(env: Any) -> tuple[int, ...]:
    """The shape of what the network sees for `env`."""
    if is_game(env):
        return encoder_for(env).shape
    if is_pettingzoo(env):
        from envs.pettingzoo import ObservationEncoder

        return ObservationEncoder(env).shape
    from envs.spaces import flat_size

    return (flat_size(env.observation_space),)


def num_actions(env: Any) -> int:
    if is_game(env):
        return env.num_distinct_actions()
    if is_pettingzoo(env):
        from envs import pettingzoo

        return pettingzoo.num_actions(env)
    from envs.spaces import require_discrete_actions

    return require_discrete_actions(env.action_space)


def mask_from_info(mask: np.ndarray | None, info: dict | None) -> np.ndarray | None:
    """`mask`, or when there is none the PettingZoo agent's `info["action_mask"]` (as bools), or None."""
    if mask is None and info and "action_mask" in info:
        return np.asarray(info["action_mask"]).astype(bool)
    return mask


class NetworkPlayer:
    """Acts greedily (or by sampling) from `network(obs) -> scores over actions`, illegal actions masked."""

    def __init__(self, network: torch.nn.Module, env: Any, device: str | torch.device = "cpu",
                 sample: bool = False, seed: int = 0):
        self.network = network.to(device).eval()
        self.device = torch.device(device)
        self.game = env if is_game(env) else None
        self.agents_encoder = None  # on a PettingZoo env: its observations with the agent's seat
        if is_pettingzoo(env):
            from envs.pettingzoo import ObservationEncoder

            self.agents_encoder = ObservationEncoder(env)
        self.space = None if self.game is not None or self.agents_encoder else env.observation_space
        self.sample = sample
        self.rng = np.random.default_rng(seed)
        self.seat = 0

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.seat = player_id

    def encode(self, x: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """What the network sees of one input (a state from its mover's view, a flattened observation, or a
        PettingZoo observation with this player's seat) and the legal mask (None on a gym env, and on a
        PettingZoo env whose observation holds none: `act` then reads it from `info`)."""
        if self.agents_encoder is not None:
            from envs.pettingzoo import split_observation

            return self.agents_encoder(x, self.seat), split_observation(x, None)[1]
        if self.game is not None:
            seat = acting_seat(x, self.seat)
            return encoder_for(self.game)(x, seat), legal_mask(x, self.game.num_distinct_actions(), seat)
        return flatten_observation(self.space, x), None

    def scores(self, x: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """The network's scores for one input and the legal mask (None on a gym env)."""
        obs, mask = self.encode(x)
        with torch.inference_mode():
            out = self.network(torch.as_tensor(obs, device=self.device).unsqueeze(0))[0].float().cpu().numpy()
        return out, mask

    def act(self, x: Any, info: dict | None = None) -> int:
        """The best (or a sampled) legal action for `x`; on a PettingZoo env, `x` and `info` are what the
        agent's `last()` gives (the mask in the observation dict or in `info`)."""
        scores, mask = self.scores(x)
        return self.choose(scores, mask_from_info(mask, info), self.rng)

    def choose(self, scores: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator) -> int:
        """The legal action of highest score, or one sampled from the softmax of the legal scores."""
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        if self.sample:
            p = np.exp(scores - scores.max())
            return int(rng.choice(len(p), p=p / p.sum()))
        return int(np.argmax(scores))

    def reset_batch(self, game: Any, player_ids: Sequence[int], seeds: Sequence[int]) -> None:
        """Start len(seeds) games of a turn-based game: slot k plays seat `player_ids[k]` with its own
        generator seeded `seeds[k]`, as `reset` would for one game."""
        self.slot_seats = list(player_ids)
        self.slot_rngs = [np.random.default_rng(seed) for seed in seeds]

    def act_batch(self, states: Sequence[Any], slots: Sequence[int]) -> list[int]:
        """The actions in several games (slots of `reset_batch`), with one network call for all."""
        own_seat, encoded = self.seat, []
        for state, k in zip(states, slots, strict=True):
            self.seat = self.slot_seats[k]
            encoded.append(self.encode(state))
        self.seat = own_seat
        obs = torch.as_tensor(np.stack([obs for obs, _ in encoded]), device=self.device)
        with torch.inference_mode():
            out = self.network(obs).float().cpu().numpy()
        return [self.choose(row, mask, self.slot_rngs[k])
                for row, (_, mask), k in zip(out, encoded, slots, strict=True)]
