"""AlphaStar's actor-critic (agents/alphastar.py), the throughput of its two halves on this machine:

1. Actors: episodes and environment steps per second reaching the learner from 1 and from 2 actors of
   the actor layer (`self_play_actor`, `--backend local` processes, each playing `games_in_parallel` games
   with one network call per step for all of them), the weights fixed, counted from each actor's first
   emission so that start-up does not count.
2. The learner: samples (transitions) per second of its gradient steps, batch 32 unrolls of 8, one torch
   thread, on unrolls of real self-play.

    .venv/bin/python bench/alphastar_throughput.py [--env kuhn_poker] [--seconds 30] [--actors 1 2]

Writes bench/out/alphastar_throughput.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import envs  # noqa: E402
from agents import alphastar  # noqa: E402
from agents.nets.spec import SpecNetwork  # noqa: E402
from league.actors import ActorPool, numpy_weights  # noqa: E402


def actors_rate(config: alphastar.Config, network: SpecNetwork, count: int, seconds: float) -> dict:
    """Episodes and steps per second from `count` actors, after every actor's first emission."""
    setup = (config, network.spec, numpy_weights(network))
    seeds = [100 + k for k in range(count)]
    episodes = steps = 0
    with ActorPool("local", alphastar.self_play_actor, setup, seeds, (0, numpy_weights(network))) as pool:
        seen: set[int] = set()
        while len(seen) < count:
            seen |= {e.actor for e in pool.results(timeout=1.0)}
        pool.results(timeout=0.0)
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            for emitted in pool.results(timeout=0.5):
                _, returns, played = emitted.item
                episodes += len(returns)
                steps += played
        elapsed = time.perf_counter() - start
    return {"actors": count, "episodes_per_second": round(episodes / elapsed, 1),
            "steps_per_second": round(steps / elapsed, 1), "seconds": round(elapsed, 1)}


def learner_rate(config: alphastar.Config, game, network: SpecNetwork, repeats: int = 30) -> dict:
    """Gradient steps per second and the transitions they consume (batch_size x unroll_length each)."""
    reference = copy.deepcopy(network).eval()
    matches = alphastar.Matches(game, {"self": copy.deepcopy(network).eval()}, reference, config,
                                np.random.default_rng(0), ["self"] * config.games_in_parallel)
    unrolls: list = []
    while len(unrolls) < config.batch_size:
        unrolls += matches.step()
    batch = alphastar.collate(unrolls[: config.batch_size], torch.device("cpu"))
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate, betas=(0.0, 0.99))
    times = []
    for _ in range(repeats + 3):
        start = time.perf_counter()
        loss, _ = alphastar.alphastar_loss(network, reference, batch, config)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    step = statistics.median(times[3:])
    samples = config.batch_size * config.unroll_length
    return {"step_ms": round(1000 * step, 2), "steps_per_second": round(1 / step, 1),
            "samples_per_second": round(samples / step, 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="kuhn_poker")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = alphastar.Config(env=args.env)
    game = envs.make(args.env)
    torch.manual_seed(0)
    network = SpecNetwork(alphastar.network_spec(config), tuple(game.information_state_tensor_shape()),
                          game.num_distinct_actions())
    learner = learner_rate(config, game, network)
    print(f"{args.env}: learner {learner['step_ms']} ms a step, "
          f"{learner['samples_per_second']:.0f} samples/s", flush=True)
    rows = []
    for count in args.actors:
        rows.append(actors_rate(config, network, count, args.seconds))
        print(f"  {count} actor(s): {rows[-1]['episodes_per_second']} episodes/s, "
              f"{rows[-1]['steps_per_second']} steps/s", flush=True)
    out = ROOT / "bench" / "out" / "alphastar_throughput.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"env": args.env, "machine": platform.node(), "learner": learner,
                               "actors": rows, "games_in_parallel": config.games_in_parallel}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
