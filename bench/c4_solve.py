"""Connect-four positions labelled by the solver with the value of every move, and the solver's speed.

Positions come from games of mixed search and random play (seeded): in each game every move is uniformly
random with a probability drawn for that game (0.1-0.6), else our `mcts:200`'s; a few positions of
`--low`..`--high` stones are kept from each game, one per board. Each is labelled with the exact value of
every legal move (search/connect_four_solver.py's scores: a win with the winner's k-th stone is 22 - k,
a loss -(22 - k), a draw 0) and timed: `solve` (the position's value) with an empty transposition table,
and the labelling of all its moves. Prints the time distribution and writes the labels as JSON.

    python bench/c4_solve.py [--positions 1200] [--low 12] [--high 30] [--seed 0] [--out FILE]

bench/optimal_moves.py --env connect_four reads the labels to judge players move by move.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.connect_four_solver import ConnectFourSolver, bitboards, bitboards_from_columns  # noqa: E402

LABELS = ROOT / "bench" / "data" / "c4_labels.json"


def sample_positions(count: int, low: int, high: int, seed: int, per_game: int = 4) -> list[list[int]]:
    """Move lists (columns) of `count` distinct non-terminal boards of `low`..`high` stones, from games of
    mixed MCTS and random play."""
    import pyspiel

    from search.mcts import MCTSPlayer

    game = pyspiel.load_game("connect_four")
    rng = random.Random(seed)
    search = MCTSPlayer(simulations=200, seed=seed)
    seen: set[int] = set()
    found: list[list[int]] = []
    while len(found) < count:
        randomness = rng.uniform(0.1, 0.6)
        search.reset(game, 0, rng.getrandbits(31))
        wanted = set(rng.sample(range(low, high + 1), per_game))
        state = game.new_initial_state()
        while not state.is_terminal() and len(state.history()) <= high and len(found) < count:
            stones = len(state.history())
            if stones in wanted:
                position, mask, _ = bitboards(state)
                if position + mask not in seen:
                    seen.add(position + mask)
                    found.append(list(state.history()))
            if rng.random() < randomness:
                state.apply_action(rng.choice(state.legal_actions()))
            else:
                state.apply_action(search.act(state))
    return found


def result(value: int) -> int:
    """+1 win, 0 draw, -1 loss: the result a score means."""
    return (value > 0) - (value < 0)


def label_positions(histories: list[list[int]], solver: ConnectFourSolver, progress: bool = True
                    ) -> list[dict]:
    """Each position with the value of every legal move, its own value, and the seconds each took."""
    import pyspiel

    game = pyspiel.load_game("connect_four")
    labels = []
    start = time.perf_counter()
    for index, history in enumerate(histories):
        state = game.new_initial_state()
        for action in history:
            state.apply_action(action)
        solver.clear()
        tick = time.perf_counter()
        value = solver.solve(state)
        solve_seconds = time.perf_counter() - tick
        tick = time.perf_counter()
        values = solver.move_values(state)
        label_seconds = time.perf_counter() - tick
        assert max(values.values()) == value, history
        labels.append({"moves": "".join(map(str, history)), "value": value,
                       "values": {str(a): v for a, v in values.items()},
                       "solve_seconds": round(solve_seconds, 5), "label_seconds": round(label_seconds, 5)})
        if progress and (index + 1) % 100 == 0:
            print(f"  {index + 1} positions labelled ({time.perf_counter() - start:.0f} s)", flush=True)
    return labels


def is_critical(label: dict) -> bool:
    """Some move changes the result (win/draw/loss) from the best one's."""
    return len({result(v) for v in label["values"].values()}) > 1


def distribution(seconds: list[float]) -> dict[str, float]:
    a = np.asarray(seconds)
    return {"median": float(np.median(a)), "p90": float(np.percentile(a, 90)), "max": float(a.max()),
            "mean": float(a.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=1200)
    parser.add_argument("--low", type=int, default=12)
    parser.add_argument("--high", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=LABELS)
    args = parser.parse_args()
    if not 0 <= args.low <= args.high <= 41 or args.high - args.low < 3:
        parser.error("need 0 <= --low <= --high - 3 and --high <= 41")
    start = time.perf_counter()
    histories = sample_positions(args.positions, args.low, args.high, args.seed)
    print(f"{len(histories)} positions of {args.low}-{args.high} stones sampled "
          f"({time.perf_counter() - start:.0f} s)", flush=True)
    solver = ConnectFourSolver()
    solver.solve_bitboards(*bitboards_from_columns([3] * 6 + [2] * 6 + [4] * 6 + [1] * 6))  # compile it
    labels = label_positions(histories, solver)
    solve = distribution([p["solve_seconds"] for p in labels])
    label = distribution([p["label_seconds"] for p in labels])
    critical = sum(map(is_critical, labels))
    print(f"{len(labels)} positions, {critical} critical; seconds per position on one core:")
    for name, d in (("solve (empty table)", solve), ("every move's value", label)):
        print(f"  {name:20s} median {d['median']:.4f}  p90 {d['p90']:.4f}  max {d['max']:.3f}  "
              f"mean {d['mean']:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"positions": len(labels), "critical": critical, "low": args.low, "high": args.high,
               "seed": args.seed, "solve_seconds": solve, "label_seconds": label,
               "machine": platform.processor() or platform.machine()}
    args.out.write_text(json.dumps({**summary, "labels": labels}, separators=(",", ":")) + "\n")
    print(f"labels written to {args.out}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
