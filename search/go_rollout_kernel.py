"""Go rollouts compiled with numba: a batch of boards played to the end in one call, and the rollout
policy's features (search/rollout_policy.py has the policy; search/go_rollout_reference.py is this
module's readable twin, one board at a time, held equal to it by tests/test_alphago_rollout.py).

A board is `int8[N]` (N = size * size, row-major from the bottom-left as OpenSpiel's actions): 0 empty,
1 Black, 2 White. The rules: captures, suicide illegal, simple ko (the point a single-stone capture
left, for one move); the moves that OpenSpiel forbids at the start (positional superko too) are banned
for the first move. A rollout ends at two passes in a row or at the game's move limit and is scored as
OpenSpiel scores Go (Tromp-Taylor area, komi). The mover never fills its own eye (all four neighbours its
own or the edge, at most one diagonal the opponent's, none on the edge); with no other move it passes.

The features of a candidate move p for the mover, one id in each of `SLOTS` slots (a weight each; the
move's logit is their sum):
0. the 3x3 pattern around p (each of the 8 neighbours empty / own / opponent's / off the board), the
   least of its 8 symmetric images;
1. stones it captures: 0, 1, 2, 3+;
2. liberties after the move (empty neighbours + the other liberties of the own groups it joins + one per
   group it captures, not counting shared ones twice only where they are the same neighbour): 1, 2, 3, 4+;
3. it gives liberties to an own group in atari (and ends with 2+);
4. it puts an opponent's group in atari (a group with 2 liberties, p one of them);
5. its distance to the last move (Chebyshev): 1, 2, else;
6. its distance to the mover's own previous move: 1, 2, else;
7. its distance to the edge: 0, 1, 2, 3+.
Pass has one weight of its own (`PASS_FEATURE`). Random numbers: splitmix64, one stream per rollout.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SLOTS = 8
SIZES = (4**8, 4, 4, 2, 2, 3, 3, 4)
OFFSETS = tuple(int(x) for x in np.concatenate([[0], np.cumsum(SIZES)[:-1]]))
PASS_FEATURE = int(sum(SIZES))
NUM_FEATURES = PASS_FEATURE + 1
RING = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
"""The 8 neighbours of a point as (row, column) offsets; orthogonal ones are 1, 3, 4, 6."""
ORTHOGONAL = (1, 3, 4, 6)
DIAGONAL = (0, 2, 5, 7)
GOLDEN, MIX1, MIX2 = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9),
                      np.uint64(0x94D049BB133111EB))
S30, S27, S31, S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def board_tables(size: int) -> dict[str, np.ndarray]:
    """Neighbours [N, 4] and the 8-ring [N, 8] (-1 off the board), rows, columns, edge distances."""
    n = size * size
    rows, cols = np.divmod(np.arange(n), size)
    ring = np.full((n, 8), -1, np.int64)
    for p in range(n):
        for k, (dr, dc) in enumerate(RING):
            r, c = rows[p] + dr, cols[p] + dc
            if 0 <= r < size and 0 <= c < size:
                ring[p, k] = r * size + c
    edge = np.minimum(np.minimum(rows, cols), np.minimum(size - 1 - rows, size - 1 - cols))
    return {"neighbours": np.ascontiguousarray(ring[:, list(ORTHOGONAL)]), "ring": ring,
            "rows": rows.astype(np.int64), "cols": cols.astype(np.int64),
            "edge": np.minimum(edge, 3).astype(np.int64), "patterns": pattern_table()}


def pattern_table() -> np.ndarray:
    """Each 3x3 pattern code (base 4, ring order) -> the least code of its 8 symmetric images."""
    grid = np.array([[0, 1, 2], [3, -1, 4], [5, 6, 7]])
    images = []
    for k in range(4):
        for flip in (False, True):
            g = np.rot90(grid, k)
            g = g[:, ::-1] if flip else g
            images.append([int(v) for v in g.reshape(-1) if v >= 0])
    codes = np.arange(4**8)
    digits = (codes[:, None] // 4 ** np.arange(7, -1, -1)[None, :]) % 4  # digit j: neighbour j
    weights = 4 ** np.arange(7, -1, -1)
    return np.min(np.stack([digits[:, image] @ weights for image in images]), axis=0).astype(np.int64)


@njit(cache=True)
def next_uniform(state: np.ndarray, k: int) -> float:
    """splitmix64: advance `state[k]` and return a uniform in [0, 1)."""
    state[k] += GOLDEN
    z = state[k]
    z = (z ^ (z >> S30)) * MIX1
    z = (z ^ (z >> S27)) * MIX2
    z = z ^ (z >> S31)
    return float(z >> S11) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def find_groups(board, nb, label, libs, size, stack, mark) -> int:
    """Label the groups (label[p], -1 on empty points), count each one's stones and distinct liberties."""
    n = board.shape[0]
    for p in range(n):
        label[p] = -1
        mark[p] = -1
    count = 0
    for p in range(n):
        if board[p] == 0 or label[p] >= 0:
            continue
        colour = board[p]
        label[p] = count
        libs[count] = 0
        size[count] = 0
        top = 0
        stack[0] = p
        while top >= 0:
            q = stack[top]
            top -= 1
            size[count] += 1
            for k in range(4):
                r = nb[q, k]
                if r < 0:
                    continue
                if board[r] == 0:
                    if mark[r] != count:
                        mark[r] = count
                        libs[count] += 1
                elif board[r] == colour and label[r] < 0:
                    label[r] = count
                    top += 1
                    stack[top] = r
        count += 1
    return count


