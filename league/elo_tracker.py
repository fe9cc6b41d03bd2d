"""Elo of a learner's snapshots over a run: who played whom, the fitted ratings, and `elo.json`.

The first player is the fixed baseline (AlphaZero's `mcts:N`), rated 0; each later one is a snapshot of
the learner (its weights are a checkpoint file in the run's `snapshots/` folder, agents/snapshots.py),
added at an evaluation with its step and training time. Every game played there is recorded as
`(i, j, score)`, and the ratings are refitted from all of them (league/elo.py). The tracker's state is
plain data, saved in the run's checkpoint, so a resumed run keeps its curve; `bench/plot_elo.py` draws it.
"""

from __future__ import annotations

import json
from pathlib import Path

from league.elo import elo_ratings


class EloTracker:
    """Players (the baseline, then snapshots), the games among them, and their Elo ratings (baseline 0)."""

    def __init__(self, baseline: str, state: dict | None = None):
        state = state or {}
        self.names: list[str] = list(state.get("names", [baseline]))
        self.steps: list[int] = list(state.get("steps", [0]))
        self.seconds: list[float] = list(state.get("seconds", [0.0]))
        self.results: list[tuple[int, int, float]] = [tuple(r) for r in state.get("results", [])]
        self.ratings: list[float] = list(state.get("ratings", [0.0]))

    def state(self) -> dict:
        return {
            "names": self.names,
            "steps": self.steps,
            "seconds": self.seconds,
            "results": [list(r) for r in self.results],
            "ratings": self.ratings,
        }

    def add(self, name: str, step: int, seconds: float) -> int:
        """A new snapshot; returns its index."""
        self.names.append(name)
        self.steps.append(step)
        self.seconds.append(seconds)
        return len(self.names) - 1

    def record(self, i: int, j: int, summary: dict) -> None:
        """The games of a match summary (`league.arena` `summary()`) of player i against player j."""
        games = summary["games"]
        wins, draws = round(summary["win_rate"] * games), round(summary["draw_rate"] * games)
        self.results += [(i, j, 1.0)] * wins + [(i, j, 0.5)] * draws + [(i, j, 0.0)] * (games - wins - draws)

    def fit(self) -> list[float]:
        self.ratings = [float(r) for r in elo_ratings(len(self.names), self.results, anchor=0)]
        return self.ratings

    def write(self, path: Path) -> None:
        rows = [
            {"name": n, "step": s, "seconds": round(t, 1), "elo": round(r, 1)}
            for n, s, t, r in zip(self.names, self.steps, self.seconds, self.ratings, strict=True)
        ]
        path.write_text(json.dumps({"baseline": self.names[0], "snapshots": rows}, indent=2))
