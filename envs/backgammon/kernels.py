"""Compiled (numba) backgammon move generation, for loops that must not pay Python per move.

The rules and the board convention are those of `engine.py`, on a flat board: an int8 array of 52 counts,
the mover's 26 columns (points 1-24 in its numbering, bar, borne off) then the opponent's 26. `Workspace`
holds the buffers; `legal_into(board, d1, d2, *ws.arrays())` writes every distinct resulting position of
the roll into `ws.positions[:n]` and returns n.

The search is depth first on one scratch board, a checker moved and moved back at each step, so only the
final positions are ever copied; the checkers that may move a die are found as bits (occupied points
without a blocked landing point), not by scanning the board. A non-double is searched in both orders of
its dice, and its duplicates (the two orders often meet) are found through a Zobrist hash of the 52
counts, updated move by move, in a small open-addressing table, equal hashes being confirmed on the
boards themselves, so the result is exact. A double moves its checkers in non-increasing order of their
source point. Every play of a double can be so ordered and stays legal (whether a move is legal depends on
the opposing checkers, which moves only thin out, and for bearing off on all checkers being home, which
moving the higher ones first only helps), so each multiset of moves is met once; and distinct multisets
leave distinct boards (at the highest source point where two differ, the counts differ), so a double's
positions need no duplicate check. The positions that play the most dice are kept; when only one of two
dice can be played, those of the larger. The order of the results is the order of discovery
(`engine.legal_positions` sorts; the sets are equal, which the tests check against OpenSpiel and on
scattered boards under every roll).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

WIDTH = 26  # one player's columns: 24 points, bar, borne off
BAR, OFF = 24, 25
CELLS = 2 * WIDTH
_OPPONENT_BAR = WIDTH + BAR
_CAPACITY = 1 << 14  # distinct positions of one roll (the most any roll reaches is far fewer)
_TABLE_BITS = 10  # a non-double's table: at most 2 x 15 x 15 plays, so it stays under half full
_ZOBRIST = np.random.default_rng(20261127).integers(-(2**63), 2**63 - 1, size=(CELLS, 16), dtype=np.int64)
# The search's stack, one column per depth (0-4): the sources still to try (bits), whether a move was made
# there, the board's hash, the occupied points (bits), the checkers outside the home board, the source
# moved from, whether it hit.
_SOURCES, _MOVED, _HASH, _OCCUPIED, _OUTSIDE, _FROM, _HIT = range(7)


class Workspace:
    """Buffers for `legal_into`: the resulting positions, the hash table and the search's scratch board
    and stack (allocated once, reused)."""

    def __init__(self) -> None:
        self.positions = np.zeros((_CAPACITY, CELLS), np.int8)
        self.keys = np.zeros(1 << _TABLE_BITS, np.int64)
        self.slots = np.zeros(1 << _TABLE_BITS, np.int32)
        self.stamps = np.zeros(1 << _TABLE_BITS, np.int64)
        self.scratch = np.zeros(CELLS, np.int8)
        self.stack = np.zeros((7, 5), np.int64)
        self.generation = np.zeros(1, np.int64)

    def arrays(self) -> tuple:
        return self.positions, self.keys, self.slots, self.stamps, self.scratch, self.stack, self.generation


@njit(cache=True, inline="always", error_model="numpy")
def _hash(board) -> np.int64:
    h = np.int64(0)
    for i in range(CELLS):
        h ^= _ZOBRIST[i, board[i]]
    return h


@njit(cache=True, inline="always", error_model="numpy")
def _emit(b, h, dedupe, positions, n, keys, slots, stamps, generation) -> int:
    """Append board b (hash h) to positions[:n] unless `dedupe` and it is already there: returns the new
    count. Boards are compared and copied as 13 int32 words (views of the int8 rows)."""
    if n >= positions.shape[0]:
        raise ValueError("backgammon kernel: more distinct positions than the workspace holds")
    if dedupe:
        mask = keys.shape[0] - 1
        slot = h & mask
        while stamps[slot] == generation:
            if keys[slot] == h:
                other = positions[slots[slot]]
                same = True
                for i in range(b.shape[0]):
                    same &= other[i] == b[i]
                if same:
                    return n
            slot = (slot + 1) & mask
        stamps[slot] = generation
        keys[slot] = h
        slots[slot] = n
    positions[n] = b
    return n + 1


@intrinsic
def _lowest_bit(typingctx, mask):
    """The index of the lowest set bit of a non-zero int64."""
    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))
    return types.int64(types.int64), codegen


@intrinsic
def _highest_bit(typingctx, mask):
    """The index of the highest set bit of a non-zero int64."""
    def codegen(context, builder, signature, args):
        leading_zeros = builder.ctlz(args[0], ir.Constant(ir.IntType(1), 1))
        return builder.sub(ir.Constant(ir.IntType(64), 63), leading_zeros)
    return types.int64(types.int64), codegen


@njit(cache=True, inline="always", error_model="numpy")
def _sources(b, d, occupied, blocked, outside, limit) -> np.int64:
    """The columns (bits; the bar is bit 24) whose checker may move d pips, up to column `limit`: onto a
    point not `blocked` (two or more opposing checkers), or off the board with all checkers home by an
    exact die, or a larger one from the highest occupied point. A checker on the bar must enter first.
    `occupied`: the mover's points (bits 0-23) holding a checker; `outside`: its checkers outside home."""
    one = np.int64(1)
    if b[BAR] > 0:
        return (one << BAR) if (blocked >> (BAR - d)) & 1 == 0 else np.int64(0)
    movable = occupied & ~(blocked << d) & ~((one << d) - 1)
    if outside == 0 and occupied != 0:
        highest = _highest_bit(occupied)
        if (occupied >> (d - 1)) & 1:
            movable |= one << (d - 1)
        elif highest < d - 1:
            movable |= one << highest
    return movable & ((one << (limit + 1)) - 1)


