"""Scripted Skirmish players that act on their own fogged observation only (never `info["state"]`).

`skirmish-bot:NAME` (agents/players.py) builds one of `BOTS`: rush (a barracks at once, light units, an
attack as soon as two are out), economy (many workers, a second base in an empty corner, then a big
mixed army), counter (scouts with a worker, counts the enemy kinds it has seen and trains the counter of
the most common one), turtle (heavy and ranged units that stay home and hold the ground in front of the
base) and random (uniform over legal actions: a type, then a unit, then a target). Each makes one action
per step; the enemy's base is found by visiting the map's spawn corners (public map knowledge) nearest
first, crossing off a corner once it is seen empty. A bot remembers what it saw (the enemy base's cell,
the kinds it counted), because the observation does not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.games.skirmish.env import encode_action
from envs.games.skirmish.rules import (
    A_ATTACK,
    A_BUILD_BARRACKS,
    A_BUILD_BASE,
    A_GATHER,
    A_MOVE,
    A_TRAIN_HEAVY,
    A_TRAIN_LIGHT,
    A_TRAIN_RANGED,
    A_TRAIN_WORKER,
    ARMY,
    BARRACKS,
    BASE,
    BUILD,
    GROUP_ARMY,
    GROUP_IDLE_ARMY,
    HEAVY,
    IDLE,
    LIGHT,
    MAX_OWN,
    RANGED,
    TRAIN,
    WORKER,
    make_map,
)

TRAIN_TYPE = {LIGHT: A_TRAIN_LIGHT, HEAVY: A_TRAIN_HEAVY, RANGED: A_TRAIN_RANGED}
COUNTER_OF = {LIGHT: HEAVY, HEAVY: RANGED, RANGED: LIGHT}  # the kind that beats each combat kind


class View:
    """What one observation says, in lists: own units (slot, kind, x, y, order, building) and enemies."""

    def __init__(self, o: dict[str, np.ndarray]):
        self.o = o
        self.size = int(o["planes"].shape[-1])
        n = int(o["entity_mask"].sum())
        rows = o["entities"][:n].tolist()
        self.own = [(k, *row[1:]) for k, row in enumerate(rows) if row[0] == 0]
        self.enemies = [tuple(row[1:]) for row in rows if row[0] == 1]
        self.resources = int(o["scalars"][0])
        self.visible = o["planes"][14].reshape(-1)

    def mine(self, kind: int) -> list[tuple]:
        return [u for u in self.own if u[1] == kind]

    def legal(self, t: int, u: int, c: int) -> bool:
        o = self.o
        return bool(o["type_mask"][t] and o["unit_mask"][t, u] and o["target_mask"][t].reshape(-1)[c])


def cheb(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


class ScriptedBot:
    """The shared economy and army routine; a bot is this class with its knobs (and, for counter, the
    kind it trains chosen by what it saw)."""

    name = "scripted"
    workers = 5  # workers to keep
    barracks = 1  # barracks to build
    expand_at = 0  # workers after which to build a second base (0: never)
    attack_at = 4  # army size that launches an attack (0: never; the army holds near the base)
    army_mix: tuple[int, ...] = (LIGHT,)  # kinds trained in turn
    scout = False

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.reset(None, 0, seed)

    def reset(self, env: Any, player_id: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.home: tuple[int, int] | None = None
        self.candidates: list[tuple[int, int]] = []
        self.enemy_base: tuple[int, int] | None = None
        self.seen: dict[int, int] = {}
        self.trained = 0
        self.gathers = 0
        self.attacking = False
        self.scout_slot_kind: tuple[int, int] | None = None
        self.step = 0

    # ---- memory -----------------------------------------------------------------------------------
    def _remember(self, v: View) -> None:
        bases = v.mine(BASE)
        if self.home is None and bases:
            self.home = (bases[0][2], bases[0][3])
            spawns = [(int(c) % v.size, int(c) // v.size) for c in make_map(v.size)[2]]
            self.candidates = sorted((s for s in spawns if s != self.home),
                                     key=lambda s: (cheb(s, self.home), s[1], s[0]))
        enemy_bases = [(x, y) for kind, x, y, *_ in v.enemies if kind == BASE]
        if enemy_bases:
            self.enemy_base = enemy_bases[0]
        elif self.enemy_base is not None and v.visible[self.enemy_base[1] * v.size + self.enemy_base[0]]:
            self.enemy_base = None  # seen destroyed
        self.candidates = [c for c in self.candidates
                           if not v.visible[c[1] * v.size + c[0]] or (self.enemy_base == c)]
        for kind, *_ in v.enemies:
            if kind in ARMY:
                self.seen[kind] = self.seen.get(kind, 0) + 1

    def target(self) -> tuple[int, int] | None:
        if self.enemy_base is not None:
            return self.enemy_base
        return self.candidates[0] if self.candidates else None

    # ---- acting -----------------------------------------------------------------------------------
    def act(self, observation: dict[str, np.ndarray], info: dict | None = None) -> int:
        v = View(observation)
        self._remember(v)
        self.step += 1
        for choice in self.choices(v):
            if choice is not None and v.legal(*choice):
                return encode_action(*choice, v.size)
        return 0

    def choices(self, v: View):
        """Candidate actions, best first; the first legal one is played."""
        yield self.defend(v)
        yield self.attack(v)
        yield self.gather(v)
        if len(v.mine(WORKER)) < self.workers:
            yield self.train(v, A_TRAIN_WORKER, BASE)
        if self.scout:
            yield self.send_scout(v)
        if self.expand_at and len(v.mine(WORKER)) >= self.expand_at and len(v.mine(BASE)) < 2:
            yield self.build(v, A_BUILD_BASE)
        if len(v.mine(BARRACKS)) < self.barracks and self.army_time(v):
            yield self.build(v, A_BUILD_BARRACKS)
        if v.resources >= 15 and len(v.mine(BARRACKS)) < 3 and self.army_time(v):  # spend a surplus
            yield self.build(v, A_BUILD_BARRACKS)
        yield self.train(v, TRAIN_TYPE[self.next_kind()], BARRACKS)

    def army_time(self, v: View) -> bool:
        """Whether to build barracks yet (the economy bot waits for its second base)."""
        return True

    def next_kind(self) -> int:
        return self.army_mix[self.trained % len(self.army_mix)]

    def defend(self, v: View) -> tuple[int, int, int] | None:
        """Attack-move the whole army onto an enemy seen near home (not re-issued while it fights)."""
        if self.home is None:
            return None
        near = [(cheb((x, y), self.home), x, y) for kind, x, y, *_ in v.enemies
                if cheb((x, y), self.home) <= 5]
        army = [u for u in v.own if u[1] in ARMY]
        if not near or not army or (self.step % 4 and not any(u[5] == IDLE for u in army)):
            return None
        _, x, y = min(near)
        return A_ATTACK, MAX_OWN + GROUP_ARMY, y * v.size + x

    def gather(self, v: View) -> tuple[int, int, int] | None:
        idle = [u for u in v.mine(WORKER) if u[5] == IDLE and u != self.scout_slot_kind]
        if not idle or self.home is None:
            return None
        cells = np.flatnonzero(v.o["target_mask"][A_GATHER])
        if not len(cells):
            return None
        w = idle[0]
        ranked = sorted(cells, key=lambda c: (cheb((c % v.size, c // v.size), (w[2], w[3])), c))
        self.gathers += 1
        return A_GATHER, w[0], int(ranked[self.gathers % min(len(ranked), 4)])

    def train(self, v: View, t: int, building: int) -> tuple[int, int, int] | None:
        ready = [u for u in v.mine(building) if u[5] != TRAIN and u[7] == 0]
        if not ready or not v.o["type_mask"][t]:
            return None
        if t != A_TRAIN_WORKER:
            self.trained += 1
        return t, ready[0][0], 0

    def build(self, v: View, t: int) -> tuple[int, int, int] | None:
        workers = [u for u in v.mine(WORKER) if u[5] != BUILD]
        if not workers or not v.o["type_mask"][t] or self.home is None:
            return None
        if any(u[5] == BUILD for u in v.mine(WORKER)):  # one builder at a time
            return None
        allowed = v.o["target_mask"][t].reshape(v.size, v.size)
        planes = v.o["planes"]
        if t == A_BUILD_BASE:
            spots = [c for c in self.candidates[::-1] if c != self.enemy_base]
            if not spots:
                return None
            sx, sy = spots[0]
            cells = [(abs(x - sx) + abs(y - sy), y, x) for y in range(v.size) for x in range(v.size)
                     if allowed[y, x]]
        else:
            hx, hy = self.home
            cells = []
            for y in range(v.size):
                for x in range(v.size):
                    d = cheb((x, y), self.home)
                    if not allowed[y, x] or not 2 <= d <= 3:
                        continue
                    box = planes[:, max(0, y - 1) : y + 2, max(0, x - 1) : x + 2]
                    if box[:4].sum() == 0:  # no wall, patch or own building next to it
                        cells.append((abs(x - hx) + abs(y - hy), y, x))
        if not cells:
            return None
        _, y, x = min(cells)
        w = min(workers, key=lambda u: (cheb((u[2], u[3]), (x, y)), u[0]))
        return t, w[0], y * v.size + x

    def send_scout(self, v: View) -> tuple[int, int, int] | None:
        if self.scout_slot_kind is not None or self.step < 8 or self.enemy_base is not None:
            return None
        target = self.target()
        workers = v.mine(WORKER)
        if target is None or len(workers) < 3:
            return None
        self.scout_slot_kind = workers[-1]
        return A_MOVE, workers[-1][0], target[1] * v.size + target[0]

    def attack(self, v: View) -> tuple[int, int, int] | None:
        army = [u for u in v.own if u[1] in ARMY]
        target = self.target()
        if not self.attack_at or target is None:
            return self.hold(v, army)
        if len(army) >= self.attack_at:
            self.attacking = True
        if not self.attacking:
            return self.hold(v, army)
        if self.step % 12 == 0:  # the whole army, now and then: stragglers and units stuck on the way
            return A_ATTACK, MAX_OWN + GROUP_ARMY, target[1] * v.size + target[0]
        if not any(u[5] == IDLE for u in army):
            return None
        return A_ATTACK, MAX_OWN + GROUP_IDLE_ARMY, target[1] * v.size + target[0]

    def hold(self, v: View, army: list[tuple]) -> tuple[int, int, int] | None:
        """Idle army units gather on a cell two steps from home toward the map's centre."""
        if self.home is None or not any(u[5] == IDLE and cheb((u[2], u[3]), self.home) > 3 for u in army):
            return None
        hx, hy = self.home
        c = v.size // 2
        x, y = hx + 2 * np.sign(c - hx), hy + 2 * np.sign(c - hy)
        return A_MOVE, MAX_OWN + GROUP_IDLE_ARMY, int(y) * v.size + int(x)


