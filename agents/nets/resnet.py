"""A residual tower with batch norm, the `resnet` encoder of network specs (agents/nets/spec.py).

`ResNetTower`: a 3x3 convolution, batch norm and ReLU as the stem, then residual blocks (conv-BN-ReLU-
conv-BN, plus the input, then ReLU), as in AlphaGo Zero. The board keeps its size (padding 1). AlphaZero's
policy-value network on it is `agents.nets.policy_value.policy_value_spec`.
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, the input added, then ReLU."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(x + y)


class ResNetTower(nn.Module):
    """The stem (conv3x3-BN-ReLU from `in_channels` to `channels`) and `blocks` residual blocks."""

    def __init__(self, in_channels: int, channels: int, blocks: int):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
        )
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))
