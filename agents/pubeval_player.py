"""`pubeval` as a player: Tesauro's public linear evaluator choosing among the distinct positions of a roll.

It plays our backgammon (`envs.make("backgammon")`), whose action i is the i-th legal resulting position,
so a move is the argmax of `pubeval_scores` over `state.legal_positions()` (the first one on ties, as in
`envs.backgammon.pubeval.pubeval_move`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.backgammon.engine import has_contact
from envs.backgammon.pubeval import pubeval_scores
from envs.errors import UsageError


def pubeval_index(board: np.ndarray, positions: np.ndarray) -> int:
    """pubeval's choice among `positions` (N, 2, 26), all reachable from `board` with one roll."""
    if len(positions) == 1:
        return 0
    return int(np.argmax(pubeval_scores(positions, race=not has_contact(board))))


def require_backgammon(game: Any, who: str) -> None:
    """UsageError unless `game` is our backgammon."""
    from envs.backgammon.game import GAME_NAME

    if game.get_type().short_name != GAME_NAME:
        raise UsageError(f"{who} plays backgammon only (--env backgammon), not {game.get_type().short_name}")


class PubevalPlayer:
    """Plays the move pubeval scores highest; deterministic."""

    def __init__(self, game: Any):
        require_backgammon(game, "pubeval")

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        pass

    def act(self, state: Any) -> int:
        return pubeval_index(state.board, state.legal_positions())


def make_pubeval(arg: str | None, options: dict[str, str], env: Any, seed: int) -> PubevalPlayer:
    """The `pubeval` built-in player (no strength argument, no options)."""
    if arg or options:
        raise UsageError("pubeval takes no argument or options")
    return PubevalPlayer(env)
