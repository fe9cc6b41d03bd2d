"""Compiled (numba) backgammon move generation, for loops that must not pay Python per move.

The rules and the board convention are those of `engine.py`, on a flat board: an int8 array of 52 counts,
the mover's 26 columns (points 1-24 in its numbering, bar, borne off) then the opponent's 26. `Workspace`
holds the buffers; `legal_into(board, d1, d2, *ws.arrays())` writes every distinct resulting position of
the roll into one of them and says which, and how many. Duplicates are found through a Zobrist hash of
the 52 counts (updated move by move, a few XORs) in an open-addressing table, with equal hashes confirmed
on the boards themselves, so the result is exact. The order of the results is the order of discovery
(`engine.legal_positions` sorts; the sets are equal, which the tests check against OpenSpiel).
"""

from __future__ import annotations

import numpy as np
from numba import njit

WIDTH = 26  # one player's columns: 24 points, bar, borne off
BAR, OFF = 24, 25
CELLS = 2 * WIDTH
_TABLE_BITS = 15
_CAPACITY = 1 << (_TABLE_BITS - 1)  # distinct positions per level (the most any roll reaches is far fewer)
_ZOBRIST = np.random.default_rng(20261127).integers(-(2**63), 2**63 - 1, size=(CELLS, 16), dtype=np.int64)


class Workspace:
    """Buffers for `legal_into`: four levels of positions and the hash table (allocated once, reused)."""

    def __init__(self) -> None:
        self.levels = np.zeros((4, _CAPACITY, CELLS), np.int8)
        self.hashes = np.zeros((4, _CAPACITY), np.int64)
        self.keys = np.zeros(1 << _TABLE_BITS, np.int64)
        self.slots = np.zeros(1 << _TABLE_BITS, np.int32)
        self.stamps = np.zeros(1 << _TABLE_BITS, np.int64)
        self.generation = np.zeros(1, np.int64)

    def arrays(self) -> tuple:
        return self.levels, self.hashes, self.keys, self.slots, self.stamps, self.generation


@njit(cache=True, inline="always")
def _hash(board) -> np.int64:
    h = np.int64(0)
    for i in range(CELLS):
        h ^= _ZOBRIST[i, board[i]]
    return h


@njit(cache=True, inline="always")
def _keep(dst, dst_hash, n, h, keys, slots, stamps, generation) -> int:
    """Keep dst[n], whose hash is h, if it is new in this generation: returns the new count (n + 1, or n
    for a duplicate)."""
    board = dst[n]
    mask = keys.shape[0] - 1
    slot = h & mask
    while stamps[slot] == generation:
        if keys[slot] == h:
            other = dst[slots[slot]]
            same = True
            for i in range(CELLS):
                if other[i] != board[i]:
                    same = False
                    break
            if same:
                return n
        slot = (slot + 1) & mask
    if n + 1 >= dst.shape[0]:
        raise ValueError("backgammon kernel: more distinct positions than the workspace holds")
    stamps[slot] = generation
    keys[slot] = h
    slots[slot] = n
    dst_hash[n] = h
    return n + 1


@njit(cache=True, inline="always")
def _step_hash(h, cell, old, new) -> np.int64:
    """The Zobrist hash after one cell's count changes from `old` to `new`."""
    return h ^ _ZOBRIST[cell, old] ^ _ZOBRIST[cell, new]


@njit(cache=True, inline="always")
def _move(b, h, source, land, dst, dst_hash, n, keys, slots, stamps, generation) -> int:
    """Append to dst[n] the board b (hash h) with a checker moved from `source` to `land` when that point
    is open (fewer than two opposing checkers; a lone one goes to the bar): returns the new count."""
    opp = WIDTH + 23 - land
    if b[opp] >= 2:
        return n
    dst[n] = b
    dst[n, source] -= 1
    dst[n, land] += 1
    h = _step_hash(_step_hash(h, source, b[source], b[source] - 1), land, b[land], b[land] + 1)
    if b[opp] == 1:
        dst[n, opp] = 0
        dst[n, WIDTH + BAR] += 1
        h = _step_hash(_step_hash(h, opp, 1, 0), WIDTH + BAR, b[WIDTH + BAR], b[WIDTH + BAR] + 1)
    return _keep(dst, dst_hash, n, h, keys, slots, stamps, generation)


