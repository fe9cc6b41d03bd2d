"""Our backgammon as an OpenSpiel game (envs/backgammon/game.py): what its cheap clone keeps and shares, the
Python-side legal_actions against OpenSpiel's own, serialization, and the arena's games on it pinned."""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pyspiel
import pytest

import envs
from agents.players import make_player
from envs.backgammon import engine as E
from envs.turn_based import RandomPlayer, sample_chance
from league.arena import play_match

ROOT = Path(__file__).resolve().parent.parent


def random_states(games: int, seed: int):
    """Every state of `games` uniformly random games, in order."""
    game = envs.make("backgammon")
    rng = np.random.default_rng(seed)
    for _ in range(games):
        state = game.new_initial_state()
        while True:
            yield state
            if state.is_terminal():
                break
            if state.is_chance_node():
                action = sample_chance(state, rng)
            else:
                action = int(rng.integers(len(state.legal_actions())))
            state = state.child(action)


def test_clone_shares_the_read_only_position_and_keeps_the_history():
    game = envs.make("backgammon")
    state = game.new_initial_state()
    state.apply_action(6 * 4 + 1)  # opening: 5 against 2
    clone = state.clone()
    assert clone.history() == state.history() and clone.move_number() == state.move_number()
    assert (clone.side, clone.dice, clone.opening, clone.result) == (state.side, state.dice, False, 0)
    assert clone.board is state.board and not state.board.flags.writeable
    with pytest.raises(ValueError):
        clone.board[0, 5] -= 1  # read-only: a player cannot change the position it was handed
    positions = clone.legal_positions()  # computed on the clone, seen by the original
    assert state.legal_positions() is positions and not positions.flags.writeable
    child = state.child(3)
    assert np.array_equal(child.board, E.flip(positions[3])) and child.history() == state.history() + [3]
    assert not child.board.flags.writeable and child.legal_positions() is not positions
    assert state.dice == (5, 2) and state.legal_positions() is positions and clone.dice == (5, 2)
    assert copy.deepcopy(state._position) is state._position


def test_setting_the_board_or_dice_makes_a_new_position():
    game = envs.make("backgammon")
    state = game.new_initial_state()
    state.apply_action(6 * 4 + 1)
    clone = state.clone()
    before = state.legal_positions()
    state.dice = (6, 6)
    assert np.array_equal(state.legal_positions(), E.legal_positions(E.initial_board(), (6, 6)))
    board = E.initial_board()
    board[0, [23, 12]] = [0, 7]
    state.board = board
    board[0, 0] = 9  # the state keeps a copy
    assert state.board[0, 0] == 0 and not state.board.flags.writeable
    board[0, 0] = 0
    assert np.array_equal(state.legal_positions(), E.legal_positions(board, (6, 6)))
    assert clone.dice == (5, 2) and clone.legal_positions() is before  # the clone is untouched
    assert np.array_equal(clone.board, E.initial_board())


def test_legal_actions_match_openspiels_for_every_player():
    count = 0
    for state in random_states(3, seed=4):
        count += 1
        assert state.legal_actions() == pyspiel.State.legal_actions(state)
        for player in (0, 1):
            assert state.legal_actions(player) == pyspiel.State.legal_actions(state, player)
        if state.is_chance_node():
            assert state.legal_actions() == [a for a, _ in state.chance_outcomes()]
    assert count > 200


def test_serialize_and_pickle_round_trip():
    game = envs.make("backgammon")
    for k, state in enumerate(random_states(1, seed=9)):
        if k % 7:
            continue
        for copy_of in (game.deserialize_state(state.serialize()), pickle.loads(pickle.dumps(state))):
            assert copy_of.history() == state.history() and str(copy_of) == str(state)
            assert np.array_equal(copy_of.board, state.board) and copy_of.dice == state.dice
            assert copy_of.legal_actions() == state.legal_actions()


def fingerprint(result) -> tuple[str, int, int, float, int]:
    actions = [g["actions"] for g in result.games]
    digest = hashlib.sha256(json.dumps(actions).encode()).hexdigest()[:16]
    return digest, result.wins, result.losses, result.points, sum(map(len, actions))


def test_arena_games_are_the_ones_played_before_the_fast_paths():
    """The same seeds give the same games as before the cached chance cdf, the one-object state and the
    Python-side legal_actions (fingerprints recorded on the code before them)."""
    game = envs.make("backgammon")
    td = play_match(game, [str(ROOT / "models/td_gammon_198x40.pt"), "pubeval"], games=20, seed=3,
                    make_player=make_player)
    assert fingerprint(td) == ("0404634ff82877bc", 12, 8, 1.0, 2298)
    randoms = play_match(game, [RandomPlayer(1), RandomPlayer(2)], games=10, seed=11)
    assert fingerprint(randoms) == ("f4a27c782d16d9f5", 5, 5, -4.0, 1894)
