"""Skirmish replays (a seed and the actions re-simulate a game exactly), bots' games as supervised data,
and a replay drawn as an animated GIF.

A replay is JSON: `{"size", "seed", "actions": [[a0, a1], ...], "winner"}`, the actions as the integers
`env.encode_action` makes (what the arena records). `resimulate(replay)` plays it again from the seed; the
engine is deterministic, so the final state is the recorded game's. `run.py tournament` writes the same
information per game in games.jsonl (seed and actions), so `replay_from_record` turns any of its games into
a replay.

`write_expert_data(experts, games, out)` is `run.py data --env skirmish --expert skirmish-bot:NAME`: the
expert plays both seats (several experts: games cycle through them); each game is saved as
`out/games/NNNNNN.npz` holding, for each player, its own observations step by step (planes, entities,
entity_mask, scalars and the three masks) and its actions as labels (type, unit, target), plus the replay
(`out/games/NNNNNN.json`); `out/manifest.json` lists the games.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envs.games.skirmish.engine import Game


@dataclass
class Replay:
    size: int
    seed: int
    actions: list[list[int]] = field(default_factory=list)
    """[[player 0's action, player 1's action], ...] as encoded integers"""
    winner: int = -1
    players: list[str] = field(default_factory=list)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: str | Path) -> Replay:
        return cls(**json.loads(Path(path).read_text()))


def record_game(env: Any, players: Sequence[Any], seed: int, names: Sequence[str] = ()) -> Replay:
    """Play one game of a SkirmishEnv with `players` (act(observation, info) -> action) and keep it."""
    obs, infos = env.reset(seed=seed)
    for k, p in enumerate(players):
        p.reset(env, k, seed + 7919 * (k + 1))
    while env.agents:
        actions = {a: players[k].act(obs[a], {"seat": k}) for k, a in enumerate(env.possible_agents)}
        obs, *_ = env.step(actions)
    return Replay(env.size, int(seed), [list(map(int, pair)) for pair in env.history], env.game.winner,
                  list(names))


def replay_from_record(record: dict[str, Any], size: int = 16) -> Replay:
    """A tournament game (a games.jsonl line: seed, actions in turn order) as a replay."""
    flat = record["actions"]
    pairs = [[int(flat[k]), int(flat[k + 1])] for k in range(0, len(flat) - 1, 2)]
    return Replay(size, int(record["seed"]), pairs, -1, list(record.get("players", [])))


def resimulate(replay: Replay, compiled: bool = True, on_step: Any = None) -> Game:
    """The game a replay describes, played again from its seed; `on_step(game)` after every step."""
    from envs.games.skirmish.env import decode_action

    game = Game(replay.size, compiled=compiled)
    game.reset(replay.seed)
    if on_step is not None:
        on_step(game)
    for a0, a1 in replay.actions:
        game.step(decode_action(a0, replay.size), decode_action(a1, replay.size))
        if on_step is not None:
            on_step(game)
    return game


# ---- supervised data -----------------------------------------------------------------------------------
def expert_game(expert: str, seed: int, size: int = 16) -> tuple[Replay, dict[str, np.ndarray]]:
    """One game of `expert` (a `skirmish-bot:NAME` player name) against itself: its replay and, per
    player p, `p{p}_<key>` arrays of its own observations and `p{p}_action` [steps, 3] labels."""
    from agents.players import make_player
    from envs.games.skirmish.env import SkirmishEnv, decode_action

    env = SkirmishEnv(size)
    players = [make_player(expert, env, seed=seed + k) for k in range(2)]
    kept: dict[str, list[np.ndarray]] = {}
    obs, _ = env.reset(seed=seed)
    for k, p in enumerate(players):
        p.reset(env, k, seed + 7919 * (k + 1))
    while env.agents:
        actions = {}
        for k, agent in enumerate(env.possible_agents):
            actions[agent] = players[k].act(obs[agent], {"seat": k})
            for key, value in obs[agent].items():
                kept.setdefault(f"p{k}_{key}", []).append(value)
            kept.setdefault(f"p{k}_action", []).append(np.array(decode_action(actions[agent], size),
                                                                dtype=np.int16))
        obs, *_ = env.step(actions)
    replay = Replay(size, seed, [list(map(int, pair)) for pair in env.history], env.game.winner,
                    [expert, expert])
    return replay, {k: np.stack(v) for k, v in kept.items()}


def write_expert_data(experts: Sequence[str], games: int, out: str | Path, seed: int = 0,
                      size: int = 16) -> dict[str, Any]:
    """`games` expert games into `out` (continuing a folder that has some: game i has seed `seed + i`);
    returns the manifest."""
    from envs.errors import UsageError

    if not experts or any(not e.startswith("skirmish-bot:") for e in experts):
        raise UsageError("run.py data --env skirmish needs --expert skirmish-bot:NAME (rush, economy, "
                         "counter, turtle, random)")
    folder = Path(out) / "games"
    folder.mkdir(parents=True, exist_ok=True)
    first = len(list(folder.glob("*.npz")))
    start = time.time()
    steps = 0
    for i in range(first, first + games):
        expert = experts[i % len(experts)]
        replay, arrays = expert_game(expert, seed + i, size)
        np.savez_compressed(folder / f"{i:06d}.npz", **arrays)
        replay.save(folder / f"{i:06d}.json")
        steps += len(replay.actions)
    manifest = {"env": f"skirmish(size={size})", "experts": list(experts), "games": first + games,
                "steps_added": steps, "seconds": round(time.time() - start, 1),
                "format": "games/NNNNNN.npz: p{0,1}_{planes,entities,entity_mask,scalars,type_mask,unit_mask,"
                          "target_mask} (each player's own observations) and p{0,1}_action (type, unit, "
                          "target) labels; games/NNNNNN.json: the replay"}
    (Path(out) / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


# ---- GIF -----------------------------------------------------------------------------------------------
COLOURS = {"floor": (236, 230, 214), "wall": (70, 70, 70), "resource": (222, 178, 40), "fog": (160, 160, 160)}
PLAYER_COLOURS = ((40, 90, 200), (200, 50, 40))


def frame(game: Game, player: int | None = None, cell: int = 12) -> np.ndarray:
    """One picture of the game (RGB uint8), from `player`'s view (fogged cells grey) or the truth."""
    from envs.games.skirmish.rules import F_ALIVE, F_BUILDING, F_HP, F_KIND, F_OWNER, F_POS, HIT_POINTS

    size = game.size
    image = np.zeros((size * cell, size * cell, 3), dtype=np.uint8)
    visible = (np.ones(size * size, bool) if player is None
               else game.observe(player)["planes"][14].astype(bool))
    for c in range(size * size):
        y, x = divmod(c, size)
        colour = (COLOURS["wall"] if game.walls[c] else COLOURS["resource"] if game.amounts[c] > 0
                  else COLOURS["floor"])
        if not visible[c]:
            colour = tuple(int(0.6 * v) for v in colour)
        image[y * cell : (y + 1) * cell, x * cell : (x + 1) * cell] = colour
    for i in np.flatnonzero(game.units[:, F_ALIVE]):
        owner, pos, kind = int(game.units[i, F_OWNER]), int(game.units[i, F_POS]), int(game.units[i, F_KIND])
        if player is not None and owner != player and not visible[pos]:
            continue
        y, x = divmod(pos, size)
        pad = 1 if kind <= 1 else (3 if kind == 2 else 2)
        block = image[y * cell + pad : (y + 1) * cell - pad, x * cell + pad : (x + 1) * cell - pad]
        block[:] = PLAYER_COLOURS[owner]
        if kind >= 3:  # combat kinds: a mark in the middle (light: none, heavy: square, ranged: bar)
            m = cell // 2
            if kind == 4:
                image[y * cell + m - 2 : y * cell + m + 2, x * cell + m - 2 : x * cell + m + 2] = 255
            elif kind == 5:
                image[y * cell + m - 1 : y * cell + m + 1, x * cell + pad : (x + 1) * cell - pad] = 255
        if kind <= 1 and game.units[i, F_BUILDING] > 0:
            block[::2, ::2] = 255  # under construction
        share = game.units[i, F_HP] / HIT_POINTS[kind]
        image[y * cell + pad, x * cell + pad : x * cell + pad + max(1, int(share * (cell - 2 * pad)))] = \
            (30, 200, 30)
    return image


def render_gif(replay: Replay, path: str | Path, every: int = 2, cell: int = 12, fps: int = 12,
               player: int | None = None) -> int:
    """The replay as an animated GIF (every `every`-th step); returns the number of frames."""
    from PIL import Image

    frames: list[Image.Image] = []

    def keep(game: Game) -> None:
        if game.step_count % every == 0 or game.done:
            frames.append(Image.fromarray(frame(game, player, cell)))

    resimulate(replay, on_step=keep)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0,
                   optimize=True)
    return len(frames)
