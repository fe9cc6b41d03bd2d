"""Matches with random openings: each player makes its first `--opening` moves uniformly at random (from
its own seeded stream), so that games differ even between deterministic players; then they play. Seats
alternate; the score has a 95% interval; distinct games are counted. A player that batches (a checkpoint)
plays all its games in one batch (one network call per search step for all of them).

    python bench/alphago_matches.py --env "go(board_size=9,komi=7.5)" --games 20 \\
        --pairs "CKPT,sims=100,lambda=0.5 gnugo:1" "CKPT,sims=100,lambda=0 gnugo:1"

The lambda ablation (AlphaGo's Figure 4b in miniature) is three pairs against one fixed opponent; the RL
against SL policy match is `CKPT,sims=0,policy=rl,temperature=1 CKPT,sims=0,policy=sl,temperature=1`.
Run it under `flock /tmp/palaestra-cpu.lock` on a shared machine; prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

OPENING = [4]  # set from --opening before any player is built


class RandomOpening:
    """A player whose first moves of each game (move number < OPENING) are uniformly random."""

    def __init__(self, inner: Any, moves: int):
        self.inner, self.moves = inner, moves
        self.rngs = [np.random.default_rng(0)]

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.rngs = [np.random.default_rng([seed, 99])]
        self.inner.reset(game, player_id, seed)

    def observe(self, state: Any, action: int | None) -> None:
        if hasattr(self.inner, "observe"):
            self.inner.observe(state, action)

    def _random(self, state: Any, rng: np.random.Generator) -> int:
        legal = state.legal_actions()
        legal = [a for a in legal if not state.child(a).is_terminal()] or legal
        return int(legal[rng.integers(len(legal))])

    def act(self, state: Any) -> int:
        if state.move_number() < self.moves:
            return self._random(state, self.rngs[0])
        return int(self.inner.act(state))


class BatchedRandomOpening(RandomOpening):
    def reset_batch(self, game: Any, player_ids: Any, seeds: Any) -> None:
        self.rngs = [np.random.default_rng([s, 99]) for s in seeds]
        self.inner.reset_batch(game, player_ids, seeds)

    def act_batch(self, states: Any, slots: Any) -> list[int]:
        out: list[int | None] = [None] * len(states)
        rest = []
        for k, (state, slot) in enumerate(zip(states, slots, strict=True)):
            if state.move_number() < self.moves:
                out[k] = self._random(state, self.rngs[slot])
            else:
                rest.append(k)
        if rest:
            chosen = self.inner.act_batch([states[k] for k in rest], [slots[k] for k in rest])
            for k, action in zip(rest, chosen, strict=True):
                out[k] = int(action)
        return [int(a) for a in out]  # type: ignore[arg-type]


def make_opening_player(name: str, game: Any, seed: int = 0, device: str = "cpu") -> Any:
    from agents.players import make_player
    from league.batched import batches

    inner = make_player(name, game, seed=seed, device=device)
    return (BatchedRandomOpening if batches(inner) else RandomOpening)(inner, OPENING[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="go(board_size=9,komi=7.5)")
    parser.add_argument("--pairs", nargs="+", required=True, help='"PLAYER_A PLAYER_B" per match')
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--opening", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench/out/alphago_matches.json")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from league.arena import play_match

    OPENING[0] = args.opening
    rows = []
    for pair in args.pairs:
        first, second = pair.split()
        start = time.time()
        result = play_match(args.env, [first, second], args.games, args.seed, make_player=make_opening_player,
                            batch_size=args.games)
        low, high = result.interval()
        distinct = len({tuple(g["actions"]) for g in result.games})
        rows.append({"first": first, "second": second, "games": result.played, "score": result.score,
                     "low": low, "high": high, "distinct_games": distinct,
                     "seconds": round(time.time() - start, 1),
                     "per_game": [{"first_played_black": g["seat_of_first"] == 0, "returns": g["returns"],
                                   "moves": len(g["actions"])} for g in result.games]})
        print(f"{first} vs {second}: {result.played} games, score {result.score:.3f} "
              f"(95% {low:.3f}-{high:.3f}), {distinct} distinct, {time.time() - start:.0f} s", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"env": args.env, "opening": args.opening, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
