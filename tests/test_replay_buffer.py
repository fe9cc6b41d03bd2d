"""The replay buffers' save and load: the ring comes back as it was, or in order when its capacity changes."""

from __future__ import annotations

import numpy as np
import pytest

from agents.buffers import PolicyValueBuffer, ReplayBuffer


def filled(capacity: int, transitions: int) -> ReplayBuffer:
    """A buffer whose transition t has obs t, action t, reward t (and next_obs t + 1)."""
    buffer = ReplayBuffer(capacity, (2,), 3)
    for t in range(transitions):
        mask = np.array([True, t % 2 == 0, False])
        buffer.add(np.full(2, t), t, float(t), np.full(2, t + 1), 0.5, mask)
    return buffer


def rows_in_order(buffer: ReplayBuffer) -> list[int]:
    """The actions held, oldest first (the ring's oldest row is at `position` once it is full)."""
    start = buffer.position if buffer.size == buffer.capacity else 0
    return [int(buffer.actions[(start + i) % buffer.capacity]) for i in range(buffer.size)]


@pytest.mark.parametrize("added", [3, 5, 8])
def test_the_same_capacity_comes_back_exactly(tmp_path, added):
    saved = filled(5, added)
    saved.save(tmp_path / "b.npz")
    loaded = ReplayBuffer(5, (2,), 3)
    loaded.load(tmp_path / "b.npz")
    assert (loaded.size, loaded.position) == (saved.size, saved.position)
    for name in ("obs", "next_obs", "actions", "rewards", "discounts", "next_masks"):
        assert np.array_equal(getattr(loaded, name), getattr(saved, name))


@pytest.mark.parametrize("added,capacity", [(8, 3), (8, 10), (4, 3), (8, 5), (3, 3), (5, 3)])
def test_a_changed_capacity_keeps_the_newest_rows_in_order(tmp_path, added, capacity):
    filled(5, added).save(tmp_path / "b.npz")  # capacity 5: 8 added wraps the ring, 3 or 4 do not
    loaded = ReplayBuffer(capacity, (2,), 3)
    loaded.load(tmp_path / "b.npz")
    kept = list(range(added))[-min(added, 5, capacity) :]
    assert rows_in_order(loaded) == kept
    index = [(loaded.position - loaded.size + i) % capacity for i in range(loaded.size)]
    assert loaded.obs[index, 0].tolist() == kept
    assert loaded.next_obs[index, 0].tolist() == [t + 1 for t in kept]
    assert loaded.rewards[index].tolist() == kept
    assert loaded.next_masks[index, 1].tolist() == [t % 2 == 0 for t in kept]

    # The ring goes on from there: the next transition replaces the oldest one once it is full.
    loaded.add(np.full(2, 99), 99, 99.0, np.full(2, 100), 0.5)
    assert rows_in_order(loaded) == (kept + [99])[-capacity:]


@pytest.mark.parametrize("added,capacity", [(8, 3), (8, 10), (4, 3), (8, 5)])
def test_a_smaller_policy_value_buffer_keeps_the_newest_examples(tmp_path, added, capacity):
    """AlphaZero's buffer kept the oldest rows when --replay-size shrank on resume."""
    saved = PolicyValueBuffer(5, (2,), 3)
    for t in range(added):
        saved.add(np.full((1, 2), t, np.float32), np.full((1, 3), t, np.float32), np.array([t], np.float32))
    saved.save(tmp_path / "pv.npz")
    loaded = PolicyValueBuffer(capacity, (2,), 3)
    loaded.load(tmp_path / "pv.npz")
    kept = list(range(added))[-min(added, 5, capacity) :]
    index = [(loaded.position - loaded.size + i) % capacity for i in range(loaded.size)]
    assert loaded.values[index].tolist() == kept
    assert loaded.obs[index, 0].tolist() == kept and loaded.policies[index, 2].tolist() == kept
