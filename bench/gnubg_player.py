"""GNU Backgammon's neural net as a backgammon player, the field's upper yardstick, for benchmarks only.

The net comes from the `gnubg-nn` package (GPL). It is installed apart from the toolkit, into
`.bench-gnubg/` (`make bench-gnubg`), and only this plug-in imports it, when a command names it:

    PYTHONPATH=.bench-gnubg python run.py eval models/td_gammon_198x40.pt \
        --opponent bench.gnubg_player:gnubg --episodes 1000

The player plays our backgammon (`envs.make("backgammon")`, action i = the i-th legal resulting position):
it asks gnubg for the cubeless probabilities of every resulting position, the opponent to roll (gnubg's
0-ply evaluation: its contact, crashed and race nets and its bear-off database), and takes the one whose
cubeless equity is lowest for the opponent. A position that bears off the last checker ends the game and
is taken for the most points.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.pubeval_player import require_backgammon
from envs.backgammon.engine import BAR, NUM_CHECKERS, OFF, game_result
from envs.errors import UsageError

INSTALL_HINT = "make bench-gnubg (installs the GPL gnubg-nn package into .bench-gnubg/, apart from the kit)"


def _gnubg():
    try:
        import gnubg_nn
    except ImportError:
        raise UsageError(f"the gnubg player needs gnubg-nn on PYTHONPATH: {INSTALL_HINT}") from None
    return gnubg_nn


def gnubg_board(board: np.ndarray) -> list[list[int]]:
    """Our board (row 0 has just moved, row 1 is to roll) in gnubg's layout: [player not on roll, player
    on roll], each 25 counts in its own numbering (index i = its point i + 1, index 24 = its bar)."""
    return [[int(n) for n in board[0, :BAR + 1]], [int(n) for n in board[1, :BAR + 1]]]


def opponent_equity(probabilities: tuple[float, ...]) -> float:
    """Cubeless equity of the player on roll from gnubg's (win, win gammon, win backgammon, lose gammon,
    lose backgammon)."""
    win, win_gammon, win_backgammon, lose_gammon, lose_backgammon = probabilities[:5]
    return 2.0 * win - 1.0 + win_gammon - lose_gammon + win_backgammon - lose_backgammon


class GnubgPlayer:
    """Plays the move after which gnubg's 0-ply net rates the opponent's cubeless equity lowest."""

    def __init__(self, game: Any):
        require_backgammon(game, "gnubg")
        self.gnubg = _gnubg()

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        pass

    def choose(self, positions: np.ndarray) -> int:
        """The index of the best of `positions` (N, 2, 26), the mover in row 0."""
        if len(positions) == 1:
            return 0
        finished = np.flatnonzero(positions[:, 0, OFF] == NUM_CHECKERS)
        if len(finished):
            return int(max(finished, key=lambda i: game_result(positions[i])))
        equities = [opponent_equity(self.gnubg.probabilities(gnubg_board(p), 0)) for p in positions]
        return int(np.argmin(equities))

    def act(self, state: Any) -> int:
        return self.choose(state.legal_positions())


def gnubg(game: Any) -> GnubgPlayer:
    """The plug-in factory: `--opponent bench.gnubg_player:gnubg`."""
    return GnubgPlayer(game)
