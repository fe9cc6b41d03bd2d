"""A policy-value network built from a spec: `forward(obs) -> (logits [B, A], values [B] in [-1, 1])`.

The search evaluator's contract (search/network_evaluator.py) for AlphaZero and AlphaGo. `policy_value_spec`
gives the AlphaGo Zero network of before specs (a ResNet tower with conv heads on planes; an MLP trunk on
flat observations), and `upgrade_policy_value_weights` renames that network's saved weights to this one's
parameters, so checkpoints from before keep loading and play the same moves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch

from agents.nets.spec import ObsShape, SpecNetwork


def policy_value_spec(obs_shape: Sequence[int], channels: int, blocks: int, hidden: int) -> dict[str, Any]:
    """AlphaGo Zero's network: on planes `(C, H, W)` a ResNet tower of `blocks` blocks of `channels`
    filters, a policy head (conv1x1 to 2 planes, linear) and a value head (conv1x1 to 1 plane, a hidden
    layer of `hidden`, tanh); on flat observations an MLP trunk of `blocks` layers of width `hidden`."""
    if len(obs_shape) == 3:
        return {
            "encoder": {"kind": "resnet", "channels": channels, "blocks": blocks, "out_size": 0},
            "heads": {"policy": {"conv": 2}, "value": {"conv": 1, "hidden": hidden, "squash": "tanh"}},
        }
    return {
        "encoder": {"kind": "mlp", "hidden_sizes": [hidden] * (max(blocks, 1) - 1), "out_size": hidden},
        "heads": {"policy": {}, "value": {"hidden": hidden, "squash": "tanh"}},
    }


def transformer_spec(d_model: int, num_layers: int, num_heads: int, hidden: int) -> dict[str, Any]:
    """A transformer over board cells as tokens (learned position embeddings), pooled, with linear policy
    and tanh value heads."""
    return {
        "encoder": {
            "kind": "transformer",
            "d_model": d_model,
            "num_layers": num_layers,
            "num_heads": num_heads,
            "positions": True,
        },
        "heads": {"policy": {}, "value": {"hidden": hidden, "squash": "tanh"}},
    }


class PolicyValueNet(SpecNetwork):
    """A `SpecNetwork` with policy and tanh value heads whose forward returns `(logits, values)`."""

    def __init__(self, spec: dict[str, Any], obs_shape: ObsShape, num_actions: int):
        super().__init__(spec, obs_shape, num_actions)
        if self.policy_head is None or self.value_head is None or self.core is not None:
            raise ValueError("a policy-value network needs policy and value heads and a feed-forward core")

    @property
    def spatial(self) -> bool:
        return len(self.obs_shape) == 3

    def forward(self, obs: torch.Tensor, entity_mask: Any = None) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        out = super().forward(obs, entity_mask)
        return out.policy_logits, out.value


def upgrade_policy_value_weights(state: dict[str, torch.Tensor], spatial: bool) -> dict[str, torch.Tensor]:
    """The weights of the network before specs (`trunk.*`, `policy_head.N.*`, `value_head.N.*`) under this
    network's names (`encoder.*`, `policy_head.layers.N.*`, `value_head.layers.N.*`)."""
    renamed = {}
    for name, tensor in state.items():
        if name.startswith("trunk."):
            if spatial:
                name = "encoder.tower." + name[len("trunk.") :]
            else:  # Flatten at 0, then Linear/ReLU pairs: Linear k is at 2k + 1, the MLP's at 2k
                index, rest = re.match(r"trunk\.(\d+)\.(.*)", name).groups()
                name = f"encoder.0.layers.{int(index) - 1}.{rest}"
        elif name.startswith(("policy_head.", "value_head.")):
            head, rest = name.split(".", 1)
            if not rest[0].isdigit():  # the flat policy head was one Linear
                rest = "0." + rest
            name = f"{head}.layers.{rest}"
        renamed[name] = tensor
    return renamed
