"""Our backgammon engine as an OpenSpiel Python game, registered as `palaestra_backgammon`.

`envs.make("backgammon")` loads this game (OpenSpiel's own C++ backgammon stays reachable as
`openspiel_backgammon`). It works with everything written for OpenSpiel: search (`clone`, `child`,
`apply_action`, `chance_outcomes`, `returns`), `play_game`, the arena and `make_observation`.

- **Actions**: one per distinct position the roll can reach. Action i is the i-th entry of
  `engine.legal_positions(board, dice)` for the side to move (canonical order), so a decision has as
  many actions as distinct results (13 on average, one `pass` when nothing can be played).
  `num_distinct_actions` is a safe upper bound (`MAX_ACTIONS`).
- **Chance**: the opening roll is one die each, doubles re-rolled (30 outcomes, the higher die moves
  first with both dice); later rolls are the 21 unordered pairs. A chance outcome is
  `6 * (d1 - 1) + (d2 - 1)`; at the opening d1 is player 0's die and d2 player 1's.
- **Scoring**: cubeless, full: +-1 for a win, +-2 for a gammon, +-3 for a backgammon.
- **Observation**: Tesauro's 198 inputs (`engine.tesauro_features`) from the viewer's side: the viewer's
  checkers first, then the opponent's, then [viewer to move, opponent to move].
- **Strings**: `action_to_string` is the move in standard notation (`24/18 13/11`, `bar/22*`,
  `6/off(2)`, `pass`), in the mover's numbering; `str(state)` draws the board numbered for the side to
  move, with the dice. `parse_action(text)` reads that notation back (any order, `24/13` for one
  checker playing both dice).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pyspiel

from envs.backgammon import engine

GAME_NAME = "palaestra_backgammon"
NUM_PLAYERS = 2
MAX_ACTIONS = 5220
"""Upper bound on the distinct positions of one roll. A double moves four dice among at most 15 occupied
columns: a multiset of (column, steps) with steps summing to 4 gives at most
15 + 15 * 15 + C(16, 2) + 15 * C(16, 2) + C(18, 4) = 5220 results; a non-double far fewer."""
MAX_GAME_LENGTH = 2000
"""A claimed bound on decisions plus rolls per game (a real game takes about 120)."""
PLAYER_MARKS = "XO"
_TERMINAL = pyspiel.PlayerId.TERMINAL
_CHANCE = pyspiel.PlayerId.CHANCE

_GAME_TYPE = pyspiel.GameType(
    short_name=GAME_NAME,
    long_name="Backgammon (palaestra engine, cubeless, full scoring)",
    dynamics=pyspiel.GameType.Dynamics.SEQUENTIAL,
    chance_mode=pyspiel.GameType.ChanceMode.EXPLICIT_STOCHASTIC,
    information=pyspiel.GameType.Information.PERFECT_INFORMATION,
    utility=pyspiel.GameType.Utility.ZERO_SUM,
    reward_model=pyspiel.GameType.RewardModel.TERMINAL,
    max_num_players=NUM_PLAYERS,
    min_num_players=NUM_PLAYERS,
    provides_information_state_string=True,
    provides_information_state_tensor=False,
    provides_observation_string=True,
    provides_observation_tensor=True,
    parameter_specification={},
)
_GAME_INFO = pyspiel.GameInfo(
    num_distinct_actions=MAX_ACTIONS,
    max_chance_outcomes=36,
    num_players=NUM_PLAYERS,
    min_utility=-3.0,
    max_utility=3.0,
    utility_sum=0.0,
    max_game_length=MAX_GAME_LENGTH,
)

_OPENING = tuple((6 * (a - 1) + (b - 1), 1.0 / 30) for a in range(1, 7) for b in range(1, 7) if a != b)
_ROLLS = tuple(
    (6 * (a - 1) + (b - 1), (1.0 if a == b else 2.0) / 36) for a in range(1, 7) for b in range(a, 7)
)
_OPENING_OUTCOMES = tuple(outcome for outcome, _ in _OPENING)
_ROLL_OUTCOMES = tuple(outcome for outcome, _ in _ROLLS)

# Legal positions of recent (board, dice) pairs, shared by all states, so that states reaching the same
# position apart (transpositions in a search, the same roll met again) do not regenerate them; a state and
# its clones also share them directly (`_Position.legal`).
_CACHE_SIZE = 4096
_positions_cache: OrderedDict[tuple[bytes, int, int], np.ndarray] = OrderedDict()


def cached_legal_positions(board: np.ndarray, dice: tuple[int, int]) -> np.ndarray:
    """`engine.legal_positions` through a small LRU cache; the result is read-only."""
    key = (board.tobytes(), dice[0], dice[1])
    found = _positions_cache.get(key)
    if found is not None:
        _positions_cache.move_to_end(key)
        return found
    found = engine.legal_positions(board, dice)
    found.flags.writeable = False
    _positions_cache[key] = found
    if len(_positions_cache) > _CACHE_SIZE:
        _positions_cache.popitem(last=False)
    return found


def decode_roll(outcome: int) -> tuple[int, int]:
    """A chance outcome -> its two dice."""
    return outcome // 6 + 1, outcome % 6 + 1


class BackgammonGame(pyspiel.Game):
    """Backgammon on our numpy engine: cubeless, full scoring."""

    def __init__(self, params: dict | None = None):
        super().__init__(_GAME_TYPE, _GAME_INFO, params or {})

    def new_initial_state(self) -> BackgammonState:
        return BackgammonState(self)

    def make_py_observer(self, iig_obs_type: Any = None, params: dict | None = None) -> Any:
        if iig_obs_type is None or (iig_obs_type.public_info and not iig_obs_type.perfect_recall):
            return TesauroObserver(params)
        from open_spiel.python.observation import IIGObserverForPublicInfoGame

        return IIGObserverForPublicInfoGame(iig_obs_type, params)


class _Position:
    """All a `BackgammonState` holds, in one object that is never changed once made (applying an action
    makes a new one), so a state and its clones share it.

    OpenSpiel clones a Python state (`clone`, `child`) by making a fresh initial state and deep-copying
    each entry of the old one's `__dict__` into it: one `copy.deepcopy` and one attribute set through pybind
    per entry, and a deep copy of an array or tuple costs more than the rest of the clone. The state
    therefore keeps one entry, this object, and its `__deepcopy__` returns it: the board (read-only, as
    the legal positions are) is shared, not copied. Only `legal` is ever filled in later: the legal
    positions of (board, dice), computed at most once for a position and its clones together.
    """

    __slots__ = ("board", "side", "dice", "opening", "result", "legal")

    def __init__(self, board: np.ndarray, side: int, dice: tuple[int, int] | None, opening: bool,
                 result: int):
        """`board` becomes read-only: pass an array no one else writes to."""
        board.flags.writeable = False
        self.board = board
        self.side, self.dice, self.opening, self.result = side, dice, opening, result
        self.legal: np.ndarray | None = None

    def __deepcopy__(self, memo: dict) -> _Position:
        return self

    def replace(self, **fields: Any) -> _Position:
        """A new position with some fields changed (`legal` recomputed when asked)."""
        values = {name: getattr(self, name) for name in ("board", "side", "dice", "opening", "result")}
        values.update(fields)
        return _Position(**values)

    def __reduce__(self) -> tuple:  # serialize() pickles the state's __dict__; the legal positions stay out
        return _Position, (self.board, self.side, self.dice, self.opening, self.result)


_INITIAL_POSITION = _Position(engine.initial_board(), 0, None, True, 0)


def _position_field(name: str, doc: str, convert: Callable[[Any], Any] | None = None) -> property:
    """A `BackgammonState` attribute read from its `_Position`; setting it makes a new position with that
    field changed (after `convert`, if given)."""

    def get(state: BackgammonState) -> Any:
        return getattr(state._position, name)

    def set_(state: BackgammonState, value: Any) -> None:
        state._position = state._position.replace(**{name: value if convert is None else convert(value)})

    return property(get, set_, doc=doc)


class BackgammonState(pyspiel.State):
    """A position: `board` has `side` in row 0 (the player to move, or to roll next), plus the dice.

    Its attributes (`board`, `side`, `dice`, `opening`, `result`) live in one immutable `_Position`
    shared with the state's clones, which keeps cloning cheap (see there). So `board` is read-only:
    to change a position, assign a new board (`state.board = b` stores a read-only copy of `b`).
    """

    def __init__(self, game: BackgammonGame):
        super().__init__(game)
        self._position = _INITIAL_POSITION

    board = _position_field("board", "(2, 26), read-only: `side`'s checkers in row 0",
                            lambda value: np.array(value, dtype=np.int8))
    side = _position_field(
        "side", "the player whose checkers are in row 0 of `board`: the one to move or to roll next")
    dice = _position_field(
        "dice", "the roll to play (the higher die first at the opening), None before the roll",
        lambda value: None if value is None else (int(value[0]), int(value[1])))
    opening = _position_field("opening", "True until the opening roll")
    result = _position_field(
        "result", "at the end, the points won by `side` (negative when it lost); 0 while the game goes on")

    # ------------------------------------------------------------ OpenSpiel API

    def current_player(self) -> int:
        position = self._position
        if position.result:
            return _TERMINAL
        if position.dice is None:
            return _CHANCE
        return position.side

    def is_terminal(self) -> bool:
        return self._position.result != 0

    def chance_outcomes(self) -> list[tuple[int, float]]:
        return list(_OPENING if self._position.opening else _ROLLS)

    def legal_actions(self, player: int | None = None) -> list[int]:
        """OpenSpiel's `legal_actions`, answered here without the round trip through C++ (`LegalActions`,
        then `_legal_actions` back in Python) for the player to move, a chance node (the outcomes of
        `chance_outcomes`, in order) or the end (none); any other `player` goes to OpenSpiel's own."""
        position = self._position
        if player is None or player == self.current_player():
            if position.result:
                return []
            if position.dice is None:
                return list(_OPENING_OUTCOMES if position.opening else _ROLL_OUTCOMES)
            return list(range(len(self.legal_positions())))
        return pyspiel.State.legal_actions(self, player)

    def _legal_actions(self, player: int) -> list[int]:
        return list(range(len(self.legal_positions())))

    def _apply_action(self, action: int) -> None:
        position = self._position
        if position.dice is None:
            d1, d2 = decode_roll(action)
            if position.opening:
                side, dice = (0, (d1, d2)) if d1 > d2 else (1, (d2, d1))
                self._position = _Position(position.board, side, dice, False, 0)
            else:
                self._position = _Position(position.board, position.side, (d1, d2), False, 0)
            return
        after = self.legal_positions()[action]
        points = engine.game_result(after)
        if points:
            self._position = _Position(np.array(after), position.side, None, False, points)
        else:
            self._position = _Position(engine.flip(after), 1 - position.side, None, False, 0)

    def _action_to_string(self, player: int, action: int) -> str:
        if player == pyspiel.PlayerId.CHANCE:
            d1, d2 = decode_roll(action)
            if self.opening:
                return f"opening roll: X {d1}, O {d2}"
            return f"roll {max(d1, d2)}-{min(d1, d2)}"
        return self.legal_moves()[action]

    def returns(self) -> list[float]:
        if not self.result:
            return [0.0, 0.0]
        mine = float(self.result)
        return [mine, -mine] if self.side == 0 else [-mine, mine]

    def rewards(self) -> list[float]:
        return self.returns()

    def __str__(self) -> str:
        return board_text(self)

    # ------------------------------------------------------------ backgammon helpers

    def board_for(self, player: int) -> np.ndarray:
        """The board with `player`'s checkers in row 0, each row in its owner's numbering."""
        return self.board if player == self.side else engine.flip(self.board)

    def legal_positions(self) -> np.ndarray:
        """The distinct positions the side to move can reach, (N, 2, 26) with the mover in row 0; action i
        is entry i. Empty at chance and terminal nodes."""
        position = self._position
        if position.legal is None:
            if position.dice is None or position.result:
                return np.zeros((0, 2, 26), dtype=np.int8)
            position.legal = cached_legal_positions(position.board, position.dice)
        return position.legal

    def legal_moves(self) -> list[str]:
        """Each legal action's move in standard notation (mover's numbering)."""
        if self.dice is None or self.result:
            return []
        return engine.legal_moves(self.board, self.dice)[1]

    def parse_action(self, text: str) -> int:
        """The action of a move in standard notation (`24/18 13/11`, `bar/22*`, `6/off(2)`, `pass`);
        ValueError with a one-line reason when it is not a legal move."""
        if self.dice is None or self.result:
            raise ValueError("no move to make now")
        after = engine.parse_move(self.board, self.dice, text)
        matches = np.flatnonzero((self.legal_positions() == after).all(axis=(1, 2)))
        return int(matches[0])

    def action_for_position(self, position: np.ndarray) -> int:
        """The action that leads to `position` (mover in row 0); ValueError if no legal move does."""
        matches = np.flatnonzero((self.legal_positions() == position).all(axis=(1, 2)))
        if len(matches) == 0:
            raise ValueError("that position cannot be reached with this roll")
        return int(matches[0])


