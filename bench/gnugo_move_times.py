"""GNU Go's time per move on 9x9 through the GTP client: gnugo:LEVEL against itself, each `genmove` timed.

Prints, per level, the games, moves, the median, 90th percentile and largest time of a move, and the mean
time of a game; writes bench/out/gnugo_move_times.json.

    .venv/bin/python bench/gnugo_move_times.py [--levels 1 10] [--games 4]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pyspiel

from agents.players import make_player
from envs.turn_based import play_game

ROOT = Path(__file__).resolve().parent.parent


class Timed:
    """A player whose `act` calls are timed (the rest of the contract passes through)."""

    def __init__(self, inner, times: list[float]):
        self.inner, self.times = inner, times

    def reset(self, game, player_id: int, seed: int) -> None:
        self.inner.reset(game, player_id, seed)

    def observe(self, state, action) -> None:
        self.inner.observe(state, action)

    def act(self, state) -> int:
        start = time.perf_counter()
        action = self.inner.act(state)
        self.times.append(time.perf_counter() - start)
        return action


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--games", type=int, default=4)
    args = parser.parse_args()
    game = pyspiel.load_game("go(board_size=9,komi=7.5)")
    out = {}
    for level in args.levels:
        times: list[float] = []
        seats = [Timed(make_player(f"gnugo:{level}", game, seed=s), times) for s in (0, 1)]
        start, lengths = time.perf_counter(), []
        for seed in range(args.games):
            lengths.append(len(play_game(game, seats, seed).actions))
        per_game = (time.perf_counter() - start) / args.games
        t = np.array(times)
        out[f"gnugo:{level}"] = row = {
            "games": args.games, "moves": int(t.size), "mean_game_length": float(np.mean(lengths)),
            "median_s": float(np.median(t)), "p90_s": float(np.percentile(t, 90)), "max_s": float(t.max()),
            "seconds_per_game": per_game,
        }
        print(f"gnugo:{level}: {row['games']} games, {row['moves']} moves (mean length "
              f"{row['mean_game_length']:.0f}); a move: median {row['median_s'] * 1000:.0f} ms, 90% "
              f"{row['p90_s'] * 1000:.0f} ms, max {row['max_s'] * 1000:.0f} ms; a game {per_game:.1f} s")
    path = ROOT / "bench" / "out" / "gnugo_move_times.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
