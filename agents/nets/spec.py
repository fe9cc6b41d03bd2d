"""A network from a plain-data spec (kinds and sizes), so a checkpoint rebuilds its network from the spec.

    spec = {
        "encoder": {"kind": "mlp", "hidden_sizes": [64], "out_size": 64},
        "core": {"kind": "feedforward"},
        "heads": {"policy": {}, "value": {"outputs": 1, "hidden": 0}},
    }
    net = build_network(spec, obs_shape, num_actions)

Encoders:
- `mlp`: flat observations; `agents.nets.mlp.MLP`, then ReLU.
- `resnet`: planes `(C, H, W)`; `agents.nets.resnet.ResNetTower`, flattened, a linear layer to `out_size`
  and ReLU; with `out_size: 0` the tower's planes themselves (the heads then need `conv`, AlphaGo Zero's).
- `transformer`: entities `(N, F)` with an entity mask, or planes `(C, H, W)` read as `H * W` cell tokens of
  `C` features; `agents.nets.transformer.EntityEncoder`'s pooled vector (`positions`: learned position
  embeddings, for sequences and board cells; `pool`: "mean_max", or "last" for the newest of a window).
- `combine`: several encoders over the parts of a dict observation (`"parts": {name: encoder spec}`,
  `obs_shape` a dict of shapes), their features concatenated (scalars + entities + planes).

Cores: `feedforward` (the encoder's features as they are) or `lstm` (`agents.nets.lstm.LSTMCore`;
observations then carry a leading `[T, B]`). Heads, each present when its key is: `policy` (masked
logits), `value` (one output or several, optional tanh), `pointer` (logits over the transformer encoder's
entities, queried by the core's features; `agents.nets.heads.PointerHead`).

`SpecNetwork.spec` is the spec with every default filled in; `build_network(net.spec, ...)` gives the same
architecture, so `net.state_dict()` loads into it. Unknown kinds and keys are errors, not silent defaults.
Checkpoints keep the completed spec under `"net"` (see `network_from_checkpoint`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import nn

from agents.nets.heads import PointerHead, PolicyHead, ValueHead
from agents.nets.lstm import LSTMCore, LSTMState
from agents.nets.mlp import MLP
from agents.nets.resnet import ResNetTower
from agents.nets.transformer import EntityEncoder

ENCODER_DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp": {"hidden_sizes": [64], "out_size": 64},
    "resnet": {"channels": 32, "blocks": 2, "out_size": 64},
    "transformer": {
        "d_model": 64,
        "num_layers": 2,
        "num_heads": 8,
        "ff_size": None,
        "positions": False,
        "pool": "mean_max",
    },
    "combine": {"parts": {}},
}
CORE_DEFAULTS: dict[str, dict[str, Any]] = {
    "feedforward": {},
    "lstm": {"hidden_size": 64, "num_layers": 1},
}
HEAD_DEFAULTS: dict[str, dict[str, Any]] = {
    "policy": {"conv": 0},
    "value": {"outputs": 1, "hidden": 0, "conv": 0, "squash": None},
    "pointer": {"key_size": 64},
}
DEFAULT_SPEC: dict[str, Any] = {
    "encoder": {"kind": "mlp"},
    "core": {"kind": "feedforward"},
    "heads": {"policy": {}, "value": {}},
}
ObsShape = Sequence[int] | Mapping[str, Sequence[int]]
Obs = torch.Tensor | Mapping[str, torch.Tensor]


class NetOutput(NamedTuple):
    """What a `SpecNetwork` returns; a head absent from the spec gives None."""

    policy_logits: torch.Tensor | None
    value: torch.Tensor | None
    state: LSTMState | None
    pointer_logits: torch.Tensor | None = None


def _with_defaults(part: str, given: dict[str, Any], defaults: dict[str, dict[str, Any]]) -> dict[str, Any]:
    kind = given.get("kind")
    if kind not in defaults:
        raise ValueError(f"{part} kind {kind!r} is not one of {sorted(defaults)}")
    unknown = set(given) - set(defaults[kind]) - {"kind"}
    if unknown:
        raise ValueError(
            f"{part} {kind!r} has unknown keys {sorted(unknown)}; known: {sorted(defaults[kind])}"
        )
    done = {"kind": kind, **copy.deepcopy(defaults[kind]), **copy.deepcopy(given)}
    if kind == "combine":
        if not done["parts"]:
            raise ValueError("a combine encoder needs at least one part")
        done["parts"] = {
            name: _with_defaults(f"encoder part {name!r}", sub, ENCODER_DEFAULTS)
            for name, sub in done["parts"].items()
        }
        if any(sub["kind"] == "combine" for sub in done["parts"].values()):
            raise ValueError("a combine encoder's parts cannot themselves combine")
    return done


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
    """Planes `[B, C, H, W]` -> `ResNetTower`, flattened, a linear layer to `out_size`, ReLU; with
    `out_size` 0 the tower's planes `[B, channels, H, W]`."""

    def __init__(self, obs_shape: Sequence[int], channels: int, blocks: int, out_size: int):
        super().__init__()
        in_channels, height, width = obs_shape
        self.tower = ResNetTower(in_channels, channels, blocks)
        self.project = (
            nn.Sequential(nn.Flatten(), nn.Linear(channels * height * width, out_size), nn.ReLU())
            if out_size
            else nn.Identity()
        )
        self.planes = None if out_size else (channels, height, width)
        self.out_size = out_size or channels * height * width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.tower(x))