@njit(cache=True)
def _play_die(src, src_hash, n_src, d, dst, dst_hash, n_dst, keys, slots, stamps, generation) -> int:
    """Append to dst every distinct position reached by playing die `d` once from src[:n_src]."""
    for m in range(n_src):
        b, h = src[m], src_hash[m]
        if b[BAR] > 0:  # a checker on the bar must enter first
            n_dst = _move(b, h, BAR, BAR - d, dst, dst_hash, n_dst, keys, slots, stamps, generation)
            continue
        for s in range(d, 24):
            if b[s] > 0:
                n_dst = _move(b, h, s, s - d, dst, dst_hash, n_dst, keys, slots, stamps, generation)
        home = True
        for c in range(6, 25):
            if b[c] > 0:
                home = False
                break
        if home:  # bear off with the exact die, or a larger one from the highest occupied point
            for s in range(min(d, 6)):
                if b[s] > 0:
                    allowed = s == d - 1
                    if not allowed:
                        allowed = True
                        for c in range(s + 1, 6):
                            if b[c] > 0:
                                allowed = False
                                break
                    if allowed:
                        dst[n_dst] = b
                        dst[n_dst, s] -= 1
                        dst[n_dst, OFF] += 1
                        off = _step_hash(_step_hash(h, s, b[s], b[s] - 1), OFF, b[OFF], b[OFF] + 1)
                        n_dst = _keep(dst, dst_hash, n_dst, off, keys, slots, stamps, generation)
    return n_dst


@njit(cache=True)
def legal_into(board, d1, d2, levels, hashes, keys, slots, stamps, generation) -> tuple[int, int]:
    """Every distinct position the mover (columns 0-25) can reach with dice d1, d2: (level, count), the
    results being levels[level, :count]. As many dice as possible are played (four for doubles); when only
    one of two can be, the larger if it can. With no legal move the result is the board itself."""
    levels[0, 0] = board
    hashes[0, 0] = _hash(board)
    g = generation
    if d1 == d2:
        current, n = 0, 1
        for _ in range(4):
            g[0] += 1
            following = 1 - current
            found = _play_die(levels[current], hashes[current], n, d1, levels[following], hashes[following],
                              0, keys, slots, stamps, g[0])
            if found == 0:
                break
            current, n = following, found
        return current, n
    hi, lo = max(d1, d2), min(d1, d2)
    g[0] += 1
    n_hi = _play_die(levels[0], hashes[0], 1, hi, levels[1], hashes[1], 0, keys, slots, stamps, g[0])
    g[0] += 1
    n_lo = _play_die(levels[0], hashes[0], 1, lo, levels[2], hashes[2], 0, keys, slots, stamps, g[0])
    g[0] += 1
    n_both = _play_die(levels[1], hashes[1], n_hi, lo, levels[3], hashes[3], 0, keys, slots, stamps, g[0])
    n_both = _play_die(levels[2], hashes[2], n_lo, hi, levels[3], hashes[3], n_both, keys, slots, stamps,
                       g[0])
    if n_both:
        return 3, n_both
    if n_hi:
        return 1, n_hi
    if n_lo:
        return 2, n_lo
    return 0, 1


def legal_positions_unordered(board: np.ndarray, dice, workspace: Workspace | None = None) -> np.ndarray:
    """`engine.legal_positions` through the compiled kernel, in discovery order: (N, 2, 26) int8."""
    ws = workspace if workspace is not None else Workspace()
    flat = np.ascontiguousarray(board, dtype=np.int8).reshape(CELLS)
    level, n = legal_into(flat, int(dice[0]), int(dice[1]), *ws.arrays())
    return ws.levels[level, :n].reshape(n, 2, WIDTH).copy()
