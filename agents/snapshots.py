"""Frozen copies of a learner, each a full checkpoint file in the run's `snapshots/` folder.

A snapshot carries what `ckpt/latest.pt` carries (algorithm, env identity, config, step, model), so it
plays anywhere a checkpoint does (`run.py eval runs/X/snapshots/step_N.pt`). AlphaZero rates its
snapshots against each other (league/elo_tracker.py); REINFORCE draws its opponents from the newest
`capacity` of them. The store remembers its snapshots by name (saved in the run's checkpoint) and keeps
the networks it has loaded in memory, so drawing an opponent reads no file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.checkpoint import load_checkpoint, save_checkpoint


class SnapshotStore:
    """Named snapshots of one run; with `capacity`, only the newest `capacity` are kept (the older files are
    deleted by `prune`, once the run's checkpoint no longer names them). `load_network(checkpoint) ->
    network` rebuilds a snapshot's network for `network()`."""

    def __init__(
        self,
        folder: Path,
        names: list[str] | None = None,
        capacity: int | None = None,
        load_network: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.names: list[str] = list(names or [])
        self.capacity = capacity
        self.load_network = load_network
        self._networks: dict[str, Any] = {}
        self.evicted: list[str] = []

    def __len__(self) -> int:
        return len(self.names)

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.pt"

    def add(self, name: str, checkpoint: dict[str, Any], network: Any = None) -> Path:
        """Save `checkpoint` (a full one: `TrainingRun.full_checkpoint`) as snapshot `name`; `network`, when
        given, is kept in memory as its network."""
        path = self.path(name)
        save_checkpoint(path, checkpoint)
        if name in self.names:
            self.names.remove(name)
        self.names.append(name)
        if network is not None:
            self._networks[name] = network
        if self.capacity is not None:
            for old in self.names[: -self.capacity]:
                self._networks.pop(old, None)
                self.evicted.append(old)
            del self.names[: -self.capacity]
        return path

    def prune(self) -> None:
        """Delete the files of snapshots the capacity has pushed out. Call it after the run's checkpoint is
        written: until then the last checkpoint still names them, and a resume reads them."""
        for name in self.evicted:
            if name not in self.names:
                self.path(name).unlink(missing_ok=True)
        self.evicted.clear()

    def load(self, name: str) -> dict[str, Any]:
        """Snapshot `name` as a checkpoint dict."""
        return load_checkpoint(self.path(name))

    def network(self, name: str) -> Any:
        """Snapshot `name`'s network, rebuilt by `load_network` on first use and kept."""
        if name not in self._networks:
            if self.load_network is None:
                raise ValueError("this snapshot store was made without load_network")
            self._networks[name] = self.load_network(self.load(name))
        return self._networks[name]
