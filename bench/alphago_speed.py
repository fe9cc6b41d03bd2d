"""AlphaGo's rollout policy against its SL policy network on one core: full rollouts per second (each to the
end of the game, from positions of the held-out expert games) beside the network's moves per second (one
forward pass per move, batch 1 and batch 64), with the held-out accuracies the checkpoint recorded.

    python bench/alphago_speed.py runs/alphago/go9/ckpt/latest.pt --data runs/alphago/gnugo_data

Run it under `flock /tmp/palaestra-cpu.lock` on a shared machine; prints a table and writes JSON.
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


def median_rate(fn, count: int, repeats: int) -> float:
    """The median over `repeats` runs of count / seconds of `fn()`."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(count / (time.perf_counter() - start))
    return float(np.median(rates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--data", required=True, help="the expert data folder the checkpoint was trained on")
    parser.add_argument("--positions", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="bench/out/alphago_speed.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import envs
    from agents.alphago import make_network
    from agents.checkpoint import load_checkpoint
    from agents.expert_positions import build_dataset
    from search.network_evaluator import NetworkEvaluator
    from search.rollout_policy import RolloutPolicy

    checkpoint = load_checkpoint(args.checkpoint)
    game = envs.make(checkpoint["env_spec"])
    data = build_dataset(game, args.data, checkpoint["config"]["held_out"], checkpoint["config"]["seed"])
    rng = np.random.default_rng(0)
    states = []
    for index in rng.integers(len(data.held), size=args.positions):
        record, move = data.held_games[data.held.game[index]], int(data.held.move[index])
        state = game.new_initial_state()
        for action in record.actions[:move]:
            state.apply_action(int(action))
        states.append(state)
    rollout = RolloutPolicy.from_state(game, checkpoint["rollout"])
    rollout.rollout(states[:2], [0, 1])  # compiled (or read from numba's cache) before timing
    inputs = rollout.inputs(states)
    seeds = np.arange(len(states), dtype=np.uint64)
    _, lengths = rollout.rollout_go(inputs, seeds)
    rollouts_per_s = median_rate(lambda: rollout.rollout(states, list(range(len(states)))), len(states),
                                 args.repeats)
    network = make_network(game, checkpoint["net"])
    network.load_state_dict(checkpoint["sl_model"])
    evaluator = NetworkEvaluator(network.eval(), game)
    single = median_rate(lambda: [evaluator.evaluate([s]) for s in states[:64]], 64, args.repeats)
    batched = median_rate(lambda: evaluator.evaluate(states[:64]), 64, args.repeats)
    progress = checkpoint["progress"]
    result = {
        "checkpoint": args.checkpoint, "net": checkpoint["net"]["encoder"],
        "sl_held_out_accuracy": progress["sl"].get("held_out_accuracy"),
        "sl_held_out_accuracy_without_passes": progress["sl"].get("held_out_accuracy_without_passes"),
        "rollout_held_out_accuracy": progress["rollout"].get("held_out_accuracy"),
        "held_out_positions": len(data.held), "rollouts_per_second": rollouts_per_s,
        "rollout_moves_mean": float(lengths.mean()),
        "rollout_moves_per_second": rollouts_per_s * float(lengths.mean()),
        "sl_moves_per_second_batch_1": single, "sl_moves_per_second_batch_64": batched,
    }
    print("| policy | held-out top-1 | speed (one core) |\n|---|---|---|")
    print(f"| rollout (linear softmax) | {result['rollout_held_out_accuracy']:.3f} | {rollouts_per_s:.0f} "
          f"full rollouts/s ({result['rollout_moves_per_second']:.0f} moves/s, {lengths.mean():.0f} moves "
          "each) |")
    print(f"| SL ResNet | {result['sl_held_out_accuracy']:.3f} | {single:.0f} moves/s at batch 1, "
          f"{batched:.0f} at batch 64 |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
