"""Skirmish's rules in one place: the unit table, the map, the action layout and the array layout.

Everything a unit can be is one row of the table below; the engine (`kernel.py`) reads only these
arrays, so changing the balance is editing numbers here. Kinds: base, barracks, worker and three combat
types in a counter cycle: light beats ranged (it closes the distance and hits hard), ranged beats heavy
(it outranges the slow heavy and pierces its armour), heavy beats light.
"""

from __future__ import annotations

import functools

import numpy as np

# ---- unit kinds ----------------------------------------------------------------------------------------
BASE, BARRACKS, WORKER, LIGHT, HEAVY, RANGED = range(6)
NUM_KINDS = 6
KIND_NAMES = ("base", "barracks", "worker", "light", "heavy", "ranged")
KIND_LETTERS = "BKWLHR"  # the terminal view's letters (upper case own/player 0, lower case the other)
BUILDINGS = (BASE, BARRACKS)
ARMY = (LIGHT, HEAVY, RANGED)

#                      base barracks worker light heavy ranged
COST = np.array([10, 6, 1, 2, 3, 3], dtype=np.int32)
HIT_POINTS = np.array([40, 24, 4, 8, 14, 6], dtype=np.int32)
ATTACK_RANGE = np.array([0, 0, 1, 1, 1, 3], dtype=np.int32)  # Chebyshev distance; 0: cannot attack
COOLDOWN = np.array([0, 0, 2, 2, 3, 2], dtype=np.int32)  # steps between attacks
MOVE_TIME = np.array([0, 0, 1, 1, 2, 2], dtype=np.int32)  # steps per cell; 0: cannot move
SIGHT = np.array([3, 2, 3, 3, 2, 4], dtype=np.int32)  # Chebyshev radius of the square a unit sees
BUILD_TIME = np.array([30, 16, 4, 6, 8, 7], dtype=np.int32)  # steps to build (buildings) or train
# DAMAGE[attacker, target]: the counter cycle lives here.
DAMAGE = np.array([
    [0, 0, 0, 0, 0, 0],  # base
    [0, 0, 0, 0, 0, 0],  # barracks
    [1, 1, 1, 1, 1, 1],  # worker
    [3, 3, 2, 2, 1, 5],  # light: beats ranged
    [3, 3, 3, 5, 2, 1],  # heavy: beats light
    [2, 2, 2, 1, 5, 2],  # ranged: beats heavy
], dtype=np.int32)
TRAINED_BY = np.array([-1, -1, BASE, BARRACKS, BARRACKS, BARRACKS], dtype=np.int32)

# ---- economy and game length ---------------------------------------------------------------------------
START_RESOURCES = 8
START_WORKERS = 3
CARRY = 2  # resources a worker brings back per trip
GATHER_TIME = 1  # steps next to a patch to fill up
PATCH_AMOUNT = 30  # resources in one resource cell
MAX_OWN = 40  # units a player may have at once (buildings included): its supply cap
MAX_STEPS = 500  # then the score decides (see `score`)

# ---- orders (a unit's current order, shown in the entity list) -----------------------------------------
IDLE, MOVE, ATTACK, GATHER, BUILD, TRAIN = range(6)
ORDER_NAMES = ("idle", "move", "attack", "gather", "build", "train")

# ---- actions: (type, unit, target) ---------------------------------------------------------------------
NOOP, A_MOVE, A_ATTACK, A_GATHER, A_BUILD_BARRACKS, A_BUILD_BASE, A_TRAIN_WORKER, A_TRAIN_LIGHT, \
    A_TRAIN_HEAVY, A_TRAIN_RANGED, A_STOP = range(11)
NUM_TYPES = 11
TYPE_NAMES = ("noop", "move", "attack", "gather", "build_barracks", "build_base", "train_worker",
              "train_light", "train_heavy", "train_ranged", "stop")
TYPE_KIND = np.array([-1, -1, -1, -1, BARRACKS, BASE, WORKER, LIGHT, HEAVY, RANGED, -1], dtype=np.int32)
"""The kind a build or train action makes (-1: none)."""
GROUP_ARMY, GROUP_IDLE_ARMY, GROUP_IDLE_WORKERS = range(3)
NUM_GROUPS = 3
GROUP_NAMES = ("army", "idle_army", "idle_workers")
NUM_UNIT_CHOICES = MAX_OWN + NUM_GROUPS
"""The unit part: own entity slot k < MAX_OWN (the k-th own unit, in the entity list's order), or a group
MAX_OWN + g."""

# ---- array layout of one game's state (the engine's and the batched engine's) --------------------------
F_ALIVE, F_OWNER, F_KIND, F_POS, F_HP, F_ORDER, F_TARGET, F_CARRY, F_TIMER, F_CD, F_MCD, F_ARG, \
    F_BUILDING, F_DAMAGE = range(14)
