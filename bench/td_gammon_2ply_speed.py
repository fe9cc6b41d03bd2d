"""TD-Gammon 2-ply move choice: moves per second, batched against one net call per searched candidate.

The positions are the decisions of 1-ply self-play games of the given model (every candidate position of
each roll, the engine's `legal_positions`). Each is chosen by 2-ply (the `--prune` best candidates by 1-ply
equity, the opponent's best reply to each of its 21 rolls) three ways:

- per candidate: the earlier `choose_2ply`, one net call over each searched candidate's replies (8 calls a
  move at prune 8, besides the call over the candidates), the replies from the engine;
- batched: `agents.td_lambda.choose_2ply`, all second-ply positions of the move through the net in one
  call, the replies from the engine (`reply_positions`);
- batched, compiled replies: the same with the replies from the compiled move generator
  (`agents.td_gammon_kernel.CompiledReplies`), as the player plays (`MODEL,ply=2`).

Speed is moves per second of process CPU time, one thread, the median over rounds; the three ways take
turns round by round and must choose the same moves.

    .venv/bin/python bench/td_gammon_2ply_speed.py MODEL [--games 4] [--rounds 3] [--prune 8]

Run it under `flock /tmp/palaestra-cpu.lock` on a shared machine. Writes bench/out/td_gammon_2ply_speed.json.
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
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from agents.td_gammon_kernel import CompiledReplies  # noqa: E402
from agents.td_lambda import _ROLLS, ValueNet, choose_2ply, net_from_model, value_positions  # noqa: E402
from envs.backgammon import engine as E  # noqa: E402


def choose_2ply_per_candidate(net: ValueNet, positions: np.ndarray, prune: int) -> int:
    """The earlier 2-ply: one net call over the replies of each searched candidate."""
    _, _, _, equity = value_positions(net, positions)
    if len(positions) == 1:
        return 0
    order = np.argsort(-equity, kind="stable")[:max(prune, 1)]
    best, best_value = int(order[0]), -np.inf
    for i in order:
        if positions[i, 0, E.OFF] == E.NUM_CHECKERS:
            value = float(equity[i])
        else:
            replies = [E.legal_positions(E.flip(positions[i]), (a, b)) for a, b, _ in _ROLLS]
            _, _, _, reply_equity = value_positions(net, np.concatenate(replies))
            bounds = np.cumsum([0] + [len(r) for r in replies])
            value = -sum(p * float(reply_equity[s:e].max())
                         for (_, _, p), s, e in zip(_ROLLS, bounds[:-1], bounds[1:], strict=True))
        if value > best_value:
            best, best_value = int(i), value
    return best


def decisions(net: ValueNet, games: int, seed: int) -> list[np.ndarray]:
    """The candidate positions of every decision of `games` 1-ply self-play games."""
    rng, out = np.random.default_rng(seed), []
    for _ in range(games):
        board = E.initial_board()
        while True:
            positions = E.legal_positions(board, rng.integers(1, 7, 2))
            i = int(np.argmax(value_positions(net, positions)[3]))
            if positions[i, 0, E.OFF] == E.NUM_CHECKERS:
                break
            out.append(positions)
            board = E.flip(positions[i])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a td-lambda checkpoint")
    parser.add_argument("--games", type=int, default=4, help="self-play games whose decisions are timed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prune", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    default_out = Path(__file__).resolve().parent / "out" / "td_gammon_2ply_speed.json"
    parser.add_argument("--out", default=str(default_out))
    args = parser.parse_args()

    net = net_from_model(torch.load(args.model, weights_only=True)["model"])
    moves = decisions(net, args.games, args.seed)
    compiled = CompiledReplies()
    ways = {
        "per candidate (engine replies)": lambda p: choose_2ply_per_candidate(net, p, args.prune),
        "batched (engine replies)": lambda p: choose_2ply(net, p, args.prune),
        "batched, compiled replies": lambda p: choose_2ply(net, p, args.prune, compiled),
    }
    ways["batched, compiled replies"](moves[0])  # numba loads before any timing
    speeds: dict[str, list[float]] = {name: [] for name in ways}
    choices: dict[str, list[int]] = {}
    for _ in range(args.rounds):
        for name, choose in ways.items():
            start = time.process_time()
            choices[name] = [choose(p) for p in moves]
            speeds[name].append(len(moves) / (time.process_time() - start))
    reference = choices["per candidate (engine replies)"]
    rows = {}
    hidden, outputs = net.shapes["b1"][0], net.outputs
    print(f"198-{hidden}-{outputs}, prune {args.prune}, {len(moves)} decisions of {args.games} games")
    print(f"{'2-ply':>32} | moves/s (median of {args.rounds}) | same moves as per candidate")
    for name, values in speeds.items():
        same = sum(a == b for a, b in zip(choices[name], reference, strict=True))
        rows[name] = {"moves_per_s": round(statistics.median(values), 1), "rounds": values,
                      "same_moves": same, "moves": len(moves)}
        print(f"{name:>32} | {statistics.median(values):8.1f} | {same}/{len(moves)}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "td-lambda 2-ply moves per second of CPU time", "net": f"198-{hidden}-{outputs}",
        "ways": rows, "settings": vars(args), "machine": platform.platform(), "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
