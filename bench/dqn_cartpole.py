"""DQN on CartPole-v1: ours beside Stable-Baselines3's DQN with rl-baselines3-zoo's hyperparameters.

Each (implementation, seed) trains in its own subprocess with one torch thread, one after another, so
both see the same machine; the parent measures wall and CPU seconds. The final model of each (ours:
`ckpt/latest.pt`; SB3: the model at the end of `learn`) is scored greedily over 20 episodes with the same
seeds. Needs `pip install -e '.[bench]'` (stable-baselines3).

    python bench/dqn_cartpole.py [--seeds 0 1 2 3 4] [--out bench/out/dqn_cartpole.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_EPISODES = 20
EVAL_SEED = 0

# rl-baselines3-zoo hyperparams/dqn.yml, CartPole-v1
ZOO = dict(
    learning_rate=2.3e-3,
    batch_size=64,
    buffer_size=100_000,
    learning_starts=1000,
    gamma=0.99,
    target_update_interval=10,
    train_freq=256,
    gradient_steps=128,
    exploration_fraction=0.16,
    exploration_final_eps=0.04,
    policy_kwargs=dict(net_arch=[256, 256]),
)
ZOO_STEPS = 50_000


def worker_ours(seed: int, run_dir: str) -> dict:
    sys.path.insert(0, str(ROOT))
    import envs
    from agents import dqn
    from agents.evaluation import evaluate_player
    from agents.players import load_checkpoint_player

    config = dqn.Config(seed=seed, run_dir=run_dir, progress=False, eval_episodes=EVAL_EPISODES)
    summary = dqn.train(config, envs.make(config.env))
    env = envs.make("CartPole-v1")
    player = load_checkpoint_player(summary["checkpoint"], env)
    result = evaluate_player(player, env, EVAL_EPISODES, seed=EVAL_SEED)
    return {"steps": summary["steps"], "final_return": result["mean_return"]}


def worker_sb3(seed: int, run_dir: str) -> dict:
    import gymnasium as gym
    import numpy as np
    import torch
    from stable_baselines3 import DQN

    torch.set_num_threads(1)
    model = DQN("MlpPolicy", gym.make("CartPole-v1"), seed=seed, verbose=0, device="cpu", **ZOO)
    model.learn(total_timesteps=ZOO_STEPS)
    env = gym.make("CartPole-v1")
    returns = []
    for i in range(EVAL_EPISODES):
        obs, _ = env.reset(seed=EVAL_SEED + i)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(int(action))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return {"steps": ZOO_STEPS, "final_return": float(np.mean(returns))}


def measure(implementation: str, seed: int, out_dir: Path) -> dict:
    """Run one training in a subprocess; wall and CPU seconds of that subprocess alone."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            implementation,
            "--seed",
            str(seed),
            "--run-dir",
            str(out_dir / f"{implementation}_{seed}"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "implementation": implementation,
        "seed": seed,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "steps_per_s": round(figures["steps"] / wall, 1),
        **figures,
        "solved": figures["final_return"] >= 475,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "dqn_cartpole.json"))
    parser.add_argument("--worker", choices=["ours", "sb3"])
    parser.add_argument("--seed", type=int)
    parser.add_argument("--run-dir")
    args = parser.parse_args()
    if args.worker:
        work = worker_ours if args.worker == "ours" else worker_sb3
        print(json.dumps(work(args.seed, args.run_dir)))
        return

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = out.parent / "dqn_cartpole_runs"
    rows = []
    for seed in args.seeds:
        order = ["ours", "sb3"] if seed % 2 == 0 else ["sb3", "ours"]  # alternate who runs first
        for implementation in order:
            rows.append(measure(implementation, seed, scratch))
            r = rows[-1]
            print(
                f"{r['implementation']:>5} seed {seed}: wall {r['wall_s']:7.1f}s  cpu {r['cpu_s']:7.1f}s  "
                f"{r['steps_per_s']:8.1f} steps/s  final greedy return {r['final_return']:6.1f}",
                flush=True,
            )

    print(f"\n{'':>6}{'seeds solved':>14}{'wall s':>10}{'cpu s':>10}{'steps/s (median)':>18}")
    totals = {}
    for implementation in ("ours", "sb3"):
        mine = [r for r in rows if r["implementation"] == implementation]
        sps = sorted(r["steps_per_s"] for r in mine)[len(mine) // 2]
        totals[implementation] = {
            "solved": sum(r["solved"] for r in mine),
            "seeds": len(mine),
            "wall_s": round(sum(r["wall_s"] for r in mine), 1),
            "cpu_s": round(sum(r["cpu_s"] for r in mine), 1),
            "median_steps_per_s": sps,
        }
        t = totals[implementation]
        print(
            f"{implementation:>6}{t['solved']:>8} of {t['seeds']}{t['wall_s']:>10}{t['cpu_s']:>10}{sps:>18}"
        )
    ratio = totals["ours"]["wall_s"] / totals["sb3"]["wall_s"]
    print(f"\nours / SB3 total wall time: {ratio:.2f} (target: < 0.5 with all seeds solved)")
    out.write_text(json.dumps({"rows": rows, "totals": totals, "wall_ratio": ratio}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
