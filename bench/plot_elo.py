"""The Elo curve of an AlphaZero run over training time, from the run's `elo.json`.

The run rates a snapshot of its network at each evaluation from games against `mcts:N` (rated 0) and
against the snapshots before it (league/elo.py); this draws each snapshot's rating, as fitted at the
run's last evaluation, against the wall-clock minutes of training when it was taken. With `--also` a
second run (a --resume continuation written to the same folder is already one run) is drawn beside it.

    .venv/bin/python bench/plot_elo.py runs/az_c4 docs/alphazero_c4_elo.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_elo(run_dir: Path) -> dict:
    path = run_dir / "elo.json"
    if not path.is_file():
        raise SystemExit(f"{run_dir}: no elo.json (the run has not evaluated yet)")
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    elo = read_elo(args.run_dir)
    rows = elo["snapshots"][1:]
    minutes = [row["seconds"] / 60 for row in rows]
    ratings = [row["elo"] for row in rows]
    figure, axis = plt.subplots(figsize=(6.4, 3.8), dpi=110)
    axis.plot(minutes, ratings, marker="o", markersize=3)
    axis.axhline(0.0, color="grey", linestyle="--", linewidth=1, label=elo["baseline"])
    axis.set_xlabel("training time (minutes)")
    axis.set_ylabel(f"Elo ({elo['baseline']} = 0)")
    axis.set_title(args.title or f"AlphaZero: {args.run_dir.name}")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right")
    figure.tight_layout()
    args.png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.png)
    print(f"wrote {args.png}: {len(rows)} snapshots, last Elo {ratings[-1] if ratings else float('nan'):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
