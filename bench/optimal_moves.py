"""Does a player choose an optimal move in every reachable position of a small game, or in connect four's
critical positions?

Tic-tac-toe: every non-terminal decision position reachable from the start is solved exhaustively
(minimax without depth discounting, so every value-preserving move counts as optimal) and the player is
asked for its move there. Prints how many positions it got right and a few it got wrong.

Connect four: the positions of bench/c4_solve.py's label file (12-30 stones from mixed MCTS and random
play, every move's exact value by the solver; made first when missing). A position is critical when some
move changes the result (win/draw/loss); the player errs there when its move's result is worse than the
best one's. Prints the error rate on critical positions with its 95% interval (Wilson). `--limit N`
judges the first N critical positions (to time a slow player); `--against-solver N` also plays N games,
the player moving first, against the `solver`. `openspiel_cpp_mcts:SIMS` is OpenSpiel's C++ MCTSBot
(bench/mcts_strength.py's peer).

    python bench/optimal_moves.py PLAYER [--env tic_tac_toe]
    python bench/optimal_moves.py runs/az-ttt/ckpt/latest.pt,sims=50
    python bench/optimal_moves.py mcts:1000 --env connect_four [--labels FILE] [--limit N]
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


def judge_connect_four(args: argparse.Namespace) -> None:
    """The player's error rate on the label file's critical positions (and its games against `solver`)."""
    from bench.c4_solve import LABELS, is_critical, label_positions, result, sample_positions
    from bench.mcts_strength import make_bench_player
    from search.connect_four_solver import ConnectFourSolver

    path = args.labels or LABELS
    if not path.exists():
        print(f"{path} missing: sampling and labelling 1,050 positions (bench/c4_solve.py; minutes)")
        labels = label_positions(sample_positions(1050, 12, 30, 0), ConnectFourSolver())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"labels": labels}, separators=(",", ":")) + "\n")
    labels = json.loads(path.read_text())["labels"]
    critical = [label for label in labels if is_critical(label)][: args.limit]
    game = envs.make("connect_four")
    player = make_bench_player(args.player, game, seed=args.seed)
    errors: collections.Counter = collections.Counter()
    seconds = []
    for index, label in enumerate(critical):
        state = game.new_initial_state()
        for action in map(int, label["moves"]):
            state.apply_action(action)
        player.reset(game, state.current_player(), args.seed + index)
        tick = time.perf_counter()
        action = player.act(state.clone())
        seconds.append(time.perf_counter() - tick)
        best, chosen = result(label["value"]), result(label["values"][str(action)])
        if chosen < best:
            errors[(best, chosen)] += 1
    wrong, n = sum(errors.values()), len(critical)
    low, high = wilson(wrong, n)
    print(f"{args.player} on connect_four: {wrong} errors in {n} critical positions of {len(labels)} "
          f"({100 * wrong / n:.1f}%, 95% interval {100 * low:.1f}-{100 * high:.1f}%; "
          f"{sum(seconds) / n:.3f} s a move)")
    names = {1: "win", 0: "draw", -1: "loss"}
    for (best, chosen), count in sorted(errors.items(), reverse=True):
        print(f"  {count} moves to a {names[chosen]} where a {names[best]} was possible")
    summary = {"player": args.player, "env": "connect_four", "labels": str(path), "positions": len(labels),
               "critical": n, "errors": wrong, "error_rate": wrong / n, "interval": [low, high],
               "seconds_per_move": sum(seconds) / n}
    if args.against_solver:
        summary["against_solver"] = games_against_solver(args.player, game, args.against_solver, args.seed)
        print(f"  against solver, moving first: {summary['against_solver']}")
    print(json.dumps(summary))


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of a proportion k/n."""
    p, d = k / n, 1 + z * z / n
    centre, half = (p + z * z / (2 * n)) / d, z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / d
    return max(0.0, centre - half), min(1.0, centre + half)


def games_against_solver(name: str, game, games: int, seed: int) -> dict:
    """`name` in seat 0 against `solver` in seat 1, `games` games: wins, draws, losses of `name`."""
    from bench.mcts_strength import make_bench_player
    from league.arena import GameJob, play_games

    jobs = [GameJob((name, "solver"), seed + i) for i in range(games)]
    records = play_games(game, jobs, make_player=make_bench_player)
    first = [r["returns"][0] for r in records]
    return {"games": games, "wins": sum(r > 0 for r in first), "draws": sum(r == 0 for r in first),
            "losses": sum(r < 0 for r in first)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("player")
    parser.add_argument("--env", default="tic_tac_toe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (one suits small nets)")
    parser.add_argument("--labels", type=Path, help="connect four: the label file (bench/c4_solve.py's)")
    parser.add_argument("--limit", type=int, help="connect four: judge only the first N critical positions")
    parser.add_argument("--against-solver", type=int, default=0, metavar="GAMES",
                        help="connect four: also play GAMES games against `solver`, moving first")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.env == "connect_four":
        judge_connect_four(args)
        return
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
