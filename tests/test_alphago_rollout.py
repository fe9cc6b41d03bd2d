"""The fast rollout policy (search/rollout_policy.py): the compiled Go kernel against its readable twin,
the kernel's rules against OpenSpiel's, and batched rollouts against one-at-a-time ones."""

from __future__ import annotations

import numpy as np
import pyspiel
import pytest

from search import go_rollout_kernel as kernel
from search.go_rollout_reference import Board, features_reference, rollout_reference
from search.rollout_policy import RolloutPolicy

GO9 = "go(board_size=9,komi=7.5)"


def _random_states(game: pyspiel.Game, count: int, seed: int, most: int = 70) -> list:
    rng = np.random.default_rng(seed)
    states = []
    while len(states) < count:
        state = game.new_initial_state()
        for _ in range(int(rng.integers(0, most))):
            legal = state.legal_actions()
            state.apply_action(int(legal[rng.integers(len(legal))]))
            if state.is_terminal():
                break
        if not state.is_terminal():
            states.append(state)
    return states


@pytest.fixture(scope="module")
def go_policy() -> RolloutPolicy:
    game = pyspiel.load_game(GO9)
    weights = np.random.default_rng(0).normal(0.0, 0.5, kernel.NUM_FEATURES)
    return RolloutPolicy(game, weights)


def test_kernel_features_and_rollouts_equal_the_twin(go_policy: RolloutPolicy) -> None:
    states = _random_states(go_policy.game, 6, seed=1)
    inputs = go_policy.inputs(states)
    features = go_policy.features(inputs)
    seeds = np.arange(100, 100 + len(states), dtype=np.uint64)
    outcomes, lengths = go_policy.rollout_go(inputs, seeds)
    for b in range(len(states)):
        args = (inputs["stones"][b], int(inputs["colour"][b]), int(inputs["last"][b]),
                int(inputs["previous"][b]))
        assert np.array_equal(features_reference(*args, go_policy.tables), features[b])
        outcome, length = rollout_reference(*args, int(inputs["passed"][b]), int(inputs["move"][b]),
                                            ~inputs["mask"][b, :81], int(seeds[b]), go_policy.weights, 162,
                                            7.5, go_policy.tables)
        assert (outcome, length) == (outcomes[b], lengths[b])
    assert set(outcomes.tolist()) == {-1.0, 1.0}  # both results happen


def test_batched_rollouts_equal_one_at_a_time(go_policy: RolloutPolicy) -> None:
    states = _random_states(go_policy.game, 8, seed=2)
    together = go_policy.rollout(states, list(range(8)))
    alone = [go_policy.rollout([s], [k])[0] for k, s in enumerate(states)]
    assert together.tolist() == alone
    c4 = pyspiel.load_game("connect_four")
    shape = RolloutPolicy(c4).weights.shape
    board = RolloutPolicy(c4, np.random.default_rng(3).normal(size=shape))
    states = _random_states(c4, 6, seed=3, most=10)
    together = board.rollout(states, list(range(6)))
    assert together.tolist() == [board.rollout([s], [k])[0] for k, s in enumerate(states)]


def test_kernel_rules_agree_with_openspiel(go_policy: RolloutPolicy) -> None:
    """Moves the features call legal are OpenSpiel's legal moves (superko aside: it only removes moves),
    captures match, and the score of a finished game gives OpenSpiel's winner."""
    game = go_policy.game
    rng = np.random.default_rng(4)
    for state in _random_states(game, 10, seed=5, most=120):
        inputs = go_policy.inputs([state])
        features = go_policy.features(inputs)[0]
        ours = set(np.flatnonzero(features[:81, 0] >= 0).tolist())
        assert set(a for a in state.legal_actions() if a < 81) <= ours
        legal = [a for a in state.legal_actions() if a < 81]
        move = int(legal[rng.integers(len(legal))])
        board = Board(inputs["stones"][0], go_policy.tables)
        board.play(move, int(inputs["colour"][0]))
        after = go_policy.inputs([state.child(move)])["stones"][0]
        assert board.stones == after.tolist()
    for seed in range(3):
        state = _random_states(game, 1, seed=10 + seed, most=1)[0]
        rng = np.random.default_rng(seed)
        while not state.is_terminal():
            legal = state.legal_actions()
            state.apply_action(int(legal[rng.integers(len(legal))]))
        black = np.sign(Board(_stones(state), go_policy.tables).score(7.5))
        assert black == np.sign(state.returns()[0])


def _stones(state: pyspiel.State) -> np.ndarray:
    """The stones of a (finished) Go state from its observation planes."""
    planes = np.asarray(state.observation_tensor(0)).reshape(4, 81)
    return (planes[0] > 0).astype(np.int8) + 2 * (planes[1] > 0).astype(np.int8)


def test_fit_learns_a_preferred_move() -> None:
    """A few Adam steps on a position whose label is the capture of a corner stone: the policy learns it
    (before, all weights 0, it plays the first legal move)."""
    import torch

    game = pyspiel.load_game(GO9)
    policy = RolloutPolicy(game)
    state = game.new_initial_state()
    for action in (0, 1, 80):  # Black A1, White B1, Black J9: White's C... A2 (9) takes A1
        state.apply_action(action)
    inputs = policy.inputs([state] * 4)
    actions = np.full(4, 9)
    weights = torch.nn.Parameter(torch.from_numpy(policy.weights.copy()))
    optimizer = torch.optim.Adam([weights], lr=0.1)
    before = policy.accuracy(inputs, actions)
    for _ in range(30):
        policy.fit_step(inputs, actions, weights, optimizer)
    assert before < 1.0 and policy.accuracy(inputs, actions) == 1.0
    assert RolloutPolicy.from_state(game, policy.state()).accuracy(inputs, actions) == 1.0
