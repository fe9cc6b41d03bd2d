"""TD-Gammon: a TD(lambda) value network learned by self-play (Tesauro, 1992-1995).

A 198-H-K sigmoid network values the position after a move, from the side of the player who just moved
(Tesauro's 198 inputs with that player in row 0; K = 1: its win probability, K = 4: it wins, it wins a
gammon, the opponent wins, the opponent wins a gammon). Both sides of a self-play game choose the move
whose resulting position they value most (1-ply; 2-ply, averaging the opponent's best replies over its 21
rolls, is an option at play time). After every move the weights follow the temporal-difference rule

    w <- w + alpha (Y_{t+1} - Y_t) sum_k lambda^(t-k) grad_w Y_k,

where Y_t is the value of the t-th position from player 0's fixed side (1 - V, or V with the outputs
swapped, for player 1's positions) and the last target is the game's real outcome. The sum is kept as
eligibility traces, one per output. The network is plain numpy: for a net this small one batched forward
over all candidate positions of a move and a hand-written backward pass for the chosen one are much
faster than torch; checkpoints hold its weights as tensors.

The self-play loop runs on the engine's boards directly (`envs.backgammon.engine`), not through the
OpenSpiel wrapper; the player (`load_player`) plays the wrapped game (`envs.make("backgammon")`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from agents.evaluation import evaluate_player, log_evaluation
from agents.pubeval_player import pubeval_index, require_backgammon
from agents.training import TrainConfig, TrainingRun, seed_everything
from envs.backgammon.engine import (
    BAR,
    NUM_CHECKERS,
    NUM_FEATURES,
    OFF,
    flip,
    game_result,
    initial_board,
    legal_positions,
    opening_roll,
    roll_dice,
    tesauro_features,
)
from envs.backgammon.kernels import WIDTH, Workspace, legal_into
from envs.errors import UsageError


@dataclass(frozen=True)
class Config(TrainConfig):
    """TD(lambda) self-play on backgammon, Tesauro's settings. About 55 moves make a game."""

    env: str = "backgammon"
    """the game: backgammon (our engine)"""
    steps: int = 3_000_000
    """moves to train for in total (both sides; about 55,000 games)"""
    checkpoint_every: int = 250_000
    """write ckpt/step_N.pt every this many moves"""
    hidden: int = 40
    """hidden sigmoid units"""
    outputs: Literal[1, 4] = 1
    """1: win probability; 4: win, win gammon, lose, lose gammon (moves then maximise expected points)"""
    alpha: float = 0.1
    """learning rate of the TD rule"""
    td_lambda: float = 0.7
    """trace decay lambda"""
    init_scale: float = 0.1
    """initial weights are uniform in [-init_scale, init_scale]"""
    ply: Literal[1, 2] = 1
    """search depth of the trained player at play time (self-play always uses 1-ply)"""
    prune: int = 8
    """2-ply: the best candidates by 1-ply value that get the deeper look"""
    eval_every: int = 2_000
    """games between evaluations against pubeval (0: none)"""
    eval_games: int = 200
    """games per periodic evaluation against pubeval (fast engine loop, starts alternating)"""
    final_eval_games: int = 500
    """games of the final evaluation against pubeval, through the arena, as `run.py eval` plays them"""


SHAPE_FIELDS = ("hidden", "outputs")


# ---------------------------------------------------------------- the value network


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), written with tanh so that no input overflows."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


