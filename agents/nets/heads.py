"""Heads on a feature vector: masked policy logits, a value (one output or several), a pointer over entities.

Masked logits get the dtype's minimum (`mask_logits`), so softmax gives them probability 0 and argmax
never picks them. The pointer head scores each entity by a scaled dot product of a projected query with
the projected entity (attention's scores, without the weighted sum); a row with no legal entity gets all
logits at the minimum, a uniform softmax rather than NaN.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from agents.nets.mlp import mask_logits


class PolicyHead(nn.Module):
    """Features `[..., in_size]`, optional legal mask `[..., A]` -> logits `[..., A]` (A = num_actions)."""

    def __init__(self, in_size: int, num_actions: int):
        super().__init__()
        self.linear = nn.Linear(in_size, num_actions)

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.linear(features)
        return logits if mask is None else mask_logits(logits, mask.bool())


class ValueHead(nn.Module):
    """Features `[..., in_size]` -> value `[...]` (one output) or `[..., outputs]` (several).

    `hidden`: a hidden ReLU layer of that width first (0: one linear layer). No squashing: a learner
    that wants values in [-1, 1] applies tanh itself.
    """

    def __init__(self, in_size: int, outputs: int = 1, hidden: int = 0):
        super().__init__()
        self.outputs = outputs
        if hidden:
            self.layers: nn.Module = nn.Sequential(
                nn.Linear(in_size, hidden), nn.ReLU(), nn.Linear(hidden, outputs)
            )
        else:
            self.layers = nn.Linear(in_size, outputs)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        value = self.layers(features)
        return value.squeeze(-1) if self.outputs == 1 else value


class PointerHead(nn.Module):
    """Query `[B, query_size]`, entities `[B, N, entity_size]`, mask `[B, N]` -> entity logits `[B, N]`."""

    def __init__(self, query_size: int, entity_size: int, key_size: int = 64):
        super().__init__()
        self.query = nn.Linear(query_size, key_size)
        self.key = nn.Linear(entity_size, key_size, bias=False)  # a key bias shifts every score alike
        self.scale = 1.0 / math.sqrt(key_size)

    def forward(
        self, query: torch.Tensor, entities: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        q = self.query(query).unsqueeze(-2)
        k = self.key(entities)
        logits = (k * q).sum(-1) * self.scale
        return logits if mask is None else mask_logits(logits, mask.bool())
