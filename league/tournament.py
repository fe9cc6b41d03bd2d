"""Round-robin tournaments: every pair plays N games (seats split evenly), then Elo and the payoff matrix.

`round_robin` plays all pairs' games through one worker pool (or here, with one worker) and
`write_results` leaves in the output folder: `results.json` (DESIGN.md's contract), `games.jsonl` (one
line per game: players in seat order, actions, returns, seed), `payoff.png` (a heat-map of the payoff
matrix) and TensorBoard ratings under `league/elo/<player>` (names made tag-safe).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from league.arena import MakePlayer, load_game, match_jobs, match_openings, play_games, score_of_first
from league.elo import payoff_matrix, rate_players


@dataclass
class TournamentResult:
    env: str
    players: list[str]
    games_per_pair: int
    games: list[dict[str, Any]] = field(default_factory=list)
    """Every game: {"players" (seat order), "pair" [i, j], "seat_of_first", "actions", "returns", "seed"}."""
    ratings: dict[str, dict[str, float]] = field(default_factory=dict)
    payoff: list[list[float | None]] = field(default_factory=list)
    seconds: float = 0.0

    def results_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "players": self.players,
            "games_per_pair": self.games_per_pair,
            "ratings": self.ratings,
            "payoff": self.payoff,
        }


def round_robin(
    env: str,
    players: Sequence[str],
    games_per_pair: int,
    make_player: MakePlayer,
    workers: int = 1,
    seed: int = 0,
    bootstrap: int = 1000,
    batch_size: int = 1,
    backend: str = "local",
    opening_moves: int = 0,
) -> TournamentResult:
    """Every pair (i < j) plays `games_per_pair` games, i in seat 0 of its even games; all in one pool,
    `batch_size` games at a time together (league/batched.py: one network call per step for a player
    that batches). With `opening_moves`, each seat-swapped pair of games starts from its own random
    opening (league.arena.match_openings)."""
    start = time.perf_counter()
    names = list(players)
    game = load_game(env) if opening_moves > 0 else env  # made once for all pairs' openings
    jobs = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            pair_seed = seed + 1_000_003 * (i * len(names) + j)
            openings = match_openings(game, games_per_pair, opening_moves, pair_seed)
            jobs += match_jobs([names[i], names[j]], games_per_pair, pair_seed, tag=[i, j], openings=openings)
    pool = None
    if workers > 1 and backend == "local":
        from league.workers import WorkerPool

        pool = WorkerPool(workers)
    try:
        records = play_games(env, jobs, make_player, workers, pool, build_seed=seed, batch_size=batch_size,
                             backend=backend)
    finally:
        if pool is not None:
            pool.close()
    results = []
    for record in records:
        record["pair"] = record.pop("tag")
        i, j = record["pair"]
        results.append((i, j, score_of_first(record)))
    return TournamentResult(
        env=env,
        players=names,
        games_per_pair=games_per_pair,
        games=records,
        ratings=rate_players(names, results, samples=bootstrap, seed=seed),
        payoff=payoff_matrix(len(names), results),
        seconds=time.perf_counter() - start,
    )


def tag_safe(name: str) -> str:
    """A player name as a TensorBoard tag component: letters, digits, `._-` (and `=`), the rest `_`.

    A checkpoint path becomes its run folder and file, e.g. `runs/az/ckpt/step_800.pt` -> `az_step_800`.
    """
    head, *options = name.split(",")
    path = Path(head)
    if path.suffix == ".pt" and path.parent.name == "ckpt":
        head = f"{path.parent.parent.name}_{path.stem}"
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", ",".join([head, *options])).strip("_") or "player"


def plot_payoff(result: TournamentResult, path: Path) -> None:
    """A heat-map of the payoff matrix: row player's score against the column player."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    n = len(result.players)
    values = np.array([[np.nan if v is None else v for v in row] for row in result.payoff], dtype=float)
    size = 2.0 + 0.9 * n
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(values, cmap="RdYlGn", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), result.players, rotation=45, ha="right")
    ax.set_yticks(range(n), result.players)
    for i in range(n):
        for j in range(n):
            if not np.isnan(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=9)
    ax.set_xlabel("opponent")
    ax.set_ylabel("player")
    ax.set_title(f"{result.env}: score of row vs column, {result.games_per_pair} games per pair")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_tensorboard(result: TournamentResult, out: Path, step: int = 0) -> None:
    """Ratings to TensorBoard under `league/elo/<player>` (tag-safe names)."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(out))
    try:
        for name, rating in result.ratings.items():
            writer.add_scalar(f"league/elo/{tag_safe(name)}", rating["elo"], step)
    finally:
        writer.close()


def write_results(result: TournamentResult, out: Path, tensorboard: bool = True) -> dict[str, Path]:
    """results.json, games.jsonl, payoff.png and (if asked) TensorBoard event files in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.json", "games": out / "games.jsonl", "payoff": out / "payoff.png"}
    paths["results"].write_text(json.dumps(result.results_json(), indent=2) + "\n")
    with paths["games"].open("w") as f:
        for record in result.games:
            f.write(json.dumps(record) + "\n")
    plot_payoff(result, paths["payoff"])
    if tensorboard:
        write_tensorboard(result, out)
    return paths
