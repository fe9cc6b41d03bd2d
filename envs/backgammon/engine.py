"""A fast backgammon engine: boards as numpy arrays, every distinct position a roll can reach.

Board convention (player-relative). A board is an integer array of shape (2, 26):

- row 0 is the side to move, row 1 its opponent;
- each row counts that player's checkers in **its own numbering**: column i is the player's point i+1
  (column 0 = its 1-point, the deepest point of its home board; column 23 = its 24-point, where its back
  checkers start), column 24 (`BAR`) its checkers on the bar, column 25 (`OFF`) its checkers borne off.

A player moves from high columns to low ones and bears off below column 0. The mover's point p is the
opponent's point 25 - p, so the opponent's count on the mover's column j is `board[1, 23 - j]`.
Swapping the rows (`flip`) gives the same position seen by the other player. `legal_positions` keeps the
mover in row 0: flip its results before the opponent's turn.

Rules (standard, cubeless): a checker on the bar must enter first; a point held by two or more opposing
checkers is blocked; landing on a single opposing checker (a blot) sends it to the bar; bearing off needs
all fifteen checkers in the home board (columns 0-5), an exact die, or a larger die from the highest
occupied point; as many dice as possible must be played (four for doubles), and when only one of two
dice can be played, the larger one if it can. Scoring: a win is 1 point, a gammon 2 (the loser has borne
off nothing), a backgammon 3 (and has a checker on the bar or in the winner's home board).

Move generation packs a board into one Python integer (a byte per column, row 0 in bytes 0-25, row 1 in
bytes 26-51): a checker move is one integer addition and duplicates vanish in a set. That keeps a roll's
expansion to tens of microseconds without per-checker Python objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

NUM_POINTS = 24
NUM_CHECKERS = 15
BAR = 24
OFF = 25
BOARD_SHAPE = (2, 26)
NUM_FEATURES = 198
"""Length of Tesauro's encoding (`tesauro_features`)."""

_NBYTES = 52
_ONE = [1 << (8 * i) for i in range(_NBYTES)]
_OPP_BAR = 26 + BAR
_ON_BOARD = (1 << (8 * 25)) - 1  # the mover's columns 0-24 (points and bar)
_OUTSIDE_HOME = sum(255 * _ONE[i] for i in range(6, 25))  # mover's columns 6-23 and the bar
# _ABOVE[s]: the mover's columns s+1 .. 24 (used to test "no checker on a higher point" when bearing off).
_ABOVE = [sum(255 * _ONE[i] for i in range(s + 1, 25)) for s in range(24)]


def _opp_byte(column: int) -> int:
    """Byte of the opponent's count on the mover's column `column` (0-23)."""
    return 26 + 23 - column


# _MOVES[d]: for each source column s (including the bar) whose checker would land on the board with die d:
# (source, landing column, byte delta of the plain move, extra delta when it hits, opponent's byte there).
_MOVES: list[list[tuple[int, int, int, int, int]]] = [[]]
for _d in range(1, 7):
    _MOVES.append(
        [
            (s, s - _d, _ONE[s - _d] - _ONE[s], _ONE[_OPP_BAR] - _ONE[_opp_byte(s - _d)], _opp_byte(s - _d))
            for s in range(_d, 25)
        ]
    )


def _to_int(board: np.ndarray) -> int:
    return int.from_bytes(np.asarray(board, dtype=np.uint8).tobytes(), "little")


def _to_boards(codes: Sequence[int]) -> np.ndarray:
    raw = b"".join(x.to_bytes(_NBYTES, "little") for x in codes)
    return np.frombuffer(bytearray(raw), dtype=np.int8).reshape(len(codes), 2, 26)


def _play_die(frontier: Iterable[int], moves: list[tuple[int, int, int, int, int]], d: int) -> set[int]:
    """Every position reached by playing die `d` once from any position in `frontier`."""
    out: set[int] = set()
    enter = moves[-1] if moves else (0, 0, 0, 0, 0)  # the move from the bar, if its landing point is open
    can_enter = enter[0] == BAR
    for x in frontier:
        b = x.to_bytes(_NBYTES, "little")
        if b[BAR]:
            if can_enter:
                y = x + enter[2]
                if b[enter[4]] == 1:
                    y += enter[3]
                out.add(y)
            continue
        for s, _, delta, hit, opp in moves:
            if b[s]:
                y = x + delta
                if b[opp] == 1:
                    y += hit
                out.add(y)
        if not x & _OUTSIDE_HOME:  # all checkers home: bear off with an exact die, or a larger one
            for s in range(min(d, 6)):  # from the highest occupied point
                if b[s] and (s == d - 1 or not x & _ABOVE[s]):
                    out.add(x - _ONE[s] + _ONE[OFF])
    return out


