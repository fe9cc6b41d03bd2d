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
    """Features `[..., in_size]`, optional legal mask `[..., A]` -> logits `[..., A]` (A = num_actions).

    On planes `[B, C, H, W]` (`planes=(C, H, W)`), `conv` 1x1 filters, batch norm and ReLU come first, then
    the flattened planes go through the linear layer (AlphaGo Zero's policy head).
    """

    def __init__(self, in_size: int, num_actions: int, conv: int = 0, planes: tuple[int, ...] | None = None):
        super().__init__()
        self.layers = nn.Sequential(
            *_conv_stem(planes, conv), nn.Linear(_flat_size(in_size, planes, conv), num_actions)
        )

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.layers(features)
        return logits if mask is None else mask_logits(logits, mask.bool())


class ValueHead(nn.Module):
    """Features `[..., in_size]` -> value `[...]` (one output) or `[..., outputs]` (several).

    `hidden`: a hidden ReLU layer of that width first (0: one linear layer). `squash`: None (the learner
    applies what it wants) or "tanh" (values in [-1, 1]). On planes, `conv` as in `PolicyHead`.
    """

    def __init__(
        self,
        in_size: int,
        outputs: int = 1,
        hidden: int = 0,
        conv: int = 0,
        squash: str | None = None,
        planes: tuple[int, ...] | None = None,
    ):
        super().__init__()
        if squash not in (None, "tanh"):
            raise ValueError(f"value squash {squash!r} is not None or 'tanh'")
        self.outputs, self.squash = outputs, squash
        size = _flat_size(in_size, planes, conv)
        stem = _conv_stem(planes, conv)  # built first: the old PolicyValueNet's order, so the same init
        mlp: list[nn.Module] = (
            [nn.Linear(size, hidden), nn.ReLU(), nn.Linear(hidden, outputs)]
            if hidden
            else [nn.Linear(size, outputs)]
        )
        self.layers = nn.Sequential(*stem, *mlp)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        value = self.layers(features)
        if self.squash == "tanh":
            value = torch.tanh(value)
        return value.squeeze(-1) if self.outputs == 1 else value


def _conv_stem(planes: tuple[int, ...] | None, conv: int) -> list[nn.Module]:
    """conv1x1 to `conv` planes, batch norm, ReLU, flatten: a head's start on planes (nothing on vectors)."""
    if planes is None:
        if conv:
            raise ValueError("a head's conv needs planes; this encoder gives a vector")
        return []
    if not conv:
        raise ValueError("a head on planes needs conv > 0 (the 1x1 filters before its linear layer)")
    return [nn.Conv2d(planes[0], conv, 1, bias=False), nn.BatchNorm2d(conv), nn.ReLU(), nn.Flatten()]


def _flat_size(in_size: int, planes: tuple[int, ...] | None, conv: int) -> int:
    return in_size if planes is None else conv * planes[1] * planes[2]


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