class CellTokens(nn.Module):
    """Planes `[B, C, H, W]` -> the transformer's pooled vector over `H * W` cell tokens of `C` features."""

    def __init__(self, encoder: EntityEncoder):
        super().__init__()
        self.encoder = encoder
        self.out_size, self.d_model = encoder.out_size, encoder.d_model

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x.flatten(2).transpose(1, 2), mask)


def _make_encoder(enc: dict[str, Any], obs_shape: ObsShape) -> nn.Module:
    """One encoder of a completed spec; every encoder has `out_size` (its feature width)."""
    kind = enc["kind"]
    if kind == "combine":
        if not isinstance(obs_shape, Mapping) or set(obs_shape) != set(enc["parts"]):
            raise ValueError(
                f"a combine encoder over parts {sorted(enc['parts'])} needs a dict observation "
                f"with those keys, not {obs_shape}"
            )
        return CombineEncoder(
            {name: _make_encoder(sub, obs_shape[name]) for name, sub in enc["parts"].items()}
        )
    if isinstance(obs_shape, Mapping):
        raise ValueError(f"a dict observation needs the combine encoder, not {kind!r}")
    shape = tuple(int(d) for d in obs_shape)
    if kind == "mlp":
        encoder: nn.Module = nn.Sequential(
            MLP(math.prod(shape), enc["hidden_sizes"], enc["out_size"]), nn.ReLU()
        )
        encoder.out_size = enc["out_size"]
        return encoder
    if kind == "resnet":
        if len(shape) != 3:
            raise ValueError(f"the resnet encoder needs planes (C, H, W), not {shape}")
        return ResNetEncoder(shape, enc["channels"], enc["blocks"], enc["out_size"])
    if len(shape) not in (2, 3):
        raise ValueError(f"the transformer encoder needs entities (N, F) or planes (C, H, W), not {shape}")
    count, in_features = (shape[1] * shape[2], shape[0]) if len(shape) == 3 else shape
    transformer = EntityEncoder(
        in_features,
        d_model=enc["d_model"],
        num_layers=enc["num_layers"],
        num_heads=enc["num_heads"],
        ff_size=enc["ff_size"],
        max_positions=count if enc["positions"] else None,
        pool=enc["pool"],
    )
    return CellTokens(transformer) if len(shape) == 3 else transformer


def _is_entities(encoder: nn.Module) -> bool:
    return isinstance(encoder, (EntityEncoder, CellTokens))


