"""Skirmish: the toolkit's own small partially observable real-time strategy game (docs/skirmish.md).

rules.py (the unit table, the map), kernel.py (the rules as code), engine.py (one game: the
specification), batched.py (B games at once, numba), env.py (PettingZoo ParallelEnv, single-agent env
against a bot), bots.py (scripted players), replay.py (replays, supervised data, GIFs), view.py (the
terminal view and the human player).
"""

from __future__ import annotations

from typing import Any


def make_env(size: int = 16) -> Any:
    """`envs.make("skirmish")`, `envs.make("skirmish(size=12)")`: the PettingZoo ParallelEnv."""
    from envs.games.skirmish.env import SkirmishEnv

    return SkirmishEnv(size=size)


def make_vs_bot(bot: str, size: int = 16) -> Any:
    """`envs.make("skirmish-vs:rush")`: one seat against a bot, as a single-agent gymnasium env."""
    from envs.games.skirmish.env import SkirmishVsBot

    return SkirmishVsBot(bot, size=size)
