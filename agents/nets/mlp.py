"""A multi-layer perceptron: the trunk of DQN, REINFORCE and small value nets."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """Linear layers with ReLU between them; the last layer has no activation."""

    def __init__(self, in_size: int, hidden_sizes: Sequence[int], out_size: int):
        super().__init__()
        layers: list[nn.Module] = []
        size = in_size
        for hidden in hidden_sizes:
            layers += [nn.Linear(size, hidden), nn.ReLU()]
            size = hidden
        layers.append(nn.Linear(size, out_size))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.flatten(1))


def mask_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Illegal actions get the dtype's minimum, so softmax and argmax never pick them."""
    return logits.masked_fill(~mask, torch.finfo(logits.dtype).min)
