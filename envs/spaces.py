"""Gymnasium observations as flat float32 vectors for networks (Discrete is one-hot encoded)."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from envs.errors import UsageError


def flat_size(space: spaces.Space) -> int:
    """Length of the vector `flatten_observation` gives for this space."""
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.Box):
        return int(np.prod(space.shape))
    if isinstance(space, spaces.MultiDiscrete):
        return int(np.sum(space.nvec))
    raise UsageError(f"observation space {space} is not supported (Discrete, MultiDiscrete and Box are)")


def flatten_observation(space: spaces.Space, obs: np.ndarray | int) -> np.ndarray:
    """One observation as a float32 vector: one-hot for Discrete, flattened for Box."""
    if isinstance(space, spaces.Discrete):
        vector = np.zeros(space.n, dtype=np.float32)
        vector[int(obs) - int(space.start)] = 1.0
        return vector
    if isinstance(space, spaces.MultiDiscrete):
        vector = np.zeros(int(np.sum(space.nvec)), dtype=np.float32)
        offsets = np.concatenate([[0], np.cumsum(space.nvec)[:-1]])
        vector[offsets + np.asarray(obs).ravel()] = 1.0
        return vector
    return np.asarray(obs, dtype=np.float32).ravel()


def require_discrete_actions(space: spaces.Space) -> int:
    """The number of actions, or UsageError when the action space is not Discrete."""
    if not isinstance(space, spaces.Discrete):
        raise UsageError(f"this algorithm needs a Discrete action space, not {space}")
    return int(space.n)
