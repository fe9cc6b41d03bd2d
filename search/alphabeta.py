"""Minimax for two-player zero-sum OpenSpiel games: negamax alpha-beta and expectiminimax.

`search(state, depth)` runs iterative deepening (depth 1, 2, ... up to `depth`, or until the time budget
is spent) with a transposition table keyed by the position (`(current_player, str(state))` unless a
`key` function is given; `state.serialize()` is the move history, not the position), ordering moves by
the previous iteration's best move. It returns the root value, every equally good root move and node
counts. Chance nodes take the probability-weighted mean of their outcomes (expectiminimax) and cost no
depth; a leaf at depth 0 gets `evaluate(state, player) -> [-1, 1]` (default 0).

Values are from the view of the player to move at the root, terminal returns scaled by the game's
largest utility into [-1, 1], and multiplied by `discount` at every decision ply, so a faster win and a
slower loss score higher and a lost position is still defended. `solve_exhaustively(game)` is plain
memoized minimax over every reachable position with the same scoring, the reference for the tests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import pyspiel

from envs import utility_scale

EvaluationFn = Callable[[pyspiel.State, int], float]
KeyFn = Callable[[pyspiel.State], Hashable]

DISCOUNT = 0.999
"""Factor per decision ply: a win in 3 scores 0.999**3, a loss in 5 scores -0.999**5."""
TIE_TOLERANCE = 1e-9
"""Moves whose value is within this of the best count as equally good."""
_WIDEN = 1e-12  # search windows are widened by this so rounding in `value / discount` never fakes a cutoff

_EXACT, _LOWER, _UPPER = 0, 1, 2


def position_key(state: pyspiel.State) -> Hashable:
    """The default transposition key: the player to move and the board, not the move history."""
    return (state.current_player(), str(state))


def zero_evaluation(state: pyspiel.State, player: int) -> float:
    """The default leaf value: nothing is known about a non-terminal position."""
    return 0.0


@dataclass
class AlphaBetaStats:
    """What one `search` call did: nodes over all iterations, the deepest finished iteration, time."""

    nodes: int = 0
    leaves_evaluated: int = 0
    tt_hits: int = 0
    depth: int = 0
    exhaustive: bool = False
    """True when the finished search reached the end of every line (its value is exact, not heuristic)."""
    seconds: float = 0.0

    @property
    def nodes_per_second(self) -> float:
        return self.nodes / self.seconds if self.seconds > 0 else 0.0


class _OutOfTime(Exception):
    pass


class _Searcher:
    """One search: the transposition table, the counters and the recursion."""

    def __init__(
        self,
        game: pyspiel.Game,
        evaluate: EvaluationFn,
        discount: float,
        key: KeyFn,
        tt: dict | None,
        deadline: float | None,
    ) -> None:
        self.evaluate = evaluate
        self.discount = discount
        self.key = key
        self.tt = tt
        self.deadline = deadline
        self.scale = 1.0 / utility_scale(game)
        self.stats = AlphaBetaStats()
        self.cut_by_depth = False  # set when a line ended at the depth limit rather than at the game's end

    def _tick(self) -> None:
        self.stats.nodes += 1
        if self.deadline is not None and not self.stats.nodes & 255 and time.perf_counter() > self.deadline:
            raise _OutOfTime

    def value(self, state: pyspiel.State, depth: int, alpha: float, beta: float, player: int) -> float:
        """The value of `state` for `player`, exact when strictly inside (alpha, beta), else a bound."""
        self._tick()
        if state.is_terminal():
            return state.returns()[player] * self.scale
        if depth <= 0:
            self.cut_by_depth = True
            self.stats.leaves_evaluated += 1
            return float(self.evaluate(state, player))
        if state.is_chance_node():
            return self._chance_value(state, depth, player)
        mover = state.current_player()
        if mover == player:
            return self.negamax(state, depth, alpha, beta)[0]
        return -self.negamax(state, depth, -beta, -alpha)[0]

    def _chance_value(self, state: pyspiel.State, depth: int, player: int) -> float:
        entry_key = None
        if self.tt is not None:
            entry_key = self.key(state)
            entry = self.tt.get(entry_key)
            if entry is not None and entry[0] >= depth:
                self.stats.tt_hits += 1
                if not entry[4]:
                    self.cut_by_depth = True
                return entry[2] if player == 0 else -entry[2]
        outer_cut = self.cut_by_depth
        self.cut_by_depth = False
        total = 0.0
        for action, prob in state.chance_outcomes():
            total += prob * self.value(state.child(action), depth, -math.inf, math.inf, player)
        exhaustive = not self.cut_by_depth
        self.cut_by_depth = outer_cut or self.cut_by_depth
        if entry_key is not None:  # stored from player 0's view, exact
            stored_depth = math.inf if exhaustive else depth
            self.tt[entry_key] = (stored_depth, _EXACT, total if player == 0 else -total, None, exhaustive)
        return total

    def negamax(
        self, state: pyspiel.State, depth: int, alpha: float, beta: float
    ) -> tuple[float, int | None]:
        """Value for the player to move at a decision node, fail-soft, and the best move found."""
        entry_key = None
        tt_move = None
        if self.tt is not None:
            entry_key = self.key(state)
            entry = self.tt.get(entry_key)
            if entry is not None:
                stored_depth, flag, stored, tt_move, exhaustive = entry
                if stored_depth >= depth:
                    if (
                        flag == _EXACT
                        or (flag == _LOWER and stored >= beta)
                        or (flag == _UPPER and stored <= alpha)
                    ):
                        self.stats.tt_hits += 1
                        if not exhaustive:
                            self.cut_by_depth = True
                        return stored, tt_move
        mover = state.current_player()
        actions = state.legal_actions()
        if tt_move is not None and tt_move in actions:
            actions.remove(tt_move)
            actions.insert(0, tt_move)
        outer_cut = self.cut_by_depth
        self.cut_by_depth = False
        d = self.discount
        best, best_move = -math.inf, actions[0]
        a = alpha
        for action in actions:
            v = d * self.value(state.child(action), depth - 1, a / d - _WIDEN, beta / d + _WIDEN, mover)
            if v > best:
                best, best_move = v, action
                if v > a:
                    a = v
                    if a >= beta:
                        break
        exhaustive = not self.cut_by_depth
        self.cut_by_depth = outer_cut or self.cut_by_depth
        if entry_key is not None:
            flag = _UPPER if best <= alpha else (_LOWER if best >= beta else _EXACT)
            stored_depth = math.inf if exhaustive else depth
            self.tt[entry_key] = (stored_depth, flag, best, best_move, exhaustive)
        return best, best_move

    def root(
        self, state: pyspiel.State, depth: int, order: list[int]
    ) -> tuple[float, list[int], dict[int, float]]:
        """Every root move's value, exact for the best ones: returns (best value, best moves, values)."""
        self._tick()
        mover = state.current_player()
        d = self.discount
        best, values = -math.inf, {}
        self.cut_by_depth = False
        for action in order:
            # Window (best - tolerance, inf): a value above the floor is exact; a value below it is only
            # an upper bound, and then the move is worse than the best by more than the tolerance.
            floor = best - TIE_TOLERANCE
            v = d * self.value(state.child(action), depth - 1, floor / d - _WIDEN, math.inf, mover)
            values[action] = v
            best = max(best, v)
        best_moves = [a for a in order if values[a] >= best - TIE_TOLERANCE]
        return best, best_moves, values


