"""Turn-based games: the player contract, playing one whole game, and a game seen as a gymnasium env.

A player answers `reset(game, player_id, seed)` before each game and `act(state) -> action`, and, if it
has one, `observe(state, action)` after every action applied. At a simultaneous node (OpenSpiel's
SIMULTANEOUS dynamics: `goofspiel`, `matrix_rps`) every player acts for its own seat (`acting_seat`) on
its own copy of the state, then the joint action is applied.
`OpponentEnv` turns a game plus an opponent into a single-agent `gymnasium.Env` whose `info` carries
the legal-action mask, so step-based learners (DQN, REINFORCE) train on games unchanged.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium
import numpy as np

from envs.encoding import encoder_for, legal_mask
from envs.errors import UsageError

_CHANCE = -1  # pyspiel.PlayerId.CHANCE
SIMULTANEOUS = -2  # pyspiel.PlayerId.SIMULTANEOUS


class Player(Protocol):
    def reset(self, game: Any, player_id: int, seed: int) -> None: ...

    def act(self, state: Any) -> int: ...


def acting_seat(state: Any, seat: int) -> int:
    """The seat a player acts for: the player to move, or at a simultaneous node the player's own seat."""
    mover = state.current_player()
    return seat if mover == SIMULTANEOUS else mover


def require_sequential(game: Any, who: str) -> None:
    """UsageError when `game` has simultaneous moves, for players and learners that need turns (search)."""
    import pyspiel

    kind = game.get_type()
    if kind.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        raise UsageError(f"{who} needs a turn-taking game; {kind.short_name!r} has simultaneous moves")


def joint_action(state: Any, players: Sequence[Any]) -> list[int]:
    """At a simultaneous node: each player's action for its own seat, chosen on its own clone of the state
    (so no player sees another's choice), each checked against its seat's legal actions."""
    joint = [int(player.act(state.clone())) for player in players]
    for seat, action in enumerate(joint):
        if action not in state.legal_actions(seat):
            raise ValueError(f"player {seat} chose illegal action {action}")
    return joint


def replay(game: Any, actions: Sequence[int], after: Callable[[Any, int | None], None] | None = None) -> Any:
    """The state a recorded game reaches: `actions` as `GameRecord.actions` (and `state.history()`) list
    them, a simultaneous node's joint action as one action per player in seat order. `after(state,
    action)` is called after each applied action (None for a joint one)."""
    state = game.new_initial_state()
    k = 0
    while k < len(actions):
        if state.is_simultaneous_node():
            n = game.num_players()
            state.apply_actions([int(a) for a in actions[k : k + n]])
            k += n
            told = None
        else:
            told = int(actions[k])
            state.apply_action(told)
            k += 1
        if after is not None:
            after(state, told)
    return state


def observers(players: Sequence[Any]) -> list[Callable[[Any, int | None], None]]:
    """The `observe(state, action)` of each player that has one (a plug-in may have only `act`)."""
    return [player.observe for player in players if callable(getattr(player, "observe", None))]


def perfect_information(game: Any) -> bool:
    """True when every player sees every action (observers are then told the action itself)."""
    import pyspiel

    return game.get_type().information == pyspiel.GameType.Information.PERFECT_INFORMATION


def inform(watchers: Sequence[Callable[[Any, int | None], None]], state: Any, action: int | None,
           perfect: bool) -> None:
    """Tell every player what was just applied: the action in perfect-information games, None otherwise
    (each then reads its own information state from `state`, which it must not change)."""
    told = action if perfect else None
    for observe in watchers:
        observe(state, told)


class RandomPlayer:
    """Uniform over the legal actions."""

    def __init__(self, seed: int | None = None):
        self.rng = np.random.default_rng(seed)
        self.seat = 0

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.seat = player_id

    def act(self, state: Any) -> int:
        legal = state.legal_actions(acting_seat(state, self.seat))
        return int(legal[self.rng.integers(len(legal))])


_CHANCE_CDF_CACHE_SIZE = 1024
_chance_cdfs: dict[tuple, tuple[tuple[int, ...], list[float]]] = {}
"""chance_outcomes() (as a tuple) -> (outcomes, the cdf numpy's choice would search), for `sample_chance`"""


