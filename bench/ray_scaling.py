"""The actor layer on Ray, the figures for sizing a cluster (docs/distributed.md): AlphaZero on connect four
(32 channels, 4 blocks), measured on the machine it runs on.

1. Weight broadcast: the size of the network's weights as numpy arrays, one `ray.put` of them, and an
   actor's pull round trip with the same version (nothing fetched) and with a new one (the actor fetches
   and copies the new weights once).
2. Self-play: moves per second reaching the driver from 1 and from 2 Ray actors (`self_play_actor`, the
   weights fixed), counted from each actor's first finished game, so its start-up does not count.
3. The learner: gradient steps per second (batch 256, one torch thread, on the examples of 2.), and so
   the positions per second it consumes at `samples_per_position` gradient samples per position.

    .venv/bin/python bench/ray_scaling.py [--seconds 60] [--actors 1 2] [--address auto]
        [--backends ray local]
"""

from __future__ import annotations

import argparse
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
from agents import alphazero  # noqa: E402
from agents.buffers import PolicyValueBuffer  # noqa: E402
from envs.encoding import encoder_for  # noqa: E402
from league.actors import ActorPool  # noqa: E402
from league.actors_ray import connect  # noqa: E402


def ready_actor(config, seed, source):
    """Always has an item ready: a pull returns at once (its round trip, not a game's length)."""
    while True:
        version, _ = source.latest()
        yield version, seed


def timed(call, repeats: int) -> float:
    """Median milliseconds of `call()`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def broadcast(weights: dict[str, np.ndarray]) -> dict[str, float]:
    import ray

    from league.actors_ray import RayActor

    ref = ray.put(weights)
    actor = ray.remote(num_cpus=1, max_restarts=0)(RayActor).remote(ready_actor, None, 0, [ref], 0, 64)
    ray.get(actor.pull.remote([ref], 0, 1.0))
    same = timed(lambda: ray.get(actor.pull.remote([ref], 0, 1.0)), 50)
    versions = iter(range(1, 10_000))
    fresh = [ray.put(weights) for _ in range(20)]
    new = timed(lambda: ray.get(actor.pull.remote([fresh[next(versions) % 20]], next(versions), 1.0)), 20)
    ray.kill(actor)
    return {"weights_mb": sum(a.nbytes for a in weights.values()) / 1e6,
            "ray_put_ms": timed(lambda: ray.put(weights), 20), "pull_same_version_ms": same,
            "pull_new_version_ms": new}


def self_play(config, network, seconds: float, actors: int,
              backend: str = "ray") -> tuple[dict[str, float], list]:
    weights = {k: v.detach().numpy() for k, v in network.state_dict().items()}
    seeds = [1000 * (k + 1) for k in range(actors)]
    first: dict[int, float] = {}
    moves = {k: 0 for k in range(actors)}
    games = []
    with ActorPool(backend, alphazero.self_play_actor, (config, network.spec), seeds, (0, weights)) as pool:
        deadline = None
        while deadline is None or time.time() < deadline:
            for e in pool.results(timeout=0.5):
                if e.actor not in first:  # its first game: the start of its steady rate
                    first[e.actor] = time.time()
                    deadline = deadline or time.time() + seconds
                else:
                    moves[e.actor] += len(e.item[0][2])
                games.append(e.item[0])
        end = time.time()
    per_actor = [moves[k] / (end - first[k]) for k in first]
    return {"backend": backend, "actors": actors, "moves_per_second": sum(per_actor),
            "per_actor_moves_per_second": sum(per_actor) / actors}, games


def learner(config, network, game, games: list) -> dict[str, float]:
    buffer = PolicyValueBuffer(config.replay_size, encoder_for(game).shape, game.num_distinct_actions(), [])
    for obs, policies, values in games:
        buffer.add(obs, policies, values)
    if not games:  # no self-play measured: random positions take as long to learn from
        shape, actions = encoder_for(game).shape, game.num_distinct_actions()
        rng = np.random.default_rng(1)
        buffer.add(rng.random((1024, *shape), dtype=np.float32), np.full((1024, actions), 1 / actions,
                   dtype=np.float32), rng.choice([-1.0, 0.0, 1.0], 1024).astype(np.float32))
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.learning_rate)
    rng = np.random.default_rng(0)

    def step() -> None:
        batch = {k: torch.from_numpy(v) for k, v in buffer.sample(config.batch_size, rng).items()}
        loss = alphazero.alphazero_loss(network, batch)[0]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()
    milliseconds = timed(step, 30)
    steps = 1000 / milliseconds
    return {"positions_in_buffer": buffer.size, "batch_size": config.batch_size, "step_ms": milliseconds,
            "steps_per_second": steps,
            "positions_per_second": steps * config.batch_size / config.samples_per_position}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--actors", type=int, nargs="*", default=[1, 2], help="none: skip self-play")
    parser.add_argument("--address", default=None)
    parser.add_argument("--backends", nargs="+", default=["ray"], choices=["ray", "local"],
                        help="self-play on each, taking turns (ray local: the same actors on both)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    game = envs.make("connect_four")
    config = alphazero.with_game_defaults(
        alphazero.Config(env="connect_four", channels=32, blocks=4, workers=2, backend="ray"), game)
    network = alphazero.make_network(game, config)
    connect(args.address)
    out = {"broadcast": broadcast({k: v.detach().numpy() for k, v in network.state_dict().items()})}
    print(json.dumps(out["broadcast"]), flush=True)
    out["self_play"], games = [], []
    for actors in args.actors:
        for backend in args.backends:
            figures, played = self_play(config, network, args.seconds, actors, backend)
            out["self_play"].append(figures)
            games += played
            print(json.dumps(figures), flush=True)
    out["learner"] = learner(config, network.train(), game, games)
    print(json.dumps(out["learner"]), flush=True)
    out.update(machine=platform.platform(), date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "out" / "ray_scaling.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
