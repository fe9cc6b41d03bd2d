"""UCT simulations per second: ours beside OpenSpiel's Python `MCTSBot` and its C++ `pyspiel.MCTSBot`.

Same settings for all three (issue 3): 1000 simulations from the initial state, one uniform random
rollout per leaf, uct_c 2, solver off, a fresh tree per move. Backgammon starts with a dice roll, so its
"initial state" is the position after a fixed first roll. Speed is CPU time of the search on one core
(the median over repeats, the three run in turn so that load on a shared machine hits them alike).

    .venv/bin/python bench/mcts_speed.py [--games tic_tac_toe connect_four backgammon] [--repeats 5]

Prints a table with the ratios and writes bench/out/mcts_speed.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import open_spiel
import pyspiel
from open_spiel.python.algorithms import mcts as os_mcts

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from search.mcts import MCTSPlayer  # noqa: E402

UCT_C = 2.0


def start_state(game: pyspiel.Game, seed: int) -> pyspiel.State:
    """The initial state, after a seeded chance outcome when the game opens with one (backgammon)."""
    state = game.new_initial_state()
    rng = np.random.default_rng(seed)
    while state.is_chance_node():
        actions, probs = zip(*state.chance_outcomes(), strict=True)
        state.apply_action(int(rng.choice(actions, p=probs)))
    return state


def make_searchers(
    game: pyspiel.Game, simulations: int, seed: int
) -> dict[str, Callable[[pyspiel.State], int]]:
    ours = MCTSPlayer(simulations, uct_c=UCT_C, seed=seed)
    rs = np.random.RandomState(seed)
    python_bot = os_mcts.MCTSBot(
        game, UCT_C, simulations, os_mcts.RandomRolloutEvaluator(1, rs), solve=False, random_state=rs
    )
    cpp_bot = pyspiel.MCTSBot(
        game, pyspiel.RandomRolloutEvaluator(1, seed), UCT_C, simulations, 1000, False, seed, False
    )
    return {"ours": ours.act, "openspiel_python": python_bot.step, "openspiel_cpp": cpp_bot.step}


def measure(game_name: str, simulations: int, repeats: int, seed: int) -> dict:
    game = pyspiel.load_game(game_name)
    state = start_state(game, seed)
    searchers = make_searchers(game, simulations, seed)
    cpu: dict[str, list[float]] = {name: [] for name in searchers}
    wall: dict[str, list[float]] = {name: [] for name in searchers}
    for step in searchers.values():  # warm-up: imports, caches, first allocations
        step(state.clone())
    for _ in range(repeats):
        for name, step in searchers.items():
            s = state.clone()
            t0, c0 = time.perf_counter(), time.process_time()
            step(s)
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - t0)
    result = {"game": game_name, "simulations": simulations, "repeats": repeats, "bots": {}}
    for name in searchers:
        c, w = statistics.median(cpu[name]), statistics.median(wall[name])
        result["bots"][name] = {
            "cpu_seconds": c,
            "wall_seconds": w,
            "sims_per_cpu_second": simulations / c,
            "sims_per_wall_second": simulations / w,
        }
    ours = result["bots"]["ours"]["sims_per_cpu_second"]
    result["ratio_vs_openspiel_python"] = ours / result["bots"]["openspiel_python"]["sims_per_cpu_second"]
    result["ratio_vs_openspiel_cpp"] = ours / result["bots"]["openspiel_cpp"]["sims_per_cpu_second"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", nargs="+", default=["tic_tac_toe", "connect_four", "backgammon"])
    parser.add_argument("--simulations", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5, help="searches per bot (backgammon: at most 2)")
    parser.add_argument("--seed", type=int, default=0)
    default_out = Path(__file__).resolve().parent / "out" / "mcts_speed.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()

    results = []
    header = f"{'game':<14}{'ours':>10}{'OS python':>11}{'OS C++':>10}{'vs python':>11}{'vs C++':>9}"
    sims = args.simulations
    print(f"UCT simulations per CPU second ({sims} sims, 1 random rollout, uct_c 2, solver off, median)")
    print(header)
    for name in args.games:
        repeats = min(args.repeats, 2) if name == "backgammon" else args.repeats
        r = measure(name, args.simulations, repeats, args.seed)
        results.append(r)
        b = r["bots"]
        print(
            f"{name:<14}{b['ours']['sims_per_cpu_second']:>10.0f}"
            f"{b['openspiel_python']['sims_per_cpu_second']:>11.0f}"
            f"{b['openspiel_cpp']['sims_per_cpu_second']:>10.0f}"
            f"{r['ratio_vs_openspiel_python']:>10.1f}x{r['ratio_vs_openspiel_cpp']:>8.2f}x",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "mcts_speed",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": platform.python_version(),
        "open_spiel": getattr(open_spiel, "__version__", "unknown"),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "settings": {"uct_c": UCT_C, "rollouts": 1, "solve": False, "seed": args.seed},
        "results": results,
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
