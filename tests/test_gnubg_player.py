"""The gnubg yardstick's adapter (bench/gnubg_player.py): board layout and choice, checked against gnubg's
own move choice. Runs only where the GPL gnubg-nn package is on PYTHONPATH (`make bench-gnubg` installs it
into .bench-gnubg/; `PYTHONPATH=.bench-gnubg make test` then runs this)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gnubg_nn", reason="gnubg-nn is not installed (make bench-gnubg installs it)")

import envs  # noqa: E402
from bench.gnubg_player import gnubg, gnubg_board  # noqa: E402
from envs.backgammon.engine import flip, initial_board, legal_positions, parse_move  # noqa: E402


def test_the_player_makes_gnubgs_own_moves():
    """Along random games, the position the adapter picks (0-ply probabilities of every result, the
    opponent to roll) is the one gnubg's best_move plays."""
    import gnubg_nn

    player = gnubg(envs.make("backgammon"))
    rng = np.random.default_rng(0)
    board, agreed = initial_board(), 0
    for _ in range(60):
        dice = tuple(int(d) for d in rng.integers(1, 7, 2))
        positions = legal_positions(board, dice)
        choice = positions[player.choose(positions)]
        moves = gnubg_nn.best_move(gnubg_board(flip(board)), dice[0], dice[1])  # the mover on roll
        # gnubg numbers the mover's points as our notation does (and `parse_move` reads 25 as bar, 0 as off).
        notation = " ".join(f"{source}/{target}" for source, target in moves)
        agreed += np.array_equal(parse_move(board, dice, notation or "pass"), choice)
        if choice[0, 25] == 15 or choice[1, 25] == 15:
            board = initial_board()
        else:
            board = flip(choice)
    assert agreed >= 57  # (ties between equal evaluations may break differently)
