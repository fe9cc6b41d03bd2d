"""Checkpoints as data: a plain dict of tensors and Python primitives, written atomically.

`torch.load(weights_only=True)` reads them, so loading a checkpoint never runs code. The dict carries a
format version, the toolkit version, the algorithm, the env identity, the config, the step, the model and
optimizer states and the RNG states.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs import describe, identity
from envs.errors import UsageError

FORMAT_VERSION = 1
IDENTITY_FIELDS = ("algorithm", "env", "env_spec", "config", "step")
"""What every checkpoint carries besides its algorithm's own state, so it plays and resumes anywhere."""
TOOLKIT_VERSION = "0.1.0"


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write `payload` (plus the format version) to `path` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save({"format_version": FORMAT_VERSION, "toolkit_version": TOOLKIT_VERSION, **payload}, temporary)
    os.replace(temporary, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint; a missing, corrupt or foreign file raises UsageError with one clear line."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"checkpoint {str(path)!r} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  (any unreadable file is the same user-facing problem)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(
            f"checkpoint {str(path)!r} is corrupt or not a checkpoint ({reason[:120]})"
        ) from None
    if not isinstance(checkpoint, dict) or "format_version" not in checkpoint:
        raise UsageError(f"{str(path)!r} is not a palaestra checkpoint")
    if checkpoint["format_version"] > FORMAT_VERSION:
        raise UsageError(
            f"checkpoint {str(path)!r} has format {checkpoint['format_version']}, newer than this toolkit"
        )
    missing = [field for field in IDENTITY_FIELDS if field not in checkpoint]
    if missing:
        raise UsageError(
            f"{str(path)!r} is not a full checkpoint: it lacks {', '.join(missing)} (an AlphaZero snapshot "
            "saved before 2026-12-01 holds only weights; play ckpt/latest.pt or a newer snapshot)"
        )
    return checkpoint


def check_env(checkpoint: dict[str, Any], env: Any) -> None:
    """UsageError unless the checkpoint was trained on this env (same name, parameters, shapes)."""
    saved, given = checkpoint["env"], identity(env)
    if saved != given:
        raise UsageError(f"checkpoint is for {describe(saved)}, not {describe(given)}")


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The RNG states to save: our numpy generator, Python's, numpy's global, torch's and CUDA's."""
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    state = {
        "generator": rng.bit_generator.state,
        "python": list(random.getstate()[1]),
        "numpy_global": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(rng: np.random.Generator, state: dict[str, Any]) -> None:
    """Put back what `rng_state` saved (checkpoints from before the numpy-global and CUDA states keep the
    current ones for those)."""
    rng.bit_generator.state = state["generator"]
    random.setstate((3, tuple(state["python"]), None))
    saved = state.get("numpy_global")
    if saved is not None:
        keys = saved["keys"].numpy().astype(np.uint32)
        np.random.set_state(
            (saved["kind"], keys, saved["position"], saved["has_gauss"], saved["cached_gaussian"])
        )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def config_to_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as plain primitives (tuples become lists)."""
    from dataclasses import asdict

    def plain(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {k: plain(v) for k, v in asdict(config).items()}