def sample_chance(state: Any, rng: np.random.Generator) -> int:
    """Sample a chance outcome of `state` by its probabilities: the draw of
    `rng.choice(n, p=probabilities / sum(probabilities))`, in about 2 us instead of about 30.

    numpy's `Generator.choice` with `p` (and no size) checks `p`, takes `cdf = cumsum(p)` in float64,
    `cdf /= cdf[-1]`, draws one `random()` and returns `cdf.searchsorted(u, side="right")`. Here the cdf of
    each distinct distribution is computed once in the same float64 arithmetic, and `bisect_right` on it
    is the same search, so the same generator gives the same outcomes and is left in the same state.
    A distribution seen for the first time is checked by `choice` itself on a throwaway generator, so one
    numpy refuses (negative, NaN, an empty list) raises as before.
    """
    chance = tuple(state.chance_outcomes())
    found = _chance_cdfs.get(chance)
    if found is None:
        outcomes, probabilities = zip(*chance, strict=True)
        p = np.asarray(probabilities) / np.sum(probabilities)
        np.random.default_rng(0).choice(len(outcomes), p=p)  # numpy's checks of p, raising as choice would
        cdf = np.asarray(p, dtype=np.float64).cumsum()
        cdf /= cdf[-1]
        found = (outcomes, cdf.tolist())
        if len(_chance_cdfs) >= _CHANCE_CDF_CACHE_SIZE:
            _chance_cdfs.clear()
        _chance_cdfs[chance] = found
    outcomes, cdf = found
    return int(outcomes[bisect_right(cdf, rng.random())])


@dataclass(frozen=True)
class RandomPlayStatistics:
    """What uniformly random games of a game look like: the mean number of legal moves at a decision and
    the mean length of a game in moves (chance outcomes not counted)."""

    mean_legal_moves: float
    mean_length: float


def random_play_statistics(game: Any, games: int = 20, seed: int = 0) -> RandomPlayStatistics:
    """Play `games` uniformly random games of `game` (with its own generator: the caller's draws are left
    alone) and measure them; tens of milliseconds for chess or backgammon."""
    rng = np.random.default_rng(seed)
    legal_counts, lengths = [], []
    for _ in range(games):
        state, moves = game.new_initial_state(), 0
        while not state.is_terminal():
            if state.is_chance_node():
                state.apply_action(sample_chance(state, rng))
                continue
            legal = state.legal_actions()
            legal_counts.append(len(legal))
            state.apply_action(int(legal[rng.integers(len(legal))]))
            moves += 1
        lengths.append(moves)
    return RandomPlayStatistics(float(np.mean(legal_counts)), float(np.mean(lengths)))


@dataclass
class GameRecord:
    """One finished game: the actions in order (chance outcomes included) and each player's return."""

    actions: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)


def random_opening(game: Any, moves: int, rng: np.random.Generator) -> list[int]:
    """The actions of `moves` uniformly random moves from the start (a simultaneous node's joint action
    is one move, recorded one action per seat; chance outcomes on the way are sampled and kept, not
    counted), stopping early at the end of the game: an opening that both games of a seat-swapped pair
    start from, so that deterministic players still play different games (`league.arena.match_jobs`)."""
    state, actions, made = game.new_initial_state(), [], 0
    while made < moves and not state.is_terminal():
        mover = state.current_player()
        if mover == _CHANCE:
            action = sample_chance(state, rng)
            state.apply_action(action)
            actions.append(action)
            continue
        if mover == SIMULTANEOUS:
            joint = [int(rng.choice(state.legal_actions(p))) for p in range(game.num_players())]
            state.apply_actions(joint)
            actions += joint
        else:
            action = int(rng.choice(state.legal_actions()))
            state.apply_action(action)
            actions.append(action)
        made += 1
    return actions


def apply_opening(state: Any, opening: Sequence[int], told: Callable[[int | None], None]) -> list[int]:
    """Apply an opening (`random_opening`'s actions) to the initial `state`, calling `told(action)` after
    each action (None after a joint one) so that the players observe it; returns the actions as
    recorded."""
    done, k = [], 0
    while k < len(opening):
        if state.current_player() == SIMULTANEOUS:
            n = state.get_game().num_players()
            joint = [int(a) for a in opening[k : k + n]]
            state.apply_actions(joint)
            done += joint
            k += n
            told(None)
        else:
            action = int(opening[k])
            state.apply_action(action)
            done.append(action)
            k += 1
            told(action)
    return done


