"""One step of one Skirmish game on arrays: the rules as code, written so numba can compile it.

`step_game` applies both players' actions and advances the game one step; `observe_player` builds one
player's fogged observation and action masks. Both act on one game's arrays (layout in rules.py):
units [MAX_UNITS, NUM_FIELDS], players [2, NUM_PLAYER_FIELDS], misc [NUM_MISC], amounts [cells] (resource
left per cell), occ [cells] (unit id + 1, 0 empty), and the map's static `blocked` [cells] and `dist`.

Run as plain Python these functions are the specification (`engine.Game`); `batched.py` compiles them
with numba and steps many games in parallel, and tests/test_skirmish_batched.py holds the two equal step
for step. Every rule reads top to bottom here:

1. Actions. An action (type, unit, target) is legal when the player's last masks allow all three parts
   (`observe_player` made them from its own view); anything else (out of range, masked) is a no-op. A
   legal action gives the unit (or each unit of the group) a new order; a train order pays at once.
2. Units act in id order. Attack and move cooldowns tick. A building under construction counts down; a
   training building counts down and puts the new unit on the first free cell around it. A mobile unit
   follows its order: `move` walks to the cell; `attack` (attack-move) hits the best enemy in range
   (highest damage, then fewest hit points, then lowest id), else walks to the nearest enemy it sees,
   else to the cell (blocked within ARRIVED cells of it, it has arrived; so does `move`); `idle` hits an
   enemy in range but never walks; `gather` walks next to the patch, fills up, walks next to the nearest
   own finished base and drops its load; `build` walks next to the cell and, if the cell is free and the
   player can pay, starts the building there (the worker is then idle).
   A walk is one 4-neighbour step (`walk`): to a free open cell closer by the map's distance table
   (ties: up, right, down, left); else to a cell closer by a search around buildings, swapping with an
   own unit that gives way; else it waits.
3. Damage dealt in the step lands at once at its end (so who acts first does not matter in a fight):
   units at 0 hit points die.
4. A player with no base left loses (both at once: a draw); at MAX_STEPS the score decides
   (`rules.score`), equal scores a draw.
"""

from __future__ import annotations

import numpy as np

from envs.games.skirmish.rules import (
    A_ATTACK,
    A_BUILD_BARRACKS,
    A_BUILD_BASE,
    A_GATHER,
    A_MOVE,
    A_STOP,
    A_TRAIN_HEAVY,
    A_TRAIN_LIGHT,
    A_TRAIN_RANGED,
    A_TRAIN_WORKER,
    ARMY,
    ATTACK,
    ATTACK_RANGE,
    BASE,
    BUILD,
    BUILD_TIME,
    CARRY,
    COOLDOWN,
    COST,
    DAMAGE,
    F_ALIVE,
    F_ARG,
    F_BUILDING,
    F_CARRY,
    F_CD,
    F_DAMAGE,
    F_HP,
    F_KIND,
    F_MCD,
    F_ORDER,
    F_OWNER,
    F_POS,
    F_TARGET,
    F_TIMER,
    GATHER,
    GATHER_TIME,
    GROUP_ARMY,
    GROUP_IDLE_ARMY,
    HIT_POINTS,
    IDLE,
    M_DONE,
    M_STEP,
    M_WINNER,
    MAX_OWN,
    MAX_STEPS,
    MAX_UNITS,
    MOVE,
    MOVE_TIME,
    NUM_GROUPS,
    NUM_KINDS,
    NUM_TYPES,
    NUM_UNIT_CHOICES,
    P_BASES,
    P_RESOURCES,
    P_UNITS,
    SIGHT,
    TRAIN,
    TRAINED_BY,
    TYPE_KIND,
    UNREACHABLE,
    WORKER,
)

ARRIVED = 3
"""A move or attack-move blocked this close to its cell (others stand there) counts as arrived."""
_DX4 = np.array([0, 1, 0, -1], dtype=np.int32)
_DY4 = np.array([-1, 0, 1, 0], dtype=np.int32)
_DX8 = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int32)
_DY8 = np.array([-1, -1, 0, 1, 1, 1, 0, -1], dtype=np.int32)
_IS_ARMY = np.array([k in ARMY for k in range(NUM_KINDS)], dtype=np.bool_)
_GROUP_TYPES = np.array([A_MOVE, A_ATTACK, A_GATHER, A_STOP], dtype=np.int32)  # what a group may do