class TesauroObserver:
    """The py observer: Tesauro's 198 inputs from the viewer's side (`tensor`), and the board as text."""

    def __init__(self, params: dict | None = None):
        if params:
            raise ValueError(f"observation parameters are not supported; got {params}")
        self.tensor = np.zeros(engine.NUM_FEATURES, np.float32)
        self.dict = {"observation": self.tensor}

    def set_from(self, state: BackgammonState, player: int) -> None:
        to_move = 0 if state.side == player else 1
        self.tensor[:] = engine.tesauro_features(state.board_for(player), to_move)

    def string_from(self, state: BackgammonState, player: int) -> str:
        return board_text(state)


def _cell(count: int, mark: str) -> str:
    return f"{count:>3}{mark}" if count else "   ."


def board_text(state: BackgammonState) -> str:
    """The board numbered for the side to move (or to roll): points 13-24 on top, 12-1 below, X = player 0,
    O = player 1, with the bar, borne-off checkers, pip counts and the dice."""
    b, side = state.board, state.side
    me, other = PLAYER_MARKS[side], PLAYER_MARKS[1 - side]

    def row(points: range) -> tuple[str, str]:
        numbers, cells = [], []
        for k, p in enumerate(points):
            gap = " |" if k == 6 else ""
            mine, theirs = int(b[0, p - 1]), int(b[1, 24 - p])
            numbers.append(gap + f"{p:>4}")
            cells.append(gap + (_cell(mine, me) if mine else _cell(theirs, other)))
        return "".join(numbers), "".join(cells)

    top, bottom = row(range(13, 25)), row(range(12, 0, -1))
    pips = engine.pip_counts(b)
    if state.result:
        kind = {1: "wins", 2: "wins a gammon", 3: "wins a backgammon"}[abs(state.result)]
        winner = side if state.result > 0 else 1 - side
        headline = f"game over: player {winner} ({PLAYER_MARKS[winner]}) {kind}, {abs(state.result)} point(s)"
    elif state.opening:
        headline = "opening roll: each player throws one die, the higher moves first"
    elif state.dice is None:
        headline = f"player {side} ({me}) to roll"
    else:
        headline = f"player {side} ({me}) to move, dice {max(state.dice)}-{min(state.dice)}"
    lines = [
        headline,
        f"points numbered for player {side} ({me})",
        top[0],
        top[1],
        bottom[1],
        bottom[0],
        f"bar: {me} {int(b[0, engine.BAR])}, {other} {int(b[1, engine.BAR])}   "
        f"off: {me} {int(b[0, engine.OFF])}, {other} {int(b[1, engine.OFF])}   "
        f"pips: {me} {pips[0]}, {other} {pips[1]}",
    ]
    return "\n".join(lines)


pyspiel.register_game(_GAME_TYPE, BackgammonGame)
