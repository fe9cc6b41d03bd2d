"""TD-Gammon self-play training speed: our engine beside a loop over OpenSpiel's C++ backgammon.

All loops run the same work with the same 198-40-1 net and the same TD(lambda) update
(`agents.td_lambda`): at each decision, every candidate result is valued in one batched forward pass, the
mover takes the best (1-ply), the traces and weights are updated for the chosen position.

- ours: `agents.td_gammon_kernel.CompiledSelfPlay`, the training loop: the distinct resulting positions of
  the roll (`envs.backgammon.kernels`), the net over each and the TD update, compiled with numba.
- ours with the numpy net (`agents.td_lambda.reference_self_play_game`): the engine's positions
  (`legal_positions`), Tesauro's 198 inputs for all of them at once, the numpy net and `TDLambda`, as the
  OpenSpiel loop uses them: the row that separates the engine's share of the gain from the compiled net's.
- OpenSpiel: `backgammon(scoring_type=full_scoring)`; at each decision every legal action is expanded
  with `state.child(a)`, each child is encoded from the mover's side (OpenSpiel's fast path
  `make_observation(game).set_from`, then its 200 values turned into the same 198 Tesauro inputs in one
  vectorised step, checked against `state.board` at start-up), and all of them go through the net in one
  batch. A double is two decisions there (two checkers each): the first half's
  children are expanded again, so that both loops choose among the same resulting positions (OpenSpiel's
  with duplicates, as `legal_actions` lists them).

The loops alternate game by game, so that load on a shared machine hits them alike; speed is games per
second of process CPU time (wall time beside it), with BLAS held to one thread. All start from copies of
one net warmed up by 1,000 self-play games
(an untrained net's first games are long), see the same inputs and choose among the same positions, so
their games are alike (moves per game printed beside).

    .venv/bin/python bench/backgammon_speed.py [--rounds 3] [--seconds 10]

Prints a table with the ratios and writes bench/out/backgammon_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

# Every loop is single-threaded: BLAS threads left spinning after a numpy loop's batched forward pass
# would bill their CPU time to whichever loop runs next (process CPU time counts all threads).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import open_spiel  # noqa: E402
import pyspiel  # noqa: E402
from open_spiel.python.observation import make_observation  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from agents.td_gammon_kernel import CompiledSelfPlay  # noqa: E402
from agents.td_lambda import TDLambda, ValueNet, reference_self_play_game  # noqa: E402
from envs.backgammon.engine import BAR, OFF, tesauro_features  # noqa: E402

HIDDEN, ALPHA, LAMBDA = 40, 0.1, 0.7
OURS = "ours (compiled)"
OURS_NUMPY = "ours, numpy net (reference)"
PEER_FAST = "openspiel, set_from"
PEER_PLAIN = "openspiel, observation_tensor"


def _counts(units: np.ndarray) -> np.ndarray:
    """Checkers per point from OpenSpiel's 4 units per point ([n == 1, n == 2, n == 3, n - 3 beyond])."""
    u = units.reshape(*units.shape[:-1], 24, 4)
    return u[..., 0] + 2 * u[..., 1] + 3 * u[..., 2] + np.where(u[..., 3] > 0, 3 + u[..., 3], 0)


def openspiel_boards(tensors: np.ndarray, viewer: int) -> np.ndarray:
    """Our boards (N, 2, 26), `viewer` in row 0, from OpenSpiel observation tensors (N, 200) seen by
    `viewer`: its 24 points (4 units each, by OpenSpiel's position), the opponent's 24, then [bar, borne
    off, to move] for the viewer and for the opponent, then the dice. OpenSpiel's player 0 moves from
    position 0 to 23 (our column 23 - pos), player 1 from 23 to 0 (our column pos)."""
    boards = np.zeros((tensors.shape[0], 2, 26), np.int8)
    mine, theirs = _counts(tensors[:, :96]), _counts(tensors[:, 96:192])
    if viewer == 0:
        boards[:, 0, 23::-1], boards[:, 1, :24] = mine, theirs
    else:
        boards[:, 0, :24], boards[:, 1, 23::-1] = mine, theirs
    boards[:, 0, BAR], boards[:, 0, OFF] = tensors[:, 192], tensors[:, 193]
    boards[:, 1, BAR], boards[:, 1, OFF] = tensors[:, 195], tensors[:, 196]
    return boards


