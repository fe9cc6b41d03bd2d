"""A perfect connect-four player: bitboards, negamax with alpha-beta, a transposition table, in numba.

The design follows Pascal Pons' well-known solver (http://blog.gamesolver.org), written afresh:

- **Bitboards.** Column `c` owns bits `7c .. 7c+5` (bottom to top) and a sentinel bit `7c+6` that stays
  empty, so shifts by 1 (vertical), 7 (horizontal), 6 and 8 (the diagonals) never wrap from one line into
  the next. A position is `position` (the stones of the player to move) and `mask` (all stones);
  `position + mask` is a unique key, and playing a column is `mask + bottom`, one addition.
- **Scores.** From the view of the player to move: a win with the winner's k-th stone scores 22 - k (a
  sooner win scores more, a later loss less), a draw 0. So a win on the next move with `n` stones on the
  board scores `(43 - n) // 2`.
- **Negamax with alpha-beta** over the moves that do not lose at once (block a lone threat, never play
  under an opponent's winning cell, no move at all when the opponent has two threats), the window
  narrowed by what can still be reached in the moves left, and by a **transposition table** of lower and
  upper bounds keyed by `position + mask` (one entry per slot, always replaced).
- **Move ordering:** moves that make the most winning cells for the mover first, ties centre first.
- **Iterative null-window search:** `solve` narrows [min, max] with null-window searches (`beta =
  alpha + 1`), probing near 0 first, as a binary search over the score.

`_negamax` and `_solve` are the compiled kernel; `negamax_reference` and `solve_reference` are its readable
plain-Python twin (a dict for the table, `sorted` for the order), held equal by tests/test_c4_solver.py.
The bitboard primitives are shared (compiled functions, callable from Python too).

OpenSpiel's `connect_four`: player 0 moves first, action = column 0-6 from the left, and a stone falls to
the lowest empty cell, so a state's bitboards are its history replayed (its observation planes, [player
0's stones, player 1's stones, empty], 6 rows x 7 columns with row 0 at the bottom, agree: a test).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from envs.errors import UsageError

WIDTH, HEIGHT = 7, 6
CELLS = WIDTH * HEIGHT
H1 = HEIGHT + 1  # bits per column, with the sentinel
BOTTOM = sum(1 << (c * H1) for c in range(WIDTH))  # the bottom cell of every column
BOARD = BOTTOM * ((1 << HEIGHT) - 1)  # every playable cell
COLUMN_ORDER = (3, 2, 4, 1, 5, 0, 6)  # centre first
MIN_SCORE = -(CELLS // 2) + 3  # the quickest possible loss (the opponent's fourth stone)
MAX_SCORE = (CELLS + 1) // 2 - 3  # the quickest possible win (the mover's fourth stone)
TABLE_SIZE = (1 << 23) + 9  # a prime: 8M slots, 80 MB
EMPTY, UPPER, LOWER = 0, 1, 2  # kinds of transposition-table entry


@njit(cache=True, inline="always")
def column_mask(column: int) -> int:
    """The playable cells of one column."""
    return ((1 << HEIGHT) - 1) << (column * H1)


@njit(cache=True, inline="always")
def popcount(bits: int) -> int:
    count = 0
    while bits:
        bits &= bits - 1
        count += 1
    return count


@njit(cache=True, inline="always")
def winning_cells(position: int, mask: int) -> int:
    """The empty cells (playable now or not) where a stone would complete a line of four of `position`."""
    cells = (position << 1) & (position << 2) & (position << 3)  # vertical: three below
    for shift in (H1, HEIGHT, H1 + 1):  # horizontal, one diagonal, the other
        pair = (position << shift) & (position << 2 * shift)
        cells |= pair & (position << 3 * shift)
        cells |= pair & (position >> shift)
        pair = (position >> shift) & (position >> 2 * shift)
        cells |= pair & (position << shift)
        cells |= pair & (position >> 3 * shift)
    return cells & (BOARD ^ mask)


@njit(cache=True, inline="always")
def playable(mask: int) -> int:
    """The lowest empty cell of every column that is not full."""
    return (mask + BOTTOM) & BOARD


@njit(cache=True, inline="always")
def can_win_next(position: int, mask: int) -> bool:
    return winning_cells(position, mask) & playable(mask) != 0


@njit(cache=True, inline="always")
def non_losing_moves(position: int, mask: int) -> int:
    """The moves (as cells) after which the opponent cannot win at once; 0 when every move loses.

    Call only when the mover cannot win at once."""
    moves = playable(mask)
    threats = winning_cells(position ^ mask, mask)
    forced = moves & threats
    if forced:
        if forced & (forced - 1):  # two threats to block: lost
            return 0
        moves = forced
    return moves & ~(threats >> 1)  # never play just below an opponent's winning cell


@njit(cache=True, inline="always")
def move_score(position: int, mask: int, move: int) -> int:
    """How many winning cells the mover has after playing `move`: the ordering heuristic."""
    return popcount(winning_cells(position | move, mask))


@njit(cache=True)
def _negamax(position, mask, moves, alpha, beta, keys, kinds, bounds, order, order_scores, stats) -> int:
    """The score of a position the mover cannot win at once, exact inside (alpha, beta); else a bound on
    the side it fails (fail-soft at a cut-off). `order[moves]` / `order_scores[moves]` are this depth's
    scratch rows for the move ordering; `stats[0]` counts the nodes."""
    stats[0] += 1
    candidates = non_losing_moves(position, mask)
    if candidates == 0:
        return -((CELLS - moves) // 2)
    if moves >= CELLS - 2:
        return 0
    low = -((CELLS - 2 - moves) // 2)  # the opponent cannot win at once
    if alpha < low:
        alpha = low
        if alpha >= beta:
            return alpha
    high = (CELLS - 1 - moves) // 2  # nor can we
    if beta > high:
        beta = high
        if alpha >= beta:
            return beta
    key = position + mask
    slot = key % keys.size
    if keys[slot] == key:
        if kinds[slot] == LOWER:
            if alpha < bounds[slot]:
                alpha = bounds[slot]
                if alpha >= beta:
                    return alpha
        elif beta > bounds[slot]:
            beta = bounds[slot]
            if alpha >= beta:
                return beta
    count = 0
    for column in COLUMN_ORDER:  # insertion sort, best first, stable (ties stay centre first)
        move = candidates & column_mask(column)
        if move:
            score = move_score(position, mask, move)
            j = count
            while j > 0 and order_scores[moves, j - 1] < score:
                order[moves, j] = order[moves, j - 1]
                order_scores[moves, j] = order_scores[moves, j - 1]
                j -= 1
            order[moves, j] = move
            order_scores[moves, j] = score
            count += 1
    for j in range(count):
        move = order[moves, j]
        score = -_negamax(position ^ mask, mask | move, moves + 1, -beta, -alpha,
                          keys, kinds, bounds, order, order_scores, stats)
        if score >= beta:
            keys[slot], kinds[slot], bounds[slot] = key, LOWER, score
            return score
        if score > alpha:
            alpha = score
    keys[slot], kinds[slot], bounds[slot] = key, UPPER, alpha
    return alpha


@njit(cache=True)
def _solve(position, mask, moves, keys, kinds, bounds, order, order_scores, stats) -> int:
    """The exact score of a non-terminal position, by null-window searches narrowing [min, max]."""
    if can_win_next(position, mask):
        return (CELLS + 1 - moves) // 2
    low, high = -((CELLS - moves) // 2), (CELLS + 1 - moves) // 2
    while low < high:
        probe = low + (high - low) // 2
        if probe <= 0 and low // 2 < probe:  # probe near 0 first: most positions are close
            probe = low // 2
        elif probe >= 0 and high // 2 > probe:
            probe = high // 2
        result = _negamax(position, mask, moves, probe, probe + 1,
                          keys, kinds, bounds, order, order_scores, stats)
        if result <= probe:
            high = result
        else:
            low = result
    return low


def negamax_reference(position: int, mask: int, moves: int, alpha: int, beta: int,
                      table: dict[int, tuple[int, int]]) -> int:
    """The readable twin of `_negamax`: the same search, its table a dict key -> (kind, bound)."""
    candidates = non_losing_moves(position, mask)
    if candidates == 0:
        return -((CELLS - moves) // 2)
    if moves >= CELLS - 2:
        return 0
    alpha = max(alpha, -((CELLS - 2 - moves) // 2))  # the opponent cannot win at once
    if alpha >= beta:
        return alpha
    beta = min(beta, (CELLS - 1 - moves) // 2)  # nor can we
    if alpha >= beta:
        return beta
    key = position + mask
    kind, bound = table.get(key, (EMPTY, 0))
    if kind == LOWER:
        alpha = max(alpha, bound)
    elif kind == UPPER:
        beta = min(beta, bound)
    if alpha >= beta:
        return alpha if kind == LOWER else beta
    ordered = [candidates & column_mask(c) for c in COLUMN_ORDER if candidates & column_mask(c)]
    ordered.sort(key=lambda move: -move_score(position, mask, move))  # stable: ties stay centre first
    for move in ordered:
        score = -negamax_reference(position ^ mask, mask | move, moves + 1, -beta, -alpha, table)
        if score >= beta:
            table[key] = (LOWER, score)
            return score
        alpha = max(alpha, score)
    table[key] = (UPPER, alpha)
    return alpha


def solve_reference(position: int, mask: int, moves: int, table: dict | None = None) -> int:
    """The readable twin of `_solve`."""
    if can_win_next(position, mask):
        return (CELLS + 1 - moves) // 2
    table = {} if table is None else table
    low, high = -((CELLS - moves) // 2), (CELLS + 1 - moves) // 2
    while low < high:
        probe = low + (high - low) // 2
        if probe <= 0 and low // 2 < probe:
            probe = low // 2
        elif probe >= 0 and high // 2 > probe:
            probe = high // 2
        result = negamax_reference(position, mask, moves, probe, probe + 1, table)
        if result <= probe:
            high = result
        else:
            low = result
    return low


def bitboards_from_columns(columns: list[int]) -> tuple[int, int, int]:
    """(position, mask, moves) after the columns played in order from the empty board."""
    position = mask = 0
    for column in columns:
        position ^= mask
        mask |= mask + (1 << (column * H1))
    return position, mask, len(columns)


def bitboards(state: Any) -> tuple[int, int, int]:
    """(position, mask, moves) of an OpenSpiel connect_four state, from its history (action = column)."""
    return bitboards_from_columns(state.history())


STANDARD = {"columns": WIDTH, "rows": HEIGHT, "x_in_row": 4}


def check_connect_four(game: Any, who: str) -> None:
    """UsageError unless `game` is OpenSpiel's connect_four on the standard board."""
    kind = getattr(game, "get_type", None)
    parameters = game.get_parameters() if kind is not None else {}
    if kind is None or kind().short_name != "connect_four" or any(
        parameters.get(key, value) != value for key, value in STANDARD.items()
    ):
        raise UsageError(f"{who} plays only OpenSpiel's connect_four (7 columns, 6 rows, four in a row)")