@njit(cache=True, inline="always", error_model="numpy")
def _step_hash(h, cell, old, new) -> np.int64:
    """The Zobrist hash after one cell's count changes from `old` to `new`."""
    return h ^ _ZOBRIST[cell, old] ^ _ZOBRIST[cell, new]


@njit(cache=True, inline="always", error_model="numpy")
def _make(b, h, s, d) -> tuple[np.int64, bool]:
    """Move the mover's checker from column s by d pips on b (one of `_sources`): (new hash, hit)."""
    land = max(s - d, -1)
    target = land if land >= 0 else OFF
    h = _step_hash(_step_hash(h, s, b[s], b[s] - 1), target, b[target], b[target] + 1)
    b[s] -= 1
    b[target] += 1
    if land >= 0 and b[WIDTH + 23 - land] == 1:
        opp = WIDTH + 23 - land
        h = _step_hash(_step_hash(h, opp, 1, 0), _OPPONENT_BAR, b[_OPPONENT_BAR], b[_OPPONENT_BAR] + 1)
        b[opp] = 0
        b[_OPPONENT_BAR] += 1
        return h, True
    return h, False


@njit(cache=True, inline="always", error_model="numpy")
def _unmake(b, s, d, hit) -> None:
    """Undo `_make(b, h, s, d)`."""
    land = max(s - d, -1)
    b[s] += 1
    b[land if land >= 0 else OFF] -= 1
    if hit:
        b[WIDTH + 23 - land] = 1
        b[_OPPONENT_BAR] -= 1


