"""The TD-Gammon learning curve: win rate vs pubeval over self-play games, from a run's TensorBoard events.

Reads `eval/vs_pubeval/win_rate` (logged every `--eval-every` games, over `--eval-games` games each) and
`selfplay/games` (the game count at the same step) with tensorboard's EventAccumulator, and draws the
win rate with its 95% Wilson band; the run's final, longer evaluation (the step that also has
`eval/vs_pubeval/loss_rate`) is drawn as a separate point with its own interval. The numbers of games per
evaluation come from the run's config.json. `--match-json` adds the run's checkpoints measured by
`bench/td_gammon_pubeval_match.py` (each over its own, larger number of games), drawn at their self-play
game counts.

    .venv/bin/python bench/plot_td_curve.py runs/td-gammon docs/td_gammon_curve.png [--match-json J]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator  # noqa: E402

WIN_RATE = "eval/vs_pubeval/win_rate"
LOSS_RATE = "eval/vs_pubeval/loss_rate"
GAMES = "selfplay/games"
EPISODES = "charts/episodic_return"
LEARNING_RATE = "charts/learning_rate"


def wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a rate `p` measured over `n` games."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def read_curve(run_dir: Path) -> dict:
    """The periodic evaluations [(games, win_rate)], the final one (games, win_rate) or None, total games."""
    events = EventAccumulator(str(run_dir), size_guidance={SCALARS: 0})  # 0: keep every event
    events.Reload()
    tags = set(events.Tags()[SCALARS])
    if WIN_RATE not in tags:
        raise SystemExit(f"{run_dir}: no {WIN_RATE!r} in the TensorBoard events")
    games_at = {e.step: int(e.value) for e in events.Scalars(GAMES)} if GAMES in tags else {}
    total = len(events.Scalars(EPISODES)) if EPISODES in tags else max(games_at.values(), default=0)
    final_steps = {e.step for e in events.Scalars(LOSS_RATE)} if LOSS_RATE in tags else set()
    curve, final = [], None
    for e in events.Scalars(WIN_RATE):
        if e.step in final_steps:
            final = (total, e.value)
        elif e.step in games_at:
            curve.append((games_at[e.step], e.value))
    alphas = [(games_at[e.step], e.value) for e in events.Scalars(LEARNING_RATE) if e.step in games_at] \
        if LEARNING_RATE in tags else []
    return {"curve": curve, "final": final, "total_games": total, "alphas": alphas}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path, help="a td-lambda run dir (events, config.json)")
    parser.add_argument("output", type=Path, help="the PNG to write")
    parser.add_argument("--eval-games", type=int, help="games per periodic evaluation (default: config)")
    parser.add_argument("--final-eval-games", type=int, help="games of the final evaluation (config)")
    parser.add_argument("--target", type=float, default=0.55, help="the target win rate drawn as a line")
    parser.add_argument("--match-json", type=Path,
                        help="bench/td_gammon_pubeval_match.py output for this run's checkpoints")
    args = parser.parse_args()

    config_path = args.run_dir / "config.json"
    config = json.loads(config_path.read_text())["config"] if config_path.exists() else {}
    eval_games = args.eval_games or config.get("eval_games") or 300
    final_games = args.final_eval_games or config.get("final_eval_games") or 1000
    data = read_curve(args.run_dir)
    curve = sorted(data["curve"])
    games = [g for g, _ in curve]
    rates = [r for _, r in curve]
    bands = [wilson(r, eval_games) for r in rates]

    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=100)
    ax.fill_between(games, [b[0] for b in bands], [b[1] for b in bands], color="tab:blue", alpha=0.2,
                    linewidth=0, label=f"95% interval ({eval_games} games per point)")
    ax.plot(games, rates, "o-", color="tab:blue", markersize=3, linewidth=1.2,
            label=f"198-{config.get('hidden', 40)}-{config.get('outputs', 1)} "
                  f"TD({config.get('td_lambda', 0.7)}) net vs pubeval")
    if args.match_json:
        measured = json.loads(args.match_json.read_text())["models"]  # this run's checkpoints only
        run = args.run_dir.resolve()
        rows = sorted((row["training_games"], row) for name, row in measured.items()
                      if Path(name).resolve().is_relative_to(run) and row.get("training_games"))
        if rows:
            ax.errorbar([g for g, _ in rows], [r["win_rate"] for _, r in rows],
                        yerr=[[r["win_rate"] - r["score_interval"][0] for _, r in rows],
                              [r["score_interval"][1] - r["win_rate"] for _, r in rows]],
                        fmt="D-", color="tab:orange", capsize=3, markersize=4, linewidth=1.0,
                        label=f"checkpoints, {rows[0][1]['games']:,} games each (compiled match)")
    if data["final"] is not None:
        n, rate = data["final"]
        low, high = wilson(rate, final_games)
        ax.errorbar([n], [rate], yerr=[[rate - low], [high - rate]], fmt="s", color="tab:red", capsize=3,
                    markersize=5, label=f"final evaluation ({final_games} games): {rate:.1%}")
    if len({a for _, a in data["alphas"]}) > 1:  # a schedule: alpha on its own axis
        twin = ax.twinx()
        twin.plot([g for g, _ in data["alphas"]], [a for _, a in data["alphas"]], color="grey",
                  linewidth=0.8, label="alpha (right axis)")
        twin.set_ylabel("alpha", fontsize=8)
        twin.set_ylim(0, max(a for _, a in data["alphas"]) * 1.1)
        twin.tick_params(labelsize=7)
        twin.legend(fontsize=7, loc="upper left")
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    ax.axhline(args.target, color="tab:green", linewidth=0.8, linestyle="--",
               label=f"target {args.target:.0%}")
    ax.set_xlabel("self-play games")
    ax.set_ylabel("win rate vs pubeval (cubeless)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    if config.get("alpha_schedule", "constant") != "constant":
        ax.set_title(f"TD-Gammon learning curve ({data['total_games']:,} self-play games; alpha "
                     f"{config['alpha']} to {config['final_alpha']}, {config['alpha_schedule']})", fontsize=9)
    else:
        ax.set_title(f"TD-Gammon learning curve ({data['total_games']:,} self-play games)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=100)
    last = f"; last periodic: {rates[-1]:.3f} at {games[-1]:,} games" if curve else ""
    print(f"wrote {args.output} ({args.output.stat().st_size / 1024:.0f} KB): {len(curve)} evaluations{last}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
