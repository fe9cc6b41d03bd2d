"""Does a player choose an optimal move in every reachable position of a small game?

Every non-terminal decision position reachable from the start is solved exhaustively (minimax without
depth discounting, so every value-preserving move counts as optimal) and the player is asked for its move
there. Prints how many positions it got right and a few it got wrong.

    python bench/optimal_moves.py PLAYER [--env tic_tac_toe]
    python bench/optimal_moves.py runs/az-ttt/ckpt/latest.pt,sims=50
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import envs  # noqa: E402
from agents.players import make_player  # noqa: E402
from search.alphabeta import position_key, solve_exhaustively  # noqa: E402


def reachable_positions(game) -> list:
    """One state per distinct non-terminal decision position (by `position_key`)."""
    seen, stack, positions = set(), [game.new_initial_state()], []
    while stack:
        state = stack.pop()
        if state.is_terminal():
            continue
        key = position_key(state)
        if key in seen:
            continue
        seen.add(key)
        positions.append(state)
        stack.extend(state.child(a) for a in state.legal_actions())
    return positions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("player")
    parser.add_argument("--env", default="tic_tac_toe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (one suits small nets)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    game = envs.make(args.env)
    solved = solve_exhaustively(game, discount=1.0)
    positions = reachable_positions(game)
    player = make_player(args.player, game, seed=args.seed)
    start = time.perf_counter()
    wrong = []
    mistakes: collections.Counter = collections.Counter()

    def value_of_move(state, action) -> float:
        child, mover = state.child(action), state.current_player()
        if child.is_terminal():
            return child.returns()[mover] / envs.utility_scale(game)
        value = solved[position_key(child)].value
        return value if child.current_player() == mover else -value

    for index, state in enumerate(positions):
        player.reset(game, state.current_player(), args.seed + index)
        action = player.act(state.clone())
        if action not in solved[position_key(state)].best_actions:
            wrong.append(state)
            mistakes[(solved[position_key(state)].value, value_of_move(state, action))] += 1
    seconds = time.perf_counter() - start
    right = len(positions) - len(wrong)
    print(
        f"{args.player} on {args.env}: optimal move in {right} of {len(positions)} positions "
        f"({seconds:.1f} s)"
    )
    for (best, chosen), count in sorted(mistakes.items(), reverse=True):
        print(f"  {count} moves worth {chosen:+g} where {best:+g} was possible")
    for state in wrong[:3]:
        best = sorted(solved[position_key(state)].best_actions)
        print(f"\n{state}\nplayer {state.current_player()} to move; optimal: {best}")
    print(json.dumps({"player": args.player, "env": args.env, "positions": len(positions), "optimal": right}))


if __name__ == "__main__":
    main()
