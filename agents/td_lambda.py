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

Training plays its self-play games on the compiled loop of `agents.td_gammon_kernel` (`CompiledSelfPlay`),
on the engine's flat boards; `reference_self_play_game` below is the same game written plainly in numpy,
which a test holds the compiled loop to. The player (`TDGammonPlayer`) plays the wrapped game
(`envs.make("backgammon")`), in the arena for the evaluations against pubeval as in `run.py eval`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from agents.evaluation import evaluate_player
from agents.pubeval_player import require_backgammon
from agents.schedules import cosine_schedule, linear_schedule
from agents.training import TrainConfig, TrainingRun, seed_everything
from envs.backgammon.engine import (
    NUM_CHECKERS,
    NUM_FEATURES,
    OFF,
    flip,
    game_result,
    initial_board,
    legal_positions,
    opening_roll,
    tesauro_features,
)
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
    """learning rate of the TD rule (at the start, under a schedule)"""
    alpha_schedule: Literal["constant", "linear", "cosine"] = "constant"
    """learning rate over --steps: alpha throughout, or from alpha to final_alpha along a line or half a
    cosine (then final_alpha)"""
    final_alpha: float = 0.01
    """the learning rate reached at --steps under the linear and cosine schedules"""
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
    """games per periodic evaluation against pubeval (through the arena, seats alternating)"""
    final_eval_games: int = 500
    """games of the final evaluation against pubeval, through the arena, as `run.py eval` plays them"""


SHAPE_FIELDS = ("hidden", "outputs")


def learning_rate(config: Config, step: int) -> float:
    """The TD rule's alpha after `step` moves of training, by `config.alpha_schedule`."""
    if config.alpha_schedule == "linear":
        return linear_schedule(config.alpha, config.final_alpha, config.steps, step)
    if config.alpha_schedule == "cosine":
        return cosine_schedule(config.alpha, config.final_alpha, config.steps, step)
    return config.alpha


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

    def state_dict(self) -> dict[str, Any]:
        """The weights as torch tensors (a checkpoint's "model")."""
        import torch

        return {name: torch.from_numpy(w.copy()) for name, w in self.params.items()}

    def load_state_dict(self, model: dict[str, Any]) -> None:
        self.load({name: t.numpy() for name, t in model.items()})

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
ROLL_PROBABILITIES = np.array([p for _, _, p in _ROLLS])
"""The 21 distinct rolls' probabilities, in the order `reply_positions` takes them."""


