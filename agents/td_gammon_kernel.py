"""TD-Gammon's self-play loop compiled with numba: the training loop of `agents.td_lambda`, fast.

Move generation (`envs.backgammon.kernels`), the batched 1-ply choice and the TD(lambda) update run on flat
boards with no Python per move, on the `ValueNet`'s flat weight vector in place. The kernel does what
`TDLambda.observe` and `end_game` do after `value_positions` and `np.argmax`: its readable twin is
`agents.td_lambda.reference_self_play_game`, and a test (`tests/test_td_lambda.py`) plays whole games both
ways from the same dice and compares the weights and TD errors. `CompiledReplies` lists the second-ply
positions of 2-ply play (`agents.td_lambda.reply_positions`, compiled).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from agents.td_lambda import _ROLLS, ROLLS_PER_CALL, ValueNet, frame, outcome_target
from envs.backgammon.engine import BAR, NUM_CHECKERS, NUM_FEATURES, OFF, initial_board, opening_roll
from envs.backgammon.kernels import WIDTH, Workspace, legal_into


@njit(cache=True, inline="always", error_model="numpy", fastmath={"reassoc", "contract"})
def _tesauro_inputs(board, index, value) -> int:
    """The non-zero entries of `tesauro_features(board, 1)` for a flat board (mover in row 0, the opponent
    to move): their indices and values written into `index` and `value`; returns how many."""
    k = 0
    for p in range(2):
        for column in range(24):
            n = board[p * WIDTH + column]
            if n > 0:
                unit = p * 98 + 4 * column
                for level in range(min(n, 3)):
                    index[k], value[k] = unit + level, 1.0
                    k += 1
                if n > 3:
                    index[k], value[k] = unit + 3, (n - 3) / 2.0
                    k += 1
        if board[p * WIDTH + BAR] > 0:
            index[k], value[k] = p * 98 + 96, board[p * WIDTH + BAR] / 2.0
            k += 1
        if board[p * WIDTH + OFF] > 0:
            index[k], value[k] = p * 98 + 97, board[p * WIDTH + OFF] / 15.0
            k += 1
    index[k], value[k] = 197, 1.0
    return k + 1


@njit(cache=True, inline="always", error_model="numpy", fastmath={"reassoc", "contract"})
def _add_row(h, theta, hidden, unit, x) -> None:
    """h += x * W1[unit]."""
    w = theta[unit * hidden:(unit + 1) * hidden]
    for j in range(hidden):
        h[j] += x * w[j]


@njit(cache=True, inline="always", error_model="numpy", fastmath={"reassoc", "contract"})
def _pre_activation(theta, hidden, index, value, count, h) -> None:
    """The hidden layer's input sums b1 + x W1 for one sparse input, into h."""
    b1 = NUM_FEATURES * hidden
    h[:] = theta[b1:b1 + hidden]
    for t in range(count):
        _add_row(h, theta, hidden, index[t], value[t])


@njit(cache=True, inline="always", error_model="numpy", fastmath={"reassoc", "contract"})
def _change_cell(h, theta, hidden, cell, old, new) -> None:
    """Update the input sums h of a board whose flat cell `cell` goes from `old` to `new` checkers: only the
    inputs of that cell change (a move touches a few cells, so a candidate costs a few rows of W1)."""
    p = cell // WIDTH
    column = cell - p * WIDTH
    if column < 24:
        unit = p * 98 + 4 * column
        sign = np.float32(1.0) if new > old else np.float32(-1.0)
        for level in range(min(old, new), min(max(old, new), 3)):
            _add_row(h, theta, hidden, unit + level, sign)
        beyond = (max(new - 3, 0) - max(old - 3, 0)) / 2.0
        if beyond != 0.0:
            _add_row(h, theta, hidden, unit + 3, beyond)
    elif column == BAR:
        _add_row(h, theta, hidden, p * 98 + 96, (new - old) / 2.0)
    else:
        _add_row(h, theta, hidden, p * 98 + 97, (new - old) / 15.0)


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose bit pattern is the int32 `bits`."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


_LN2_HIGH, _LN2_LOW = np.float32(0.693359375), np.float32(-2.12194440e-4)  # ln 2 split: HIGH * n is exact