def search(
    state: pyspiel.State,
    depth: int,
    evaluate: EvaluationFn | None = None,
    *,
    time_limit: float | None = None,
    use_tt: bool = True,
    key: KeyFn | None = None,
    discount: float = DISCOUNT,
    tt: dict | None = None,
) -> tuple[float, list[int], AlphaBetaStats]:
    """Alpha-beta from `state` to `depth` plies: (value for the player to move, all best moves, stats).

    Iterative deepening orders each iteration's root moves by the previous one's values and stops early
    once a search reached the end of every line. With `time_limit` (seconds), an iteration that runs
    out of time is dropped and the last finished one answers (depth 1 always finishes). `tt` lets
    several searches of one game share a transposition table; `key` overrides the position key.
    """
    if state.is_terminal() or state.is_chance_node():
        raise ValueError("search needs a decision node (not terminal, not chance)")
    game = state.get_game()
    if game.num_players() != 2 or game.get_type().utility != pyspiel.GameType.Utility.ZERO_SUM:
        raise ValueError(f"alpha-beta needs a two-player zero-sum game, not {game.get_type().short_name}")
    if depth < 1:
        raise ValueError("depth must be at least 1")
    start = time.perf_counter()
    if use_tt and tt is None:
        tt = {}
    searcher = _Searcher(
        game,
        evaluate or zero_evaluation,
        discount,
        key or position_key,
        tt if use_tt else None,
        None,
    )
    order = state.legal_actions()
    result = None
    for d in range(1, depth + 1):
        if time_limit is not None and d > 1:
            searcher.deadline = start + time_limit
        try:
            value, best_moves, values = searcher.root(state, d, order)
        except _OutOfTime:
            break
        result = (value, best_moves)
        searcher.stats.depth = d
        searcher.stats.exhaustive = not searcher.cut_by_depth
        if searcher.stats.exhaustive:
            break
        order = sorted(order, key=lambda a: -values[a])
    searcher.stats.seconds = time.perf_counter() - start
    assert result is not None
    return result[0], sorted(result[1]), searcher.stats