class ConnectFourSolver:
    """Exact values of connect-four positions; the transposition table lives as long as the solver (its
    bounds hold for every search), so solving related positions gets cheaper."""

    def __init__(self, table_size: int = TABLE_SIZE) -> None:
        self.keys = np.full(table_size, -1, dtype=np.int64)
        self.kinds = np.zeros(table_size, dtype=np.int8)
        self.bounds = np.zeros(table_size, dtype=np.int8)
        self.order = np.zeros((CELLS + 1, WIDTH), dtype=np.int64)
        self.order_scores = np.zeros((CELLS + 1, WIDTH), dtype=np.int64)
        self.stats = np.zeros(1, dtype=np.int64)

    def clear(self) -> None:
        """Forget every stored bound (to time a search from scratch)."""
        self.keys.fill(-1)

    @property
    def nodes(self) -> int:
        """Nodes searched so far."""
        return int(self.stats[0])

    def solve_bitboards(self, position: int, mask: int, moves: int) -> int:
        """The score of a non-terminal position for the player to move."""
        return int(_solve(position, mask, moves, self.keys, self.kinds, self.bounds,
                          self.order, self.order_scores, self.stats))

    def column_values(self, position: int, mask: int, moves: int) -> dict[int, int]:
        """Column -> score of playing it, for the mover, in every column that is not full."""
        values = {}
        wins = winning_cells(position, mask)
        for column in range(WIDTH):
            move = playable(mask) & column_mask(column)
            if not move:
                continue
            if move & wins:
                values[column] = (CELLS + 1 - moves) // 2
            elif moves + 1 == CELLS:
                values[column] = 0
            else:
                values[column] = -self.solve_bitboards(position ^ mask, mask | move, moves + 1)
        return values

    def solve(self, state: Any) -> int:
        """The score of an OpenSpiel connect_four state for the player to move (0 at a terminal draw)."""
        if state.is_terminal():
            raise ValueError("solve() needs a position with a player to move")
        return self.solve_bitboards(*bitboards(state))

    def move_values(self, state: Any) -> dict[int, int]:
        """Action (column) -> score of playing it, for the player to move, over the legal actions."""
        if state.is_terminal():
            raise ValueError("move_values() needs a position with a player to move")
        return self.column_values(*bitboards(state))


class SolverPlayer:
    """`solver`: a perfect connect-four player; a fastest win, a slowest loss, a random move among equals."""

    def __init__(self, seed: int = 0, solver: ConnectFourSolver | None = None) -> None:
        self.solver = solver or ConnectFourSolver()
        self.rng = np.random.default_rng(seed)

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        check_connect_four(game, "player 'solver'")
        self.rng = np.random.default_rng(seed)

    def observe(self, state: Any, action: int | None) -> None:
        pass

    def best_actions(self, state: Any) -> list[int]:
        values = self.solver.move_values(state)
        best = max(values.values())
        return [action for action, value in values.items() if value == best]

    def act(self, state: Any) -> int:
        best = self.best_actions(state)
        return int(best[self.rng.integers(len(best))])

    def policy(self, state: Any) -> np.ndarray:
        """Uniform over the best moves."""
        p = np.zeros(state.get_game().num_distinct_actions())
        best = self.best_actions(state)
        p[best] = 1.0 / len(best)
        return p
