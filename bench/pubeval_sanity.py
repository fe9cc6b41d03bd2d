"""pubeval sanity: pubeval against itself is an even match, and it beats a random mover almost always.

Both matches play our backgammon (`envs.make("backgammon")`, cubeless, full scoring) through
`league.arena.play_match`, with players built by `agents.players.make_player`; seats alternate (the first
listed player sits first in even games, second in odd ones), so the first mover's edge cancels out.

Targets (issue 4): pubeval vs pubeval within 47-53% over 2,000 games; pubeval vs random >= 99% wins.

    .venv/bin/python bench/pubeval_sanity.py [--games 2000] [--seed 0]

Prints a table (win rate with its 95% Wilson interval, points per game, wall time) and writes
bench/out/pubeval_sanity.json. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import envs  # noqa: E402
from agents.players import make_player  # noqa: E402
from league.arena import play_match, score_of_first  # noqa: E402

MATCHES = {
    "pubeval vs pubeval": (("pubeval", "pubeval"), 0.47, 0.53),
    "pubeval vs random": (("pubeval", "random"), 0.99, 1.0),
}


def run_match(game, players: tuple[str, str], games: int, seed: int) -> dict:
    start = time.perf_counter()
    cpu = time.process_time()
    result = play_match(game, list(players), games=games, seed=seed, make_player=make_player)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    summary = result.summary()
    by_seat = {}
    for seat in (0, 1):
        scores = [score_of_first(g) for g in result.games if g["seat_of_first"] == seat]
        by_seat[f"first_player_win_rate_in_seat_{seat}"] = sum(scores) / max(len(scores), 1)
    moves = sum(len(g["actions"]) for g in result.games)
    return {**summary, **by_seat, "actions_per_game": moves / max(result.played, 1),
            "wall_s": wall, "cpu_s": cpu, "games_per_wall_s": result.played / max(wall, 1e-9)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=2000, help="games per match")
    parser.add_argument("--seed", type=int, default=0)
    default_out = Path(__file__).resolve().parent / "out" / "pubeval_sanity.json"
    parser.add_argument("--out", default=str(default_out))
    args = parser.parse_args()

    game = envs.make("backgammon")
    rows, ok = {}, True
    print(f"{'match':<20} {'games':>6} {'win rate':>9} {'95% interval':>16} {'pts/game':>9} "
          f"{'wall s':>8} {'target':>11}  met")
    for label, (players, low, high) in MATCHES.items():
        row = run_match(game, players, args.games, args.seed)
        met = low <= row["win_rate"] <= high
        ok &= met
        row.update({"players": list(players), "target_low": low, "target_high": high, "met": met})
        rows[label] = row
        interval = f"[{row['score_low']:.3f}, {row['score_high']:.3f}]"
        print(f"{label:<20} {row['games']:>6} {row['win_rate']:>9.3f} {interval:>16} "
              f"{row['points_per_game']:>+9.3f} {row['wall_s']:>8.1f} {f'{low:.2f}-{high:.2f}':>11}  "
              f"{'MET' if met else 'NOT MET'}", flush=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "pubeval sanity: pubeval vs pubeval and vs random, seats alternating, cubeless",
        "matches": rows,
        "all_met": ok,
        "settings": vars(args),
        "machine": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }, indent=2))
    print(f"wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
