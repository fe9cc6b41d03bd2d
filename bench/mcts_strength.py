"""Strength parity: our `mcts:1000` against OpenSpiel's C++ `pyspiel.MCTSBot` on connect four.

Same settings on both sides (issue 3): 1000 simulations, uct_c 2, one uniform random rollout per leaf
(OpenSpiel: `pyspiel.RandomRolloutEvaluator(1, seed)`), solver off, a fresh tree per move. Seats
alternate; game i is played from seed `seed + i` in our arena, in worker processes. Prints our score
(wins + half the draws) with its 95% interval (Wilson) and writes bench/out/mcts_strength.json.

    .venv/bin/python bench/mcts_strength.py [--games 200] [--workers 2] [--simulations 1000]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

UCT_C = 2.0
PEER = "openspiel_cpp_mcts"


class OpenSpielCppMCTS:
    """OpenSpiel's C++ MCTSBot as a player of our arena; rebuilt with the game's seed before each game."""

    def __init__(self, simulations: int) -> None:
        self.simulations = simulations
        self.bot = None

    def reset(self, game, player_id: int, seed: int) -> None:
        import pyspiel

        self.evaluator = pyspiel.RandomRolloutEvaluator(1, seed)
        self.bot = pyspiel.MCTSBot(game, self.evaluator, UCT_C, self.simulations, 1000, False, seed, False)

    def act(self, state) -> int:
        return int(self.bot.step(state))


def make_bench_player(name: str, game, seed: int = 0):
    """`openspiel_cpp_mcts:SIMS` is the peer; any other name is one of ours (agents.players)."""
    base, _, arg = name.partition(":")
    if base == PEER:
        return OpenSpielCppMCTS(int(arg))
    from agents.players import make_player

    return make_player(name, game, seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="connect_four")
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--simulations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    default_out = Path(__file__).resolve().parent / "out" / "mcts_strength.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()

    from league.arena import play_match

    ours, peer = f"mcts:{args.simulations}", f"{PEER}:{args.simulations}"
    print(f"{ours} (ours) vs {peer} on {args.env}: {args.games} games, seats alternating, "
          f"{args.workers} workers", flush=True)
    start = time.perf_counter()
    result = play_match(args.env, [ours, peer], games=args.games, seed=args.seed, workers=args.workers,
                        make_player=make_bench_player)
    seconds = time.perf_counter() - start
    low, high = result.interval()
    by_seat = {}
    for seat in (0, 1):
        games = [g for g in result.games if g["seat_of_first"] == seat]
        wins = sum(g["returns"][seat] > g["returns"][1 - seat] for g in games)
        draws = sum(g["returns"][seat] == g["returns"][1 - seat] for g in games)
        by_seat[f"ours_in_seat_{seat}"] = {"games": len(games), "wins": wins, "draws": draws,
                                           "score": (wins + 0.5 * draws) / max(len(games), 1)}
    print(f"ours: {result.wins} wins, {result.draws} draws, {result.losses} losses")
    for key, s in by_seat.items():
        print(f"  {key}: {s['wins']} wins, {s['draws']} draws of {s['games']}, score {s['score']:.3f}")
    verdict = "parity or better" if high >= 0.5 else "weaker"
    print(f"score {result.score:.3f}, 95% interval [{low:.3f}, {high:.3f}] -> {verdict} "
          f"({seconds:.0f} s wall)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "mcts_strength",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": platform.python_version(),
        "env": args.env,
        "ours": ours,
        "peer": f"pyspiel.MCTSBot(uct_c={UCT_C}, max_simulations={args.simulations}, "
                "RandomRolloutEvaluator(1, seed), solve=False)",
        "games": result.played,
        "wins": result.wins,
        "draws": result.draws,
        "losses": result.losses,
        "score": result.score,
        "score_interval_95": [low, high],
        "by_seat": by_seat,
        "wall_seconds": seconds,
        "workers": args.workers,
        "seed": args.seed,
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