def _open_moves(x: int, d: int) -> list[tuple[int, int, int, int, int]]:
    """The moves of die `d` whose landing point is not blocked by two or more opposing checkers."""
    b = x.to_bytes(_NBYTES, "little")
    return [m for m in _MOVES[d] if b[m[4]] < 2]


def _successor_levels(x: int, d1: int, d2: int) -> list[set[int]]:
    """Positions after playing 0, 1, 2 (3, 4 for doubles) dice; the deepest non-empty level is legal."""
    if d1 == d2:
        moves = _open_moves(x, d1)
        levels = [{x}]
        for _ in range(4):
            nxt = _play_die(levels[-1], moves, d1)
            if not nxt:
                break
            levels.append(nxt)
        return levels
    hi, lo = max(d1, d2), min(d1, d2)
    m_hi, m_lo = _open_moves(x, hi), _open_moves(x, lo)
    after_hi = _play_die((x,), m_hi, hi)
    after_lo = _play_die((x,), m_lo, lo)
    both = _play_die(after_hi, m_lo, lo) | _play_die(after_lo, m_hi, hi)
    if both:
        return [{x}, after_hi | after_lo, both]
    if after_hi:  # only one die can be played: the larger one when it can be
        return [{x}, after_hi]
    if after_lo:
        return [{x}, after_lo]
    return [{x}]


def _legal_codes(x: int, d1: int, d2: int) -> list[int]:
    return sorted(_successor_levels(x, d1, d2)[-1])


def legal_positions(board: np.ndarray, dice: Sequence[int]) -> np.ndarray:
    """All distinct positions the side to move (row 0) can reach with `dice`, shape (N, 2, 26), int8.

    The mover stays in row 0. When no die can be played the only result is the board itself (N = 1).
    The order is canonical (the same board and dice give the same order), and matches `legal_moves`.
    """
    return _to_boards(_legal_codes(_to_int(board), int(dice[0]), int(dice[1])))


def initial_board() -> np.ndarray:
    """The starting position: for each player 2 checkers on its 24-point, 5 on 13, 3 on 8, 5 on 6."""
    row = np.zeros(26, dtype=np.int8)
    row[[23, 12, 7, 5]] = [2, 5, 3, 5]
    return np.stack([row, row])


def flip(board: np.ndarray) -> np.ndarray:
    """The same position(s) from the other player's side: rows swapped (works on (..., 2, 26) arrays)."""
    return np.ascontiguousarray(board[..., ::-1, :])


def roll_dice(rng: np.random.Generator) -> tuple[int, int]:
    """Two independent dice, each 1-6."""
    d = rng.integers(1, 7, size=2)
    return int(d[0]), int(d[1])


def opening_roll(rng: np.random.Generator) -> tuple[int, tuple[int, int]]:
    """The first roll of a game: each player throws one die until they differ; the higher die starts.

    Returns (starting player 0 or 1, the two dice with the starter's die first).
    """
    while True:
        a, b = roll_dice(rng)
        if a != b:
            return (0, (a, b)) if a > b else (1, (b, a))


def validate_board(board: np.ndarray) -> None:
    """Raise ValueError unless `board` is a legal (2, 26) position: 15 checkers a side, none negative,
    no point held by both players."""
    b = np.asarray(board)
    if b.shape != BOARD_SHAPE:
        raise ValueError(f"a board has shape {BOARD_SHAPE}, not {b.shape}")
    if (b < 0).any() or (b.sum(-1) != NUM_CHECKERS).any():
        raise ValueError(f"each row needs {NUM_CHECKERS} checkers, none negative: {b.tolist()}")
    shared = (b[0, :24] > 0) & (b[1, 23::-1] > 0)
    if shared.any():
        raise ValueError(f"both players on the mover's points {(np.flatnonzero(shared) + 1).tolist()}")


def pip_counts(board: np.ndarray) -> tuple[int, int]:
    """Pips each player still has to travel: (row 0, row 1); a checker on the bar counts 25."""
    weights = np.arange(1, 26)
    b = np.asarray(board)
    return int(b[0, :25] @ weights), int(b[1, :25] @ weights)


def has_contact(boards: np.ndarray) -> np.ndarray | bool:
    """True where the players can still hit or block each other (not a pure race); works on (..., 2, 26).

    There is contact while some checker of one player still has to pass a checker of the other: with a and
    b the columns of each player's rearmost checker (the bar counts as 24), contact means a + b > 23.
    """
    b = np.asarray(boards)
    if b.ndim == 2:  # one board: the rearmost checkers from the packed integer's highest non-zero bytes
        x = _to_int(b)
        own, other = x & _ON_BOARD, (x >> (8 * 26)) & _ON_BOARD
        rear = [(v.bit_length() - 1) >> 3 if v else -100 for v in (own, other)]
        return rear[0] + rear[1] > 23
    occupied = b[..., :25] > 0
    rear = np.where(occupied.any(-1), 24 - np.argmax(occupied[..., ::-1], axis=-1), -100)
    return rear[..., 0] + rear[..., 1] > 23


