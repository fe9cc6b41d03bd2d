"""Replay buffers in numpy arrays, saved beside a checkpoint as `.npz` (no pickle): DQN's transitions, and the
(observation, search policy, outcome) examples of AlphaZero-style self-play."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from envs.symmetries import Symmetry


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Save arrays to `path` (.npz) through a temporary file and a rename: a crash leaves no half file."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp.npz")
    np.savez(temporary, **arrays)
    temporary.replace(path)


def fill_ring(buffer: Any, data: Any, names: Sequence[str]) -> None:
    """Put the rows of a saved ring (`data[name]` for each of `names`, and its write `position`) into
    `buffer`'s arrays of the same names. With the capacity it was saved with (or room for every row
    unwrapped) the ring comes back as it was; otherwise (the capacity changed on --resume) the rows are put
    in order, oldest first, and the newest `buffer.capacity` of them kept."""
    n, position = len(data[names[0]]), int(data["position"])
    if n == buffer.capacity or (n < buffer.capacity and position == n):
        for name in names:
            getattr(buffer, name)[:n] = data[name]
        buffer.size, buffer.position = n, position % buffer.capacity
        return
    # The saved ring's oldest row is at `position` (rows before it were written after it).
    order = np.roll(np.arange(n), -position)[-buffer.capacity :]
    for name in names:
        getattr(buffer, name)[: len(order)] = data[name][order]
    buffer.size, buffer.position = len(order), len(order) % buffer.capacity


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
        """Fill the buffer from a file `save` wrote (`fill_ring`: a smaller capacity keeps the newest)."""
        with np.load(path, allow_pickle=False) as data:
            fill_ring(self, data, ("obs", "next_obs", "actions", "rewards", "discounts", "next_masks"))


class PolicyValueBuffer:
    """A ring of (observation, visit distribution, outcome for the mover) training examples; samples come
    out through a random symmetry each when `symmetries` has more than the identity."""

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        num_actions: int,
        symmetries: Sequence[Symmetry] = (),
    ):
        self.capacity = capacity
        self.obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.policies = np.zeros((capacity, num_actions), dtype=np.float32)
        self.values = np.zeros(capacity, dtype=np.float32)
        self.symmetries = list(symmetries)
        self.size = 0
        self.position = 0

    def add(self, obs: np.ndarray, policies: np.ndarray, values: np.ndarray) -> None:
        index = (self.position + np.arange(len(values))) % self.capacity
        self.obs[index], self.policies[index], self.values[index] = obs, policies, values
        self.position = (self.position + len(values)) % self.capacity
        self.size = min(self.size + len(values), self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        index = rng.integers(0, self.size, size=batch_size)
        obs, policies = self.obs[index], self.policies[index]
        if len(self.symmetries) > 1:
            which = rng.integers(0, len(self.symmetries), size=batch_size)
            for k, symmetry in enumerate(self.symmetries[1:], start=1):
                rows = np.flatnonzero(which == k)
                if len(rows):
                    obs[rows], policies[rows] = symmetry.apply(obs[rows], policies[rows])
        return {"obs": obs, "policies": policies, "values": self.values[index]}

    def save(self, path: str | Path) -> None:
        n = self.size
        write_npz(
            path,
            obs=self.obs[:n],
            policies=self.policies[:n],
            values=self.values[:n],
            position=np.int64(self.position),
        )

    def load(self, path: str | Path) -> None:
        """Fill the buffer from a file `save` wrote (`fill_ring`: a smaller capacity keeps the newest)."""
        with np.load(path, allow_pickle=False) as data:
            fill_ring(self, data, ("obs", "policies", "values"))
