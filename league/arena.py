"""Playing matches: N games between players with seats alternating, every game's moves and result kept.

The arena knows players only through `reset(game, player_id, seed)` and `act(state)`; players are
built by name in `agents/players.py` and handed over as factories, so games can run in worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from envs.turn_based import GameRecord, Player, play_game


@dataclass
class MatchResult:
    """The games of a two-player match from the first player's view: win/draw/loss counts and each game."""

    wins: int = 0
    draws: int = 0
    losses: int = 0
    points: float = 0.0
    games: list[dict[str, Any]] = field(default_factory=list)

    @property
    def played(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        """Wins plus half the draws, over the games."""
        return (self.wins + 0.5 * self.draws) / max(self.played, 1)

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """95% interval of the score (Wilson score interval)."""
        n = max(self.played, 1)
        p = self.score
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def summary(self) -> dict[str, Any]:
        n = max(self.played, 1)
        low, high = self.interval()
        return {
            "games": self.played,
            "win_rate": self.wins / n,
            "draw_rate": self.draws / n,
            "loss_rate": self.losses / n,
            "score": self.score,
            "score_low": low,
            "score_high": high,
            "points_per_game": self.points / n,
        }


def play_match(
    game: Any,
    players: Sequence[Player | Callable[[], Player]],
    games: int = 100,
    seed: int = 0,
    workers: int = 1,
) -> MatchResult:
    """Play `games` games of a two-player game; player 0 takes seat 0 in even games and seat 1 in odd ones.

    `players` are player objects or zero-argument factories. Results are from player 0's view.
    """
    first, second = (p() if callable(p) and not hasattr(p, "act") else p for p in players)
    result = MatchResult()
    for index in range(games):
        seats = [first, second] if index % 2 == 0 else [second, first]
        record: GameRecord = play_game(game, seats, seed=seed + index)
        ours = record.returns[0] if index % 2 == 0 else record.returns[1]
        theirs = record.returns[1] if index % 2 == 0 else record.returns[0]
        result.points += ours
        if ours > theirs:
            result.wins += 1
        elif ours < theirs:
            result.losses += 1
        else:
            result.draws += 1
        result.games.append(
            {
                "seat_of_first": index % 2,
                "actions": record.actions,
                "returns": record.returns,
                "seed": seed + index,
            }
        )
    return result