def is_race(board: np.ndarray) -> bool:
    """True when the checkers have passed each other (no contact is possible any more)."""
    return not has_contact(board)


def game_result(board: np.ndarray) -> int:
    """Cubeless points from row 0's view: +1/+2/+3 if row 0 has borne off all 15 (win, gammon,
    backgammon), -1/-2/-3 if row 1 has, 0 while the game goes on."""
    b = np.asarray(board)
    for winner, sign in ((0, 1), (1, -1)):
        if b[winner, OFF] == NUM_CHECKERS:
            loser = b[1 - winner]
            if loser[OFF] > 0:
                return sign
            # A backgammon: the loser still has a checker on the bar or in the winner's home board, which is
            # the loser's own points 19-24 (columns 18-23).
            if loser[BAR] > 0 or loser[18:24].sum() > 0:
                return 3 * sign
            return 2 * sign
    return 0


# ---------------------------------------------------------------- move notation


def _point_name(column: int) -> str:
    return "bar" if column == BAR else "off" if column < 0 or column == OFF else str(column + 1)


def _single_move(x: int, y: int) -> tuple[int, int, bool]:
    """(source column, landing column or -1 for off, hit) of the one-checker move that turns x into y."""
    a = x.to_bytes(_NBYTES, "little")
    b = y.to_bytes(_NBYTES, "little")
    src = next(i for i in range(25) if b[i] < a[i])
    dst = -1 if b[OFF] > a[OFF] else next(i for i in range(24) if b[i] > a[i])
    return src, dst, b[_OPP_BAR] > a[_OPP_BAR]


def _format_moves(moves: list[tuple[int, int, bool]]) -> str:
    """Standard notation: one checker's consecutive steps are joined (`24/13`, or `24/18*/13` when it hit
    on the way), identical moves grouped (`13/11(2)`), highest starting point first."""
    if not moves:
        return "pass"
    chains: list[list[tuple[int, bool]]] = []  # each: [(start, False), (point, hit), ...]
    for src, dst, hit in moves:
        for chain in chains:
            if chain[-1][0] == src and src >= 0:
                chain.append((dst, hit))
                break
        else:
            chains.append([(src, False), (dst, hit)])
    texts = []
    for chain in chains:
        parts = [_point_name(chain[0][0])]
        for k, (point, hit) in enumerate(chain[1:], start=1):
            if hit or k == len(chain) - 1:
                parts.append(_point_name(point) + ("*" if hit else ""))
        texts.append(("/".join(parts), chain[0][0], chain[-1][0]))
    texts.sort(key=lambda t: (-t[1], -t[2]))
    out: list[str] = []
    counts: list[int] = []
    for text, _, _ in texts:
        if out and out[-1] == text:
            counts[-1] += 1
        else:
            out.append(text)
            counts.append(1)
    return " ".join(t if n == 1 else f"{t}({n})" for t, n in zip(out, counts, strict=True))


def _paths(x: int, d1: int, d2: int) -> dict[int, list[tuple[int, int, bool]]]:
    """For each legal resulting position, one sequence of single-checker moves that reaches it."""
    levels = _successor_levels(x, d1, d2)
    depth = len(levels) - 1
    legal = levels[-1]
    orders = [[d1] * depth] if d1 == d2 else [[d1, d2][:depth], [d2, d1][:depth]]
    found: dict[int, list[tuple[int, int, bool]]] = {}
    for order in orders:
        frontier: dict[int, list[tuple[int, int, bool]]] = {x: []}
        for d in order:
            moves = _open_moves(x, d)
            nxt: dict[int, list[tuple[int, int, bool]]] = {}
            for y, path in frontier.items():
                for z in sorted(_play_die((y,), moves, d)):
                    if z not in nxt:
                        nxt[z] = path + [_single_move(y, z)]
            frontier = nxt
        for z, path in frontier.items():
            if z in legal and z not in found:
                found[z] = path
    return found


def legal_moves(board: np.ndarray, dice: Sequence[int]) -> tuple[np.ndarray, list[str]]:
    """`legal_positions(board, dice)` and, for each, its move in standard notation (`24/18 13/11`,
    `bar/22*`, `6/off(2)`; `pass` when nothing can be played). Slower than `legal_positions`: for display
    and human play, not for training loops."""
    x = _to_int(board)
    codes = _legal_codes(x, int(dice[0]), int(dice[1]))
    paths = _paths(x, int(dice[0]), int(dice[1]))
    return _to_boards(codes), [_format_moves(paths[c]) for c in codes]


