"""TD-Gammon nets against pubeval at 1-ply, 10,000 games in seconds: the arena's match, compiled.

`run.py eval MODEL --opponent pubeval` plays through the arena and the game wrapper, about 30 games a
second on this machine; this bench plays the same match on flat boards with numba: the compiled move
generator (`envs.backgammon.kernels.legal_into`), the net's 1-ply choice (Tesauro's inputs, the same
sigmoid net, finished games scored by their points, the highest equity), and pubeval's choice (its
per-cell score table from `envs.backgammon.pubeval`, the race or contact weights picked from the position
before the move, the highest score). Cubeless; game i has the net as player i mod 2 (the opening roll
decides who starts, as in the arena). Both choosers are tested against the plain players
(`tests/test_td_lambda.py`); the one difference is which of two equally valued positions wins a tie
(discovery order here, the engine's sorted order there). A 10,000-game row of this bench and of `run.py
eval` are compared in docs/results.md.

    .venv/bin/python bench/td_gammon_pubeval_match.py MODEL [MODEL ...] [--games 10000] [--seed 0]

Prints win rate, 95% Wilson interval and points per game per model; writes
bench/out/td_gammon_pubeval_match.json.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from agents.td_gammon_kernel import _activate, _points_won, _pre_activation, _tesauro_inputs  # noqa: E402
from agents.td_lambda import ValueNet, net_from_model  # noqa: E402
from envs.backgammon.engine import NUM_CHECKERS, OFF, initial_board, opening_roll  # noqa: E402
from envs.backgammon.kernels import WIDTH, Workspace, legal_into  # noqa: E402
from envs.backgammon.pubeval import WIN_SCORE, _score_table  # noqa: E402

ROLLS = 256
"""Rolls drawn per kernel call."""


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def net_choice(theta, hidden, outputs, positions, n) -> int:
    """The net's 1-ply choice among positions[:n] (flat, the mover in row 0): the highest equity, a
    finished game scored by its points (`value_positions`, then the first maximum)."""
    index = np.empty(64, np.int64)
    value = np.empty(64, np.float32)
    h = np.empty(hidden, np.float32)
    v = np.empty(outputs, np.float32)
    best, best_equity = 0, -np.inf
    for i in range(n):
        if positions[i, OFF] == NUM_CHECKERS:
            equity = float(_points_won(positions[i]))
        else:
            count = _tesauro_inputs(positions[i], index, value)
            _pre_activation(theta, hidden, index, value, count, h)
            _activate(theta, hidden, outputs, h, v)
            equity = 2.0 * v[0] - 1.0 if outputs == 1 else v[0] + v[1] - v[2] - v[3]
        if equity > best_equity:
            best, best_equity = i, equity
    return best


@njit(cache=True, error_model="numpy")
def has_contact(board) -> bool:
    """`engine.has_contact` of a flat board: the rearmost checkers (the bar counts as 24) have not passed."""
    rear = np.array([-100, -100])
    for p in range(2):
        for column in range(24, -1, -1):
            if board[p * WIDTH + column] > 0:
                rear[p] = column
                break
    return rear[0] + rear[1] > 23


@njit(cache=True, error_model="numpy")
def pubeval_choice(board, positions, n, tables) -> int:
    """pubeval's choice among positions[:n] reachable from `board` (`pubeval_index`): the per-cell score
    table of the race or the contact weights (tables[0], tables[1]), the first maximum."""
    if n == 1:
        return 0
    table = tables[1] if has_contact(board) else tables[0]
    best, best_score = 0, -np.inf
    for i in range(n):
        if positions[i, OFF] == NUM_CHECKERS:
            score = WIN_SCORE
        else:
            score = 0.0
            for cell in range(2 * WIDTH):
                score += table[16 * cell + positions[i, cell]]
        if score > best_score:
            best, best_score = i, score
    return best


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _match_kernel(theta, hidden, outputs, tables, dice, net_side, board, state, positions, keys, slots,
                  stamps, scratch, stack, generation) -> int:
    """Continue a game from the flat `board` (the side state[0] to move) with the rolls in `dice`: the net
    moves for `net_side`, pubeval for the other. Returns the points the net won (negative when it lost),
    or 0 when the rolls ran out first."""
    for roll in range(dice.shape[0]):
        side = state[0]
        n = legal_into(board, dice[roll, 0], dice[roll, 1], positions, keys, slots, stamps, scratch, stack,
                       generation)
        if side == net_side:
            best = net_choice(theta, hidden, outputs, positions, n)
        else:
            best = pubeval_choice(board, positions, n, tables)
        chosen = positions[best]
        if chosen[OFF] == NUM_CHECKERS:
            points = _points_won(chosen)
            return points if side == net_side else -points
        board[:WIDTH] = chosen[WIDTH:]
        board[WIDTH:] = chosen[:WIDTH]
        state[0] = 1 - side
    return 0


def wilson(wins: int, games: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of wins / games."""
    p = wins / games
    centre = (p + z * z / (2 * games)) / (1 + z * z / games)
    half = z * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games)) / (1 + z * z / games)
    return centre - half, centre + half


def play_pubeval_match(net: ValueNet, games: int, seed: int) -> dict:
    """`games` cubeless games of the net against pubeval: win rate, its interval, points per game, and the
    share of games won and lost by a gammon or more."""
    tables = np.stack([_score_table(True), _score_table(False)])
    workspace, rng = Workspace(), np.random.default_rng(seed)
    hidden, points = net.shapes["b1"][0], []
    start = time.time()
    for game in range(games):
        side, first = opening_roll(rng)
        board = initial_board().reshape(-1).copy()
        state = np.array([side], np.int64)
        result, calls = 0, 0
        while result == 0:
            dice = rng.integers(1, 7, size=(ROLLS, 2))
            if calls == 0:
                dice[0] = first
            result = _match_kernel(net.theta, hidden, net.outputs, tables, dice, game % 2, board, state,
                                   *workspace.arrays())
            calls += 1
        points.append(int(result))
    p = np.array(points)
    wins = int((p > 0).sum())
    low, high = wilson(wins, games)
    return {"games": games, "win_rate": wins / games, "score_interval": [low, high],
            "points_per_game": float(p.mean()), "gammons_won": float((p >= 2).mean()),
            "gammons_lost": float((p <= -2).mean()), "wall_s": round(time.time() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help="td-lambda checkpoints")
    parser.add_argument("--games", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    default_out = Path(__file__).resolve().parent / "out" / "td_gammon_pubeval_match.json"
    parser.add_argument("--out", default=str(default_out))
    args = parser.parse_args()

    rows = {}
    print(f"{'model':<44} {'net':>10} {'games':>6} {'win rate':>9} {'95% interval':>16} {'pts/game':>9} "
          f"{'wall s':>7}")
    for model in args.models:
        checkpoint = torch.load(model, weights_only=True)
        net = net_from_model(checkpoint["model"])
        row = play_pubeval_match(net, args.games, args.seed)
        row.update(net=f"198-{net.shapes['b1'][0]}-{net.outputs}", training_games=checkpoint.get("episodes"))
        rows[model] = row
        low, high = row["score_interval"]
        print(f"{model:<44} {row['net']:>10} {args.games:>6} {row['win_rate']:>9.4f} "
              f"{f'[{low:.4f}, {high:.4f}]':>16} {row['points_per_game']:>+9.3f} {row['wall_s']:>7.1f}",
              flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "td-lambda nets against pubeval at 1-ply, compiled match, cubeless",
        "models": rows, "settings": vars(args), "machine": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