class AlphaBetaPlayer:
    """`alphabeta:DEPTH`: alpha-beta to a fixed depth (or a time budget), random among equally good moves."""

    def __init__(
        self,
        depth: int,
        seed: int = 0,
        time_limit: float | None = None,
        use_tt: bool = True,
        evaluate: EvaluationFn | None = None,
        key: KeyFn | None = None,
        discount: float = DISCOUNT,
    ) -> None:
        self.depth = depth
        self.time_limit = time_limit
        self.use_tt = use_tt
        self.evaluate = evaluate
        self.key = key
        self.discount = discount
        self.rng = np.random.default_rng(seed)
        self.last_stats: AlphaBetaStats | None = None
        self.last_value: float | None = None

    def reset(self, game: pyspiel.Game, player_id: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, state: pyspiel.State) -> int:
        value, best_moves, stats = search(
            state,
            self.depth,
            self.evaluate,
            time_limit=self.time_limit,
            use_tt=self.use_tt,
            key=self.key,
            discount=self.discount,
        )
        self.last_value, self.last_stats = value, stats
        return int(best_moves[int(self.rng.integers(len(best_moves)))])


@dataclass(frozen=True)
class SolvedPosition:
    """One reachable decision position of an exhaustive solve."""

    value: float
    """Value for the player to move (same scoring as `search`)."""
    best_actions: frozenset[int]


def solve_exhaustively(
    game: pyspiel.Game, key: KeyFn | None = None, discount: float = DISCOUNT
) -> dict[Hashable, SolvedPosition]:
    """Plain memoized minimax (expectimax at chance nodes) over every reachable position, no pruning.

    Returns `{key(state): SolvedPosition}` for every non-terminal decision position reachable from the
    initial state. Meant for small games (tests): it visits every position once.
    """
    if game.num_players() != 2:
        raise ValueError("solve_exhaustively needs a two-player zero-sum game")
    key = key or position_key
    scale = 1.0 / utility_scale(game)
    solved: dict[Hashable, SolvedPosition] = {}
    chance_values: dict[Hashable, float] = {}

    def value_for(state: pyspiel.State, player: int) -> float:
        if state.is_terminal():
            return state.returns()[player] * scale
        k = key(state)
        if state.is_chance_node():
            if k not in chance_values:  # stored for player 0
                chance_values[k] = sum(p * value_for(state.child(a), 0) for a, p in state.chance_outcomes())
            v0 = chance_values[k]
            return v0 if player == 0 else -v0
        if k not in solved:
            mover = state.current_player()
            values = {a: discount * value_for(state.child(a), mover) for a in state.legal_actions()}
            best = max(values.values())
            best_actions = frozenset(a for a, v in values.items() if v >= best - TIE_TOLERANCE)
            solved[k] = SolvedPosition(best, best_actions)
        v = solved[k].value
        return v if player == state.current_player() else -v

    value_for(game.new_initial_state(), 0)
    return solved