class ValueNet:
    """198-H-K with sigmoid hidden and output units, in numpy (float32).

    All weights live in one flat vector `theta`; `params` holds named views into it (W1 [I, H], b1 [H],
    W2 [H, K], b2 [K]), so a TD step is one vector update.
    """

    def __init__(self, hidden: int = 40, outputs: int = 1, init_scale: float = 0.1,
                 rng: np.random.Generator | None = None, inputs: int = NUM_FEATURES):
        rng = rng if rng is not None else np.random.default_rng(0)
        self.shapes = {"W1": (inputs, hidden), "b1": (hidden,), "W2": (hidden, outputs), "b2": (outputs,)}
        size = sum(int(np.prod(shape)) for shape in self.shapes.values())
        self.theta = rng.uniform(-init_scale, init_scale, size).astype(np.float32)
        self.params = self.views(self.theta)

    def views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Named views of a flat array laid out like `theta` (extra trailing axes kept)."""
        out, start = {}, 0
        for name, shape in self.shapes.items():
            size = int(np.prod(shape))
            out[name] = flat[start:start + size].reshape(*shape, *flat.shape[1:])
            start += size
        return out

    def load(self, params: dict[str, np.ndarray]) -> None:
        self.shapes = {name: tuple(w.shape) for name, w in params.items()}
        self.theta = np.concatenate([np.asarray(w, np.float32).ravel() for w in params.values()])
        self.params = self.views(self.theta)

    @property
    def outputs(self) -> int:
        return self.shapes["b2"][0]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hidden activations [N, H], outputs [N, K]) for inputs [N, 198]."""
        p = self.params
        h = sigmoid(x @ p["W1"] + p["b1"])
        return h, sigmoid(h @ p["W2"] + p["b2"])

    def gradients_into(self, g: dict[str, np.ndarray], x: np.ndarray, h: np.ndarray, v: np.ndarray) -> None:
        """Write d v_k / d theta for one input into `g`: the `views` of a [P, K] array, column k output k."""
        dv = v * (1.0 - v)  # [K]
        dh = (h * (1.0 - h))[:, None] * self.params["W2"] * dv  # [H, K]
        np.multiply(x[:, None, None], dh, out=g["W1"])
        g["b1"][:] = dh
        g["W2"][:] = 0.0  # output k depends on column k of W2 only
        g["b2"][:] = np.diag(dv)
        for k in range(dv.shape[0]):
            g["W2"][:, k, k] = h * dv[k]

    def equity(self, v: np.ndarray) -> np.ndarray:
        """Expected points for the side whose view `v` [N, K] is (the player who just moved)."""
        if v.shape[-1] == 1:
            return 2.0 * v[..., 0] - 1.0
        return v[..., 0] + v[..., 1] - v[..., 2] - v[..., 3]


def frame(player: int, outputs: int) -> tuple[np.ndarray, np.ndarray]:
    """(A, c) with Y = A v + c: outputs from `player`'s side turned to player 0's side."""
    if player == 0:
        return np.eye(outputs, dtype=np.float32), np.zeros(outputs, np.float32)
    if outputs == 1:
        return -np.eye(1, dtype=np.float32), np.ones(1, np.float32)
    swap = np.zeros((4, 4), np.float32)
    swap[[0, 1, 2, 3], [2, 3, 0, 1]] = 1.0
    return swap, np.zeros(4, np.float32)


def outcome_target(points: int, winner: int, outputs: int) -> np.ndarray:
    """The final target from player 0's side, when `winner` won `points` (1, 2 or 3)."""
    if outputs == 1:
        return np.array([1.0 if winner == 0 else 0.0], np.float32)
    mine = np.array([1.0, float(points >= 2)], np.float32)
    zero = np.zeros(2, np.float32)
    return np.concatenate([mine, zero] if winner == 0 else [zero, mine])


class TDLambda:
    """The TD(lambda) rule with eligibility traces (one per output) over one game's positions."""

    def __init__(self, net: ValueNet, alpha: float, td_lambda: float):
        self.net, self.alpha, self.td_lambda = net, alpha, td_lambda
        self.frames = [frame(p, net.outputs) for p in (0, 1)]
        self.gradient = np.zeros((net.theta.size, net.outputs), np.float32)
        self.gradient_views = net.views(self.gradient)
        self.begin_game()

    def begin_game(self) -> None:
        self.traces = np.zeros((self.net.theta.size, self.net.outputs), np.float32)
        """sum_k lambda^(t-k) dY_k/dtheta: [P, K]"""
        self.previous: np.ndarray | None = None
        self.squared_error = 0.0

    def _update(self, delta: np.ndarray) -> None:
        self.squared_error += float(delta @ delta)
        if delta.shape[0] == 1:
            self.net.theta += self.traces[:, 0] * (self.alpha * float(delta[0]))
        else:
            self.net.theta += self.traces @ (self.alpha * delta)

    def observe(self, x: np.ndarray, h: np.ndarray, v: np.ndarray, player: int) -> None:
        """The next position (input x, with its forward pass h, v by the current weights), valued from
        `player`'s side: learn from the change in value, then extend the traces."""
        a, c = self.frames[player]
        y = a @ v + c
        self.net.gradients_into(self.gradient_views, x, h, v)
        if self.previous is not None:
            self._update(y - self.previous)
        self.traces *= self.td_lambda
        if a.shape[0] == 1:
            self.traces += self.gradient if a[0, 0] > 0 else -self.gradient
        else:
            self.traces += self.gradient @ a.T
        self.previous = y

    def end_game(self, target: np.ndarray) -> None:
        """The game ended: the real outcome (player 0's side) is the last target."""
        if self.previous is not None:
            self._update(target - self.previous)
        self.previous = None


