"""A network from a plain-data spec (kinds and sizes), so a checkpoint rebuilds its network from the spec.

    spec = {
        "encoder": {"kind": "mlp", "hidden_sizes": [64], "out_size": 64},
        "core": {"kind": "feedforward"},
        "heads": {"policy": {}, "value": {"outputs": 1, "hidden": 0}},
    }
    net = build_network(spec, obs_shape, num_actions)

Encoders: `mlp` (flat observations; `agents.nets.mlp.MLP`, then ReLU), `resnet` (planes `(C, H, W)`;
`agents.nets.resnet.ResNetTower`, flattened, a linear layer and ReLU), `transformer` (entities `(N, F)`
with an entity mask; `agents.nets.transformer.EntityEncoder`'s pooled vector). Cores: `feedforward` (the
encoder's features as they are) or `lstm` (`agents.nets.lstm.LSTMCore`; observations then carry a leading
`[T, B]`). Heads: `policy` (masked logits) and `value`, each present when its key is.

`SpecNetwork.spec` is the spec with every default filled in; `build_network(net.spec, ...)` gives the same
architecture, so `net.state_dict()` loads into it. Unknown kinds and keys are errors, not silent defaults.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import nn

from agents.nets.heads import PolicyHead, ValueHead
from agents.nets.lstm import LSTMCore, LSTMState
from agents.nets.mlp import MLP
from agents.nets.resnet import ResNetTower
from agents.nets.transformer import EntityEncoder

ENCODER_DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp": {"hidden_sizes": [64], "out_size": 64},
    "resnet": {"channels": 32, "blocks": 2, "out_size": 64},
    "transformer": {"d_model": 64, "num_layers": 2, "num_heads": 8, "ff_size": None, "positions": False},
}
CORE_DEFAULTS: dict[str, dict[str, Any]] = {
    "feedforward": {},
    "lstm": {"hidden_size": 64, "num_layers": 1},
}
HEAD_DEFAULTS: dict[str, dict[str, Any]] = {
    "policy": {},
    "value": {"outputs": 1, "hidden": 0},
}
DEFAULT_SPEC: dict[str, Any] = {
    "encoder": {"kind": "mlp"},
    "core": {"kind": "feedforward"},
    "heads": {"policy": {}, "value": {}},
}


class NetOutput(NamedTuple):
    """What a `SpecNetwork` returns; a head absent from the spec gives None."""

    policy_logits: torch.Tensor | None
    value: torch.Tensor | None
    state: LSTMState | None


def _with_defaults(part: str, given: dict[str, Any], defaults: dict[str, dict[str, Any]]) -> dict[str, Any]:
    kind = given.get("kind")
    if kind not in defaults:
        raise ValueError(f"{part} kind {kind!r} is not one of {sorted(defaults)}")
    unknown = set(given) - set(defaults[kind]) - {"kind"}
    if unknown:
        raise ValueError(
            f"{part} {kind!r} has unknown keys {sorted(unknown)}; known: {sorted(defaults[kind])}"
        )
    return {"kind": kind, **copy.deepcopy(defaults[kind]), **copy.deepcopy(given)}


def complete_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with every default filled in (a new dict; JSON-able when the spec is)."""
    unknown = set(spec) - set(DEFAULT_SPEC)
    if unknown:
        raise ValueError(f"spec has unknown keys {sorted(unknown)}; known: {sorted(DEFAULT_SPEC)}")
    heads = spec.get("heads", DEFAULT_SPEC["heads"])
    unknown_heads = set(heads) - set(HEAD_DEFAULTS)
    if unknown_heads:
        raise ValueError(f"unknown heads {sorted(unknown_heads)}; known: {sorted(HEAD_DEFAULTS)}")
    return {
        "encoder": _with_defaults("encoder", spec.get("encoder", DEFAULT_SPEC["encoder"]), ENCODER_DEFAULTS),
        "core": _with_defaults("core", spec.get("core", DEFAULT_SPEC["core"]), CORE_DEFAULTS),
        "heads": {
            name: _with_defaults(f"head {name}", {"kind": name, **head}, HEAD_DEFAULTS)
            for name, head in heads.items()
        },
    }


