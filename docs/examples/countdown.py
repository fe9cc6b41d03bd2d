"""A worked plug-in game: Countdown. Players take turns adding 1, 2 or 3 to a running total starting at 0;
whoever brings the total to exactly 21 wins. (The first player wins with perfect play: move to 1, then
always make the total 1 more than a multiple of 4.)

Use it from the repository root:  python run.py train q --env docs.examples.countdown:make_game
"""

from __future__ import annotations

import numpy as np
import pyspiel

TARGET = 21
STEPS = (1, 2, 3)

GAME_TYPE = pyspiel.GameType(
    short_name="countdown_21",
    long_name="Countdown to 21",
    dynamics=pyspiel.GameType.Dynamics.SEQUENTIAL,
    chance_mode=pyspiel.GameType.ChanceMode.DETERMINISTIC,
    information=pyspiel.GameType.Information.PERFECT_INFORMATION,
    utility=pyspiel.GameType.Utility.ZERO_SUM,
    reward_model=pyspiel.GameType.RewardModel.TERMINAL,
    max_num_players=2,
    min_num_players=2,
    provides_information_state_string=True,
    provides_information_state_tensor=False,
    provides_observation_string=True,
    provides_observation_tensor=True,
    parameter_specification={},
)
GAME_INFO = pyspiel.GameInfo(
    num_distinct_actions=len(STEPS),
    max_chance_outcomes=0,
    num_players=2,
    min_utility=-1.0,
    max_utility=1.0,
    utility_sum=0.0,
    max_game_length=TARGET,
)


class CountdownGame(pyspiel.Game):
    def __init__(self, params=None):
        super().__init__(GAME_TYPE, GAME_INFO, params or {})

    def new_initial_state(self):
        return CountdownState(self)

    def make_py_observer(self, iig_obs_type=None, params=None):
        return TotalObserver()


class CountdownState(pyspiel.State):
    def __init__(self, game):
        super().__init__(game)
        self.total = 0
        self.player = 0
        self.winner: int | None = None

    def current_player(self):
        return pyspiel.PlayerId.TERMINAL if self.winner is not None else self.player

    def _legal_actions(self, player):
        return [a for a, step in enumerate(STEPS) if self.total + step <= TARGET]

    def _apply_action(self, action):
        self.total += STEPS[action]
        if self.total == TARGET:
            self.winner = self.player
        self.player = 1 - self.player

    def _action_to_string(self, player, action):
        return f"+{STEPS[action]}"

    def is_terminal(self):
        return self.winner is not None

    def returns(self):
        if self.winner is None:
            return [0.0, 0.0]
        return [1.0, -1.0] if self.winner == 0 else [-1.0, 1.0]

    def __str__(self):
        return f"total {self.total} of {TARGET}"


class TotalObserver:
    """The observation: the running total, one-hot (the same for both players: the game is public)."""

    def __init__(self):
        self.tensor = np.zeros(TARGET + 1, np.float32)
        self.dict = {"total": self.tensor}

    def set_from(self, state, player):
        self.tensor.fill(0.0)
        self.tensor[state.total] = 1.0

    def string_from(self, state, player):
        return str(state.total)


pyspiel.register_game(GAME_TYPE, CountdownGame)


def make_game() -> pyspiel.Game:
    """The plug-in factory: `--env docs.examples.countdown:make_game`."""
    return pyspiel.load_game("countdown_21")