# ---------------------------------------------------------------- choosing moves


def value_positions(net: ValueNet, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """For candidate positions (mover in row 0, opponent to move): inputs, hidden, outputs, and the equity
    of each for the mover, finished games scored by their real points."""
    x = tesauro_features(positions, 1)
    h, v = net.forward(x)
    equity = net.equity(v)
    won = np.flatnonzero(positions[:, 0, OFF] == NUM_CHECKERS)
    for i in won:
        equity[i] = game_result(positions[i])
    return x, h, v, equity


_ROLLS = [(a, b, (1.0 if a == b else 2.0) / 36) for a in range(1, 7) for b in range(a, 7)]


def choose_2ply(net: ValueNet, positions: np.ndarray, prune: int) -> int:
    """The candidate with the best expected equity after the opponent's best reply to each of its 21
    rolls; only the `prune` best candidates by 1-ply equity are searched."""
    _, _, _, equity = value_positions(net, positions)
    if len(positions) == 1:
        return 0
    order = np.argsort(-equity, kind="stable")[:max(prune, 1)]
    best, best_value = int(order[0]), -np.inf
    for i in order:
        if positions[i, 0, OFF] == NUM_CHECKERS:
            value = float(equity[i])
        else:
            opponent_board = flip(positions[i])
            replies = [legal_positions(opponent_board, (a, b)) for a, b, _ in _ROLLS]
            _, _, _, reply_equity = value_positions(net, np.concatenate(replies))
            bounds = np.cumsum([0] + [len(r) for r in replies])
            value = -sum(p * float(reply_equity[s:e].max())
                         for (_, _, p), s, e in zip(_ROLLS, bounds[:-1], bounds[1:], strict=True))
        if value > best_value:
            best, best_value = int(i), value
    return best


def net_chooser(net: ValueNet, ply: int = 1, prune: int = 8) -> Callable[[np.ndarray, np.ndarray], int]:
    """choose(board, positions) -> index of the position the net plays."""
    if ply == 2:
        return lambda board, positions: choose_2ply(net, positions, prune)
    return lambda board, positions: int(np.argmax(value_positions(net, positions)[3]))


# ---------------------------------------------------------------- self-play and fast matches


# The self-play loop is compiled (numba): move generation, the batched 1-ply choice and the TD rule above, on
# flat boards (`envs.backgammon.kernels`), with no Python per move. It does what `TDLambda.observe` and
# `end_game` do after `value_positions` and `np.argmax`; a test plays whole games both ways and compares.


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
    `traces` [K, P]; returns the squared TD error."""
    squared = 0.0
    for k in range(delta.shape[0]):
        squared += delta[k] * delta[k]
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


class SelfPlay:
    """Greedy 1-ply self-play games on the compiled kernel, learning after every move when `learner` is
    given: the rule of `TDLambda` with its alpha and lambda, on the net's weights in place (the traces,
    one row per output, live here)."""

    ROLLS_PER_CALL = 128

    def __init__(self, net: ValueNet, learner: TDLambda | None):
        self.net, self.learner = net, learner
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

    def play(self, rng: np.random.Generator) -> tuple[int, int]:
        """One game: (points won by player 0, negative when it lost; moves played)."""
        net, learner = self.net, self.learner
        side, first = opening_roll(rng)
        board = initial_board().reshape(-1).copy()
        state = np.array([side, 0, 0], np.int64)
        squared_error = np.zeros(1, np.float64)
        previous = np.zeros(net.outputs, np.float64)
        self.traces[:] = 0.0
        self.trace_scale[:] = 1.0
        alpha = learner.alpha if learner is not None else 0.0
        td_lambda = learner.td_lambda if learner is not None else 0.0
        while True:
            dice = rng.integers(1, 7, size=(self.ROLLS_PER_CALL, 2))
            if state[1] == 0:
                dice[0] = first
            points = _self_play_kernel(net.theta, self.traces, self.trace_scale, net.shapes["b1"][0],
                                       net.outputs, alpha, td_lambda, learner is not None, self.frames_a,
                                       self.frames_c, self.targets, board, state, previous, squared_error,
                                       dice, *self.workspace.arrays())
            if points:
                if learner is not None:
                    learner.squared_error = float(squared_error[0])
                return int(points), int(state[1])


def reference_self_play_game(net: ValueNet, learner: TDLambda | None,
                             rng: np.random.Generator) -> tuple[int, int]:
    """One `SelfPlay.play` game written plainly in numpy (engine positions, `value_positions`, `TDLambda`):
    the readable form that the compiled loop is tested against. It draws the same dice from `rng`."""
    side, first = opening_roll(rng)
    rolls = rng.integers(1, 7, size=(SelfPlay.ROLLS_PER_CALL, 2))
    rolls[0] = first
    board, roll, moves = initial_board(), 0, 0
    if learner is not None:
        learner.begin_game()
    while True:
        if roll == len(rolls):
            rolls, roll = rng.integers(1, 7, size=(SelfPlay.ROLLS_PER_CALL, 2)), 0
        positions = legal_positions(board, rolls[roll])
        roll += 1
        x, h, v, equity = value_positions(net, positions)
        i = int(np.argmax(equity))
        moves += 1
        if positions[i, 0, OFF] == NUM_CHECKERS:
            points = game_result(positions[i])
            if learner is not None:
                learner.end_game(outcome_target(points, side, net.outputs))
            return (points if side == 0 else -points), moves
        if learner is not None:
            learner.observe(x[i], h[i], v[i], side)
        board = flip(positions[i])
        side = 1 - side


def play_engine_game(choosers: list[Callable[[np.ndarray, np.ndarray], int]],
                     rng: np.random.Generator) -> int:
    """One game between two choose(board, positions) functions on the bare engine; points for seat 0."""
    board = initial_board()
    side, dice = opening_roll(rng)
    while True:
        positions = legal_positions(board, dice)
        after = positions[choosers[side](board, positions)]
        points = game_result(after)
        if points:
            return points if side == 0 else -points
        board = flip(after)
        side = 1 - side
        dice = roll_dice(rng)


def engine_match(chooser: Callable, opponent: Callable, games: int, seed: int) -> dict[str, float]:
    """`games` games on the bare engine, `chooser` in seat 0 of even games and seat 1 of odd ones:
    {games, win_rate, points_per_game} for `chooser`."""
    rng = np.random.default_rng(seed)
    wins, points = 0, 0
    for index in range(games):
        if index % 2 == 0:
            result = play_engine_game([chooser, opponent], rng)
        else:
            result = -play_engine_game([opponent, chooser], rng)
        wins += result > 0
        points += result
    return {"games": games, "win_rate": wins / games, "points_per_game": points / games}


def pubeval_chooser(board: np.ndarray, positions: np.ndarray) -> int:
    return pubeval_index(board, positions)


def random_chooser(rng: np.random.Generator) -> Callable[[np.ndarray, np.ndarray], int]:
    return lambda board, positions: int(rng.integers(len(positions)))


# ---------------------------------------------------------------- training


def checkpoint_model(net: ValueNet) -> dict[str, Any]:
    import torch

    return {name: torch.from_numpy(w.copy()) for name, w in net.params.items()}


def net_from_model(model: dict[str, Any]) -> ValueNet:
    net = ValueNet(hidden=1, outputs=1)
    net.load({name: t.numpy() for name, t in model.items()})
    return net


def train(config: Config, env: Any, checkpoint: dict | None = None) -> dict:
    """TD(lambda) self-play on backgammon; returns the run's summary with the final score against pubeval."""
    require_backgammon(env, "td-lambda")
    if config.outputs not in (1, 4) or config.ply not in (1, 2):
        raise UsageError("--outputs must be 1 or 4 and --ply 1 or 2")
    rng = seed_everything(config.seed, config.threads)
    run = TrainingRun("td-lambda", config, env, checkpoint)
    net = ValueNet(config.hidden, config.outputs, config.init_scale, rng)
    if checkpoint is not None:
        from agents.checkpoint import restore_rng

        net = net_from_model(checkpoint["model"])
        restore_rng(rng, checkpoint["rng"])
    learner = TDLambda(net, config.alpha, config.td_lambda)
    run.log("charts/learning_rate", config.alpha)

    def save() -> None:
        run.save({"model": checkpoint_model(net)}, rng)

    last_eval: dict[str, float] = {}
    games_at_start, clock, errors = run.episodes, time.time(), []
    self_play = SelfPlay(net, learner)
    while not run.should_stop():
        points, moves = self_play.play(rng)
        run.advance(moves)
        run.record_episode(points, moves)
        errors.append(learner.squared_error / moves)
        if run.episodes % 100 == 0:
            error = float(np.mean(errors))
            run.check_finite("td_error", error)
            run.log("losses/td_error", error)
            run.log("selfplay/games", run.episodes)
            run.log("charts/games_per_second", (run.episodes - games_at_start) / (time.time() - clock))
            errors.clear()
        if config.eval_every and run.episodes % config.eval_every == 0:
            last_eval = engine_match(net_chooser(net), pubeval_chooser, config.eval_games, seed=run.episodes)
            run.log("eval/vs_pubeval/win_rate", last_eval["win_rate"])
            run.log("eval/vs_pubeval/points_per_game", last_eval["points_per_game"])
        games_per_second = (run.episodes - games_at_start) / max(time.time() - clock, 1e-9)
        if run.episodes % 20 == 0:
            vs = f" vs_pubeval={last_eval['win_rate']:.2f}" if last_eval else ""
            run.bar.set_postfix_str(f"games={run.episodes} {games_per_second:.0f}/s{vs}", refresh=False)
        if run.due_for_checkpoint():
            save()
    save()
    figures: dict[str, Any] = {"games_per_second": round((run.episodes - games_at_start)
                                                         / max(time.time() - clock, 1e-9), 1)}
    if config.final_eval_games:
        player = TDGammonPlayer(net, env, ply=1)
        result = evaluate_player(player, env, config.final_eval_games, opponent="pubeval")  # as `run.py eval`
        log_evaluation(run, result, opponent="pubeval")
        run.log("eval/vs_pubeval/points_per_game", result["points_per_game"])
        figures.update(eval_opponent="pubeval", eval_games=result["games"],
                       eval_win_rate=round(result["win_rate"], 3),
                       eval_points_per_game=round(result["points_per_game"], 3))
    run.close()
    return run.summary(**figures)


