"""The upper yardstick: GNU Backgammon's 0-ply net against pubeval, and our TD-Gammon net against both.

gnubg plays through the `bench.gnubg_player:gnubg` plug-in (the GPL `gnubg-nn` package, installed apart
from the toolkit into `.bench-gnubg/`). The first match checks the adapter against the published
reference, gnubg's net winning about 72.7% of cubeless games against pubeval; the others place our net
between the two. All matches play our backgammon through `league.arena.play_match`, seats alternating.

    make bench-gnubg          # installs gnubg-nn into .bench-gnubg/ and runs this with the defaults
    PYTHONPATH=.bench-gnubg .venv/bin/python bench/gnubg_yardstick.py [--games 1000] [--model PATH]

Prints win rates with 95% Wilson intervals and points per game; writes bench/out/gnubg_yardstick.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import envs  # noqa: E402
from bench.pubeval_sanity import run_match  # noqa: E402
from envs.errors import UsageError  # noqa: E402

GNUBG = "bench.gnubg_player:gnubg"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=1000, help="games per match")
    parser.add_argument("--model", default=str(ROOT / "models" / "td_gammon_198x40.pt"),
                        help="our td-lambda checkpoint")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "gnubg_yardstick.json"))
    args = parser.parse_args()

    game = envs.make("backgammon")
    matches = {"gnubg vs pubeval": (GNUBG, "pubeval"), "ours vs pubeval": (args.model, "pubeval"),
               "ours vs gnubg": (args.model, GNUBG)}
    rows = {}
    print(f"{'match':<18} {'games':>6} {'win rate':>9} {'95% interval':>16} {'pts/game':>9} {'wall s':>8}")
    for label, players in matches.items():
        try:
            row = run_match(game, players, args.games, args.seed)
        except UsageError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        rows[label] = {**row, "players": list(players)}
        interval = f"[{row['score_low']:.3f}, {row['score_high']:.3f}]"
        print(f"{label:<18} {row['games']:>6} {row['win_rate']:>9.3f} {interval:>16} "
              f"{row['points_per_game']:>+9.3f} {row['wall_s']:>8.1f}", flush=True)
    print("reference: gnubg's net wins 72.7% against pubeval (cubeless)")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "gnubg 0-ply net as an upper yardstick: vs pubeval, and our net vs both",
        "matches": rows,
        "settings": vars(args),
        "machine": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
