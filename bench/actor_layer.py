"""AlphaZero on the actor layer against the commit before it, in one run: the same weights, the same speed?

1. `--workers 0` (self-play in the learner's process): a fixed seed must give bit-identical weights on
   this tree and on BASE (the commit before the actor layer), on tic-tac-toe.
2. `--workers 2` (two actors, `--backend local`): self-play moves per second reaching the learner on
   connect four, run for `--seconds` each, this tree and BASE alternating, `--repeats` times; the medians
   and their ratio (aim: within 5%). The rate is read from the run's TensorBoard `selfplay/games` events
   (moves and wall time), from the first finished game to the last, so the actors' start-up (a few
   seconds of imports, more on a loaded machine) does not count.

BASE is checked out with `git worktree` under /tmp; each run is a subprocess calling that tree's
`agents.alphazero.train` with the same Config, one at a time. Writes bench/out/actor_layer.json.

    .venv/bin/python bench/actor_layer.py --base a514acd [--seconds 90] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent

DRIVER = """
import json, sys
sys.path.insert(0, '.')
import envs
from agents import alphazero
config = alphazero.Config(**json.loads(sys.argv[1]))
print(json.dumps(alphazero.train(config, envs.make(config.env))))
"""

DETERMINISM = dict(env="tic_tac_toe", channels=8, blocks=1, hidden=16, simulations=8, games_in_parallel=16,
                   min_replay=64, batch_size=32, eval_every=0, eval_games=2, eval_mcts_simulations=10,
                   eval_simulations=8, steps=1200, seed=3, workers=0, device="cpu", progress=False)
THROUGHPUT = dict(env="connect_four", channels=32, blocks=4, hidden=64, workers=2, steps=10_000_000,
                  eval_every=0, eval_games=2, eval_mcts_simulations=10, seed=0, device="cpu", progress=False,
                  save_buffer=False)


def worktree(base: str) -> Path:
    path = Path(tempfile.gettempdir()) / f"palaestra-base-{base}"
    if not path.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), base], check=True,
                       capture_output=True)
    return path


def train(tree: Path, config: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(config)], cwd=tree, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"training in {tree} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def steady_rate(run_dir: Path) -> float:
    """Moves per second between the run's first and last `selfplay/games` events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir)).Reload().Scalars("selfplay/games")
    first, last = events[0], events[-1]
    return (last.step - first.step) / max(last.wall_time - first.wall_time, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the commit before the actor layer")
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    base = worktree(args.base)
    trees = {"this tree": ROOT, f"base {args.base}": base}
    out = Path(tempfile.mkdtemp(prefix="actor-layer-"))

    models = {}
    for label, tree in trees.items():
        summary = train(tree, {**DETERMINISM, "run_dir": str(out / f"det-{len(models)}")})
        models[label] = torch.load(summary["checkpoint"], weights_only=True)["model"]
    first, second = models.values()
    identical = first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    print(f"--workers 0, tic_tac_toe, seed 3, 1,200 moves: weights bit-identical: {identical}")

    speeds: dict[str, list[float]] = {label: [] for label in trees}
    for r in range(args.repeats):
        for label, tree in trees.items():
            run_dir = out / f"speed-{r}-{len(speeds[label])}-{label.split()[0]}"
            summary = train(tree, {**THROUGHPUT, "time_limit": args.seconds, "run_dir": str(run_dir)})
            speeds[label].append(steady_rate(run_dir))
            print(f"  {label}: {speeds[label][-1]:.1f} moves/s ({summary['steps']} moves)", flush=True)
    medians = {label: statistics.median(values) for label, values in speeds.items()}
    ours, theirs = medians.values()
    print(f"--workers 2, connect_four 32x4, {args.seconds:.0f} s each: median moves/s "
          + ", ".join(f"{label} {value:.1f}" for label, value in medians.items())
          + f"; ratio {ours / theirs:.3f} (aim 0.95-1.05)")
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "out" / "actor_layer.json").write_text(json.dumps({
        "base": args.base, "identical_weights_workers_0": identical, "moves_per_second": speeds,
        "medians": medians, "ratio": ours / theirs, "seconds": args.seconds,
        "machine": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }, indent=1))


if __name__ == "__main__":
    main()