@njit(cache=True)
def candidate(board, p, colour, last, previous, t_nb, t_ring, t_rows, t_cols, t_edge, t_patterns,
              label, libs, size, feats) -> bool:
    """Fill `feats[:SLOTS]` with the features of `colour` playing the empty point p; False if suicide."""
    other = 3 - colour
    empties = 0
    captured = 0
    captured_groups = 0
    own_extra = 0
    own_in_atari = 0
    atari = 0
    seen = np.full(4, -1, np.int64)
    for k in range(4):
        r = t_nb[p, k]
        if r < 0:
            continue
        if board[r] == 0:
            empties += 1
            continue
        g = label[r]
        if g == seen[0] or g == seen[1] or g == seen[2] or g == seen[3]:
            continue
        seen[k] = g
        if board[r] == other:
            if libs[g] == 1:
                captured += size[g]
                captured_groups += 1
            elif libs[g] == 2:
                atari = 1
        else:
            own_extra += libs[g] - 1
            if libs[g] == 1:
                own_in_atari = 1
    liberties = empties + own_extra + captured_groups
    if liberties == 0:
        return False
    code = 0
    for j in range(8):
        r = t_ring[p, j]
        state = 3 if r < 0 else (0 if board[r] == 0 else (1 if board[r] == colour else 2))
        code = code * 4 + state
    feats[0] = t_patterns[code]
    feats[1] = OFFSETS[1] + min(captured, 3)
    feats[2] = OFFSETS[2] + min(liberties, 4) - 1
    feats[3] = OFFSETS[3] + (1 if own_in_atari == 1 and liberties >= 2 else 0)
    feats[4] = OFFSETS[4] + atari
    near = 0
    if last >= 0:
        d = max(abs(t_rows[p] - t_rows[last]), abs(t_cols[p] - t_cols[last]))
        near = d if d <= 2 else 0
    feats[5] = OFFSETS[5] + near
    near = 0
    if previous >= 0:
        d = max(abs(t_rows[p] - t_rows[previous]), abs(t_cols[p] - t_cols[previous]))
        near = d if d <= 2 else 0
    feats[6] = OFFSETS[6] + near
    feats[7] = OFFSETS[7] + t_edge[p]
    return True


@njit(cache=True)
def is_own_eye(board, p, colour, t_ring) -> bool:
    """All four neighbours `colour` or off the board; at most one diagonal the opponent's (none at the
    edge)."""
    for j in (1, 3, 4, 6):
        r = t_ring[p, j]
        if r >= 0 and board[r] != colour:
            return False
    bad = 0
    edge = 0
    for j in (0, 2, 5, 7):
        r = t_ring[p, j]
        if r < 0:
            edge = 1
        elif board[r] == 3 - colour:
            bad += 1
    return bad == 0 if edge == 1 else bad <= 1


@njit(cache=True)
def play(board, p, colour, t_nb, label, libs) -> int:
    """Put a stone of `colour` on p, take the opponent's groups left without liberties; the ko point (the
    one stone taken, when the new stone is alone with that one liberty) or -1."""
    board[p] = colour
    other = 3 - colour
    taken = 0
    point = -1
    for k in range(4):
        r = t_nb[p, k]
        if r >= 0 and board[r] == other and libs[label[r]] == 1:
            g = label[r]
            for q in range(board.shape[0]):
                if label[q] == g and board[q] == other:
                    board[q] = 0
                    taken += 1
                    point = q
    if taken != 1:
        return -1
    for k in range(4):
        r = t_nb[p, k]
        if r >= 0 and (board[r] == colour or (board[r] == 0 and r != point)):
            return -1
    return point