def check_decoding(game: pyspiel.Game, observation, games: int = 3, seed: int = 0) -> None:
    """`openspiel_boards` agrees with OpenSpiel's own `state.board(player, position)` along random games."""
    rng = np.random.default_rng(seed)
    for _ in range(games):
        state = game.new_initial_state()
        while not state.is_terminal():
            if not state.is_chance_node():
                for viewer in (0, 1):
                    expected = np.zeros((2, 26), np.int8)
                    for row, who in ((0, viewer), (1, 1 - viewer)):
                        for pos in range(24):
                            expected[row, 23 - pos if who == 0 else pos] = state.board(who, pos)
                        expected[row, BAR] = state.board(who, 100)
                        expected[row, OFF] = 15 - expected[row, :25].sum()
                    observation.set_from(state, viewer)
                    decoded = openspiel_boards(observation.tensor[None], viewer)[0]
                    assert np.array_equal(decoded, expected), "OpenSpiel's observation layout changed"
            chance = state.is_chance_node()
            actions = [a for a, _ in state.chance_outcomes()] if chance else state.legal_actions()
            state.apply_action(int(rng.choice(actions)))


def openspiel_self_play_game(game: pyspiel.Game, observation, net: ValueNet, learner: TDLambda,
                             rng: np.random.Generator, fast: bool = True) -> tuple[int, int]:
    """One 1-ply TD(lambda) self-play game on OpenSpiel's backgammon; returns (points for 0, moves).

    `fast`: encode children with `observation.set_from` (else with `state.observation_tensor(player)`)."""
    state = game.new_initial_state()
    learner.begin_game()
    moves = 0
    width = observation.tensor.shape[0]
    while not state.is_terminal():
        if state.is_chance_node():
            outcomes, probabilities = zip(*state.chance_outcomes(), strict=True)
            state.apply_action(int(outcomes[rng.choice(len(outcomes), p=probabilities)]))
            continue
        mover = state.current_player()
        children = []
        for a in state.legal_actions():
            child = state.child(a)
            if not child.is_terminal() and child.current_player() == mover:  # the second half of a double
                children.extend(child.child(a2) for a2 in child.legal_actions())
            else:
                children.append(child)
        tensors = np.empty((len(children), width), np.float32)
        for i, child in enumerate(children):
            if fast:
                observation.set_from(child, mover)
                tensors[i] = observation.tensor
            else:
                tensors[i] = child.observation_tensor(mover)
        x = tesauro_features(openspiel_boards(tensors, mover), 1)
        h, v = net.forward(x)
        equity = net.equity(v)
        for i, child in enumerate(children):
            if child.is_terminal():
                equity[i] = child.returns()[mover]
        best = int(np.argmax(equity))
        moves += 1
        state = children[best]
        if state.is_terminal():
            points = int(state.returns()[0])
            learner.end_game(np.array([1.0 if points > 0 else 0.0], np.float32))
            return points, moves
        learner.observe(x[best], h[best], v[best], mover)
    return int(state.returns()[0]), moves