@njit(cache=True, inline="always", error_model="numpy", fastmath={"reassoc", "contract"})
def _sigmoid_in_place(z) -> None:
    """z <- 1 / (1 + exp(-z)) in float32, to about an ulp, in a loop the compiler vectorises: exp(-z) =
    2^n e^r with n = round(-z / ln 2) (as bits) and |r| <= ln 2 / 2 (a degree-7 Taylor polynomial)."""
    one = np.float32(1.0)
    for j in range(z.shape[0]):
        x = min(max(-z[j], np.float32(-87.0)), np.float32(87.0))
        n = np.floor(x * np.float32(1.4426950408889634) + np.float32(0.5))
        r = x - n * _LN2_HIGH - n * _LN2_LOW
        p = one + r * (one + r * (np.float32(1 / 2) + r * (np.float32(1 / 6) + r * (np.float32(1 / 24) + r * (
            np.float32(1 / 120) + r * (np.float32(1 / 720) + r * np.float32(1 / 5040)))))))
        z[j] = one / (one + p * _float32_from_bits((np.int32(n) + np.int32(127)) << np.int32(23)))


@njit(cache=True, inline="always", error_model="numpy", fastmath={"reassoc", "contract"})
def _activate(theta, hidden, outputs, h, v) -> None:
    """From the input sums in h: the hidden activations (in place) and the outputs into v."""
    w2 = NUM_FEATURES * hidden + hidden
    b2 = w2 + hidden * outputs
    _sigmoid_in_place(h)
    for k in range(outputs):
        z = theta[b2 + k]
        for j in range(hidden):
            z += h[j] * theta[w2 + j * outputs + k]
        v[k] = z
    _sigmoid_in_place(v)


@njit(cache=True, inline="always", error_model="numpy", fastmath={"reassoc", "contract"})
def _points_won(board) -> int:
    """`game_result` of a flat board where the mover (row 0) has just borne off its last checker."""
    if board[WIDTH + OFF] > 0:
        return 1
    if board[WIDTH + BAR] > 0:
        return 3
    for column in range(18, 24):
        if board[WIDTH + column] > 0:
            return 3
    return 2


@njit(cache=True, inline="always", error_model="numpy", fastmath={"reassoc", "contract"})
def _td_update(theta, traces, scale, alpha, delta) -> float:
    """w <- w + alpha sum_k delta_k e_k (TDLambda._update), the traces being `scale[0]` times the rows of
    `traces` [K, P]; returns the squared TD error. Four outputs go in one pass over the weights."""
    squared = 0.0
    for k in range(delta.shape[0]):
        squared += delta[k] * delta[k]
    if delta.shape[0] == 4:
        s0, s1 = np.float32(alpha * delta[0] * scale[0]), np.float32(alpha * delta[1] * scale[0])
        s2, s3 = np.float32(alpha * delta[2] * scale[0]), np.float32(alpha * delta[3] * scale[0])
        e0, e1, e2, e3 = traces[0], traces[1], traces[2], traces[3]
        for p in range(theta.shape[0]):
            theta[p] += s0 * e0[p] + s1 * e1[p] + s2 * e2[p] + s3 * e3[p]
        return squared
    for k in range(delta.shape[0]):
        step = np.float32(alpha * delta[k] * scale[0])
        e = traces[k]
        for p in range(theta.shape[0]):
            theta[p] += step * e[p]
    return squared


