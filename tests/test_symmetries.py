"""Symmetry augmentation maps observations and moves together: replaying the transformed moves from the
start gives the transformed observation and the transformed legal moves, for each registered game."""

import numpy as np
import pyspiel
import pytest

from envs import symmetries
from envs.encoding import encoder_for
from envs.symmetries import symmetries_for


def replay_and_compare(game: pyspiel.Game, names: set[str], seed: int, plies: int) -> int:
    """Plays random games; for each symmetry in `names`, replays the mapped moves alongside and checks
    every position. Returns the number of positions checked."""
    encoder = encoder_for(game)
    symmetries = [s for s in symmetries_for(game, encoder.shape) if s.name in names]
    assert {s.name for s in symmetries} == names
    rng = np.random.default_rng(seed)
    checked = 0
    for _ in range(plies):
        state = game.new_initial_state()
        mirrored = [game.new_initial_state() for _ in symmetries]
        while not state.is_terminal():
            obs = encoder(state, state.current_player())[None]
            mask = np.zeros((1, game.num_distinct_actions()), dtype=bool)
            mask[0, state.legal_actions()] = True
            for symmetry, other in zip(symmetries, mirrored, strict=True):
                assert other.current_player() == state.current_player()
                want_obs, want_mask = symmetry.apply(obs, mask)
                assert np.array_equal(encoder(other, other.current_player()), want_obs[0]), symmetry.name
                other_mask = np.zeros(game.num_distinct_actions(), dtype=bool)
                other_mask[other.legal_actions()] = True
                assert np.array_equal(other_mask, want_mask[0]), symmetry.name
                checked += 1
            action = int(rng.choice(state.legal_actions()))
            state.apply_action(action)
            for symmetry, other in zip(symmetries, mirrored, strict=True):
                other.apply_action(symmetry.map_action(action))
        for other in mirrored:
            assert other.is_terminal() and other.returns() == state.returns()
    return checked


DIHEDRAL = set(symmetries.DIHEDRAL)


@pytest.mark.parametrize(
    "name, names",
    [
        ("tic_tac_toe", DIHEDRAL),
        ("connect_four", {"identity", "mirror"}),
        ("go(board_size=5,komi=0.5)", DIHEDRAL),
        # Othello's start is kept only by these four; the other four are checked as permutations below.
        ("othello", {"identity", "half_turn", "transpose", "anti_transpose"}),
        ("hex(board_size=5)", {"identity", "half_turn"}),
    ],
)
def test_symmetry_maps_positions_and_moves(name, names):
    game = pyspiel.load_game(name)
    assert replay_and_compare(game, names, seed=1, plies=6) > 50


def test_registry_sizes_and_permutations():
    sizes = {"tic_tac_toe": 8, "connect_four": 2, "go(board_size=9)": 8, "othello": 8, "hex": 2}
    for name, size in sizes.items():
        game = pyspiel.load_game(name)
        shape = encoder_for(game).shape
        symmetries = symmetries_for(game, shape)
        assert len(symmetries) == size and symmetries[0].name == "identity"
        for symmetry in symmetries:
            assert sorted(symmetry.obs_index) == list(range(int(np.prod(shape))))
            assert sorted(symmetry.action_index) == list(range(game.num_distinct_actions()))
        # A group: distinct maps, closed under composition.
        maps = {tuple(s.obs_index) for s in symmetries}
        assert len(maps) == size
        for a in symmetries:
            for b in symmetries:
                assert tuple(a.obs_index[b.obs_index]) in maps


def test_unregistered_game_gets_identity_only():
    game = pyspiel.load_game("breakthrough")
    (only,) = symmetries_for(game, encoder_for(game).shape)
    obs = np.random.default_rng(0).random((2, *encoder_for(game).shape)).astype(np.float32)
    policy = np.random.default_rng(1).random((2, game.num_distinct_actions()))
    new_obs, new_policy = only.apply(obs, policy)
    assert np.array_equal(new_obs, obs) and np.array_equal(new_policy, policy)
