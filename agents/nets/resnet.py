"""A residual tower with batch norm, and the policy-value network built on it (AlphaZero, AlphaGo).

`ResNetTower`: a 3x3 convolution, batch norm and ReLU as the stem, then residual blocks (conv-BN-ReLU-
conv-BN, plus the input, then ReLU), as in AlphaGo Zero. The board keeps its size (padding 1).

`PolicyValueNet`: the tower for spatial observations (C, H, W), or an MLP trunk for flat ones (N,); a
policy head with one logit per distinct action (mask them before a softmax) and a value head in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

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


class PolicyValueNet(nn.Module):
    """Observation -> (policy logits [B, num_actions], value [B] in [-1, 1]).

    Spatial observations (C, H, W) go through a `ResNetTower`; the policy head is conv1x1 to 2 planes,
    BN, ReLU and a linear layer; the value head is conv1x1 to 1 plane, BN, ReLU, a hidden linear layer
    and tanh (AlphaGo Zero's heads). Flat observations (N,) go through an MLP trunk of `blocks` hidden
    layers of width `hidden` (at least one); the heads are then linear layers.
    """

    def __init__(self, obs_shape: Sequence[int], num_actions: int, channels: int, blocks: int, hidden: int):
        super().__init__()
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.num_actions = num_actions
        self.spatial = len(self.obs_shape) == 3
        if self.spatial:
            in_channels, height, width = self.obs_shape
            cells = height * width
            self.trunk: nn.Module = ResNetTower(in_channels, channels, blocks)
            self.policy_head: nn.Module = nn.Sequential(
                nn.Conv2d(channels, 2, 1, bias=False),
                nn.BatchNorm2d(2),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(2 * cells, num_actions),
            )
            self.value_head: nn.Module = nn.Sequential(
                nn.Conv2d(channels, 1, 1, bias=False),
                nn.BatchNorm2d(1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(cells, hidden),
                nn.ReLU(),
                nn.Linear(hidden, 1),
            )
        else:
            size = 1
            for d in self.obs_shape:
                size *= d
            layers: list[nn.Module] = [nn.Flatten()]
            for _ in range(max(blocks, 1)):
                layers += [nn.Linear(size, hidden), nn.ReLU()]
                size = hidden
            self.trunk = nn.Sequential(*layers)
            self.policy_head = nn.Linear(hidden, num_actions)
            self.value_head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(x)
        return self.policy_head(features), torch.tanh(self.value_head(features)).squeeze(-1)