@njit(cache=True, inline="always", error_model="numpy", fastmath={"reassoc", "contract"})
def _decay(traces, scale, td_lambda) -> None:
    """e <- lambda e, as a change of the common scale (no pass over the traces until it gets small)."""
    scale[0] *= td_lambda
    if scale[0] < 1e-4:
        factor = np.float32(scale[0])
        for k in range(traces.shape[0]):
            e = traces[k]
            for p in range(e.shape[0]):
                e[p] *= factor
        scale[0] = 1.0


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _self_play_kernel(theta, traces, scale, hidden, outputs, alpha, td_lambda, learn, frames_a, frames_c,
                      targets, board, state, previous, squared_error, dice, positions, keys, slots, stamps,
                      scratch, stack, generation) -> int:
    """Continue a self-play game from `board` (flat, the side `state[0]` to move) with the rolls in `dice`,
    learning after every move when `learn` (`frames_a`, `frames_c`: `frame` per player; `targets[winner,
    points]`: `outcome_target`; the traces are `scale[0]` times `traces`). `state` = [side to move, moves
    played, previous is set] and `previous` (the last Y) carry the game between calls; squared TD errors
    add up in `squared_error[0]`. Returns the points won by player 0 (negative when it lost), or 0 when
    the rolls ran out first."""
    index = np.empty(64, np.int64)
    value = np.empty(64, np.float32)
    h = np.empty(hidden, np.float32)
    base = np.empty(hidden, np.float32)
    v = np.empty(outputs, np.float32)
    best_h = np.empty(hidden, np.float32)  # the activations of the best candidate so far
    best_v = np.empty(outputs, np.float32)
    y = np.empty(outputs, np.float64)
    delta = np.empty(outputs, np.float64)
    dh = np.empty((hidden, outputs), np.float32)
    g = np.empty(hidden, np.float32)
    chosen = np.empty(2 * WIDTH, np.int8)
    board_words, position_words = board.view(np.int32), positions.view(np.int32)  # 13 words a board
    for roll in range(dice.shape[0]):
        side = state[0]
        n = legal_into(board, dice[roll, 0], dice[roll, 1], positions, keys, slots, stamps, scratch, stack,
                       generation)
        count = _tesauro_inputs(board, index, value)  # the sums of the board before the move, then of
        _pre_activation(theta, hidden, index, value, count, base)  # each candidate from the cells it changes
        best, best_equity = 0, -np.inf
        for i in range(n):
            candidate = positions[i]
            if candidate[OFF] == NUM_CHECKERS:
                equity = float(_points_won(candidate))
            else:
                h[:] = base
                words = position_words[i]
                for w in range(board_words.shape[0]):
                    if words[w] != board_words[w]:
                        for cell in range(4 * w, 4 * w + 4):
                            if candidate[cell] != board[cell]:
                                _change_cell(h, theta, hidden, cell, board[cell], candidate[cell])
                _activate(theta, hidden, outputs, h, v)
                equity = 2.0 * v[0] - 1.0 if outputs == 1 else v[0] + v[1] - v[2] - v[3]
                if equity > best_equity:
                    best_h[:] = h
                    best_v[:] = v
            if equity > best_equity:
                best, best_equity = i, equity
        chosen[:] = positions[best]
        state[1] += 1
        if chosen[OFF] == NUM_CHECKERS:
            points = _points_won(chosen)
            if learn and state[2]:
                for k in range(outputs):
                    delta[k] = targets[side, points, k] - previous[k]
                squared_error[0] += _td_update(theta, traces, scale, alpha, delta)
            state[2] = 0
            return points if side == 0 else -points
        if learn:
            count = _tesauro_inputs(chosen, index, value)
            h[:] = best_h
            v[:] = best_v
            a, c = frames_a[side], frames_c[side]
            for m in range(outputs):  # y = A v + c: the value from player 0's side
                y[m] = c[m]
                for k in range(outputs):
                    y[m] += a[m, k] * v[k]
            for k in range(outputs):  # d v_k / d (hidden pre-activation j)
                for j in range(hidden):
                    dh[j, k] = h[j] * (1.0 - h[j]) * theta[NUM_FEATURES * hidden + hidden + j * outputs + k] \
                        * v[k] * (1.0 - v[k])
            if state[2]:  # (before the game's first step the traces are zero: nothing to update or decay)
                for m in range(outputs):
                    delta[m] = y[m] - previous[m]
                squared_error[0] += _td_update(theta, traces, scale, alpha, delta)
                _decay(traces, scale, td_lambda)
            b1, w2 = NUM_FEATURES * hidden, NUM_FEATURES * hidden + hidden
            b2 = w2 + hidden * outputs
            for m in range(outputs):  # traces += A (d v / d theta), the gradient of y
                e = traces[m]
                for k in range(outputs):
                    weight = a[m, k] / scale[0]
                    if weight == 0.0:
                        continue
                    for j in range(hidden):
                        g[j] = weight * dh[j, k]
                    for t in range(count):
                        row, x = index[t] * hidden, value[t]
                        for j in range(hidden):
                            e[row + j] += x * g[j]
                    for j in range(hidden):
                        e[b1 + j] += g[j]
                        e[w2 + j * outputs + k] += weight * h[j] * v[k] * (1.0 - v[k])
                    e[b2 + k] += weight * v[k] * (1.0 - v[k])
            previous[:] = y
            state[2] = 1
        board[:WIDTH] = chosen[WIDTH:]
        board[WIDTH:] = chosen[:WIDTH]
        state[0] = 1 - side
    return 0


