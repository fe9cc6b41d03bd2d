"""AlphaZero self-play throughput on connect four: ours beside the bare network and OpenSpiel's AlphaZero.

One pinned network shape, fixed random weights, in every measurement: a ResNet of 64 channels and 5 residual
blocks (value head hidden 64), float32 on the CPU, one thread per process (torch.set_num_threads(1); XLA's
CPU client single-threaded for JAX). Three measurements run in turn, each in K worker processes
(`--workers`, default 1; forkserver) that build and warm up, wait at a barrier, then work for the window
(`--seconds`) and stop after the first unit of work that ends past it; the rates of the K processes are
summed:

1. bare forward: our `PolicyValueNet` (agents/alphazero.py `make_network`) on one batch of B encoded
   connect-four positions (B = `--games-in-parallel`, default 64), `network(x)` under
   `torch.inference_mode()`; positions per second = B / the median call time;
2. ours: `agents.alphazero.SelfPlay` (B games at once, `BatchedPUCT`, one network call per simulation step
   for all B trees, Dirichlet noise, visit-count sampling for the first 10 moves) with the same network,
   `play_move()` in a loop; a position is a move played in one game, simulations are the search's own
   count (`last_stats.simulations`, B x `--simulations` per move);
3. OpenSpiel 2.x's Python AlphaZero (open_spiel/python/algorithms/alpha_zero, JAX and Flax NNX, its default
   API): its actor's self-play, called in-process: the model from its `_init_model_from_config` (resnet,
   nn_width 64, nn_depth 5, its default seed 0), its `AlphaZeroEvaluator` (LRU cache of 2^16 inferences,
   never cleared here because the weights never change), two `MCTSBot`s from its `_init_bot` and its
   `_play_game` (one game at a time, one state per network call, `max_simulations` per move, a fresh tree
   per move). A position is one `mcts_search` and the bookkeeping after it, counted when the next search
   starts.

Same settings on both sides: `--simulations` (default 100) per move, c_puct 1.25, Dirichlet alpha 10/7 and
weight 0.25 at the root, temperature 1 for the first 10 moves of a game, then the most visited move. JAX
compiles each operation on first use; that and the model's build happen before the barrier (a move or two
is a warm-up), so the window holds steady-state play only. OpenSpiel's AZ feeds the network
`game.observation_tensor_shape()` = [3, 6, 7] as height x width x channels (its convolutions are NHWC), so
its tower runs on a 3x6 board of 7 planes: 18 cells per position against our 42 (6x7, 5 planes). Its
network costs less per position than ours; the comparison leaves that in its favour.

Prints the table, ratio (a) = our simulations per second / the bare network's positions per second (target
>= 0.5: the tree costs less than the network) and ratio (b) = our positions per second / OpenSpiel's (aim
>= 10x), writes bench/out/alphazero_selfplay.json and ends with the same numbers as one JSON line.

    .venv/bin/python bench/alphazero_selfplay.py [--seconds 60] [--games-in-parallel 64] [--simulations 100]
        [--workers 1] [--skip-openspiel]

Needs the `bench` extra (jax, flax, optax, chex) for the OpenSpiel side; without them it measures ours and
says why OpenSpiel's is missing. At the defaults it takes about 4 to 5 minutes (three 60-second windows plus
building, warm-up and a first JAX compile in each process).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import multiprocessing
import os
import platform
import queue
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyspiel
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from agents.alphazero import Config, SelfPlay, make_network  # noqa: E402
from bench.batched_puct import positions as random_positions  # noqa: E402
from league.workers import initialize_worker, start_method  # noqa: E402
from search.network_evaluator import NetworkEvaluator  # noqa: E402

GAME = "connect_four"
CHANNELS, BLOCKS, HIDDEN = 64, 5, 64
C_PUCT = 1.25
DIRICHLET_EPSILON = 0.25
WEIGHT_SEED = 0
STARTUP_SECONDS = 600.0
"""How long a worker may take to build and warm up before the others stop waiting for it."""
XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
PEER_MODULES = ("jax", "jaxlib", "flax", "optax", "chex", "orbax")


def our_config(args: argparse.Namespace) -> Config:
    return Config(
        env=GAME,
        channels=CHANNELS,
        blocks=BLOCKS,
        hidden=HIDDEN,
        simulations=args.simulations,
        games_in_parallel=args.games_in_parallel,
        c_puct=C_PUCT,
        dirichlet_epsilon=DIRICHLET_EPSILON,
    )


class Window:
    """The measurement window of one worker: started after the barrier, over once `seconds` have passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = self.cpu_start = 0.0

    def open(self) -> None:
        self.start, self.cpu_start = time.perf_counter(), time.process_time()

    def over(self, now: float) -> bool:
        return now - self.start >= self.seconds

    def times(self, end: float) -> dict[str, float]:
        return {"wall": end - self.start, "cpu": time.process_time() - self.cpu_start}