_TOKEN = re.compile(r"^([^()]+?)(?:\((\d)\))?$")


def _parse_point(text: str) -> int:
    t = text.strip().lower().rstrip("*")
    if t in ("bar", "b", "25"):
        return BAR
    if t in ("off", "o", "0"):
        return -1
    if t.isdigit() and 1 <= int(t) <= 24:
        return int(t) - 1
    raise ValueError(f"bad point {text!r}: use 1-24, 'bar' or 'off'")


def parse_move(board: np.ndarray, dice: Sequence[int], text: str) -> np.ndarray:
    """The resulting position (2, 26) of a move written in standard notation, e.g. `24/18 13/11`,
    `bar/20* 6/4(2)`, `24/13` (one checker, both dice), `6/off`, `pass`. Points are the mover's (1-24).

    Raises ValueError with a one-line reason when the text is malformed, the move is illegal, or it is
    ambiguous (a checker moved over a point where it may or may not have hit: name the point, `24/18*/13`).
    """
    positions = legal_positions(board, dice)
    cleaned = text.strip().lower().replace(",", " ")
    if cleaned in ("pass", "", "-"):
        if len(positions) == 1 and np.array_equal(positions[0], board):
            return positions[0]
        raise ValueError("a move is possible, so passing is not allowed")
    start = np.asarray(board, dtype=np.int64)
    mover = start[0].copy()
    opponent = start[1].copy()
    for token in cleaned.split():
        m = _TOKEN.match(token)
        if m is None:
            raise ValueError(f"cannot read {token!r}: write moves like 24/18 or 13/11(2)")
        points = [_parse_point(p) for p in m.group(1).split("/")]
        if len(points) < 2 or points[-1] == BAR or BAR in points[1:] or -1 in points[:-1]:
            raise ValueError(f"cannot read {token!r}: write moves like 24/18, bar/22 or 6/off")
        for _ in range(int(m.group(2) or 1)):
            for src, dst in zip(points[:-1], points[1:], strict=False):
                if dst >= src:
                    raise ValueError(f"{token}: checkers move from higher points to lower ones")
                mover[src] -= 1
                if dst < 0:
                    mover[OFF] += 1
                else:
                    mover[dst] += 1
                    if opponent[23 - dst] == 1:  # every named landing point with a lone opposing checker hits
                        opponent[23 - dst] = 0
                        opponent[BAR] += 1
                if mover[src] < 0:
                    raise ValueError(f"{token}: no checker of yours on {_point_name(src)}")
    same_mover = positions[(positions[:, 0] == mover).all(-1)]
    if len(same_mover) == 0:
        raise ValueError(f"{text.strip()!r} is not a legal move with {dice[0]}-{dice[1]}")
    exact = same_mover[(same_mover[:, 1] == opponent).all(-1)]
    if len(exact) == 1:
        return exact[0]
    if len(same_mover) == 1:
        return same_mover[0]
    raise ValueError(f"{text.strip()!r} is ambiguous: name the point where a checker hits, e.g. 24/18*/13")


# ---------------------------------------------------------------- Tesauro's 198 inputs

# Units for 0..15 checkers on a point: at least 1, at least 2, at least 3, (n - 3) / 2 beyond three.
_POINT_UNITS = np.array([[n >= 1, n >= 2, n >= 3, max(n - 3, 0) / 2] for n in range(16)], dtype=np.float32)


def tesauro_features(boards: np.ndarray, to_move: np.ndarray | int) -> np.ndarray:
    """Tesauro's 198 inputs for a batch of boards (..., 2, 26) -> (..., 198) float32.

    For each row p of the board in turn (98 values): 4 units for each of its points 1-24 in its own
    numbering (at least 1, 2, 3 checkers, and (n - 3) / 2 beyond three), its bar count / 2 and borne-off
    count / 15. Then two units saying whose turn it is: [to_move == 0, to_move == 1], `to_move` being the
    row of the player to move (an int or one per board). Swapping the rows and the side to move swaps the
    two 98-value halves and the last two units.
    """
    b = np.asarray(boards)
    batch = b.shape[:-2]
    out = np.empty((*batch, NUM_FEATURES), dtype=np.float32)
    per_player = out[..., :196].reshape(*batch, 2, 98)  # a view into out
    per_player[..., :96] = np.take(_POINT_UNITS, b[..., :24], axis=0).reshape(*batch, 2, 96)
    per_player[..., 96] = b[..., BAR] / np.float32(2)
    per_player[..., 97] = b[..., OFF] / np.float32(15)
    side = np.asarray(to_move)
    out[..., 196] = side == 0
    out[..., 197] = side == 1
    return out