# ---------------------------------------------------------------- the player


class TDGammonPlayer:
    """Plays the move whose resulting position the value net rates best (1-ply, or 2-ply)."""

    def __init__(self, net: ValueNet, game: Any, ply: int = 1, prune: int = 8):
        require_backgammon(game, "a td-lambda player")
        if ply not in (1, 2):
            raise UsageError(f"ply must be 1 or 2, not {ply}")
        self.net, self.ply, self.prune = net, ply, prune
        self.choose = net_chooser(net, ply, prune)

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        pass

    def act(self, state: Any) -> int:
        return self.choose(state.board, state.legal_positions())


def load_player(checkpoint: dict, env: Any, device: str = "cpu", **options: str) -> TDGammonPlayer:
    """The player of a td-lambda checkpoint; options `ply=1|2` and `prune=N` override its saved config."""
    unknown = set(options) - {"ply", "prune"}
    if unknown:
        raise UsageError(f"td-lambda player options are ply and prune, not {', '.join(sorted(unknown))}")
    saved = checkpoint["config"]
    try:
        ply = int(options.get("ply", saved.get("ply", 1)))
        prune = int(options.get("prune", saved.get("prune", 8)))
    except ValueError:
        raise UsageError("td-lambda player options ply and prune take integers") from None
    return TDGammonPlayer(net_from_model(checkpoint["model"]), env, ply=ply, prune=prune)