def measure(start: ValueNet, games: int, seed: int) -> dict[str, dict[str, float]]:
    """Each loop plays `games` training games from a copy of `start`, one game of each in turn."""
    game = pyspiel.load_game("backgammon(scoring_type=full_scoring)")
    observation = make_observation(game)

    def learner() -> TDLambda:
        net = ValueNet(HIDDEN, 1)
        net.load(start.params)
        return TDLambda(net, ALPHA, LAMBDA)

    ours, numpy_loop, fast, plain = learner(), learner(), learner(), learner()
    ours_rng, numpy_rng, fast_rng, plain_rng = (np.random.default_rng(seed) for _ in range(4))
    self_play = CompiledSelfPlay(ours.net, ALPHA, LAMBDA)
    loops = {
        OURS: lambda: self_play.play(ours_rng),
        OURS_NUMPY: lambda: reference_self_play_game(numpy_loop.net, numpy_loop, numpy_rng),
        PEER_FAST: lambda: openspiel_self_play_game(game, observation, fast.net, fast, fast_rng),
        PEER_PLAIN: lambda: openspiel_self_play_game(
            game, observation, plain.net, plain, plain_rng, fast=False),
    }
    totals = {name: {"games": 0, "moves": 0, "cpu_s": 0.0, "wall_s": 0.0} for name in loops}
    for _ in range(games):
        for name, play in loops.items():
            cpu, wall = time.process_time(), time.perf_counter()
            _, moves = play()
            t = totals[name]
            t["cpu_s"] += time.process_time() - cpu
            t["wall_s"] += time.perf_counter() - wall
            t["games"] += 1
            t["moves"] += moves
    rows = {}
    for name, t in totals.items():
        rows[name] = {**t, "games_per_cpu_s": t["games"] / t["cpu_s"],
                      "moves_per_cpu_s": t["moves"] / t["cpu_s"],
                      "games_per_wall_s": t["games"] / t["wall_s"],
                      "moves_per_game": t["moves"] / t["games"]}
    for name in (OURS_NUMPY, PEER_FAST, PEER_PLAIN):
        rows[name]["ours_is_x"] = rows[OURS]["games_per_cpu_s"] / rows[name]["games_per_cpu_s"]
    return rows


def print_table(title: str, rows: dict[str, dict[str, float]]) -> None:
    header = f"{'games':>7}{'games/CPU s':>13}{'moves/CPU s':>13}{'games/wall s':>14}"
    header += f"{'moves/game':>12}{'ours is':>9}"
    print(f"\n{title}\n{'loop':<32}{header}")
    for name, r in rows.items():
        ratio = f"{r['ours_is_x']:.1f}x" if "ours_is_x" in r else ""
        print(f"{name:<32}{r['games']:>7}{r['games_per_cpu_s']:>13.2f}{r['moves_per_cpu_s']:>13.0f}"
              f"{r['games_per_wall_s']:>14.2f}{r['moves_per_game']:>12.1f}{ratio:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=60, help="games per loop from the warmed-up net")
    parser.add_argument("--untrained-games", type=int, default=20, help="games per loop, untrained net")
    parser.add_argument("--warmup-games", type=int, default=1000, help="self-play games that warm the net up")
    parser.add_argument("--checkpoint", help="start the second stage from this td-lambda checkpoint instead")
    parser.add_argument("--seed", type=int, default=0)
    default_out = Path(__file__).resolve().parent / "out" / "backgammon_speed.json"
    parser.add_argument("--out", default=str(default_out))
    args = parser.parse_args()

    check_decoding(pyspiel.load_game("backgammon(scoring_type=full_scoring)"),
                   make_observation(pyspiel.load_game("backgammon(scoring_type=full_scoring)")))
    untrained = ValueNet(HIDDEN, 1, 0.1, np.random.default_rng(args.seed))
    CompiledSelfPlay(ValueNet(HIDDEN, 1)).play(np.random.default_rng(0))  # numba compiles before any timing
    stages = {}
    if args.untrained_games:
        title = "untrained net (the first games of a run)"
        stages[title] = measure(untrained, args.untrained_games, args.seed)
    if args.checkpoint:
        import torch

        from agents.td_lambda import net_from_model

        warm = net_from_model(torch.load(args.checkpoint, weights_only=True)["model"])
        warm_name = f"net from {args.checkpoint}"
    else:
        warm = ValueNet(HIDDEN, 1)
        warm.load(untrained.params)
        warm_play = CompiledSelfPlay(warm, ALPHA, LAMBDA)
        warm_rng = np.random.default_rng(args.seed + 1)
        for _ in range(args.warmup_games):
            warm_play.play(warm_rng)
        warm_name = f"net after {args.warmup_games} self-play games"
    if args.games:
        stages[warm_name] = measure(warm, args.games, args.seed + 2)

    for title, rows in stages.items():
        print_table(title, rows)
    print("\ntargets: ours >= 20 games/s and >= 30x the OpenSpiel loop (ratios in CPU time)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "td-lambda self-play training games per second, 1-ply, 198-40-1 net",
        "stages": stages,
        "targets": {"ours_games_per_s": 20, "ratio": 30},
        "settings": vars(args),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "open_spiel": getattr(open_spiel, "__version__", "unknown")},
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
