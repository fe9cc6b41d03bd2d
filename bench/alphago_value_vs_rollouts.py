"""The value network against rollouts (AlphaGo's Figure 2b in miniature): on held-out positions of the RL
policy's self-play (one per game, fresh games, not the value net's training games), the mean squared error
against the game's outcome of (a) the value network, (b) the mean of k rollouts of the fast policy (k = 1,
2, 4, 8, 16), (c) always 0, and the cost of each per position on one core. Plot: MSE against seconds per
position.

    python bench/alphago_value_vs_rollouts.py runs/alphago/go9/ckpt/latest.pt --games 400

Run it under `flock /tmp/palaestra-cpu.lock` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--games", type=int, default=400)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--out", default="bench/out/alphago_value_vs_rollouts.json")
    parser.add_argument("--plot", default="docs/alphago_value_vs_rollouts.png")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import envs
    from agents.alphago import make_network
    from agents.alphago_selfplay import policy_games
    from agents.checkpoint import load_checkpoint
    from search.network_evaluator import NetworkEvaluator
    from search.rollout_policy import RolloutPolicy

    checkpoint = load_checkpoint(args.checkpoint)
    game = envs.make(checkpoint["env_spec"])

    def network(key: str):
        net = make_network(game, checkpoint["net"])
        net.load_state_dict(checkpoint[key])
        return net.eval()

    rl, value = network("rl_model"), network("value_model")
    rng = np.random.default_rng(args.seed)
    items = []
    while len(items) < args.games:
        items += policy_games(game, rl, rl, min(64, args.games - len(items)), rng, "value", keep_states=True)
    states = [item[2] for item in items]
    outcomes = np.array([item[1] for item in items])
    evaluator = NetworkEvaluator(value, game)
    start = time.perf_counter()
    values = np.concatenate([evaluator.evaluate([s])[1] for s in states])
    value_cost = (time.perf_counter() - start) / len(states)
    rollout = RolloutPolicy.from_state(game, checkpoint["rollout"])
    rollout.rollout(states[:1], [0])  # compiled before timing
    rows = [{"estimator": "value network", "mse": float(np.mean((values - outcomes) ** 2)),
             "seconds_per_position": value_cost}]
    runs = []
    start = time.perf_counter()
    for k in range(16):
        runs.append(rollout.rollout(states, [args.seed * 100 + 16 * i + k for i in range(len(states))]))
    per_rollout = (time.perf_counter() - start) / (16 * len(states))
    runs_array = np.stack(runs)
    for k in (1, 2, 4, 8, 16):
        mean = runs_array[:k].mean(0)
        rows.append({"estimator": f"mean of {k} rollouts", "mse": float(np.mean((mean - outcomes) ** 2)),
                     "seconds_per_position": per_rollout * k})
    rows.append({"estimator": "always 0", "mse": float(np.mean(outcomes**2)), "seconds_per_position": 0.0})
    print(f"{len(states)} positions of {args.games} RL self-play games\n")
    print("| estimator | MSE against the outcome | seconds per position |\n|---|---|---|")
    for row in rows:
        print(f"| {row['estimator']} | {row['mse']:.3f} | {row['seconds_per_position'] * 1000:.2f} ms |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"positions": len(states), "rows": rows}, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    roll = [r for r in rows if "rollouts" in r["estimator"]]
    ax.plot([r["seconds_per_position"] * 1000 for r in roll], [r["mse"] for r in roll], "o-",
            label="mean of k rollouts (k = 1, 2, 4, 8, 16)")
    ax.plot([value_cost * 1000], [rows[0]["mse"]], "s", markersize=9, label="value network")
    ax.axhline(rows[-1]["mse"], color="grey", linestyle=":", label="always 0")
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds per position (one core)")
    ax.set_ylabel("MSE against the game's outcome")
    ax.set_title(f"9x9 Go, {len(states)} held-out RL self-play positions")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=110)
    print(f"\nwrote {args.out} and {args.plot}")


if __name__ == "__main__":
    main()