@njit(cache=True, error_model="numpy")
def _search(b, h, blocked, occupied, outside, dice, doubles, singles_ok, positions, n, best, keys, slots,
            stamps, stack, generation) -> tuple[int, int]:
    """Play the dice (all four of a double, else the first two) in order from board b (hash h; `blocked`,
    `occupied`, `outside` as `_sources` takes them), depth first, moving checkers on b and back: every
    final position that plays the most dice (at least `best`) goes into positions[:n]. A double's sources
    never increase; `singles_ok` False drops the plays of a single die. Returns (n, best): the count and
    the most dice played so far."""
    count = 4 if doubles else 2
    b_words, position_words = b.view(np.int32), positions.view(np.int32)
    stack[_SOURCES, 0] = _sources(b, dice[0], occupied, blocked, outside, BAR)
    stack[_MOVED, 0], stack[_HASH, 0], stack[_OCCUPIED, 0], stack[_OUTSIDE, 0] = 0, h, occupied, outside
    depth = 0
    while depth >= 0:
        sources = stack[_SOURCES, depth]
        if sources:
            s, d = _lowest_bit(sources), dice[depth]
            stack[_SOURCES, depth], stack[_MOVED, depth], stack[_FROM, depth] = sources & (sources - 1), 1, s
            h, hit = _make(b, stack[_HASH, depth], s, d)
            stack[_HIT, depth] = hit
            occupied, land = stack[_OCCUPIED, depth], s - d
            if s < BAR and b[s] == 0:
                occupied &= ~(np.int64(1) << s)
            if land >= 0:
                occupied |= np.int64(1) << land
            outside = stack[_OUTSIDE, depth] - (s >= 6 and land < 6)
            depth += 1
            stack[_SOURCES, depth] = 0 if depth == count else _sources(
                b, dice[depth], occupied, blocked, outside, s if doubles else BAR)
            stack[_MOVED, depth], stack[_HASH, depth] = 0, h
            stack[_OCCUPIED, depth], stack[_OUTSIDE, depth] = occupied, outside
            continue
        if not stack[_MOVED, depth] and depth >= best and (singles_ok or depth != 1):  # a final position
            if depth > best:
                best, n = depth, 0
                generation[0] += 1
            n = _emit(b_words, stack[_HASH, depth], not doubles, position_words, n, keys, slots, stamps,
                      generation[0])
        depth -= 1
        if depth >= 0:
            _unmake(b, stack[_FROM, depth], dice[depth], stack[_HIT, depth])
    return n, best


@njit(cache=True, error_model="numpy")
def legal_into(board, d1, d2, positions, keys, slots, stamps, scratch, stack, generation) -> int:
    """Every distinct position the mover (columns 0-25) can reach with dice d1, d2, into positions[:n];
    returns n. As many dice as possible are played (four for doubles); when only one of two dice can be
    played, the larger if it can. With no legal move the result is the board itself."""
    b = scratch
    b[:] = board
    blocked, occupied, outside = np.int64(0), np.int64(0), 0  # (hits only open points: blocked stays)
    for c in range(24):
        if b[WIDTH + 23 - c] >= 2:
            blocked |= np.int64(1) << c
        if b[c] > 0:
            occupied |= np.int64(1) << c
    for c in range(6, 25):
        outside += b[c]
    generation[0] += 1
    if d1 == d2:
        n, _ = _search(b, 0, blocked, occupied, outside, (d1, d1, d1, d1), True, True, positions, 0, 0, keys,
                       slots, stamps, stack, generation)
        return n
    h = _hash(b)
    hi, lo = max(d1, d2), min(d1, d2)
    n, best = _search(b, h, blocked, occupied, outside, (hi, lo, 0, 0), False, True, positions, 0, 0, keys,
                      slots, stamps, stack, generation)
    # The smaller die first; its single plays count only if the larger die has none.
    n, _ = _search(b, h, blocked, occupied, outside, (lo, hi, 0, 0), False, best == 0, positions, n, best,
                   keys, slots, stamps, stack, generation)
    return n


def legal_positions_unordered(board: np.ndarray, dice, workspace: Workspace | None = None) -> np.ndarray:
    """`engine.legal_positions` through the compiled kernel, in discovery order: (N, 2, 26) int8."""
    ws = workspace if workspace is not None else Workspace()
    flat = np.ascontiguousarray(board, dtype=np.int8).reshape(CELLS)
    n = legal_into(flat, int(dice[0]), int(dice[1]), *ws.arrays())
    return ws.positions[:n].reshape(n, 2, WIDTH).copy()
