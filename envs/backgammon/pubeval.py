"""Tesauro's pubeval: a public linear evaluator of backgammon positions, the field's standard yardstick.

The score of a candidate move is w . x, a linear function of 122 inputs describing the position after
the move from the mover's side; the mover keeps the highest-scoring move. One weight vector serves races
and one positions with contact, chosen once per decision from the position before the move. Written from
the description in the project's data notes; the weights (public domain, Gerald Tesauro) are in
`pubeval_weights.txt` beside this module.

Inputs, with the board convention of `envs.backgammon.engine` (row 0 = the mover, each row in its own
numbering). Block j = 0..23 describes the mover's point 24 - j (column 23 - j) with 5 units: a lone
opposing checker there, a lone checker of the mover, the mover holds it (2+), exactly 3 of the mover's,
(n - 3) / 2 for n >= 4 of the mover's. Then the opponent's bar count / 2 and the mover's borne-off
count / 15.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from envs.backgammon.engine import NUM_CHECKERS, OFF, has_contact, legal_positions

WEIGHTS_PATH = Path(__file__).with_name("pubeval_weights.txt")
WIN_SCORE = 99999999.0
"""The score of a move that bears off the last checker."""

# Units for the mover's n = 0..15 checkers on a point: lone, held, exactly three, extra beyond three / 2.
_MOVER_UNITS = np.array(
    [[0.0, n == 1, n >= 2, n == 3, (n - 3) / 2 if n >= 4 else 0.0] for n in range(16)], dtype=np.float64
)


_ENTRY_OFFSETS = 16 * np.arange(52)  # entry k, n checkers -> index 16 k + n of the flattened score table


@lru_cache(maxsize=1)
def load_weights() -> tuple[np.ndarray, np.ndarray]:
    """(race weights, contact weights), each 122 float64 values, read from `pubeval_weights.txt`."""
    weights: dict[str, np.ndarray] = {}
    for line in WEIGHTS_PATH.read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            weights[fields[0]] = np.array([float(v) for v in fields[1:]], dtype=np.float64)
    race, contact = weights["race"], weights["contact"]
    if race.shape != (122,) or contact.shape != (122,):
        raise ValueError(f"{WEIGHTS_PATH} must hold 122 race and 122 contact weights")
    return race, contact


def pubeval_inputs(boards: np.ndarray) -> np.ndarray:
    """The 122 pubeval inputs of each board (..., 2, 26), from row 0's side -> (..., 122) float64."""
    b = np.asarray(boards)
    mover = b[..., 0, 23::-1].astype(np.intp)  # block j: the mover's column 23 - j
    opponent = b[..., 1, :24]  # ... where the opponent's own column is j
    blocks = _MOVER_UNITS[mover]
    blocks[..., 0] = opponent == 1
    tail = np.stack([b[..., 1, 24] / 2.0, b[..., 0, OFF] / 15.0], axis=-1)
    return np.concatenate([blocks.reshape(*b.shape[:-2], 120), tail], axis=-1)


@lru_cache(maxsize=2)
def _score_table(race: bool) -> np.ndarray:
    """(52 * 16,): the score contributed by n = 0..15 checkers on each board entry (rows flattened).

    Every input depends on a single board entry and is 0 when that entry is 0, so the linear score is a sum
    of per-entry terms; the table is built from `pubeval_inputs` itself, one entry at a time.
    """
    boards = np.zeros((52, 16, 52), dtype=np.int8)
    for entry in range(52):
        boards[entry, :, entry] = np.arange(16)
    weights = load_weights()[0 if race else 1]
    return (pubeval_inputs(boards.reshape(52, 16, 2, 26)) @ weights).ravel()


def pubeval_scores(boards: np.ndarray, race: bool) -> np.ndarray:
    """pubeval's score of each position after a move (..., 2, 26) -> (...,), mover in row 0.

    `race` picks the weights and must come from the position before the move (the same for every candidate
    of one decision). A position where the mover has borne off all 15 scores `WIN_SCORE`.
    """
    b = np.asarray(boards)
    flat = b.reshape(*b.shape[:-2], 52)
    scores = np.take(_score_table(bool(race)), flat + _ENTRY_OFFSETS).sum(-1)
    return np.where(flat[..., OFF] == NUM_CHECKERS, WIN_SCORE, scores)


def pubeval_move(board: np.ndarray, dice: Sequence[int]) -> np.ndarray:
    """pubeval's choice: the legal resulting position (2, 26) with the highest score (the first on ties)."""
    positions = legal_positions(board, dice)
    if len(positions) == 1:
        return positions[0]
    race = not has_contact(board)
    return positions[int(np.argmax(pubeval_scores(positions, race)))]
