"""The batched engine: B Skirmish games stepped at once by numba-compiled kernel.py.

kernel.py is loaded a second time as its own module and every function of it compiled with numba (the
plain module stays plain Python: the specification). `BatchedGames(B, size)` keeps the B games' arrays
stacked on a leading axis; `step(actions)` (actions [B, 2, 3]) steps every game that is not over and
builds both players' observations and masks, in one compiled call on one core. Each game's arrays and
observations are exactly what `engine.Game` would hold (tests/test_skirmish_batched.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import numba
import numpy as np

from envs.games.skirmish import engine, kernel, rules
from envs.games.skirmish.rules import (
    MAX_OWN,
    MAX_UNITS,
    NUM_FIELDS,
    NUM_MISC,
    NUM_PLAYER_FIELDS,
    distance_table,
    make_map,
)


def _clear_stale_cache() -> None:
    """numba's disk cache knows kernel.py's time stamp but not rules.py's, whose tables it compiles in:
    when rules.py or kernel.py changed since the cache was written, the cache is dropped."""
    folder = Path(kernel.__file__).parent / "__pycache__"
    stamp = hashlib.sha256(b"".join(Path(m.__file__).read_bytes() for m in (rules, kernel))).hexdigest()
    mark = folder / "skirmish_kernel.stamp"
    if mark.exists() and mark.read_text() == stamp:
        return
    folder.mkdir(exist_ok=True)
    for stale in list(folder.glob("kernel.*.nbi")) + list(folder.glob("kernel.*.nbc")) + \
            list(folder.glob("batched.*.nbi")) + list(folder.glob("batched.*.nbc")):
        stale.unlink(missing_ok=True)
    mark.write_text(stamp)


def _compiled_kernel():
    """kernel.py as a second module whose functions are numba-compiled (cached on disk)."""
    name = "envs.games.skirmish._kernel_compiled"
    if name in sys.modules:
        return sys.modules[name]
    _clear_stale_cache()
    spec = importlib.util.spec_from_file_location(name, kernel.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attribute, value in list(vars(module).items()):
        if callable(value) and getattr(value, "__module__", None) == name:
            setattr(module, attribute, numba.njit(cache=True)(value))
    sys.modules[name] = module
    return module


_K = _compiled_kernel()
step_game_jit = _K.step_game
observe_player_jit = _K.observe_player
_step, _observe = _K.step_game, _K.observe_player


@numba.njit(cache=True)
def step_batch(units, players, misc, amounts, occ, blocked, walls, dist, size, actions, planes, entities,
               entity_mask, scalars, type_mask, unit_mask, target_mask, slot_ids, memo_targets, memo_fields):
    """Every game b of the batch: `step_game` with actions[b], then both players' observations."""
    for b in range(units.shape[0]):
        if misc[b, 1] == 1:
            continue
        _step(units[b], players[b], misc[b], amounts[b], occ[b], blocked, dist, size, actions[b],
              type_mask[b], unit_mask[b], target_mask[b], slot_ids[b], memo_targets[b], memo_fields[b])
        for p in range(2):
            _observe(units[b], players[b], misc[b], amounts[b], occ[b], blocked, walls, size, p, planes[b, p],
                     entities[b, p], entity_mask[b, p], scalars[b, p], type_mask[b, p], unit_mask[b, p],
                     target_mask[b, p], slot_ids[b, p])


class BatchedGames:
    """B games of one map size; `obs[key]` is [B, 2, ...] (game, player), as `Game.observe` lays it out."""

    def __init__(self, batch: int, size: int = 16):
        self.batch, self.size = batch, size
        walls, resources, self.spawns = make_map(size)
        self.walls = walls.astype(np.uint8)
        self.blocked = walls | (resources > 0)
        self.dist = distance_table(size)
        cells = size * size
        self.units = np.zeros((batch, MAX_UNITS, NUM_FIELDS), dtype=np.int32)
        self.players = np.zeros((batch, 2, NUM_PLAYER_FIELDS), dtype=np.int32)
        self.misc = np.zeros((batch, NUM_MISC), dtype=np.int32)
        self.amounts = np.zeros((batch, cells), dtype=np.int32)
        self.occ = np.zeros((batch, cells), dtype=np.int32)
        one = engine.empty_observation(size)
        self.obs = {k: np.zeros((batch, 2, *v.shape), dtype=v.dtype) for k, v in one.items()}
        self.slot_ids = np.full((batch, 2, MAX_OWN), -1, dtype=np.int32)
        self.memo_targets = np.full((batch, engine.MEMO), -1, dtype=np.int32)
        self.memo_fields = np.zeros((batch, engine.MEMO, cells), dtype=np.int32)

    def reset(self, seeds: list[int]) -> None:
        """Every game anew, game b's spawns drawn from seeds[b] (as `Game.reset(seeds[b])`)."""
        for b, seed in enumerate(seeds):
            self.reset_game(b, seed)

    def reset_game(self, b: int, seed: int) -> None:
        """Game b anew (e.g. when it is over), with its observations."""
        spawn_cells = engine.draw_spawns(seed, self.spawns)
        engine.setup(self.units[b], self.players[b], self.misc[b], self.amounts[b], self.occ[b], self.size,
                     spawn_cells)
        self.reset_observations(b)

    def reset_observations(self, b: int) -> None:
        """Game b's observations rebuilt from its arrays (after they were set from outside), its remembered
        detours forgotten."""
        self.memo_targets[b] = -1
        o = self.obs
        for p in range(2):
            _observe(self.units[b], self.players[b], self.misc[b], self.amounts[b], self.occ[b], self.blocked,
                     self.walls, self.size, p, o["planes"][b, p], o["entities"][b, p], o["entity_mask"][b, p],
                     o["scalars"][b, p], o["type_mask"][b, p], o["unit_mask"][b, p], o["target_mask"][b, p],
                     self.slot_ids[b, p])

    def step(self, actions: np.ndarray) -> None:
        """One step of every running game; actions [B, 2, 3] (game, player, (type, unit, target))."""
        o = self.obs
        step_batch(self.units, self.players, self.misc, self.amounts, self.occ, self.blocked, self.walls,
                   self.dist, self.size, np.ascontiguousarray(actions, dtype=np.int32), o["planes"],
                   o["entities"], o["entity_mask"], o["scalars"], o["type_mask"], o["unit_mask"],
                   o["target_mask"], self.slot_ids, self.memo_targets, self.memo_fields)

    @property
    def done(self) -> np.ndarray:
        return self.misc[:, 1] == 1
