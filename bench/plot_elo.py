"""The Elo curve of an AlphaZero run over training time, from a checkpoint's games or a run's `elo.json`.

The run rates a snapshot of its network at each evaluation from games against `mcts:N` (rated 0) and
against the snapshots before it (league/elo.py); this draws each snapshot's rating against the wall-clock
minutes of training when it was taken.

- From a checkpoint (`.pt`, e.g. the run's `ckpt/latest.pt` or a committed model): its `["elo"]` record
  keeps every game, so the ratings are fitted again with today's league/elo.py and drawn with 95%
  intervals from a bootstrap over the games.
- From a run folder: the ratings in its `elo.json`, as the run fitted them at its last evaluation (no
  games there, so no refit and no intervals).

    .venv/bin/python bench/plot_elo.py models/alphazero_c4_32x4.pt docs/alphazero_c4_elo.png
    .venv/bin/python bench/plot_elo.py runs/az_c4 runs/az_c4/elo.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.checkpoint import load_checkpoint  # noqa: E402
from league.elo import bootstrap_intervals, elo_ratings  # noqa: E402


def read_elo(run_dir: Path) -> dict:
    """`{"baseline", "snapshots": [{"name", "step", "seconds", "elo"}]}` from the run's `elo.json`."""
    path = run_dir / "elo.json"
    if not path.is_file():
        raise SystemExit(f"{run_dir}: no elo.json (the run has not evaluated yet)")
    return json.loads(path.read_text())


def refit_checkpoint(path: Path, samples: int = 1000, seed: int = 0) -> dict:
    """The same shape as `read_elo`, refitted from the games in the checkpoint's Elo record, plus each
    snapshot's bootstrap interval ("low", "high") and the number of games."""
    checkpoint = load_checkpoint(path)
    record = checkpoint.get("elo")
    if not record or not record.get("results"):
        raise SystemExit(f"{path}: the checkpoint holds no Elo games")
    names = list(record["names"])
    results = [(int(i), int(j), float(s)) for i, j, s in record["results"]]
    ratings = elo_ratings(len(names), results, anchor=0)
    low, high = bootstrap_intervals(len(names), results, anchor=0, samples=samples, seed=seed)
    rows = [
        {"name": n, "step": s, "seconds": t, "elo": float(r), "low": float(lo), "high": float(hi)}
        for n, s, t, r, lo, hi in zip(
            names, record["steps"], record["seconds"], ratings, low, high, strict=True
        )
    ]
    env = checkpoint.get("env_spec") or checkpoint.get("env", {}).get("name", "")
    return {"baseline": names[0], "snapshots": rows, "games": len(results), "env": env}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a checkpoint (.pt) with an Elo record, or a run folder")
    parser.add_argument("png", type=Path)
    parser.add_argument("--title", default=None)
    parser.add_argument("--samples", type=int, default=1000, help="bootstrap samples (checkpoint only)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (checkpoint only)")
    args = parser.parse_args(argv)
    from_checkpoint = args.source.is_file()
    if from_checkpoint:
        elo = refit_checkpoint(args.source, args.samples, args.seed)
    else:
        elo = read_elo(args.source)
    rows = elo["snapshots"][1:]
    minutes = [row["seconds"] / 60 for row in rows]
    ratings = [row["elo"] for row in rows]
    figure, axis = plt.subplots(figsize=(6.4, 3.8), dpi=110)
    if from_checkpoint:
        below = [row["elo"] - row["low"] for row in rows]
        above = [row["high"] - row["elo"] for row in rows]
        axis.errorbar(
            minutes,
            ratings,
            yerr=[below, above],
            marker="o",
            markersize=3,
            capsize=3,
            label="snapshot, 95% interval",
        )
    else:
        axis.plot(minutes, ratings, marker="o", markersize=3)
    axis.axhline(0.0, color="grey", linestyle="--", linewidth=1, label=elo["baseline"])
    axis.set_xlabel("training time (minutes)")
    axis.set_ylabel(f"Elo ({elo['baseline']} = 0)")
    name = f"{elo['env']}, {args.source.stem}" if from_checkpoint else args.source.name
    axis.set_title(args.title or f"AlphaZero: {name}")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right")
    figure.tight_layout()
    args.png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.png)
    for row in rows:
        interval = f" [{row['low']:.0f}, {row['high']:.0f}]" if from_checkpoint else ""
        print(f"{row['name']:>16} {row['seconds'] / 60:6.1f} min  Elo {row['elo']:+.0f}{interval}")
    how = f"refitted from {elo['games']} games" if from_checkpoint else "as in elo.json"
    last = ratings[-1] if ratings else float("nan")
    print(f"wrote {args.png}: {len(rows)} snapshots ({how}), last Elo {last:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