@njit(cache=True)
def area_score(board, t_nb, komi, stack, mark) -> float:
    """Tromp-Taylor: Black's stones and empty regions only Black reaches, minus White's, minus komi."""
    n = board.shape[0]
    for p in range(n):
        mark[p] = 0
    score = -komi
    for p in range(n):
        if board[p] == 1:
            score += 1.0
        elif board[p] == 2:
            score -= 1.0
        elif mark[p] == 0:
            region = 0
            reach = 0
            top = 0
            stack[0] = p
            mark[p] = 1
            while top >= 0:
                q = stack[top]
                top -= 1
                region += 1
                for k in range(4):
                    r = t_nb[q, k]
                    if r < 0:
                        continue
                    if board[r] == 0:
                        if mark[r] == 0:
                            mark[r] = 1
                            top += 1
                            stack[top] = r
                    else:
                        reach |= board[r]
            if reach == 1:
                score += region
            elif reach == 2:
                score -= region
    return score


@njit(cache=True)
def features_batch(boards, colours, lasts, previous, t_nb, t_ring, t_rows, t_cols, t_edge, t_patterns):
    """The features [B, N + 1, SLOTS] of every move of every board (-1 rows: occupied or suicide; the last
    row is the pass, its first slot PASS_FEATURE)."""
    count, n = boards.shape
    out = np.full((count, n + 1, SLOTS), -1, np.int64)
    label = np.empty(n, np.int64)
    libs = np.empty(n, np.int64)
    size = np.empty(n, np.int64)
    stack = np.empty(n, np.int64)
    mark = np.empty(n, np.int64)
    feats = np.empty(SLOTS, np.int64)
    for b in range(count):
        board = boards[b]
        find_groups(board, t_nb, label, libs, size, stack, mark)
        for p in range(n):
            if board[p] == 0 and candidate(board, p, colours[b], lasts[b], previous[b], t_nb, t_ring, t_rows,
                                           t_cols, t_edge, t_patterns, label, libs, size, feats):
                out[b, p, :] = feats
        out[b, n, 0] = PASS_FEATURE
    return out


@njit(cache=True)
def rollouts(boards, colours, lasts, previous, passes, moves, banned, seeds, weights, max_moves, komi,
             t_nb, t_ring, t_rows, t_cols, t_edge, t_patterns):
    """Play each board to the end with the rollout policy; the outcome (+1 win, -1 loss, 0 draw) for the
    player to move at its start, and the moves played. `banned[b]`: points illegal for the first move."""
    count, n = boards.shape
    outcomes = np.zeros(count, np.float64)
    lengths = np.zeros(count, np.int64)
    label = np.empty(n, np.int64)
    libs = np.empty(n, np.int64)
    size = np.empty(n, np.int64)
    stack = np.empty(n, np.int64)
    mark = np.empty(n, np.int64)
    feats = np.empty(SLOTS, np.int64)
    logits = np.empty(n, np.float64)
    points = np.empty(n, np.int64)
    state = seeds.copy()
    for b in range(count):
        board = boards[b].copy()
        colour, last, prev, passed, move = colours[b], lasts[b], previous[b], passes[b], moves[b]
        ko = -1
        first = True
        played = 0
        while move < max_moves:
            find_groups(board, t_nb, label, libs, size, stack, mark)
            m = 0
            top = -1e300
            for p in range(n):
                if board[p] != 0 or p == ko or (first and banned[b, p]):
                    continue
                if is_own_eye(board, p, colour, t_ring):
                    continue
                if not candidate(board, p, colour, last, prev, t_nb, t_ring, t_rows, t_cols, t_edge,
                                 t_patterns, label, libs, size, feats):
                    continue
                z = 0.0
                for s in range(SLOTS):
                    z += weights[feats[s]]
                points[m] = p
                logits[m] = z
                if z > top:
                    top = z
                m += 1
            first = False
            move += 1
            played += 1
            if m == 0:
                if passed == 1:
                    break
                passed = 1
                prev, last = last, -1
                colour = 3 - colour
                ko = -1
                continue
            total = 0.0
            for i in range(m):
                logits[i] = np.exp(logits[i] - top)
                total += logits[i]
            u = next_uniform(state, b) * total
            choice = m - 1
            running = 0.0
            for i in range(m):
                running += logits[i]
                if u < running:
                    choice = i
                    break
            p = points[choice]
            ko = play(board, p, colour, t_nb, label, libs)
            passed = 0
            prev, last = last, p
            colour = 3 - colour
        score = area_score(board, t_nb, komi, stack, mark)
        black = 1.0 if score > 0 else (-1.0 if score < 0 else 0.0)
        outcomes[b] = black if colours[b] == 1 else -black
        lengths[b] = played
    return outcomes, lengths
