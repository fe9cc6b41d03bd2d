"""The batched match runner against the one-game path: games per second of a match between two players.

The same match (N games, seats alternating, game i seeded `seed + i`) is played twice in one process,
one torch thread: once game after game (`batch_size=1`, `play_game`, every search step of every move
one network call with one state) and once with all N games advancing together (`league/batched.py`,
each PUCT search step one network call with the states of every game whose player is to move). Prints
games per second (wall and CPU time of this process), the ratio, each path's score of the first player
with its 95% interval, whether the batched score lies inside the one-game interval, and how many games
of the two paths are move for move the same. Writes bench/out/batched_matches.json.

    .venv/bin/python bench/batched_matches.py FIRST SECOND [--env connect_four] [--games 256] [--sims 50]

FIRST and SECOND are player names (e.g. AlphaZero checkpoints; `,sims=` is added unless given).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import envs  # noqa: E402
from agents.players import make_player  # noqa: E402
from league.arena import MatchResult, match_jobs, play_games  # noqa: E402


def timed_match(spec: str, names: list[str], games: int, seed: int, batch_size: int) -> dict:
    jobs = match_jobs(names, games, seed)
    wall, cpu = time.perf_counter(), time.process_time()
    records = play_games(spec, jobs, make_player, batch_size=batch_size, build_seed=seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = MatchResult()
    for record in records:
        result.add(record)
    summary = result.summary()
    return {"batch_size": batch_size, "wall_s": wall, "cpu_s": cpu, "games_per_s_wall": games / wall,
            "games_per_s_cpu": games / cpu, "score": summary["score"],
            "interval": [summary["score_low"], summary["score_high"]], "records": records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--env", default="connect_four")
    parser.add_argument("--games", type=int, default=256)
    parser.add_argument("--sims", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = [n if "sims=" in n else f"{n},sims={args.sims}" for n in (args.first, args.second)]
    game = envs.make(args.env)
    for name in names:  # bad names fail here, before any game
        make_player(name, game)
    batched = timed_match(args.env, names, args.games, args.seed, args.games)
    alone = timed_match(args.env, names, args.games, args.seed, 1)
    same = sum(a["actions"] == b["actions"] for a, b in zip(alone.pop("records"), batched.pop("records"),
                                                            strict=True))
    inside = alone["interval"][0] <= batched["score"] <= alone["interval"][1]
    ratio_wall = batched["games_per_s_wall"] / alone["games_per_s_wall"]
    ratio_cpu = batched["games_per_s_cpu"] / alone["games_per_s_cpu"]
    print(f"{args.env}: {names[0]} against {names[1]}, {args.games} games, seats alternating, 1 torch thread")
    print(f"{'path':<22}{'games/s (wall)':>16}{'games/s (CPU)':>16}{'score':>8}  95% interval")
    for label, row in (("one game at a time", alone), (f"{args.games} together", batched)):
        print(f"{label:<22}{row['games_per_s_wall']:>16.2f}{row['games_per_s_cpu']:>16.2f}"
              f"{row['score']:>8.3f}  [{row['interval'][0]:.3f}, {row['interval'][1]:.3f}]")
    print(f"ratio: {ratio_wall:.1f}x wall, {ratio_cpu:.1f}x CPU (aim >= 5x); batched score inside the "
          f"one-game interval: {inside}; games identical move for move: {same} of {args.games}")
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "batched_matches.json").write_text(json.dumps({
        "env": args.env, "players": names, "games": args.games, "one_game": alone, "batched": batched,
        "ratio_wall": ratio_wall, "ratio_cpu": ratio_cpu, "inside_interval": inside, "identical_games": same,
        "machine": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }, indent=1))


if __name__ == "__main__":
    main()
