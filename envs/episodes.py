"""Running whole episodes of a gymnasium env with a policy, for evaluation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def run_episodes(
    env: Any,
    act: Callable[[Any], int],
    episodes: int,
    seed: int,
    begin: Callable[[], None] | None = None,
) -> np.ndarray:
    """Returns of `episodes` episodes; episode i starts from `env.reset(seed=seed + i)`, after `begin()`
    (a player with memory forgets the last episode there)."""
    returns = np.zeros(episodes)
    for i in range(episodes):
        if begin is not None:
            begin()
        obs, _ = env.reset(seed=seed + i)
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total += float(reward)
            done = terminated or truncated
        returns[i] = total
    return returns