def chebyshev(a: int, b: int, size: int) -> int:
    """Chebyshev distance between two cells."""
    return max(abs(a % size - b % size), abs(a // size - b // size))


def new_unit(units, players, occ, owner, kind, cell, building):
    """Put a unit of `kind` on `cell` in the lowest free id; returns its id."""
    for i in range(MAX_UNITS):
        if units[i, F_ALIVE] == 0:
            units[i, :] = 0
            units[i, F_ALIVE] = 1
            units[i, F_OWNER] = owner
            units[i, F_KIND] = kind
            units[i, F_POS] = cell
            units[i, F_HP] = HIT_POINTS[kind]
            units[i, F_ORDER] = IDLE
            units[i, F_BUILDING] = building
            occ[cell] = i + 1
            players[owner, P_UNITS] += 1
            if kind == BASE:
                players[owner, P_BASES] += 1
            return i
    return -1


def can_do(units, i, t):
    """Whether unit i can take an action of type t (ignoring cost and targets)."""
    kind = units[i, F_KIND]
    if t == A_MOVE or t == A_STOP:
        return MOVE_TIME[kind] > 0
    if t == A_ATTACK:
        return ATTACK_RANGE[kind] > 0
    if t == A_GATHER or t == A_BUILD_BARRACKS or t == A_BUILD_BASE:
        return kind == WORKER
    made = TYPE_KIND[t]
    if made >= 0:  # a train action
        return kind == TRAINED_BY[made] and units[i, F_BUILDING] == 0 and units[i, F_ORDER] != TRAIN
    return False


def in_group(units, i, g, t):
    """Whether unit i belongs to group g for an action of type t."""
    kind = units[i, F_KIND]
    idle = units[i, F_ORDER] == IDLE
    if g == GROUP_ARMY:
        return _IS_ARMY[kind] and (t == A_MOVE or t == A_ATTACK or t == A_STOP)
    if g == GROUP_IDLE_ARMY:
        return _IS_ARMY[kind] and idle and (t == A_MOVE or t == A_ATTACK or t == A_STOP)
    return kind == WORKER and idle and (t == A_MOVE or t == A_GATHER or t == A_STOP)


def give_order(units, players, i, t, cell):
    """Unit i's new order from a legal action of type t at `cell`."""
    if t == A_STOP:
        units[i, F_ORDER] = IDLE
    elif t == A_MOVE:
        units[i, F_ORDER] = MOVE
        units[i, F_TARGET] = cell
    elif t == A_ATTACK:
        units[i, F_ORDER] = ATTACK
        units[i, F_TARGET] = cell
    elif t == A_GATHER:
        units[i, F_ORDER] = GATHER
        units[i, F_TARGET] = cell
        units[i, F_TIMER] = 0
    elif t == A_BUILD_BARRACKS or t == A_BUILD_BASE:
        units[i, F_ORDER] = BUILD
        units[i, F_TARGET] = cell
        units[i, F_ARG] = TYPE_KIND[t]
    else:  # train
        made = TYPE_KIND[t]
        players[units[i, F_OWNER], P_RESOURCES] -= COST[made]
        units[i, F_ORDER] = TRAIN
        units[i, F_ARG] = made
        units[i, F_TIMER] = BUILD_TIME[made]


def apply_action(units, players, p, action, type_mask, unit_mask, target_mask, slot_ids):
    """Player p's action (type, unit, target), if its masks allow it; else nothing (a no-op)."""
    t, u, c = action[0], action[1], action[2]
    if t < 0 or t >= NUM_TYPES or u < 0 or u >= NUM_UNIT_CHOICES or c < 0 or c >= target_mask.shape[1]:
        return
    if type_mask[t] == 0 or unit_mask[t, u] == 0 or target_mask[t, c] == 0:
        return
    if t == 0:
        return
    if u < MAX_OWN:
        give_order(units, players, slot_ids[u], t, c)
        return
    g = u - MAX_OWN
    for i in range(MAX_UNITS):
        if units[i, F_ALIVE] == 1 and units[i, F_OWNER] == p and in_group(units, i, g, t):
            give_order(units, players, i, t, c)


def walk(units, i, target, occ, blocked, dist, size, memo_targets, memo_fields, chase=False):
    """One step of unit i toward `target`; returns whether it moved. First choice: a free open neighbour
    closer by the map's distance table. Else (a building or a unit in the way): a neighbour closer by a
    search from the target around the buildings, free or held by an own mobile unit that gives way
    (`will_swap`), which then swaps places with it. Else it waits. (`chase`: the target is a unit, whose
    cell changes: its search is not remembered, and stops once it reaches the walker.)"""
    pos = units[i, F_POS]
    here = dist[target, pos]
    best, best_d = -1, here
    x, y = pos % size, pos // size
    for k in range(4):
        nx, ny = x + _DX4[k], y + _DY4[k]
        if 0 <= nx < size and 0 <= ny < size:
            n = ny * size + nx
            if not blocked[n] and occ[n] == 0 and dist[target, n] < best_d:
                best, best_d = n, dist[target, n]
    if best < 0:
        if chase:
            around = detour(units, target, occ, blocked, size, pos)
        else:
            around = memo_detour(units, target, occ, blocked, size, memo_targets, memo_fields)
        best_d = around[pos]
        for k in range(4):
            nx, ny = x + _DX4[k], y + _DY4[k]
            if 0 <= nx < size and 0 <= ny < size:
                n = ny * size + nx
                j = occ[n] - 1
                movable = j < 0 or will_swap(units, j, pos, dist, units[i, F_OWNER])
                if not blocked[n] and movable and around[n] < best_d:
                    best, best_d = n, around[n]
        if best < 0:
            return False
    j = occ[best] - 1
    if j >= 0:  # swap with an own mobile unit
        units[j, F_POS] = pos
        occ[pos] = j + 1
    else:
        occ[pos] = 0
    occ[best] = i + 1
    units[i, F_POS] = best
    units[i, F_MCD] = MOVE_TIME[units[i, F_KIND]]
    return True


def memo_detour(units, target, occ, blocked, size, memo_targets, memo_fields):
    """`detour` to `target`, remembered (memo_targets[k] >= 0: memo_fields[k] is the detour to it) until a
    building goes up or falls, which clears `memo_targets`. The memo changes no result, only the time."""
    k = 0
    while k < memo_targets.shape[0] and memo_targets[k] >= 0:
        if memo_targets[k] == target:
            return memo_fields[k]
        k += 1
    if k == memo_targets.shape[0]:
        k = target % memo_targets.shape[0]
    memo_fields[k, :] = detour(units, target, occ, blocked, size, -1)
    memo_targets[k] = target
    return memo_fields[k]


def will_swap(units, j, pos, dist, owner):
    """Whether unit j gives way to a unit of `owner` coming from `pos` by swapping places: j is an own
    mobile unit that stands idle, or whose own order's cell is closer from `pos` (so swaps never undo
    each other)."""
    if units[j, F_OWNER] != owner or MOVE_TIME[units[j, F_KIND]] == 0:
        return False
    order = units[j, F_ORDER]
    if order == IDLE:
        return True
    target = units[j, F_TARGET]
    return dist[target, pos] < dist[target, units[j, F_POS]]


def detour(units, target, occ, blocked, size, stop_at):
    """4-neighbour steps to `target` from every cell over open cells free of buildings (mobile units do
    not block); UNREACHABLE where none. With `stop_at` >= 0 the search stops when it reaches that cell:
    every cell nearer than it is then final, and the rest are UNREACHABLE (a walker there compares its
    neighbours only with its own distance, so it steps as after the whole search)."""
    cells = size * size
    out = np.full(cells, UNREACHABLE, dtype=np.int32)
    queue = np.empty(cells, dtype=np.int32)
    out[target] = 0
    queue[0] = target
    head, tail = 0, 1
    while head < tail:
        c = queue[head]
        head += 1
        x, y = c % size, c // size
        for k in range(4):
            nx, ny = x + _DX4[k], y + _DY4[k]
            if 0 <= nx < size and 0 <= ny < size:
                n = ny * size + nx
                if out[n] != UNREACHABLE or blocked[n]:
                    continue
                j = occ[n] - 1
                if j >= 0 and MOVE_TIME[units[j, F_KIND]] == 0:
                    continue
                out[n] = out[c] + 1
                if n == stop_at:
                    return out
                queue[tail] = n
                tail += 1
    return out


def enemy_around(units, i, occ, size, radius, best_hit):
    """The enemy to hit within `radius` of unit i (best_hit) or the nearest one (not best_hit); -1: none.
    Best hit: most damage, then fewest hit points, then lowest id; nearest: Chebyshev, then lowest id."""
    pos, owner, kind = units[i, F_POS], units[i, F_OWNER], units[i, F_KIND]
    x, y = pos % size, pos // size
    best, key0, key1 = -1, 0, 0
    for ny in range(max(0, y - radius), min(size, y + radius + 1)):
        for nx in range(max(0, x - radius), min(size, x + radius + 1)):
            j = occ[ny * size + nx] - 1
            if j < 0 or units[j, F_OWNER] == owner:
                continue
            if best_hit:
                k0, k1 = -DAMAGE[kind, units[j, F_KIND]], units[j, F_HP]
            else:
                k0, k1 = max(abs(nx - x), abs(ny - y)), 0
            if best < 0 or k0 < key0 or (k0 == key0 and (k1 < key1 or (k1 == key1 and j < best))):
                best, key0, key1 = j, k0, k1
    return best


def nearest_base(units, i, dist, bases, n_bases):
    """Unit i's owner's finished base nearest to it by the distance table (ties: lowest id); -1: none.
    `bases[:n_bases]`: the ids of the bases alive at the step's start, in id order (a base placed during
    the step is not finished, and bases fall only at its end, so these are all the candidates)."""
    pos, owner = units[i, F_POS], units[i, F_OWNER]
    best, best_d = -1, 0
    for k in range(n_bases):
        j = bases[k]
        if units[j, F_OWNER] == owner and units[j, F_BUILDING] == 0:
            d = dist[units[j, F_POS], pos]
            if best < 0 or d < best_d:
                best, best_d = j, d
    return best


def free_cell_around(cell, occ, blocked, size):
    """The first open, empty cell around `cell` (up, then clockwise); -1: none."""
    x, y = cell % size, cell // size
    for k in range(8):
        nx, ny = x + _DX8[k], y + _DY8[k]
        if 0 <= nx < size and 0 <= ny < size:
            n = ny * size + nx
            if not blocked[n] and occ[n] == 0:
                return n
    return -1


def act_unit(units, players, i, amounts, occ, blocked, dist, size, memo_targets, memo_fields, bases,
             n_bases):
    """Unit i's part of a step (rule 2 of the module's docstring)."""
    kind, order = units[i, F_KIND], units[i, F_ORDER]
    if units[i, F_CD] > 0:
        units[i, F_CD] -= 1
    if units[i, F_MCD] > 0:
        units[i, F_MCD] -= 1
    if units[i, F_BUILDING] > 0:
        units[i, F_BUILDING] -= 1
        return
    if order == TRAIN:
        if units[i, F_TIMER] > 0:
            units[i, F_TIMER] -= 1
        if units[i, F_TIMER] == 0 and players[units[i, F_OWNER], P_UNITS] < MAX_OWN:
            cell = free_cell_around(units[i, F_POS], occ, blocked, size)
            if cell >= 0:
                new_unit(units, players, occ, units[i, F_OWNER], units[i, F_ARG], cell, 0)
                units[i, F_ORDER] = IDLE
        return
    if MOVE_TIME[kind] == 0:
        return
    ready = units[i, F_MCD] == 0
    pos, target = units[i, F_POS], units[i, F_TARGET]
    if order == IDLE or order == ATTACK:
        if ATTACK_RANGE[kind] > 0:
            j = enemy_around(units, i, occ, size, ATTACK_RANGE[kind], True)
            if j >= 0:
                if units[i, F_CD] == 0:
                    units[j, F_DAMAGE] += DAMAGE[kind, units[j, F_KIND]]
                    units[i, F_CD] = COOLDOWN[kind]
                return
        if order == ATTACK and ready:
            j = enemy_around(units, i, occ, size, SIGHT[kind], False)
            if j >= 0:
                walk(units, i, units[j, F_POS], occ, blocked, dist, size, memo_targets, memo_fields, True)
            elif pos == target:
                units[i, F_ORDER] = IDLE
            elif not walk(units, i, target, occ, blocked, dist, size, memo_targets, memo_fields):
                if chebyshev(pos, target, size) <= ARRIVED:
                    units[i, F_ORDER] = IDLE
    elif order == MOVE:
        if pos == target:
            units[i, F_ORDER] = IDLE
        elif ready and not walk(units, i, target, occ, blocked, dist, size, memo_targets, memo_fields):
            if chebyshev(pos, target, size) <= ARRIVED:
                units[i, F_ORDER] = IDLE
    elif order == GATHER:
        if units[i, F_CARRY] > 0:
            b = nearest_base(units, i, dist, bases, n_bases)
            if b < 0:
                units[i, F_ORDER] = IDLE
            elif chebyshev(pos, units[b, F_POS], size) <= 1:
                players[units[i, F_OWNER], P_RESOURCES] += units[i, F_CARRY]
                units[i, F_CARRY] = 0
            elif ready:
                walk(units, i, units[b, F_POS], occ, blocked, dist, size, memo_targets, memo_fields)
        elif amounts[target] <= 0:
            units[i, F_ORDER] = IDLE
        elif chebyshev(pos, target, size) <= 1:
            units[i, F_TIMER] += 1
            if units[i, F_TIMER] >= GATHER_TIME:
                take = min(CARRY, amounts[target])
                amounts[target] -= take
                units[i, F_CARRY] = take
                units[i, F_TIMER] = 0
        elif ready:
            walk(units, i, target, occ, blocked, dist, size, memo_targets, memo_fields)
    elif order == BUILD:
        if chebyshev(pos, target, size) <= 1:
            owner, made = units[i, F_OWNER], units[i, F_ARG]
            if (occ[target] == 0 and not blocked[target] and players[owner, P_RESOURCES] >= COST[made]
                    and players[owner, P_UNITS] < MAX_OWN):
                players[owner, P_RESOURCES] -= COST[made]
                new_unit(units, players, occ, owner, made, target, BUILD_TIME[made])
                memo_targets[:] = -1  # a new building: detours change
            units[i, F_ORDER] = IDLE
        elif ready:
            walk(units, i, target, occ, blocked, dist, size, memo_targets, memo_fields)


def step_game(units, players, misc, amounts, occ, blocked, dist, size, actions, type_masks, unit_masks,
              target_masks, slot_ids, memo_targets, memo_fields):
    """One simultaneous step: both players' actions (actions[p] = (type, unit, target), checked against
    masks[p] from the last `observe_player`), then every unit acts, then damage lands and the game may end.
    `memo_targets`, `memo_fields`: the game's remembered detours (`memo_detour`; all -1 at a new game)."""
    if misc[M_DONE] == 1:
        return
    for p in range(2):
        apply_action(units, players, p, actions[p], type_masks[p], unit_masks[p], target_masks[p],
                     slot_ids[p])
    alive_at_start = units[:, F_ALIVE].copy()
    bases = np.empty(MAX_UNITS, dtype=np.int32)
    n_bases = 0
    for i in range(MAX_UNITS):
        if alive_at_start[i] == 1 and units[i, F_KIND] == BASE:
            bases[n_bases] = i
            n_bases += 1
    for i in range(MAX_UNITS):
        if alive_at_start[i] == 1:
            act_unit(units, players, i, amounts, occ, blocked, dist, size, memo_targets, memo_fields, bases,
                     n_bases)
    for i in range(MAX_UNITS):
        if units[i, F_ALIVE] == 1 and units[i, F_DAMAGE] > 0:
            units[i, F_HP] -= units[i, F_DAMAGE]
            units[i, F_DAMAGE] = 0
            if units[i, F_HP] <= 0:
                units[i, F_ALIVE] = 0
                occ[units[i, F_POS]] = 0
                owner = units[i, F_OWNER]
                players[owner, P_UNITS] -= 1
                if units[i, F_KIND] == BASE:
                    players[owner, P_BASES] -= 1
                if MOVE_TIME[units[i, F_KIND]] == 0:
                    memo_targets[:] = -1  # a building fell: detours change
    misc[M_STEP] += 1
    lost0, lost1 = players[0, P_BASES] == 0, players[1, P_BASES] == 0
    if lost0 or lost1:
        misc[M_DONE] = 1
        misc[M_WINNER] = 2 if (lost0 and lost1) else (1 if lost0 else 0)
    elif misc[M_STEP] >= MAX_STEPS:
        s0, s1 = final_score(units, players, 0), final_score(units, players, 1)
        misc[M_DONE] = 1
        misc[M_WINNER] = 0 if s0 > s1 else (1 if s1 > s0 else 2)


def final_score(units, players, p):
    """rules.score: the cost of p's living units plus its resources."""
    total = players[p, P_RESOURCES]
    for i in range(MAX_UNITS):
        if units[i, F_ALIVE] == 1 and units[i, F_OWNER] == p:
            total += COST[units[i, F_KIND]]
    return total


def observe_player(units, players, misc, amounts, occ, blocked, walls, size, p, planes, entities, entity_mask,
                   scalars, type_mask, unit_mask, target_mask, slot_ids):
    """Fill player p's observation (planes, entities, entity_mask, scalars), its masks and `slot_ids` (the
    unit id of each own entity slot, -1 past the last) from its own view only: terrain, its own units and
    the enemy units on cells its units see now."""
    cells = size * size
    planes[:] = 0
    entities[:] = 0
    entity_mask[:] = 0
    unit_mask[:] = 0
    target_mask[:] = 0
    type_mask[:] = 0
    slot_ids[:] = -1
    visible = planes[14]
    for c in range(cells):
        planes[0, c] = walls[c]
        planes[1, c] = amounts[c] > 0
    for i in range(MAX_UNITS):
        if units[i, F_ALIVE] == 1 and units[i, F_OWNER] == p:
            r, pos = SIGHT[units[i, F_KIND]], units[i, F_POS]
            x, y = pos % size, pos // size
            for ny in range(max(0, y - r), min(size, y + r + 1)):
                for nx in range(max(0, x - r), min(size, x + r + 1)):
                    visible[ny * size + nx] = 1
    n_own, n = 0, 0
    pending = 0
    for mine in (True, False):
        for i in range(MAX_UNITS):
            if units[i, F_ALIVE] == 0 or (units[i, F_OWNER] == p) != mine:
                continue
            pos, kind = units[i, F_POS], units[i, F_KIND]
            if not mine and visible[pos] == 0:
                continue
            planes[(2 if mine else 2 + NUM_KINDS) + kind, pos] = 1
            e = entities[n]
            e[0], e[1], e[2], e[3] = (0 if mine else 1), kind, pos % size, pos // size
            e[4], e[5] = units[i, F_HP], units[i, F_ORDER]
            e[6], e[7] = units[i, F_CARRY], units[i, F_BUILDING]
            entity_mask[n] = 1
            n += 1
            if mine:
                slot_ids[n_own] = i
                if units[i, F_ORDER] == TRAIN:
                    pending += 1
                n_own += 1
    resources, count = players[p, P_RESOURCES], players[p, P_UNITS]
    scalars[0], scalars[1], scalars[2], scalars[3] = resources, count, MAX_OWN, misc[M_STEP]
    if misc[M_DONE] == 1:
        type_mask[0] = 1
        unit_mask[0, 0] = 1
        target_mask[0, 0] = 1
        return
    _masks(units, players, p, amounts, occ, blocked, planes, size, n_own, pending, slot_ids, type_mask,
           unit_mask, target_mask)


def _masks(units, players, p, amounts, occ, blocked, planes, size, n_own, pending, slot_ids, type_mask,
           unit_mask, target_mask):
    """The three masks (type, unit given type, target given type) from player p's view."""
    cells = size * size
    resources, count = players[p, P_RESOURCES], players[p, P_UNITS]
    for k in range(n_own):
        i = slot_ids[k]
        for t in range(1, NUM_TYPES):
            if can_do(units, i, t):
                unit_mask[t, k] = 1
        if units[i, F_KIND] == WORKER or _IS_ARMY[units[i, F_KIND]]:
            for g in range(NUM_GROUPS):
                for t in _GROUP_TYPES:
                    if in_group(units, i, g, t):
                        unit_mask[t, MAX_OWN + g] = 1
    for t in range(1, NUM_TYPES):
        made = TYPE_KIND[t]
        if made >= 0 and (resources < COST[made] or count + pending >= MAX_OWN):
            unit_mask[t, :] = 0
    any_resource = False
    for c in range(cells):
        if not blocked[c]:
            target_mask[A_MOVE, c] = 1
            target_mask[A_ATTACK, c] = 1
            j = occ[c] - 1
            if j < 0 or (units[j, F_OWNER] != p and planes[14, c] == 0):  # free, as far as p can tell
                target_mask[A_BUILD_BARRACKS, c] = 1
                target_mask[A_BUILD_BASE, c] = 1
        if amounts[c] > 0:
            target_mask[A_GATHER, c] = 1
            any_resource = True
    for t in (0, A_TRAIN_WORKER, A_TRAIN_LIGHT, A_TRAIN_HEAVY, A_TRAIN_RANGED, A_STOP):
        target_mask[t, 0] = 1
    unit_mask[0, 0] = 1
    for t in range(NUM_TYPES):
        has_unit = False
        for u in range(NUM_UNIT_CHOICES):
            if unit_mask[t, u] == 1:
                has_unit = True
                break
        if t == A_GATHER and not any_resource:
            has_unit = False
        type_mask[t] = 1 if has_unit else 0
        if not has_unit:
            unit_mask[t, :] = 0
            target_mask[t, :] = 0
    type_mask[0], unit_mask[0, 0], target_mask[0, 0] = 1, 1, 1
