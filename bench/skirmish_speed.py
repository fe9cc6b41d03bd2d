"""Skirmish engine speed in the middle game: single-game and batched (B = 256) steps per second.

A step is one simultaneous move of both players, including both players' observations and masks. The
middle game: B games of counter against counter (skirmish-bot) played 100 steps from seeds 0..B-1; their
states are the start. From there the bots play `--steps` more steps, their actions recorded; then the
same actions are replayed, timed, by (1) the single-game engine compiled (`Game(compiled=True)`, what
the env uses), (2) the single-game engine as plain Python (the specification), (3) the batched engine
(all B games in one compiled call per step, one core); and, for comparison, (4) the PettingZoo env's
`step` (dict actions, observation copies, the full state in `info`) over the first 64 games. The
compiled and batched replays' final states are checked equal, and the plain-Python ones.

    flock /tmp/palaestra-cpu.lock .venv/bin/python bench/skirmish_speed.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from envs.games.skirmish.batched import BatchedGames
from envs.games.skirmish.bots import make_bot
from envs.games.skirmish.engine import Game
from envs.games.skirmish.env import SkirmishEnv, agent_observation, decode_action, encode_action
from envs.games.skirmish.rules import P_UNITS


def play_bots(game: Game, bots: list, steps: int, size: int) -> list[tuple]:
    """Both bots play `steps` steps (or to the end) from the game's state; the actions played."""
    actions = []
    for _ in range(steps):
        if game.done:
            break
        a = [decode_action(bots[p].act(agent_observation(game, p), {}), size) for p in range(2)]
        game.step(a[0], a[1])
        actions.append(a)
    return actions


def copy_state(src: Game, dst_arrays: tuple) -> None:
    for s, d in zip((src.units, src.players, src.misc, src.amounts, src.occ), dst_arrays, strict=True):
        d[...] = s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=100, help="timed steps after the first 100")
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--spec-games", type=int, default=4, help="games the plain-Python engine replays")
    args = parser.parse_args()
    size, batch = args.size, args.batch

    starts, recorded = [], []
    for b in range(batch):
        game = Game(size, compiled=True)
        game.reset(b)
        bots = [make_bot("counter", 2 * b), make_bot("counter", 2 * b + 1)]
        for p, bot in enumerate(bots):
            bot.reset(None, p, 2 * b + p)
        play_bots(game, bots, 100, size)
        starts.append(game.truth())
        recorded.append(play_bots(game, bots, args.steps, size))
        recorded[-1] += [[(0, 0, 0), (0, 0, 0)]] * (args.steps - len(recorded[-1]))
    units = np.array([[s["players"][p, P_UNITS] for p in range(2)] for s in starts])
    print(f"middle game: {batch} games of counter vs counter after 100 steps, units per side: mean "
          f"{units.mean():.1f}, min {units.min()}, {np.mean(units.min(axis=1) >= 20):.0%} of games with 20+ "
          f"a side")
    actions = np.array(recorded, dtype=np.int32)  # [B, steps, 2, 3]

    def replay_single(compiled: bool, games: int) -> tuple[float, list]:
        finals, elapsed, steps = [], 0.0, 0
        for b in range(games):
            game = Game(size, compiled=compiled)
            game.reset(b)
            copy_state_from(starts[b], game)
            t0 = time.perf_counter()
            for k in range(args.steps):
                if game.done:
                    break
                game.step(actions[b, k, 0], actions[b, k, 1])
                steps += 1
            elapsed += time.perf_counter() - t0
            finals.append(game.truth())
        return steps / elapsed, finals

    single_rate, single_finals = replay_single(True, batch)
    spec_rate, spec_finals = replay_single(False, args.spec_games)
    env_rate = replay_env(starts, actions, min(batch, 64), args.steps, size)

    games = BatchedGames(batch, size)
    games.reset(list(range(batch)))
    for b in range(batch):
        s = starts[b]
        for key, array in (("units", games.units), ("players", games.players), ("misc", games.misc),
                           ("amounts", games.amounts), ("occ", games.occ)):
            array[b] = s[key]
    games.step(np.zeros((batch, 2, 3), dtype=np.int32) * 0)  # warm up (compiles on a first run)
    for b in range(batch):  # the warm-up step was a no-op step: start again from the snapshots
        for key, array in (("units", games.units), ("players", games.players), ("misc", games.misc),
                           ("amounts", games.amounts), ("occ", games.occ)):
            array[b] = starts[b][key]
        games.reset_observations(b)
    running = 0
    t0 = time.perf_counter()
    for k in range(args.steps):
        running += int((~games.done).sum())
        games.step(actions[:, k])
    batched_elapsed = time.perf_counter() - t0
    batched_rate = running / batched_elapsed
    same = all(np.array_equal(games.units[b], single_finals[b]["units"]) for b in range(batch))
    same_spec = all(np.array_equal(spec_finals[b]["units"], single_finals[b]["units"])
                    for b in range(args.spec_games))
    print(f"single-game engine, compiled:    {single_rate:10,.0f} steps/s   (target 2,000)")
    print(f"single-game engine, plain Python: {spec_rate:9,.0f} steps/s   (the specification)")
    print(f"the PettingZoo env (SkirmishEnv.step: dicts, copies, info's full state): {env_rate:,.0f} steps/s")
    print(f"batched engine, B={batch}, 1 core: {batched_rate:10,.0f} steps/s   (target 20,000)")
    print(f"final states equal: batched = single {same}, plain Python = compiled {same_spec}")


def replay_env(starts: list, actions: np.ndarray, games: int, steps: int, size: int) -> float:
    """The same actions through SkirmishEnv.step (what the arena and the learners call)."""
    env = SkirmishEnv(size)
    elapsed, done = 0.0, 0
    for b in range(games):
        env.reset(seed=b)
        copy_state_from(starts[b], env.game)
        t0 = time.perf_counter()
        for k in range(steps):
            if not env.agents or env.game.done:
                break
            env.step({"player_0": encode_action(*actions[b, k, 0], size),
                      "player_1": encode_action(*actions[b, k, 1], size)})
            done += 1
        elapsed += time.perf_counter() - t0
    return done / elapsed


def copy_state_from(state: dict, game: Game) -> None:
    """Put a `Game.truth()` snapshot into a game and rebuild its observations."""
    for key in ("units", "players", "misc", "amounts", "occ"):
        getattr(game, key)[...] = state[key]
    game.sync()


if __name__ == "__main__":
    main()