def measure_forward(args: argparse.Namespace, k: int, barrier: Any) -> dict:
    """The bare network on one batch of B positions: every call's time."""
    game = pyspiel.load_game(GAME)
    torch.manual_seed(WEIGHT_SEED)
    network = make_network(game, our_config(args)).eval()
    obs, _ = NetworkEvaluator(network, game).encode(random_positions(game, args.games_in_parallel, k))
    x = torch.from_numpy(obs)
    window, calls = Window(args.seconds), []
    with torch.inference_mode():
        for _ in range(3):
            network(x)
        barrier.wait(STARTUP_SECONDS)
        window.open()
        now = window.start
        while not window.over(now):
            t0 = time.perf_counter()
            network(x)
            now = time.perf_counter()
            calls.append(now - t0)
    median = statistics.median(calls)
    return {
        **window.times(now),
        "calls": len(calls),
        "median_call_seconds": median,
        "positions_per_second": args.games_in_parallel / median,
        "parameters": sum(p.numel() for p in network.parameters()),
        "input_shape": list(obs.shape[1:]),
    }


def measure_ours(args: argparse.Namespace, k: int, barrier: Any) -> dict:
    """Our self-play: `SelfPlay.play_move()` in a loop (one move in each of the B games per call)."""
    game = pyspiel.load_game(GAME)
    config = our_config(args)
    torch.manual_seed(WEIGHT_SEED)
    network = make_network(game, config).eval()
    selfplay = SelfPlay(game, NetworkEvaluator(network, game), config, np.random.default_rng(1000 + k))
    selfplay.play_move()  # warm-up
    barrier.wait(STARTUP_SECONDS)
    window = Window(args.seconds)
    positions = simulations = evaluated = calls = games = 0
    window.open()
    now = window.start
    while not window.over(now):
        games += len(selfplay.play_move())
        stats = selfplay.search.last_stats
        positions += len(selfplay.states)
        simulations += stats.simulations
        evaluated += stats.evaluated_states
        calls += stats.evaluator_calls
        now = time.perf_counter()
    return {
        **window.times(now),
        "positions": positions,
        "simulations": simulations,
        "games_finished": games,
        "network_calls": calls,
        "evaluated_states": evaluated,
    }


class WindowOver(Exception):
    """Raised from inside OpenSpiel's `_play_game` when the measurement window has passed."""


class QuietLogger:
    """What `_play_game` needs of OpenSpiel's FileLogger, writing nothing."""

    def print(self, *args: Any) -> None:
        pass

    def opt_print(self, *args: Any) -> None:
        pass


