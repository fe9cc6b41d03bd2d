"""Players that follow the game: `observe(state, action)` after every action applied, by anyone."""

from __future__ import annotations

import io

import numpy as np
import pyspiel

import envs
from envs.turn_based import OpponentEnv, RandomPlayer, play_game
from league.human import play_in_terminal


class Recorder(RandomPlayer):
    """A random player that keeps every `observe` call: (action told, history length, what it may know)."""

    def reset(self, game, player_id: int, seed: int) -> None:
        super().reset(game, player_id, seed)
        self.player_id, self.calls = player_id, []

    def observe(self, state, action) -> None:
        known = None
        if state.get_game().get_type().information != pyspiel.GameType.Information.PERFECT_INFORMATION:
            known = list(state.information_state_tensor(self.player_id))
        self.calls.append((action, len(state.history()), known))


def test_every_player_sees_every_action_in_order_chance_included():
    game = envs.make("backgammon")  # chance (dice) and two movers
    players = [Recorder(1), Recorder(2)]
    record = play_game(game, players, seed=3)
    assert game.new_initial_state().is_chance_node()
    for player in players:
        assert [call[0] for call in player.calls] == record.actions
        assert [call[1] for call in player.calls] == list(range(1, len(record.actions) + 1))


def test_imperfect_information_tells_no_action_and_no_private_card():
    game = pyspiel.load_game("kuhn_poker")
    players = [Recorder(1), Recorder(2)]
    record = play_game(game, players, seed=5)
    for seat, player in enumerate(players):
        assert len(player.calls) == len(record.actions)
        assert all(action is None for action, _, _ in player.calls)
        # what it knew after the deal equals its own information state, whatever the opponent's card
        state = game.new_initial_state()
        state.apply_action(record.actions[0])
        state.apply_action(record.actions[1])
        other = game.new_initial_state()
        other.apply_action(record.actions[0] if seat == 0 else 3 - record.actions[0] - record.actions[1])
        other.apply_action(3 - record.actions[0] - record.actions[1] if seat == 0 else record.actions[1])
        assert player.calls[1][2] == list(state.information_state_tensor(seat))
        assert player.calls[1][2] == list(other.information_state_tensor(seat))


def test_the_opponent_of_a_learner_and_the_players_of_play_follow_the_game():
    game = envs.make("tic_tac_toe")
    opponent = Recorder(0)
    env = OpponentEnv(game, opponent, seat=0, seed=1)
    obs, info = env.reset(seed=1)
    done, taken = False, []
    rng = np.random.default_rng(0)
    while not done:
        action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        obs, _, done, _, info = env.step(action)
        taken.append(action)
    told = [call[0] for call in opponent.calls]
    assert told[0::2] == taken and len(told) == len(env.state.history())
    assert told == list(env.state.history())

    players = [Recorder(3), Recorder(4)]
    play_in_terminal(game, players, ["a", "b"], seed=2, stdout=io.StringIO())
    assert [call[0] for call in players[0].calls] == [call[0] for call in players[1].calls]
    assert len(players[0].calls) >= 5