class RushBot(ScriptedBot):
    name, workers, barracks, attack_at, army_mix = "rush", 5, 2, 3, (LIGHT,)


class EconomyBot(ScriptedBot):
    name, workers, barracks, expand_at, attack_at = "economy", 12, 2, 8, 12
    army_mix = (RANGED,)

    def army_time(self, v: View) -> bool:
        return len(v.mine(BASE)) >= 2 or self.step >= 120


class TurtleBot(ScriptedBot):
    name, workers, barracks, attack_at, army_mix = "turtle", 6, 1, 0, (HEAVY,)


class CounterBot(ScriptedBot):
    name, workers, barracks, attack_at, scout = "counter", 6, 1, 6, True

    def next_kind(self) -> int:
        if not self.seen:
            return RANGED
        common = max(sorted(self.seen), key=lambda k: self.seen[k])
        return COUNTER_OF[common]


class RandomBot:
    """Uniform over legal actions: a type, then a unit for it, then a target for it."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def reset(self, env: Any, player_id: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, observation: dict[str, np.ndarray], info: dict | None = None) -> int:
        o = observation
        t = int(self.rng.choice(np.flatnonzero(o["type_mask"])))
        u = int(self.rng.choice(np.flatnonzero(o["unit_mask"][t])))
        c = int(self.rng.choice(np.flatnonzero(o["target_mask"][t].reshape(-1))))
        return encode_action(t, u, c, int(o["planes"].shape[-1]))


BOTS = {"rush": RushBot, "economy": EconomyBot, "counter": CounterBot, "turtle": TurtleBot,
        "random": RandomBot}


def make_bot(name: str, seed: int = 0) -> Any:
    """The bot called `name` (one of BOTS); UsageError otherwise."""
    if name not in BOTS:
        from envs.errors import UsageError, closest

        raise UsageError(f"unknown skirmish bot {name!r}{closest(name, BOTS)}; bots are {', '.join(BOTS)}")
    return BOTS[name](seed)