def measure_openspiel(args: argparse.Namespace, k: int, barrier: Any) -> dict:
    """OpenSpiel's Python AlphaZero actor: its model, evaluator, bots and `_play_game`, game after game."""
    os.environ["JAX_PLATFORMS"] = "cpu"
    os.environ["XLA_FLAGS"] = XLA_FLAGS
    warnings.filterwarnings("ignore")  # model_nnx warns on import that the nnx API is in use
    from open_spiel.python.algorithms.alpha_zero import alpha_zero as os_az
    from open_spiel.python.algorithms.alpha_zero import evaluator as os_evaluator

    game = pyspiel.load_game(GAME)
    temperature_drop = our_config(args).temperature_moves or max(1, game.max_game_length() // 4)
    config = os_az.Config(
        game=GAME,
        path=None,  # no checkpoints
        learning_rate=1e-3,
        weight_decay=1e-4,
        decouple_weight_decay=False,
        train_batch_size=256,
        replay_buffer_size=2**14,
        replay_buffer_reuse=4,
        max_steps=0,
        checkpoint_freq=100,
        actors=args.workers,
        evaluators=0,
        evaluation_window=100,
        eval_levels=7,
        uct_c=C_PUCT,
        max_simulations=args.simulations,
        policy_alpha=10.0 / game.num_distinct_actions(),
        policy_epsilon=DIRICHLET_EPSILON,
        temperature=1.0,
        temperature_drop=temperature_drop,
        nn_model="resnet",
        nn_width=CHANNELS,
        nn_depth=BLOCKS,
        observation_shape=game.observation_tensor_shape(),  # as its `alpha_zero()` sets it
        output_size=game.num_distinct_actions(),
        verbose=False,
        quiet=True,
    )
    np.random.seed(2000 + k)  # `_play_game` samples moves with the global numpy generator
    model = os_az._init_model_from_config(config)
    evaluator = os_evaluator.AlphaZeroEvaluator(game, model)
    bots = [os_az._init_bot(config, game, evaluator, False) for _ in range(2)]
    for state in random_positions(game, 2, k):  # warm-up: JAX compiles each operation on first use
        bots[0].mcts_search(state)

    window = Window(args.seconds)
    clock = {"measuring": False, "pending": False, "moves": 0, "end": 0.0}

    def timed(search: Any) -> Any:
        def run(state: pyspiel.State) -> Any:
            now = time.perf_counter()
            if clock["measuring"]:
                if clock["pending"]:  # the previous move, with `_play_game`'s bookkeeping, is done
                    clock["moves"] += 1
                    clock["end"] = now
                if window.over(now):
                    raise WindowOver
                clock["pending"] = True
            return search(state)

        return run

    for bot in bots:
        bot.mcts_search = timed(bot.mcts_search)
    barrier.wait(STARTUP_SECONDS)
    cache_before = evaluator.cache_info()
    clock["measuring"] = True
    window.open()
    games = 0
    try:
        while True:
            os_az._play_game(QuietLogger(), games, game, bots, config.temperature, config.temperature_drop)
            games += 1
    except WindowOver:
        pass
    times = window.times(clock["end"])
    cache = evaluator.cache_info()
    hits, misses = cache.hits - cache_before.hits, cache.misses - cache_before.misses
    return {
        **times,
        "positions": clock["moves"],
        "simulations": clock["moves"] * args.simulations,
        "games_finished": games,
        "network_calls": misses,
        "cache_hits": hits,
        "cache_hit_rate": hits / max(hits + misses, 1),
        "parameters": int(model.num_trainable_variables),
        "input_shape_nhwc": list(config.observation_shape),
    }


MEASURES = {"forward": measure_forward, "ours": measure_ours, "openspiel": measure_openspiel}


def worker_main(kind: str, args: argparse.Namespace, k: int, barrier: Any, results: Any) -> None:
    initialize_worker()  # one torch thread
    try:
        results.put((k, MEASURES[kind](args, k, barrier)))
    except Exception as error:  # reported to the parent, which prints one line
        barrier.abort()
        results.put((k, {"error": f"{type(error).__name__}: {error}".strip()}))


def run_workers(kind: str, args: argparse.Namespace) -> tuple[list[dict], str | None]:
    """Runs `kind` in K processes at once; their results, or why they failed."""
    context = multiprocessing.get_context(start_method())
    results = context.Queue()
    barrier = context.Barrier(args.workers)
    processes = [
        context.Process(target=worker_main, args=(kind, args, k, barrier, results), daemon=True)
        for k in range(args.workers)
    ]
    for process in processes:
        process.start()
    found: dict[int, dict] = {}
    error = None
    deadline = time.time() + STARTUP_SECONDS + 3 * args.seconds + 300
    while len(found) < args.workers and error is None:
        try:
            k, result = results.get(timeout=1.0)
        except queue.Empty:
            if time.time() > deadline:
                error = "timed out"
            elif not any(p.is_alive() for p in processes):
                error = "a worker process died without a result"
            continue
        if "error" in result:
            error = result["error"]
        found[k] = result
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join()
    return [found[k] for k in sorted(found)], error


def summarise(results: list[dict], simulations_per_position: float | None = None) -> dict:
    """Rates summed over the workers (each worker's count over its own window)."""
    out: dict[str, Any] = {"workers": results}
    if "positions" in results[0]:
        out["positions_per_second"] = sum(r["positions"] / r["wall"] for r in results)
        out["simulations_per_second"] = sum(r["simulations"] / r["wall"] for r in results)
        out["simulations_per_cpu_second"] = sum(r["simulations"] / r["cpu"] for r in results)
        out["positions"] = sum(r["positions"] for r in results)
        out["seconds"] = max(r["wall"] for r in results)
    else:
        out["positions_per_second"] = sum(r["positions_per_second"] for r in results)
        out["median_call_seconds"] = statistics.median(r["median_call_seconds"] for r in results)
    return out


def peer_missing() -> str | None:
    """Why OpenSpiel's Python AlphaZero cannot run here, or None (checked without importing jax)."""
    missing = [name for name in PEER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        return f"missing {', '.join(missing)} (pip install -e '.[bench]')"
    version = importlib.metadata.version("open_spiel")
    if int(version.split(".")[0]) < 2:
        return f"open_spiel {version} has no JAX AlphaZero (needs 2.x)"
    if importlib.util.find_spec("open_spiel.python.algorithms.alpha_zero.model_nnx") is None:
        return "this open_spiel has no open_spiel/python/algorithms/alpha_zero/model_nnx.py"
    return None


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("torch", "numpy", "open_spiel", "jax", "jaxlib", "flax", "optax", "chex"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measurement window of each side")
    parser.add_argument("--games-in-parallel", type=int, default=64, help="B: our games at once, the batch")
    parser.add_argument("--simulations", type=int, default=100, help="per move, both sides")
    parser.add_argument("--workers", type=int, default=1, help="processes per side (summed)")
    parser.add_argument("--skip-openspiel", action="store_true")
    default_out = Path(__file__).resolve().parent / "out" / "alphazero_selfplay.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    if min(args.games_in_parallel, args.simulations, args.workers) < 1 or args.seconds <= 0:
        parser.error("--seconds, --games-in-parallel, --simulations and --workers must be positive")

    B, S, K = args.games_in_parallel, args.simulations, args.workers
    print(
        f"{GAME}: ResNet {CHANNELS} channels x {BLOCKS} blocks (value hidden {HIDDEN}), fixed random "
        f"weights; {S} simulations per move, B = {B} games in parallel (ours), {K} worker process(es) per "
        f"side, 1 thread each (torch.set_num_threads(1), XLA CPU single-threaded); {args.seconds:g} s "
        f"windows after warm-up",
        flush=True,
    )
    report: dict[str, Any] = {
        "benchmark": "alphazero_selfplay",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "versions": versions(),
        "settings": {
            "game": GAME,
            "channels": CHANNELS,
            "blocks": BLOCKS,
            "hidden": HIDDEN,
            "simulations": S,
            "games_in_parallel": B,
            "workers": K,
            "seconds": args.seconds,
            "c_puct": C_PUCT,
            "threads_per_process": 1,
        },
    }

    sides: dict[str, dict] = {}
    for kind in ("forward", "ours"):
        results, error = run_workers(kind, args)
        if error is not None:
            print(f"{kind}: failed: {error}", flush=True)
            raise SystemExit(1)
        sides[kind] = summarise(results)
        print(f"{kind}: {sides[kind]['positions_per_second']:.1f} positions/s", flush=True)
    peer_note = "skipped (--skip-openspiel)" if args.skip_openspiel else peer_missing()
    if peer_note is None:
        results, error = run_workers("openspiel", args)
        if error is not None:
            peer_note = f"failed: {error}"
        else:
            sides["openspiel"] = summarise(results)
            print(f"openspiel: {sides['openspiel']['positions_per_second']:.2f} positions/s", flush=True)

    forward, ours, peer = sides["forward"], sides["ours"], sides.get("openspiel")
    ratio_a = ours["simulations_per_second"] / forward["positions_per_second"]
    ratio_b = ours["positions_per_second"] / peer["positions_per_second"] if peer else None
    print()
    print(f"{'':<52}{'positions/s':>12}{'sims/s':>11}{'sims/CPU-s':>12}")
    label = f"bare network, batch {B} (median call {1000 * forward['median_call_seconds']:.1f} ms)"
    print(f"{label:<52}{forward['positions_per_second']:>12.1f}")
    rows = [(f"ours: SelfPlay, {B} games at once", ours)]
    if peer:
        rows.append(("OpenSpiel Python AlphaZero (JAX/Flax NNX)", peer))
    for label, r in rows:
        print(
            f"{label:<52}{r['positions_per_second']:>12.2f}{r['simulations_per_second']:>11.0f}"
            f"{r['simulations_per_cpu_second']:>12.0f}"
        )
    print(
        f"(a) our simulations/s / bare network positions/s: {ratio_a:.2f} (target >= 0.5: "
        f"{'met' if ratio_a >= 0.5 else 'NOT met'})"
    )
    if peer:
        hit_rate = statistics.mean(r["cache_hit_rate"] for r in peer["workers"])
        theirs, mine = peer["workers"][0], forward["workers"][0]
        print(
            f"(b) our positions/s / OpenSpiel's: {ratio_b:.1f}x (aim >= 10x: "
            f"{'met' if ratio_b >= 10 else 'not met'}); OpenSpiel's inference cache hit rate {hit_rate:.0%}; "
            f"its network {theirs['parameters']} parameters on input {theirs['input_shape_nhwc']} (NHWC), "
            f"ours {mine['parameters']} on {mine['input_shape']} (NCHW)"
        )
    else:
        print(f"(b) OpenSpiel's Python AlphaZero not measured: {peer_note}")

    report.update(
        forward=forward,
        ours=ours,
        openspiel=peer if peer else {"missing": peer_note},
        ratios={"ours_sims_vs_forward_positions": ratio_a, "ours_vs_openspiel_positions": ratio_b},
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