class CompiledSelfPlay:
    """Greedy 1-ply self-play games on the compiled kernel, learning after every move by the TD(lambda)
    rule (`TDLambda`'s, with `alpha` and `td_lambda`) on the net's weights in place, or only playing when
    `alpha` is None. The traces, one row per output, live here."""

    def __init__(self, net: ValueNet, alpha: float | None = None, td_lambda: float = 0.0):
        self.net = net
        self.learn = alpha is not None
        self.alpha = alpha if alpha is not None else 0.0
        self.td_lambda = td_lambda if alpha is not None else 0.0
        frames = [frame(p, net.outputs) for p in (0, 1)]
        self.frames_a = np.stack([a for a, _ in frames])
        self.frames_c = np.stack([c for _, c in frames])
        self.targets = np.stack([[outcome_target(max(points, 1), winner, net.outputs) for points in range(4)]
                                 for winner in (0, 1)])
        self.workspace = Workspace()
        self.traces = np.zeros((net.outputs, net.theta.size), np.float32)
        self.trace_scale = np.ones(1, np.float64)
        """sum_k lambda^(t-k) dY_k/dtheta is trace_scale times traces, one row per output (TDLambda.traces
        transposed; a decay scales trace_scale)"""
        self.squared_error = 0.0
        """the sum of the squared TD errors of the last game (learning only)"""

    def play(self, rng: np.random.Generator) -> tuple[int, int]:
        """One game: (points won by player 0, negative when it lost; moves played)."""
        net = self.net
        side, first = opening_roll(rng)
        board = initial_board().reshape(-1).copy()
        state = np.array([side, 0, 0], np.int64)
        squared_error = np.zeros(1, np.float64)
        previous = np.zeros(net.outputs, np.float64)
        self.traces[:] = 0.0
        self.trace_scale[:] = 1.0
        while True:
            dice = rng.integers(1, 7, size=(ROLLS_PER_CALL, 2))
            if state[1] == 0:
                dice[0] = first
            points = _self_play_kernel(net.theta, self.traces, self.trace_scale, net.shapes["b1"][0],
                                       net.outputs, self.alpha, self.td_lambda, self.learn, self.frames_a,
                                       self.frames_c, self.targets, board, state, previous, squared_error,
                                       dice, *self.workspace.arrays())
            if points:
                if self.learn:
                    self.squared_error = float(squared_error[0])
                return int(points), int(state[1])


@njit(cache=True, error_model="numpy")
def _replies_kernel(boards, rolls, out, bounds, positions, keys, slots, stamps, scratch, stack,
                    generation) -> int:
    """Every distinct reply of each flat board to each roll, into out, bounds[1:] ending each (board,
    roll)'s share; returns how many, or -1 when out is too small."""
    n, k = 0, 0
    for m in range(boards.shape[0]):
        for r in range(rolls.shape[0]):
            count = legal_into(boards[m], rolls[r, 0], rolls[r, 1], positions, keys, slots, stamps, scratch,
                               stack, generation)
            if n + count > out.shape[0]:
                return -1
            out[n:n + count] = positions[:count]
            n += count
            k += 1
            bounds[k] = n
    return n


class CompiledReplies:
    """`agents.td_lambda.reply_positions` on the compiled move generator: the same (board, roll) shares,
    each in discovery order rather than sorted. Its buffers are reused from call to call."""

    def __init__(self, capacity: int = 1 << 14):
        self.workspace = Workspace()
        self.rolls = np.array([(a, b) for a, b, _ in _ROLLS], np.int64)
        self.out = np.zeros((capacity, 2 * WIDTH), np.int8)

    def __call__(self, boards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flat = np.ascontiguousarray(boards, dtype=np.int8).reshape(len(boards), 2 * WIDTH)
        bounds = np.zeros(len(flat) * len(self.rolls) + 1, np.int64)
        while (n := _replies_kernel(flat, self.rolls, self.out, bounds, *self.workspace.arrays())) < 0:
            self.out = np.zeros((2 * len(self.out), 2 * WIDTH), np.int8)
        return self.out[:n].reshape(n, 2, WIDTH).copy(), bounds
