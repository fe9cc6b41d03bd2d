"""A uniform replay buffer in numpy arrays, saved beside a checkpoint as `.npz` (no pickle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Save arrays to `path` (.npz) through a temporary file and a rename: a crash leaves no half file."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp.npz")
    np.savez(temporary, **arrays)
    temporary.replace(path)


class ReplayBuffer:
    """Transitions (obs, action, reward, next_obs, discount, next legal mask) in a ring of fixed capacity.

    `discount` multiplies the value of `next_obs` in a target: gamma^k after k steps, 0 after the end.
    """

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], num_actions: int):
        self.capacity = capacity
        self.obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.next_obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.discounts = np.zeros(capacity, dtype=np.float32)
        self.next_masks = np.ones((capacity, num_actions), dtype=bool)
        self.size = 0
        self.position = 0

    def add(self, obs, action: int, reward: float, next_obs, discount: float, next_mask=None) -> None:
        i = self.position
        self.obs[i] = obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_obs[i] = next_obs
        self.discounts[i] = discount
        self.next_masks[i] = True if next_mask is None else next_mask
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        index = rng.integers(0, self.size, size=batch_size)
        return {
            "obs": self.obs[index],
            "actions": self.actions[index],
            "rewards": self.rewards[index],
            "next_obs": self.next_obs[index],
            "discounts": self.discounts[index],
            "next_masks": self.next_masks[index],
        }

    def save(self, path: str | Path) -> None:
        n = self.size
        write_npz(
            path,
            obs=self.obs[:n],
            next_obs=self.next_obs[:n],
            actions=self.actions[:n],
            rewards=self.rewards[:n],
            discounts=self.discounts[:n],
            next_masks=self.next_masks[:n],
            position=np.int64(self.position),
        )

    def load(self, path: str | Path) -> None:
        with np.load(path, allow_pickle=False) as data:
            n = len(data["actions"])
            for name in ("obs", "next_obs", "actions", "rewards", "discounts", "next_masks"):
                getattr(self, name)[:n] = data[name]
            self.size = n
            self.position = int(data["position"])
