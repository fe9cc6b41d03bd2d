"""One Skirmish game: the single-game engine, the specification the batched engine is held to.

`Game(size)` holds one game's arrays; `reset(seed)` draws the two spawns (two different of the map's four
corners, so one's own corner does not say where the enemy is), `observe(p)` gives player p's fogged
observation with its masks, `step(a0, a1)` plays one simultaneous step. The rules are kernel.py's
functions, run here as plain Python (`compiled=False`, the specification) or compiled by numba
(`compiled=True`, the same source, for speed). `truth()` is the full state, for training only (a value
network may see both sides); players never read it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.games.skirmish import kernel
from envs.games.skirmish.rules import (
    BASE,
    M_DONE,
    M_STEP,
    M_WINNER,
    MAX_ENTITIES,
    MAX_OWN,
    MAX_UNITS,
    NUM_ENTITY_FIELDS,
    NUM_FIELDS,
    NUM_MISC,
    NUM_PLANES,
    NUM_PLAYER_FIELDS,
    NUM_SCALARS,
    NUM_TYPES,
    NUM_UNIT_CHOICES,
    P_RESOURCES,
    START_RESOURCES,
    START_WORKERS,
    WORKER,
    distance_table,
    make_map,
)

MEMO = 16
"""Detours a game remembers (kernel.memo_detour)."""


def draw_spawns(seed: int | None, spawns: np.ndarray) -> tuple[int, int]:
    """Two different spawn cells for players 0 and 1, drawn from `seed`."""
    rng = np.random.default_rng(seed)
    a, b = rng.choice(len(spawns), size=2, replace=False)
    return int(spawns[a]), int(spawns[b])


def setup(units: np.ndarray, players: np.ndarray, misc: np.ndarray, amounts: np.ndarray, occ: np.ndarray,
          size: int, spawn_cells: tuple[int, int]) -> None:
    """A new game in these arrays: each player a base on its spawn and START_WORKERS workers around it."""
    walls, resources, _ = make_map(size)
    blocked = walls | (resources > 0)
    units[:] = 0
    players[:] = 0
    misc[:] = 0
    misc[M_WINNER] = -1
    amounts[:] = resources
    occ[:] = 0
    for p, cell in enumerate(spawn_cells):
        players[p, P_RESOURCES] = START_RESOURCES
        kernel.new_unit(units, players, occ, p, BASE, cell, 0)
        for _ in range(START_WORKERS):
            free = kernel.free_cell_around(cell, occ, blocked, size)
            kernel.new_unit(units, players, occ, p, WORKER, free, 0)


def empty_observation(size: int) -> dict[str, np.ndarray]:
    """Zeroed arrays of one player's observation (planes are [NUM_PLANES, size*size] here; the env's
    observation reshapes them to [NUM_PLANES, size, size])."""
    cells = size * size
    return {
        "planes": np.zeros((NUM_PLANES, cells), dtype=np.uint8),
        "entities": np.zeros((MAX_ENTITIES, NUM_ENTITY_FIELDS), dtype=np.int16),
        "entity_mask": np.zeros(MAX_ENTITIES, dtype=np.uint8),
        "scalars": np.zeros(NUM_SCALARS, dtype=np.int32),
        "type_mask": np.zeros(NUM_TYPES, dtype=np.uint8),
        "unit_mask": np.zeros((NUM_TYPES, NUM_UNIT_CHOICES), dtype=np.uint8),
        "target_mask": np.zeros((NUM_TYPES, cells), dtype=np.uint8),
    }


class Game:
    """One game of Skirmish on a `size` x `size` map (12-16)."""

    def __init__(self, size: int = 16, compiled: bool = False):
        self.size = size
        walls, resources, self.spawns = make_map(size)
        self.walls = walls.astype(np.uint8)
        self.blocked = walls | (resources > 0)
        self.dist = distance_table(size)
        cells = size * size
        self.units = np.zeros((MAX_UNITS, NUM_FIELDS), dtype=np.int32)
        self.players = np.zeros((2, NUM_PLAYER_FIELDS), dtype=np.int32)
        self.misc = np.zeros(NUM_MISC, dtype=np.int32)
        self.amounts = np.zeros(cells, dtype=np.int32)
        self.occ = np.zeros(cells, dtype=np.int32)
        both = {k: np.zeros((2, *v.shape), dtype=v.dtype) for k, v in empty_observation(size).items()}
        self.masks = (both["type_mask"], both["unit_mask"], both["target_mask"])
        self.obs = [{k: v[p] for k, v in both.items()} for p in range(2)]
        self.slot_ids = np.full((2, MAX_OWN), -1, dtype=np.int32)
        self.memo_targets = np.full(MEMO, -1, dtype=np.int32)  # remembered detours (kernel.memo_detour)
        self.memo_fields = np.zeros((MEMO, cells), dtype=np.int32)
        if compiled:
            from envs.games.skirmish import batched

            self._step, self._observe = batched.step_game_jit, batched.observe_player_jit
        else:
            self._step, self._observe = kernel.step_game, kernel.observe_player
        self.spawn_cells = (0, 0)

    def reset(self, seed: int | None = None) -> None:
        """A new game, its spawns drawn from `seed`."""
        self.spawn_cells = draw_spawns(seed, self.spawns)
        setup(self.units, self.players, self.misc, self.amounts, self.occ, self.size, self.spawn_cells)
        self.memo_targets[:] = -1
        self._observe_both()

    def sync(self) -> None:
        """After the state's arrays were set from outside (tests, benches): forget remembered detours and
        rebuild both observations."""
        self.memo_targets[:] = -1
        self._observe_both()

    def _observe_both(self) -> None:
        for p in range(2):
            o = self.obs[p]
            self._observe(self.units, self.players, self.misc, self.amounts, self.occ, self.blocked,
                          self.walls, self.size, p, o["planes"], o["entities"], o["entity_mask"],
                          o["scalars"], o["type_mask"], o["unit_mask"], o["target_mask"], self.slot_ids[p])

    def step(self, action0: Any, action1: Any) -> None:
        """One simultaneous step; an action is (type, unit, target) and an illegal one is a no-op."""
        actions = np.array([np.asarray(action0).reshape(3), np.asarray(action1).reshape(3)], dtype=np.int32)
        self._step(self.units, self.players, self.misc, self.amounts, self.occ, self.blocked, self.dist,
                   self.size, actions, *self.masks, self.slot_ids, self.memo_targets, self.memo_fields)
        self._observe_both()

    def observe(self, p: int) -> dict[str, np.ndarray]:
        """Player p's observation of the current state, masks included (arrays owned by the game: copy
        what is kept)."""
        return self.obs[p]

    @property
    def done(self) -> bool:
        return bool(self.misc[M_DONE])

    @property
    def winner(self) -> int:
        """0 or 1, 2 for a draw, -1 while the game runs."""
        return int(self.misc[M_WINNER])

    @property
    def step_count(self) -> int:
        return int(self.misc[M_STEP])

    def truth(self) -> dict[str, np.ndarray]:
        """The full state (copies), for training and for tests; players never read it."""
        return {"units": self.units.copy(), "players": self.players.copy(), "misc": self.misc.copy(),
                "amounts": self.amounts.copy(), "occ": self.occ.copy()}

    def returns(self) -> list[float]:
        """Each player's return: 1 for a win, -1 for a loss, 0 for a draw or an unfinished game."""
        w = self.winner
        return [0.0, 0.0] if w not in (0, 1) else ([1.0, -1.0] if w == 0 else [-1.0, 1.0])
