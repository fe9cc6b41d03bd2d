"""Simultaneous-move games: each player acts for its own seat, then the joint action is applied."""

from __future__ import annotations

import io

import numpy as np
import pyspiel
import pytest

from agents.players import make_player
from envs.errors import UsageError
from envs.turn_based import OpponentEnv, RandomPlayer, acting_seat, play_game, replay
from league.human import HumanPlayer, play_in_terminal
from league.tournament import round_robin

GOOFSPIEL = "goofspiel(num_cards=4,imp_info=True)"


class Fixed:
    """Plays the legal action at `rank` in its seat's sorted legal actions (-1: the highest card)."""

    def __init__(self, rank: int) -> None:
        self.rank, self.seat = rank, 0
        self.told: list = []

    def reset(self, game, player_id: int, seed: int) -> None:
        self.seat, self.told = player_id, []

    def observe(self, state, action) -> None:
        self.told.append((action, len(state.history())))

    def act(self, state) -> int:
        return sorted(state.legal_actions(acting_seat(state, self.seat)))[self.rank]


def first(game) -> Fixed:
    """Plug-in factory: always the first legal action (rock in matrix_rps)."""
    return Fixed(0)


def test_goofspiel_plays_to_the_end_with_the_returns_of_its_rounds():
    game = pyspiel.load_game(GOOFSPIEL)
    high, low = Fixed(-1), Fixed(0)  # bids 4, 3, 2, 1 against 1, 2, 3, 4: high takes rounds 1 and 2
    record = play_game(game, [high, low], seed=11)
    state = replay(game, record.actions)
    assert state.is_terminal() and record.returns == list(state.returns())
    assert state.history() == record.actions
    # recompute the winner from the point cards the chance nodes turned up, in the order they came
    points, k, cards, lengths = [0, 0], 0, [], []
    check = game.new_initial_state()
    while not check.is_terminal():
        if check.is_chance_node():
            cards.append(record.actions[k] + 1)
            check.apply_action(record.actions[k])
            k += 1
        else:
            check.apply_actions(record.actions[k : k + 2])
            k += 2
        lengths.append(len(check.history()))
    if len(cards) < 4:  # the last point card is dealt without a chance node
        cards.append(10 - sum(cards))
    points[0], points[1] = cards[0] + cards[1], cards[2] + cards[3]
    expected = 0.0 if points[0] == points[1] else float(np.sign(points[0] - points[1]))
    assert record.returns == [expected, -expected]
    # both were told None after each joint action and each chance outcome, once each, in order
    for player in (high, low):
        assert player.told == [(None, n) for n in lengths]


def test_matrix_games_pay_by_their_matrix():
    rps, brps = pyspiel.load_game("matrix_rps"), pyspiel.load_game("matrix_brps")
    assert play_game(rps, [Fixed(0), Fixed(1)], seed=0).returns == [-1.0, 1.0]  # rock against paper
    assert play_game(brps, [Fixed(0), Fixed(2)], seed=0).returns == [50.0, -50.0]  # rock beats scissors
    counts = np.zeros(3)
    for seed in range(60):
        counts[play_game(rps, [RandomPlayer(), Fixed(0)], seed=seed).actions[0]] += 1
    assert counts.min() > 5  # the random player draws from its own seat's actions


def test_a_learner_meets_its_opponent_at_a_simultaneous_node():
    env = OpponentEnv(pyspiel.load_game("matrix_rps"), Fixed(0), seat=1, seed=0)
    _, info = env.reset()
    assert info["action_mask"].tolist() == [True, True, True]
    _, reward, terminated, _, info = env.step(1)  # paper against rock
    assert terminated and reward == 1.0 and info["returns"] == [-1.0, 1.0]


def test_tournament_and_play_on_a_simultaneous_game():
    result = round_robin("matrix_rps", ["random", "tests.test_simultaneous:first"], 20,
                         make_player=make_player, seed=0)
    assert len(result.games) == 20 and all(len(g["actions"]) == 2 for g in result.games)
    rock_seats = [g["players"].index("tests.test_simultaneous:first") for g in result.games]
    assert all(g["actions"][s] == 0 for g, s in zip(result.games, rock_seats, strict=True))
    out = io.StringIO()
    human = HumanPlayer(stdin=io.StringIO("Paper\n"), stdout=out)
    rps = pyspiel.load_game("matrix_rps")
    returns = play_in_terminal(rps, [Fixed(0), human], ["rock", "you"], stdout=out)
    assert returns == [-1.0, 1.0]
    assert "player 1 (you) plays Paper" in out.getvalue()


def test_search_players_refuse_simultaneous_games_in_one_line():
    for name in ("mcts:10", "alphabeta:2"):
        with pytest.raises(UsageError, match="simultaneous"):
            make_player(name, pyspiel.load_game("matrix_rps"))
