"""TD-Gammon training speed by net size: self-play games per second of the compiled loop.

For each size (198-H-K), a net is warmed up by self-play training games (an untrained net's first games
are long), then timed over rounds of training games (1-ply choice and the TD(lambda) update after every
move, `agents.td_gammon_kernel.CompiledSelfPlay`, alpha 0.1, lambda 0.7), the sizes taking turns round by
round so that load on a shared machine hits them alike. Speed is games (and moves) per second of process
CPU time, one thread; the median over rounds is reported.

    .venv/bin/python bench/td_gammon_sizes.py [--sizes 40x4 80x4 160x4] [--rounds 5] [--games 200]

Run it under `flock /tmp/palaestra-cpu.lock` on a shared machine. Writes bench/out/td_gammon_sizes.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from agents.td_gammon_kernel import CompiledSelfPlay  # noqa: E402
from agents.td_lambda import ValueNet  # noqa: E402

ALPHA, LAMBDA = 0.1, 0.7


def parse_size(text: str) -> tuple[int, int]:
    """'80x4' -> (80 hidden units, 4 outputs)."""
    hidden, _, outputs = text.partition("x")
    return int(hidden), int(outputs or 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["40x1", "40x4", "80x4", "160x4"],
                        help="HIDDENxOUTPUTS")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--games", type=int, default=200, help="games per size and round")
    parser.add_argument("--warmup-games", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    default_out = Path(__file__).resolve().parent / "out" / "td_gammon_sizes.json"
    parser.add_argument("--out", default=str(default_out))
    args = parser.parse_args()

    loops, rngs = {}, {}
    for size in args.sizes:
        hidden, outputs = parse_size(size)
        net = ValueNet(hidden, outputs, 0.1, np.random.default_rng(args.seed))
        loops[size] = CompiledSelfPlay(net, ALPHA, LAMBDA)
        rngs[size] = np.random.default_rng(args.seed + 1)
        for _ in range(args.warmup_games):
            loops[size].play(rngs[size])
    samples: dict[str, list[tuple[float, float]]] = {size: [] for size in args.sizes}
    for _ in range(args.rounds):
        for size, loop in loops.items():
            moves, start = 0, time.process_time()
            for _ in range(args.games):
                moves += loop.play(rngs[size])[1]
            seconds = time.process_time() - start
            samples[size].append((args.games / seconds, moves / seconds))
    rows = {}
    print(f"{'net':>12} | games/s (median of {args.rounds}) | moves/s | moves/game | rounds (games/s)")
    for size, values in samples.items():
        games = statistics.median(g for g, _ in values)
        moves = statistics.median(m for _, m in values)
        rows[size] = {"games_per_s": round(games, 1), "moves_per_s": round(moves), "rounds": values}
        print(f"{'198-' + size.replace('x', '-'):>12} | {games:8.1f} | {moves:8.0f} | {moves / games:5.1f} | "
              + " ".join(f"{g:.0f}" for g, _ in values))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "td-lambda self-play training games per second of CPU time, by net size",
        "sizes": rows, "settings": vars(args), "machine": platform.platform(), "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