def play_game(game: Any, players: Sequence[Player], seed: int, on_move: Callable | None = None,
              opening: Sequence[int] = ()) -> GameRecord:
    """Play one game, `players[i]` in seat i; each player gets a clone of the state to act on, and after
    every action applied (its own, its opponents', chance's) each player that has `observe` is told
    (`inform`). At a simultaneous node all players act (`joint_action`), the joint action is applied and
    recorded as one action per seat, and observers are told None (each reads its own information).
    `on_move(state, action)` sees each action before it is applied (a joint action as a list). The game
    starts from `opening` (actions applied first, observed and recorded, `random_opening`)."""
    rng = np.random.default_rng(seed)
    for seat, player in enumerate(players):
        player.reset(game, seat, seed + 7919 * (seat + 1))
    watchers, perfect = observers(players), perfect_information(game)
    state = game.new_initial_state()
    record = GameRecord()
    record.actions += apply_opening(state, opening, lambda action: inform(watchers, state, action, perfect))
    while not state.is_terminal():
        mover = state.current_player()  # one call where is_chance_node() and is_simultaneous_node() made two
        if mover == _CHANCE:
            action = sample_chance(state, rng)
        elif mover == SIMULTANEOUS:
            joint = joint_action(state, players)
            if on_move is not None:
                on_move(state, joint)
            state.apply_actions(joint)
            record.actions.extend(joint)
            inform(watchers, state, None, False)
            continue
        else:
            legal = state.legal_actions()  # before the clone: a game that caches them passes them on to it
            action = int(players[mover].act(state.clone()))
            if action not in legal:
                raise ValueError(f"player {mover} chose illegal action {action}")
        if on_move is not None:
            on_move(state, action)
        state.apply_action(action)
        record.actions.append(action)
        inform(watchers, state, action, perfect)
    record.returns = [float(r) for r in state.returns()]
    return record


class OpponentEnv(gymnasium.Env):
    """A game as a single-agent env: the learner sits in one seat, `opponent` in the others.

    The learner's seat alternates between episodes (seat = episode index mod players) unless `seat` is given.
    Observations are `encode(state, seat)`; `info["action_mask"]` marks the legal actions; the reward is
    the learner's reward for the move and what followed it up to its next turn. At a simultaneous node the
    opponent acts for the other seat on its own clone and the joint action is applied (two-player games:
    one opponent object plays all the other seats, and knows only the last seat it was reset for).
    """

    def __init__(self, game: Any, opponent: Player | None = None, seat: int | None = None, seed: int = 0):
        self.game = game
        self.opponent = opponent if opponent is not None else RandomPlayer(seed)
        self.fixed_seat = seat
        self.encoder = encoder_for(game)
        self.num_actions = game.num_distinct_actions()
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, self.encoder.shape, np.float32)
        self.action_space = gymnasium.spaces.Discrete(self.num_actions)
        self.rng = np.random.default_rng(seed)
        self.episodes = 0
        self.seat = 0
        self.state: Any = None
        self.watchers, self.perfect = observers([self.opponent]), perfect_information(game)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        n = self.game.num_players()
        self.seat = self.fixed_seat if self.fixed_seat is not None else self.episodes % n
        self.episodes += 1
        episode_seed = int(self.rng.integers(2**31))
        for p in range(n):
            if p != self.seat:
                self.opponent.reset(self.game, p, episode_seed + p)
        self.state = self.game.new_initial_state()
        reward = self._advance()
        return self._observation(), {"action_mask": self._mask(), "seat": self.seat, "pre_reward": reward}

    def step(self, action: int):
        if not self.state.is_terminal() and action not in self.state.legal_actions(self.seat):
            raise ValueError(f"illegal action {action}")
        if self.state.is_simultaneous_node():  # the opponent chooses for its seat(s) without seeing ours
            joint = [int(action) if p == self.seat else int(self.opponent.act(self.state.clone()))
                     for p in range(self.game.num_players())]
            self.state.apply_actions(joint)
            inform(self.watchers, self.state, None, False)
        else:
            self.state.apply_action(int(action))
            inform(self.watchers, self.state, int(action), self.perfect)
        reward = float(self.state.rewards()[self.seat]) + self._advance()
        terminated = self.state.is_terminal()
        info = {"action_mask": self._mask(), "seat": self.seat}
        if terminated:
            info["returns"] = self.state.returns()
        return self._observation(), reward, terminated, False, info

    def _advance(self) -> float:
        """Play chance and opponent moves until the learner is to move or the game ends."""
        reward = 0.0
        while not self.state.is_terminal() and self.state.current_player() not in (self.seat, SIMULTANEOUS):
            if self.state.is_chance_node():
                action = sample_chance(self.state, self.rng)
            else:
                action = self.opponent.act(self.state.clone())
            self.state.apply_action(int(action))
            inform(self.watchers, self.state, int(action), self.perfect)
            reward += float(self.state.rewards()[self.seat])
        return reward

    def _observation(self) -> np.ndarray:
        return self.encoder(self.state, self.seat)

    def _mask(self) -> np.ndarray:
        if self.state.is_terminal():
            return np.ones(self.num_actions, dtype=bool)
        return legal_mask(self.state, self.num_actions, self.seat)
