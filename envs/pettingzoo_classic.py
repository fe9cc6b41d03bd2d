"""PettingZoo's classic board games as plug-ins: `--env envs.pettingzoo_classic:tictactoe` or `:connect_four`.

Each factory returns the AEC env itself (PettingZoo's `tictactoe_v3`, `connect_four_v3`); the players,
the arena and the step-based learners take it through `envs/pettingzoo.py`. Any other PettingZoo env is
plugged in the same way, with a module of one's own whose factory returns it.
"""

from __future__ import annotations

import importlib
from typing import Any

import pettingzoo


def _classic(registered: str, module: str) -> Any:
    """From PettingZoo's registry (1.27 on), else from its module (older releases)."""
    if hasattr(pettingzoo, "make"):
        return pettingzoo.make("aec", registered)
    return importlib.import_module(f"pettingzoo.classic.{module}").env()


def tictactoe() -> Any:
    """PettingZoo's `tictactoe_v3` (observation (3, 3, 2) from the mover's view, 9 actions)."""
    return _classic("classic/tictactoe-v3", "tictactoe_v3")


def connect_four() -> Any:
    """PettingZoo's `connect_four_v3` (observation (6, 7, 2) from the mover's view, 7 actions)."""
    return _classic("classic/connect_four-v3", "connect_four_v3")