NUM_FIELDS = 14
"""Unit fields: alive, owner, kind, cell, hit points, order, order's target cell, carried resources, timer
(gathering, training), attack cooldown, move cooldown, order argument (kind to build or train), steps of
construction left (0: finished), damage taken this step."""
MAX_UNITS = 2 * MAX_OWN
P_RESOURCES, P_UNITS, P_BASES = range(3)
NUM_PLAYER_FIELDS = 3
M_STEP, M_DONE, M_WINNER = range(3)  # winner: 0 or 1, 2 a draw, -1 not over
NUM_MISC = 3

# ---- observation layout --------------------------------------------------------------------------------
PLANE_NAMES = ("wall", "resource", *(f"own_{k}" for k in KIND_NAMES), *(f"enemy_{k}" for k in KIND_NAMES),
               "visible")
NUM_PLANES = len(PLANE_NAMES)
ENTITY_FIELDS = ("owner", "kind", "x", "y", "hit_points", "order", "carry", "building")
NUM_ENTITY_FIELDS = len(ENTITY_FIELDS)
MAX_ENTITIES = MAX_UNITS
SCALAR_NAMES = ("resources", "supply_used", "supply_cap", "step")
NUM_SCALARS = len(SCALAR_NAMES)

NEIGHBOURS = ((0, -1), (1, 0), (0, 1), (-1, 0))  # 4-neighbour moves, in the order ties are broken
AROUND = ((0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1))  # where units appear
UNREACHABLE = 9999


@functools.cache
def make_map(size: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(walls [size*size] bool, resource amounts [size*size] int32, spawn cells [4] int32) of the map.

    Four quadrants split by a cross of two-cell-thick walls; each quadrant meets its neighbours through a
    corridor along the map's edge and through the centre (the chokepoints). A spawn (a base's cell) sits in
    each quadrant's corner, with two resource patches of two cells beside it; the two unused quadrants are
    the places to expand to.
    """
    if not 12 <= size <= 16:
        raise ValueError(f"skirmish maps are 12x12 to 16x16, not {size}")
    m = size // 2
    walls = np.zeros((size, size), dtype=bool)
    for lo, hi in ((2, m - 2), (m + 1, size - 3)):
        walls[m - 1 : m + 1, lo : hi + 1] = True  # horizontal arms (rows m-1, m)
        walls[lo : hi + 1, m - 1 : m + 1] = True  # vertical arms (columns m-1, m)
    resources = np.zeros((size, size), dtype=np.int32)
    r = m - 3
    corner_cells = [(r, 0), (r, 1), (0, r), (1, r)]
    spawns = []
    for flip_x in (False, True):
        for flip_y in (False, True):
            def at(x: int, y: int, fx: bool = flip_x, fy: bool = flip_y) -> tuple[int, int]:
                return (size - 1 - x if fx else x), (size - 1 - y if fy else y)

            for x, y in corner_cells:
                cx, cy = at(x, y)
                resources[cy, cx] = PATCH_AMOUNT
            bx, by = at(1, 1)
            spawns.append(by * size + bx)
    return walls.ravel(), resources.ravel(), np.array(spawns, dtype=np.int32)


@functools.cache
def distance_table(size: int = 16) -> np.ndarray:
    """dist[t, c]: 4-neighbour steps from cell c to cell t over the map's open cells (walls and resource
    cells block; t itself need not be open, so a unit can head for a patch or a building)."""
    walls, resources, _ = make_map(size)
    blocked = walls | (resources > 0)
    n = size * size
    dist = np.full((n, n), UNREACHABLE, dtype=np.int32)
    for t in range(n):
        row = dist[t]
        row[t] = 0
        frontier = [t]
        d = 0
        while frontier:
            d += 1
            nxt = []
            for c in frontier:
                x, y = c % size, c // size
                for dx, dy in NEIGHBOURS:
                    nx, ny = x + dx, y + dy
                    if 0 <= nx < size and 0 <= ny < size:
                        k = ny * size + nx
                        if not blocked[k] and row[k] == UNREACHABLE:
                            row[k] = d
                            nxt.append(k)
            frontier = nxt
    return dist


def score(units: np.ndarray, players: np.ndarray, player: int) -> int:
    """The score that decides a game still open at MAX_STEPS: the cost of a player's living units
    (buildings included) plus its unspent resources. Equal scores are a draw."""
    own = (units[:, F_ALIVE] == 1) & (units[:, F_OWNER] == player)
    return int(COST[units[own, F_KIND]].sum() + players[player, P_RESOURCES])
