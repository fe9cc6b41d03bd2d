"""A policy-value network as a search evaluator (DESIGN.md's contract), for PUCT in AlphaZero, AlphaGo and
the league's searching players.

`evaluate(states)` encodes each state from its mover's view (`envs.encoding`), runs the network once on
the batch, and returns the softmax of the logits masked to the legal actions and the values in the
game's own units (the network's values are in [-1, 1]; `envs.utility_scale` maps them back), so they mix
with the exact terminal values the search reads. Any `torch.nn.Module` whose forward returns
`(logits [B, A], values [B])` will do. On a GPU it may run in bfloat16 autocast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyspiel
import torch

from envs import utility_scale
from envs.encoding import encoder_for


def autocast(device: torch.device, enabled: bool) -> Any:
    """bfloat16 autocast on a GPU when enabled; a no-op context elsewhere."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled and device.type == "cuda")


class NetworkEvaluator:
    """The evaluator contract for search: priors = softmax of the masked logits, values in game units."""

    def __init__(
        self,
        network: torch.nn.Module,
        game: pyspiel.Game,
        device: str | torch.device = "cpu",
        amp: bool = False,
    ):
        self.network = network
        self.game = game
        self.device = torch.device(device)
        self.amp = amp
        self.encoder = encoder_for(game)
        self.num_actions = game.num_distinct_actions()
        self.scale = utility_scale(game)

    def encode(self, states: Sequence[pyspiel.State]) -> tuple[np.ndarray, np.ndarray]:
        """Observations [B, *shape] from each mover's view, and legal masks [B, A]."""
        obs = np.zeros((len(states), *self.encoder.shape), dtype=np.float32)
        masks = np.zeros((len(states), self.num_actions), dtype=bool)
        for b, state in enumerate(states):
            self.encoder.encode_into(state, state.current_player(), obs[b])
            masks[b, state.legal_actions()] = True
        return obs, masks

    def evaluate(self, states: Sequence[pyspiel.State]) -> tuple[np.ndarray, np.ndarray]:
        obs, masks = self.encode(states)
        was_training = self.network.training
        self.network.eval()
        with torch.inference_mode(), autocast(self.device, self.amp):
            logits, values = self.network(torch.from_numpy(obs).to(self.device))
            mask = torch.from_numpy(masks).to(self.device)
            logits = logits.float().masked_fill(~mask, torch.finfo(torch.float32).min)
            priors = torch.softmax(logits, dim=-1).masked_fill(~mask, 0.0)
        if was_training:
            self.network.train()
        return priors.cpu().numpy(), values.float().cpu().numpy() * self.scale
