"""The batched match runner: N games advance together, one `act_batch` call per batching player per step.

A player that batches (a network player, PUCT) has `reset_batch(game, player_ids, seeds)`, which starts
one slot per (game, seat) it holds, and `act_batch(states, slots) -> actions`; it may also have
`observe_batch(states, actions, slots)`. A player without `act_batch` (a GTP engine, UCT) plays one game
at a time: the caller gives each (game, seat) its own object, reset and told of every action as
`envs.turn_based.play_game` does.

Every game keeps the one-game path's random streams: chance from `default_rng(seed)`, seat p's player
seeded `seed + 7919 * (p + 1)` (`play_game`'s seeds), and a batching player's slot draws only from its
own streams. So a game's moves do not depend on which other games share its batch, and a batch of one is
`play_game` exactly; with more games, only the evaluator's floating-point sums over a batch differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from envs.turn_based import (
    SIMULTANEOUS,
    GameRecord,
    apply_opening,
    inform,
    observers,
    perfect_information,
    sample_chance,
)

_CHANCE = -1


def batches(player: Any) -> bool:
    """True for a player that acts in several games with one call."""
    return callable(getattr(player, "act_batch", None))


def seat_seed(seed: int, seat: int) -> int:
    """The seed of seat `seat`'s player in the game seeded `seed` (as `play_game` resets it)."""
    return seed + 7919 * (seat + 1)


def play_batch(game: Any, tables: Sequence[Sequence[Any]], seeds: Sequence[int],
               openings: Sequence[Sequence[int]] | None = None) -> list[GameRecord]:
    """Play len(seeds) games of `game` together; game g seats `tables[g][p]` in seat p and uses seed
    `seeds[g]`, starting from `openings[g]` (see `envs.turn_based.play_game`). A batching player may sit
    at many tables (and at both seats of one); a player that does not batch must sit at one seat of one
    table. Returns the records in game order."""
    n = game.num_players()
    slots: dict[tuple[int, int], int] = {}  # (game, seat) of a batching player -> its slot
    batching: dict[int, tuple[Any, list[tuple[int, int]]]] = {}  # id(player) -> (player, its (game, seat)s)
    seated: dict[int, tuple[int, int]] = {}  # id(player that does not batch) -> its one (game, seat)
    for g, table in enumerate(tables):
        if len(table) != n:
            raise ValueError(f"game {g} seats {len(table)} players; {game} has {n}")
        for p, player in enumerate(table):
            if batches(player):
                entry = batching.setdefault(id(player), (player, []))
                slots[(g, p)] = len(entry[1])
                entry[1].append((g, p))
            elif id(player) in seated:
                raise ValueError(f"a player that does not batch sits at {seated[id(player)]} and {(g, p)} "
                                 "(game, seat) of one batch: give each its own object")
            else:
                seated[id(player)] = (g, p)
                player.reset(game, p, seat_seed(seeds[g], p))
    for player, held in batching.values():
        player.reset_batch(game, [p for _, p in held], [seat_seed(seeds[g], p) for g, p in held])
    perfect = perfect_information(game)
    watchers = [observers([player for player in table if not batches(player)]) for table in tables]
    batch_watchers = [player for player, _ in batching.values()
                      if callable(getattr(player, "observe_batch", None))]
    rngs = [np.random.default_rng(seed) for seed in seeds]
    states = [game.new_initial_state() for _ in seeds]
    records = [GameRecord() for _ in seeds]

    def applied(g: int, action: int | None) -> None:
        inform(watchers[g], states[g], action, perfect)
        for player in batch_watchers:
            held = [p for p in range(n) if tables[g][p] is player]
            for p in held:
                player.observe_batch([states[g]], [action if perfect else None], [slots[(g, p)]])

    for g, opening in enumerate(openings or ()):
        records[g].actions += apply_opening(states[g], opening, lambda action, g=g: applied(g, action))
    live = list(range(len(seeds)))
    while live:
        waiting: dict[int, list[tuple[int, int]]] = {}  # id(batching player) -> (game, seat)s to act in
        alone: list[tuple[int, int]] = []
        still = []
        for g in live:
            state = states[g]
            while state.is_chance_node():
                action = sample_chance(state, rngs[g])
                state.apply_action(action)
                records[g].actions.append(action)
                applied(g, action)
            if state.is_terminal():
                records[g].returns = [float(r) for r in state.returns()]
                continue
            still.append(g)
            mover = state.current_player()
            for p in range(n) if mover == SIMULTANEOUS else (mover,):
                player = tables[g][p]
                if batches(player):
                    waiting.setdefault(id(player), []).append((g, p))
                else:
                    alone.append((g, p))
        live = still
        chosen: dict[tuple[int, int], int] = {}
        for key, requests in waiting.items():
            player = batching[key][0]
            actions = player.act_batch([states[g].clone() for g, _ in requests], [slots[r] for r in requests])
            chosen.update(zip(requests, (int(a) for a in actions), strict=True))
        for g, p in alone:
            chosen[(g, p)] = int(tables[g][p].act(states[g].clone()))
        for g in live:
            state = states[g]
            mover = state.current_player()
            if mover == SIMULTANEOUS:
                joint = [chosen[(g, p)] for p in range(n)]
                for p, action in enumerate(joint):
                    if action not in state.legal_actions(p):
                        raise ValueError(f"player {p} chose illegal action {action}")
                state.apply_actions(joint)
                records[g].actions.extend(joint)
                applied(g, None)
            else:
                action = chosen[(g, mover)]
                if action not in state.legal_actions():
                    raise ValueError(f"player {mover} chose illegal action {action}")
                state.apply_action(action)
                records[g].actions.append(action)
                applied(g, action)
    return records