class CombineEncoder(nn.Module):
    """Encoders over the parts of a dict observation, their features concatenated; the entity outputs of
    its (first) transformer part are what a pointer head points at."""

    def __init__(self, parts: dict[str, nn.Module]):
        super().__init__()
        self.parts = nn.ModuleDict(parts)
        self.out_size = sum(part.out_size for part in parts.values())
        if any(getattr(part, "planes", None) for part in parts.values()):
            raise ValueError("a combine encoder's resnet part needs out_size > 0 (a vector to concatenate)")

    def forward(
        self, obs: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        features, entities = [], None
        for name, part in self.parts.items():
            if _is_entities(part):
                outputs, pooled = part(obs[name], None if masks is None else masks.get(name))
                entities = outputs if entities is None else entities
                features.append(pooled)
            else:
                features.append(part(obs[name]))
        return entities, torch.cat(features, dim=-1)


class SpecNetwork(nn.Module):
    """Encoder, core and heads built from a spec; see the module docstring.

    `forward(obs, entity_mask=None, action_mask=None, state=None, starts=None, pointer_mask=None)
    -> NetOutput`. With a feed-forward core, `obs` is `[B, *obs_shape]` (a dict of such for `combine`);
    with an LSTM core it is `[T, B, *obs_shape]`, the masks carry the same leading `[T, B]`, and `starts`
    `[T, B]` resets the state (see `LSTMCore`). `entity_mask` `[..., N]` is for a transformer encoder (None:
    every entity is real; for `combine`, a dict by part name). `pointer_mask` limits the pointer head's
    choices (default: the entity mask).
    """

    def __init__(self, spec: dict[str, Any], obs_shape: ObsShape, num_actions: int):
        super().__init__()
        self.spec = complete_spec(spec)
        self.obs_shape = (
            {k: tuple(int(d) for d in v) for k, v in obs_shape.items()}
            if isinstance(obs_shape, Mapping)
            else tuple(int(d) for d in obs_shape)
        )
        self.num_actions = num_actions
        self.encoder = _make_encoder(self.spec["encoder"], self.obs_shape)
        features = self.encoder.out_size
        planes = getattr(self.encoder, "planes", None)
        core = self.spec["core"]
        self.core = None
        if core["kind"] == "lstm":
            if planes:
                raise ValueError("an LSTM core needs a vector: give the resnet encoder out_size > 0")
            self.core = LSTMCore(features, core["hidden_size"], core["num_layers"])
            features = self.core.out_size
        heads = self.spec["heads"]
        policy, value, pointer = heads.get("policy"), heads.get("value"), heads.get("pointer")
        self.policy_head = PolicyHead(features, num_actions, policy["conv"], planes) if policy else None
        self.value_head = (
            ValueHead(features, value["outputs"], value["hidden"], value["conv"], value["squash"], planes)
            if value
            else None
        )
        self.pointer_head = None
        if pointer:
            entity_size = self._entity_size()
            if entity_size is None or planes:
                raise ValueError("a pointer head needs a transformer encoder (or part) to point at")
            self.pointer_head = PointerHead(features, entity_size, pointer["key_size"])

    def _entity_size(self) -> int | None:
        parts = self.encoder.parts.values() if isinstance(self.encoder, CombineEncoder) else [self.encoder]
        for part in parts:
            if _is_entities(part):
                return part.d_model
        return None

    def initial_state(self, batch: int, device: torch.device | str | None = None) -> LSTMState | None:
        return None if self.core is None else self.core.initial_state(batch, device)

    def encode(self, obs: Obs, entity_mask: Any = None) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Observations `[B, *obs_shape]` -> (entity outputs `[B, N, D]` or None, features `[B, size]`;
        planes `[B, C, H, W]` for a resnet encoder without projection)."""
        if isinstance(self.encoder, CombineEncoder) or _is_entities(self.encoder):
            return self.encoder(obs, entity_mask)
        return None, self.encoder(obs)

    def forward(
        self,
        obs: Obs,
        entity_mask: Any = None,
        action_mask: torch.Tensor | None = None,
        state: LSTMState | None = None,
        starts: torch.Tensor | None = None,
        pointer_mask: torch.Tensor | None = None,
    ) -> NetOutput:
        if self.core is None:
            entities, features = self.encode(obs, entity_mask)
        else:
            steps, batch = _leading(obs)
            entities, encoded = self.encode(_merge(obs), _merge(entity_mask))
            features, state = self.core(encoded.view(steps, batch, -1), state, starts)
            if entities is not None:
                entities = entities.view(steps, batch, *entities.shape[1:])
        logits = None if self.policy_head is None else self.policy_head(features, action_mask)
        value = None if self.value_head is None else self.value_head(features)
        pointer = None
        if self.pointer_head is not None:
            if pointer_mask is None and not isinstance(entity_mask, Mapping):
                pointer_mask = entity_mask
            flat = features.flatten(0, -2), entities.flatten(0, -3)
            mask = None if pointer_mask is None else pointer_mask.flatten(0, -2)
            pointer = self.pointer_head(*flat, mask).view(*features.shape[:-1], entities.shape[-2])
        return NetOutput(logits, value, state, pointer)


def _leading(obs: Obs) -> tuple[int, int]:
    first = next(iter(obs.values())) if isinstance(obs, Mapping) else obs
    return first.shape[0], first.shape[1]


def _merge(x: Any) -> Any:
    """`[T, B, ...]` -> `[T * B, ...]` (each value of a dict; None stays None)."""
    if x is None:
        return None
    if isinstance(x, Mapping):
        return {k: v.flatten(0, 1) for k, v in x.items()}
    return x.flatten(0, 1)


def build_network(spec: dict[str, Any], obs_shape: ObsShape, num_actions: int) -> SpecNetwork:
    """The network a spec describes, for observations of `obs_shape` and `num_actions` actions."""
    return SpecNetwork(spec, obs_shape, num_actions)


def network_from_checkpoint(
    checkpoint: dict[str, Any],
    obs_shape: ObsShape,
    num_actions: int,
    legacy: Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, torch.Tensor]]] | None = None,
    state_key: str = "model",
    network_class: type[SpecNetwork] = SpecNetwork,
) -> SpecNetwork:
    """The network of a checkpoint, rebuilt from its saved spec (`checkpoint["net"]`) alone, weights loaded,
    as a `network_class` (a `SpecNetwork` whose forward gives what its learner calls it for).

    A checkpoint from before specs were saved has no `"net"`: `legacy(checkpoint)` gives its spec and its
    weights renamed to this network's parameters (the upgrade on load)."""
    if "net" in checkpoint:
        spec, weights = checkpoint["net"], checkpoint[state_key]
    elif legacy is not None:
        spec, weights = legacy(checkpoint)
    else:
        raise ValueError("the checkpoint has no network spec ('net') and no upgrade for its format")
    network = network_class(spec, obs_shape, num_actions)
    network.load_state_dict(weights)
    return network


def mlp_spec(hidden_sizes: Sequence[int], head: str, **head_options: Any) -> dict[str, Any]:
    """The spec of `agents.nets.mlp.MLP(in, hidden_sizes, out)` as an mlp encoder and one head (`"policy"`,
    or `"value"` with `outputs`): the network DQN and REINFORCE had before specs."""
    if not hidden_sizes:
        raise ValueError("an mlp spec needs at least one hidden layer")
    encoder = {"kind": "mlp", "hidden_sizes": list(hidden_sizes[:-1]), "out_size": hidden_sizes[-1]}
    return {"encoder": encoder, "heads": {head: dict(head_options)}}


def upgrade_mlp_weights(state: Mapping[str, torch.Tensor], head: str) -> dict[str, torch.Tensor]:
    """Weights of a plain `MLP` (`layers.N.*`) under `mlp_spec`'s names: its last linear layer becomes the
    head's (`{head}_head.layers.0.*`), the others the encoder's."""
    last = max(int(name.split(".")[1]) for name in state)
    renamed = {}
    for name, tensor in state.items():
        _, index, rest = name.split(".", 2)
        prefix = f"{head}_head.layers.0" if int(index) == last else f"encoder.0.layers.{index}"
        renamed[f"{prefix}.{rest}"] = tensor
    return renamed