class ResNetEncoder(nn.Module):
    """Planes `[B, C, H, W]` -> `ResNetTower`, flattened, a linear layer to `out_size`, ReLU."""

    def __init__(self, obs_shape: Sequence[int], channels: int, blocks: int, out_size: int):
        super().__init__()
        in_channels, height, width = obs_shape
        self.tower = ResNetTower(in_channels, channels, blocks)
        self.project = nn.Sequential(nn.Flatten(), nn.Linear(channels * height * width, out_size), nn.ReLU())
        self.out_size = out_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.tower(x))


class SpecNetwork(nn.Module):
    """Encoder, core and heads built from a spec; see the module docstring.

    `forward(obs, entity_mask=None, action_mask=None, state=None, starts=None) -> NetOutput`. With a
    feed-forward core, `obs` is `[B, *obs_shape]`; with an LSTM core it is `[T, B, *obs_shape]`, the masks
    carry the same leading `[T, B]`, and `starts` `[T, B]` resets the state (see `LSTMCore`).
    `entity_mask` `[..., N]` is for the transformer encoder (None: every entity is real).
    """

    def __init__(self, spec: dict[str, Any], obs_shape: Sequence[int], num_actions: int):
        super().__init__()
        self.spec = complete_spec(spec)
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.num_actions = num_actions
        enc = self.spec["encoder"]
        if enc["kind"] == "mlp":
            self.encoder: nn.Module = nn.Sequential(
                MLP(math.prod(self.obs_shape), enc["hidden_sizes"], enc["out_size"]), nn.ReLU()
            )
            features = enc["out_size"]
        elif enc["kind"] == "resnet":
            if len(self.obs_shape) != 3:
                raise ValueError(f"the resnet encoder needs planes (C, H, W), not {self.obs_shape}")
            self.encoder = ResNetEncoder(self.obs_shape, enc["channels"], enc["blocks"], enc["out_size"])
            features = enc["out_size"]
        else:
            if len(self.obs_shape) != 2:
                raise ValueError(f"the transformer encoder needs entities (N, F), not {self.obs_shape}")
            count, in_features = self.obs_shape
            self.encoder = EntityEncoder(
                in_features,
                d_model=enc["d_model"],
                num_layers=enc["num_layers"],
                num_heads=enc["num_heads"],
                ff_size=enc["ff_size"],
                max_positions=count if enc["positions"] else None,
            )
            features = self.encoder.out_size
        core = self.spec["core"]
        self.core = (
            LSTMCore(features, core["hidden_size"], core["num_layers"]) if core["kind"] == "lstm" else None
        )
        if self.core is not None:
            features = self.core.out_size
        heads = self.spec["heads"]
        self.policy_head = PolicyHead(features, num_actions) if "policy" in heads else None
        value = heads.get("value")
        self.value_head = ValueHead(features, value["outputs"], value["hidden"]) if value else None

    def initial_state(self, batch: int, device: torch.device | str | None = None) -> LSTMState | None:
        return None if self.core is None else self.core.initial_state(batch, device)

    def encode(self, obs: torch.Tensor, entity_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Observations `[B, *obs_shape]` -> features `[B, encoder size]`."""
        if isinstance(self.encoder, EntityEncoder):
            return self.encoder(obs, entity_mask)[1]
        return self.encoder(obs)

    def forward(
        self,
        obs: torch.Tensor,
        entity_mask: torch.Tensor | None = None,
        action_mask: torch.Tensor | None = None,
        state: LSTMState | None = None,
        starts: torch.Tensor | None = None,
    ) -> NetOutput:
        if self.core is None:
            features = self.encode(obs, entity_mask)
        else:
            steps, batch = obs.shape[:2]
            flat_mask = None if entity_mask is None else entity_mask.flatten(0, 1)
            encoded = self.encode(obs.flatten(0, 1), flat_mask).view(steps, batch, -1)
            features, state = self.core(encoded, state, starts)
        logits = None if self.policy_head is None else self.policy_head(features, action_mask)
        value = None if self.value_head is None else self.value_head(features)
        return NetOutput(logits, value, state)


def build_network(spec: dict[str, Any], obs_shape: Sequence[int], num_actions: int) -> SpecNetwork:
    """The network a spec describes, for observations of `obs_shape` and `num_actions` actions."""
    return SpecNetwork(spec, obs_shape, num_actions)