def reply_positions(boards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every reply of the side to move (row 0) in each of `boards` (M, 2, 26) to each of the 21 rolls:
    (positions (N, 2, 26), bounds (21 M + 1,)), the replies to roll r of board m being
    positions[bounds[21 m + r]:bounds[21 m + r + 1]] (never empty: with no legal move, the board itself).
    Plain engine calls; `agents.td_gammon_kernel.CompiledReplies` gives the same sets, compiled."""
    replies = [legal_positions(board, (a, b)) for board in boards for a, b, _ in _ROLLS]
    return np.concatenate(replies), np.cumsum([0] + [len(r) for r in replies])


def choose_2ply(net: ValueNet, positions: np.ndarray, prune: int,
                replies: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] = reply_positions) -> int:
    """The candidate with the best expected equity after the opponent's best reply to each of its 21
    rolls; only the `prune` best candidates by 1-ply equity are searched. Two net calls a move: one over
    the candidates, one over all second-ply positions of the searched ones (`replies` lists them)."""
    _, _, _, equity = value_positions(net, positions)
    if len(positions) == 1:
        return 0
    order = np.argsort(-equity, kind="stable")[:max(prune, 1)]
    value = equity[order].astype(np.float64)  # a finished game keeps its points
    live = np.flatnonzero(positions[order, 0, OFF] != NUM_CHECKERS)
    if live.size:
        boards, bounds = replies(flip(positions[order[live]]))
        _, _, _, reply_equity = value_positions(net, boards)
        best_reply = np.maximum.reduceat(reply_equity, bounds[:-1]).reshape(live.size, len(_ROLLS))
        value[live] = -(best_reply @ ROLL_PROBABILITIES)
    return int(order[int(np.argmax(value))])


def net_chooser(net: ValueNet, ply: int = 1, prune: int = 8) -> Callable[[np.ndarray], int]:
    """choose(positions) -> index of the position the net plays."""
    if ply == 2:
        from agents.td_gammon_kernel import CompiledReplies  # (it imports this module)

        replies = CompiledReplies()
        return lambda positions: choose_2ply(net, positions, prune, replies)
    return lambda positions: int(np.argmax(value_positions(net, positions)[3]))


# ---------------------------------------------------------------- self-play, plainly


ROLLS_PER_CALL = 128
"""Self-play draws its dice from the run's generator in blocks of this many rolls."""


def reference_self_play_game(net: ValueNet, learner: TDLambda | None,
                             rng: np.random.Generator) -> tuple[int, int]:
    """One greedy 1-ply self-play game, learning after every move when `learner` is given: (points won by
    player 0, negative when it lost; moves played). Written plainly in numpy (engine positions,
    `value_positions`, `TDLambda`), this is the readable form of the game that training plays on the
    compiled loop (`agents.td_gammon_kernel.CompiledSelfPlay`, tested against it); both draw the same dice
    from `rng`."""
    side, first = opening_roll(rng)
    rolls = rng.integers(1, 7, size=(ROLLS_PER_CALL, 2))
    rolls[0] = first
    board, roll, moves = initial_board(), 0, 0
    if learner is not None:
        learner.begin_game()
    while True:
        if roll == len(rolls):
            rolls, roll = rng.integers(1, 7, size=(ROLLS_PER_CALL, 2)), 0
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


# ---------------------------------------------------------------- training


def net_from_model(model: dict[str, Any]) -> ValueNet:
    """The net of a checkpoint's "model" (its shape read from the tensors)."""
    net = ValueNet(hidden=1, outputs=1)
    net.load_state_dict(model)
    return net


def train(config: Config, env: Any, checkpoint: dict | None = None) -> dict:
    """TD(lambda) self-play on backgammon; returns the run's summary with the final score against pubeval."""
    from agents.td_gammon_kernel import CompiledSelfPlay

    require_backgammon(env, "td-lambda")
    if config.outputs not in (1, 4) or config.ply not in (1, 2):
        raise UsageError("--outputs must be 1 or 4 and --ply 1 or 2")
    rng = seed_everything(config.seed, config.threads)
    run = TrainingRun("td-lambda", config, env, checkpoint)
    net = ValueNet(config.hidden, config.outputs, config.init_scale, rng)
    run.restore(rng, model=net)
    self_play = CompiledSelfPlay(net, learning_rate(config, run.step), config.td_lambda)
    player = TDGammonPlayer(net, env, ply=1)  # plays the weights as they learn

    last_eval: dict[str, float] = {}
    games_at_start, clock, errors = run.episodes, time.time(), []
    while not run.should_stop():
        self_play.alpha = learning_rate(config, run.step)
        points, moves = self_play.play(rng)
        run.advance(moves)
        run.record_episode(points, moves)
        errors.append(self_play.squared_error / moves)
        if run.episodes % 100 == 0:
            error = float(np.mean(errors))
            run.check_finite("td_error", error)
            run.log("losses/td_error", error)
            run.log("charts/learning_rate", self_play.alpha)
            run.log("selfplay/games", run.episodes)
            run.log("charts/games_per_second", (run.episodes - games_at_start) / (time.time() - clock))
            errors.clear()
        if config.eval_every and run.episodes % config.eval_every == 0:  # its own dice: seeds from the count
            last_eval = evaluate_player(player, env, config.eval_games, opponent="pubeval", seed=run.episodes)
            run.log("eval/vs_pubeval/win_rate", last_eval["win_rate"])
            run.log("eval/vs_pubeval/points_per_game", last_eval["points_per_game"])
        games_per_second = (run.episodes - games_at_start) / max(time.time() - clock, 1e-9)
        if run.episodes % 20 == 0:
            vs = f" vs_pubeval={last_eval['win_rate']:.2f}" if last_eval else ""
            run.bar.set_postfix_str(f"games={run.episodes} {games_per_second:.0f}/s{vs}", refresh=False)
        if run.due_for_checkpoint():
            run.save({"model": net}, rng)
    run.save({"model": net}, rng)
    figures: dict[str, Any] = {"games_per_second": round((run.episodes - games_at_start)
                                                         / max(time.time() - clock, 1e-9), 1)}
    if config.final_eval_games:
        result = run.final_evaluation(player, config.final_eval_games, opponent="pubeval")  # as `run.py eval`
        run.log("eval/vs_pubeval/points_per_game", result["points_per_game"])
        figures.update(eval_opponent="pubeval", eval_points_per_game=round(result["points_per_game"], 3))
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
        return self.choose(state.legal_positions())


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
