"""search/: alpha-beta and expectiminimax against exhaustive search, MCTS tactics, PUCT, batched PUCT."""

from __future__ import annotations

import random
import zlib

import numpy as np
import open_spiel.python.games  # noqa: F401  (registers python_tic_tac_toe)
import pyspiel
import pytest

from search.alphabeta import AlphaBetaPlayer, position_key, search, solve_exhaustively
from search.evaluators import RandomRolloutEvaluator, UniformEvaluator
from search.mcts import MCTSPlayer, uct_search
from search.puct import VECTORISED_MIN_TREES, BatchedPUCT, PUCTConfig, PUCTPlayer
from search.tree import Node, policy_from_counts, sample_action

# ---------------------------------------------------------------------------------------------------------
# A tiny Python game with chance in which player 1 moves first: dice nim.
# A pile of stones; the mover takes 1 or 2; then, if stones are left, the wind blows one away with
# probability 1/3. Whoever empties the pile (the wind counts for the player who just moved) wins.

_DICE_NIM_TYPE = pyspiel.GameType(
    short_name="palaestra_test_dice_nim",
    long_name="Dice nim (palaestra test game)",
    dynamics=pyspiel.GameType.Dynamics.SEQUENTIAL,
    chance_mode=pyspiel.GameType.ChanceMode.EXPLICIT_STOCHASTIC,
    information=pyspiel.GameType.Information.PERFECT_INFORMATION,
    utility=pyspiel.GameType.Utility.ZERO_SUM,
    reward_model=pyspiel.GameType.RewardModel.TERMINAL,
    max_num_players=2,
    min_num_players=2,
    provides_information_state_string=False,
    provides_information_state_tensor=False,
    provides_observation_string=False,
    provides_observation_tensor=False,
    parameter_specification={"stones": 7},
)


class DiceNimGame(pyspiel.Game):
    def __init__(self, params=None):
        params = params or {}
        self.stones = int(params.get("stones", 7))
        info = pyspiel.GameInfo(
            num_distinct_actions=2,
            max_chance_outcomes=2,
            num_players=2,
            min_utility=-1.0,
            max_utility=1.0,
            utility_sum=0.0,
            max_game_length=2 * self.stones,
        )
        super().__init__(_DICE_NIM_TYPE, info, params)

    def new_initial_state(self):
        return DiceNimState(self)


class DiceNimState(pyspiel.State):
    def __init__(self, game):
        super().__init__(game)
        self.pile = game.stones
        self.next_player = 1  # player 1 moves first
        self.wind_pending = False
        self.winner = None

    def current_player(self):
        if self.winner is not None:
            return pyspiel.PlayerId.TERMINAL
        if self.wind_pending:
            return pyspiel.PlayerId.CHANCE
        return self.next_player

    def _legal_actions(self, player):
        return [0, 1] if self.pile >= 2 else [0]

    def chance_outcomes(self):
        return [(0, 2.0 / 3.0), (1, 1.0 / 3.0)]

    def _apply_action(self, action):
        if self.wind_pending:
            self.wind_pending = False
            self.pile -= action
            if self.pile == 0:
                self.winner = 1 - self.next_player  # the player who moved last
            return
        self.pile -= action + 1
        if self.pile == 0:
            self.winner = self.next_player
            return
        self.next_player = 1 - self.next_player
        self.wind_pending = True

    def _action_to_string(self, player, action):
        return f"wind:{action}" if player == pyspiel.PlayerId.CHANCE else f"take{action + 1}"

    def is_terminal(self):
        return self.winner is not None

    def returns(self):
        if self.winner is None:
            return [0.0, 0.0]
        return [1.0, -1.0] if self.winner == 0 else [-1.0, 1.0]

    def __str__(self):
        return f"pile={self.pile} next={self.next_player} wind={int(self.wind_pending)} winner={self.winner}"


pyspiel.register_game(_DICE_NIM_TYPE, DiceNimGame)


def reachable(game: pyspiel.Game) -> dict:
    """Every reachable non-terminal decision position, by position key."""
    seen: dict = {}
    stack = [game.new_initial_state()]
    visited = set()
    while stack:
        state = stack.pop()
        k = position_key(state)
        if state.is_terminal() or k in visited:
            continue
        visited.add(k)
        if state.is_chance_node():
            stack.extend(state.child(a) for a, _ in state.chance_outcomes())
            continue
        seen[k] = state
        stack.extend(state.child(a) for a in state.legal_actions())
    return seen


def play(game_name: str, actions: list[int]) -> pyspiel.State:
    state = pyspiel.load_game(game_name).new_initial_state()
    for a in actions:
        state.apply_action(a)
    return state


@pytest.fixture(scope="module")
def ttt() -> pyspiel.Game:
    return pyspiel.load_game("tic_tac_toe")


@pytest.fixture(scope="module")
def ttt_solved(ttt):
    return solve_exhaustively(ttt)


# ---------------------------------------------------------------------------------------------------------
# alpha-beta


def test_alphabeta_solves_tic_tac_toe_from_empty_board(ttt, ttt_solved):
    value, best, stats = search(ttt.new_initial_state(), 9)
    assert value == 0.0
    assert set(best) == set(range(9)) == ttt_solved[position_key(ttt.new_initial_state())].best_actions
    assert stats.exhaustive


def test_alphabeta_matches_exhaustive_solver_at_every_position(ttt, ttt_solved):
    positions = reachable(ttt)
    assert len(positions) == len(ttt_solved) == 4520
    for k, state in positions.items():
        value, best, _ = search(state, 9)
        assert set(best) == ttt_solved[k].best_actions, str(state)
        assert value == pytest.approx(ttt_solved[k].value, abs=1e-12)


def test_transposition_table_saves_nodes(ttt):
    _, _, with_tt = search(ttt.new_initial_state(), 9, use_tt=True)
    _, _, without_tt = search(ttt.new_initial_state(), 9, use_tt=False)
    print(f"tic-tac-toe from the empty board: {with_tt.nodes} nodes with TT, {without_tt.nodes} without")
    assert with_tt.tt_hits > 0
    assert with_tt.nodes * 5 < without_tt.nodes


def test_alphabeta_prefers_faster_wins_and_slower_losses(ttt_solved):
    # x 0,3 and o 1,2, x to move: 6 wins now; 4, 5, 7 and 8 win later, so only 6 is best.
    state = play("tic_tac_toe", [0, 1, 3, 2])
    value, best, _ = search(state, 9)
    assert best == [6] and value == pytest.approx(0.999)
    undiscounted = solve_exhaustively(state.get_game(), discount=1.0)
    assert undiscounted[position_key(state)].best_actions == {4, 5, 6, 7, 8}
    # x 0,3 and o 1, o to move: every move loses, but blocking at 6 loses latest: a lost game is defended.
    state = play("tic_tac_toe", [0, 1, 3])
    value, best, _ = search(state, 9)
    assert best == [6] and value == pytest.approx(-(0.999**4))


def test_alphabeta_depth_one_is_greedy_on_the_evaluation(ttt):
    def evaluate(state: pyspiel.State, player: int) -> float:
        return 0.1 * state.history()[-1] * (1 if player == 0 else -1)  # x likes high squares

    value, best, stats = search(ttt.new_initial_state(), 1, evaluate)
    assert best == [8] and stats.depth == 1 and not stats.exhaustive
    assert value == pytest.approx(0.999 * 0.8)


def test_expectiminimax_matches_exhaustive_expectimax():
    game = pyspiel.load_game("palaestra_test_dice_nim", {"stones": 9})
    solved = solve_exhaustively(game)
    positions = reachable(game)
    assert positions and len(positions) == len(solved)
    assert game.new_initial_state().current_player() == 1
    distinct_sets = set()
    for k, state in positions.items():
        value, best, stats = search(state, 30)
        assert stats.exhaustive
        assert set(best) == solved[k].best_actions, str(state)
        assert value == pytest.approx(solved[k].value, abs=1e-12)
        distinct_sets.add(frozenset(best))
        _, best_no_tt, _ = search(state, 30, use_tt=False)
        assert best_no_tt == best
    assert len(distinct_sets) > 1  # the test game has real decisions
    # the exact expectimax value of a small position, by hand: 1 stone, mover takes it and wins
    one = next(s for s in positions.values() if s.pile == 1)
    assert search(one, 5)[0] == pytest.approx(0.999)


def test_alphabeta_time_limit_and_rollout_evaluation():
    game = pyspiel.load_game("connect_four")
    state = game.new_initial_state()
    evaluator = RandomRolloutEvaluator(game, num_rollouts=2, seed=1)
    value, best, stats = search(state, 20, evaluator.value, time_limit=0.3)
    assert 1 <= stats.depth < 20 and best and set(best) <= set(state.legal_actions())
    assert -1.0 <= value <= 1.0 and stats.seconds < 2.0


def test_alphabeta_player_is_seeded_and_random_among_best(ttt):
    picks = []
    for seed in range(8):
        player = AlphaBetaPlayer(depth=9, seed=seed)
        player.reset(ttt, 0, seed)
        picks.append(player.act(ttt.new_initial_state()))
    assert len(set(picks)) > 1
    again = AlphaBetaPlayer(depth=9, seed=0)
    again.reset(ttt, 0, 0)
    assert again.act(ttt.new_initial_state()) == picks[0]
    state = play("tic_tac_toe", [0, 4, 8])  # o must not play a corner: edges only
    assert all(AlphaBetaPlayer(9, seed=s).act(state) in (1, 3, 5, 7) for s in range(6))


# ---------------------------------------------------------------------------------------------------------
# UCT

TACTICS = [
    # (game, moves so far, the only good move): win in one, then block the loss in one
    ("tic_tac_toe", [0, 3, 1, 4], 2),  # x 0,1 wins at 2 (o also threatens 5)
    ("tic_tac_toe", [0, 4, 8, 2], 6),  # o 4,2 threaten 6; x has no win
    ("python_tic_tac_toe", [0, 3, 1, 4], 2),  # the same, in OpenSpiel's Python game
    ("connect_four", [3, 0, 3, 0, 3, 1], 3),  # x three high in column 3
    ("connect_four", [0, 3, 0, 3, 6, 3], 3),  # o three high in column 3
]


@pytest.mark.parametrize("game_name,moves,expected", TACTICS)
def test_uct_finds_wins_and_blocks(game_name, moves, expected):
    state = play(game_name, moves)
    for seed in range(3):
        player = MCTSPlayer(simulations=600, seed=seed)
        player.reset(state.get_game(), state.current_player(), seed)
        assert player.act(state.clone()) == expected
    assert player.last_stats.simulations == 600 and player.last_stats.nodes > 0


def test_uct_on_chance_game_where_player_one_moves_first():
    game = pyspiel.load_game("palaestra_test_dice_nim", {"stones": 9})
    solved = solve_exhaustively(game, discount=1.0)
    state = game.new_initial_state()
    assert state.current_player() == 1
    player = MCTSPlayer(simulations=2000, seed=0)
    action = player.act(state)
    assert action in solved[position_key(state)].best_actions
    policy = player.policy(state)
    assert policy.shape == (2,) and policy.sum() == pytest.approx(1.0)


def test_uct_three_players_and_tree_reuse():
    game = pyspiel.load_game("kuhn_poker(players=3)")  # n-player with chance; UCT reads the full state
    state = game.new_initial_state()
    while state.is_chance_node():
        state.apply_action(state.chance_outcomes()[0][0])
    player = MCTSPlayer(simulations=300, seed=0, reuse_tree=True)
    action = player.act(state)
    assert action in state.legal_actions()
    state.apply_action(action)
    root_before = player.root
    child = root_before.children[root_before.actions.index(action)]
    player.act(state)
    assert player.root is child and player.root.N.sum() > 300


def test_uct_breaks_ties_at_random():
    """With a rollout that always draws, every root child ties after one visit each; the next simulation
    takes one of them at random (it took the lowest action every time), and so does the first visit."""
    game = pyspiel.load_game("tic_tac_toe")
    first, tenth = [], []
    for seed in range(40):
        root = Node(game.new_initial_state())
        uct_search(root, 9, 2.0, lambda state: [0.0, 0.0], random.Random(seed))
        assert root.N.tolist() == [1.0] * 9  # each of the nine moves tried once
        uct_search(root, 1, 2.0, lambda state: [0.0, 0.0], random.Random(seed))
        tenth.append(root.actions[int(np.argmax(root.N))])
        assert sorted(root.actions) == list(range(9))
        root = Node(game.new_initial_state())
        uct_search(root, 1, 2.0, lambda state: [0.0, 0.0], random.Random(seed))
        first.append(root.actions[int(np.argmax(root.N))])
    for chosen in (first, tenth):
        assert len(set(chosen)) >= 7 and max(np.bincount(chosen)) <= 12, chosen


# ---------------------------------------------------------------------------------------------------------
# PUCT


def test_puct_with_uniform_prior_picks_minimax_moves(ttt):
    solved = solve_exhaustively(ttt, discount=1.0)
    positions = [s for s in reachable(ttt).values() if 4 <= len(s.legal_actions()) <= 6]
    rng = np.random.default_rng(0)
    interesting = [s for s in positions if len(solved[position_key(s)].best_actions) < len(s.legal_actions())]
    chosen = [interesting[i] for i in rng.choice(len(interesting), size=25, replace=False)]
    player = PUCTPlayer(UniformEvaluator(ttt), PUCTConfig(simulations=800, c_puct=1.0), seed=0)
    for state in chosen:
        player.reset(ttt, state.current_player(), 0)
        assert player.act(state) in solved[position_key(state)].best_actions, str(state)


def test_puct_reads_terminal_values_exactly(ttt):
    state = play("tic_tac_toe", [0, 3, 1, 4])  # x wins at 2
    player = PUCTPlayer(UniformEvaluator(ttt), PUCTConfig(simulations=50), seed=0)
    assert player.act(state) == 2
    root = player.tree.roots[0]
    i = root.actions.index(2)
    assert root.W[i] == root.N[i]  # every visit of the winning move backed up exactly +1


@pytest.mark.parametrize("trees", [1, 3, VECTORISED_MIN_TREES])
def test_puct_breaks_ties_at_random(trees):
    """With uniform priors and values the first simulation on an empty board explores a random move,
    not always action 0, on the one-tree, per-tree and vectorised paths; so does the first simulation
    below a root move. A fixed seed repeats exactly."""
    game = pyspiel.load_game("tic_tac_toe")
    config = PUCTConfig(simulations=1, leaves_per_step=1)
    first, second_level, seen = [], [], []
    for seed in range(40 // trees + 1):
        search_ = BatchedPUCT(game, UniformEvaluator(game), config, seed=seed)
        counts = search_.search([game.new_initial_state() for _ in range(trees)], add_noise=False)
        first += np.argmax(counts, axis=1).tolist()
        seen.append(counts)
        # 10 simulations: each root move once, then a second visit to one of them and its first child
        search_.search([game.new_initial_state() for _ in range(trees)], add_noise=False, simulations=10)
        for root in search_.roots:
            again = int(np.argmax(root.N))
            assert root.N[again] == 2
            child = root.children[again]
            assert sorted(child.actions) == child.state.legal_actions()
            second_level.append(child.actions[int(np.argmax(child.N))])
    for chosen in (first, second_level):
        assert len(set(chosen)) >= 7 and max(np.bincount(chosen)) <= 12, chosen
    again = BatchedPUCT(game, UniformEvaluator(game), config, seed=0)
    assert np.array_equal(again.search([game.new_initial_state() for _ in range(trees)], False), seen[0])


def test_batched_puct_calls_evaluator_once_per_step():
    game = pyspiel.load_game("connect_four")
    inner = UniformEvaluator(game)
    calls: list[int] = []

    def counting(states):
        calls.append(len(states))
        return inner.evaluate(states)

    B, sims, k = 8, 24, 4
    search_ = BatchedPUCT(game, counting, PUCTConfig(simulations=sims, leaves_per_step=k), seed=0)
    states = [game.new_initial_state() for _ in range(B)]
    for b, state in enumerate(states):  # different positions, one with player 1 to move
        for a in range(b % 3):
            state.apply_action(a)
    counts = search_.search(states)
    stats = search_.last_stats
    assert counts.shape == (B, game.num_distinct_actions())
    assert np.all(counts.sum(axis=1) == sims)
    assert stats.steps == 1 + sims // k  # the roots' step, then one per k simulations
    assert len(calls) == stats.evaluator_calls == stats.steps
    assert calls[0] == B and max(calls[1:]) <= B * k and max(calls[1:]) > B  # virtual loss spreads leaves
    assert stats.simulations == B * sims and stats.simulations_per_second > 0
    for b in range(B):
        legal = set(states[b].legal_actions())
        assert set(np.flatnonzero(counts[b])) <= legal


def test_batched_puct_reuses_trees_and_adds_noise():
    game = pyspiel.load_game("tic_tac_toe")
    search_ = BatchedPUCT(game, UniformEvaluator(game), PUCTConfig(simulations=200, reuse_tree=True), seed=0)
    states = [game.new_initial_state(), play("tic_tac_toe", [4])]
    search_.search(states)
    expected = []
    for b, state in enumerate(states):  # play the most visited move and the most visited reply
        child = search_.roots[b]
        for _ in range(2):
            action = child.best_action()
            child = child.children[child.actions.index(action)]
            state.apply_action(action)
        expected.append((child, child.N.sum()))
    counts = search_.search(states)
    for b, (node, visits) in enumerate(expected):
        assert search_.roots[b] is node
        assert counts[b].sum() == visits + 200
    root = search_.roots[0]
    assert not np.allclose(root.P, root.prior)  # noisy priors at the root
    assert np.isclose(root.P.sum(), 1.0)
    search_.search(states, add_noise=False)
    assert np.allclose(search_.roots[0].P, search_.roots[0].prior)
    search_.reset()
    assert search_.search(states).sum(axis=1).tolist() == [200, 200]


def test_search_is_deterministic_for_a_seed():
    state = play("connect_four", [3, 3])
    runs = []
    for _ in range(2):
        player = MCTSPlayer(simulations=300, seed=7)
        player.reset(state.get_game(), 0, 7)
        runs.append(player.search(state).N.copy())
    assert np.array_equal(runs[0], runs[1])
    game = state.get_game()
    evaluator_runs = []
    for _ in range(2):
        search_ = BatchedPUCT(game, RandomRolloutEvaluator(game, seed=3), PUCTConfig(simulations=50), seed=3)
        evaluator_runs.append(search_.search([state]))
    assert np.array_equal(*evaluator_runs)


def test_batched_puct_with_chance_and_rollouts():
    game = pyspiel.load_game("palaestra_test_dice_nim", {"stones": 9})
    solved = solve_exhaustively(game, discount=1.0)
    states = [s for s in reachable(game).values() if 2 <= s.pile <= 4]  # moves differ by 2/3 or more
    assert {s.current_player() for s in states} == {0, 1}
    for evaluator in (RandomRolloutEvaluator(game, num_rollouts=1, seed=0), UniformEvaluator(game)):
        search_ = BatchedPUCT(game, evaluator, PUCTConfig(simulations=300, leaves_per_step=2), seed=0)
        counts = search_.search(states, add_noise=False)
        for b, state in enumerate(states):
            assert int(np.argmax(counts[b])) in solved[position_key(state)].best_actions, str(state)


def test_policy_from_counts_temperature():
    counts = np.array([0.0, 10.0, 30.0, 30.0])
    assert np.allclose(policy_from_counts(counts, 0.0), [0, 0, 0.5, 0.5])
    assert np.allclose(policy_from_counts(counts, 1.0), counts / counts.sum())
    p = policy_from_counts(counts, 0.5)
    assert p[0] == 0 and p[2] == pytest.approx(p[3]) and p[2] > 0.45
    rng = np.random.default_rng(0)
    assert {sample_action(counts, 0.0, rng) for _ in range(20)} == {2, 3}


def test_vectorised_one_leaf_step_with_chance_and_tree_reuse():
    game = pyspiel.load_game("palaestra_test_dice_nim", {"stones": 9})
    solved = solve_exhaustively(game, discount=1.0)
    states = [s for s in reachable(game).values() if 2 <= s.pile <= 4]
    states = [s.clone() for s in states * (1 + VECTORISED_MIN_TREES // len(states))]
    assert len(states) >= VECTORISED_MIN_TREES  # the vectorised one-leaf path
    config = PUCTConfig(simulations=300, leaves_per_step=1)
    search_ = BatchedPUCT(game, UniformEvaluator(game), config, seed=0)
    counts = search_.search(states, add_noise=False)
    assert np.all(counts.sum(axis=1) == 300)
    assert search_.last_stats.simulations == 300 * len(states)
    for b, state in enumerate(states):
        assert int(np.argmax(counts[b])) in solved[position_key(state)].best_actions, str(state)

    def check_visits(node, seen):  # a node's visits: its evaluation (decision nodes) plus its edges' counts
        if node is None or node.is_terminal or id(node) in seen:
            return
        seen.add(id(node))
        assert node.visits == node.N.sum() + (0.0 if node.is_chance else 1.0)
        for child in node.children:
            check_visits(child, seen)

    seen: set[int] = set()
    for root in search_.roots:
        check_visits(root, seen)
    assert any(node.is_chance for node in search_.pool.nodes)
    # The per-tree path (fewer trees, virtual loss) goes on from the same trees with correct visits.
    search_.config = PUCTConfig(simulations=40, leaves_per_step=2)
    search_.search(states[:3], add_noise=False)
    seen.clear()
    for root in search_.roots:
        check_visits(root, seen)


def test_batched_puct_frees_the_trees_it_no_longer_needs():
    """Searching move after move keeps a bounded number of nodes alive (an old edge pool must not keep
    every node it ever held)."""
    import gc

    from search.puct import BatchedPUCT, PUCTConfig
    from search.tree import Node

    game = pyspiel.load_game("connect_four")

    def uniform(states):
        priors = np.zeros((len(states), game.num_distinct_actions()))
        for b, state in enumerate(states):
            priors[b, state.legal_actions()] = 1.0 / len(state.legal_actions())
        return priors, np.zeros(len(states))

    search = BatchedPUCT(game, uniform, PUCTConfig(simulations=8), seed=0)
    rng = np.random.default_rng(0)
    states = [game.new_initial_state() for _ in range(8)]
    alive = []
    for move in range(120):
        counts = search.search(states)
        for b, state in enumerate(states):
            state.apply_action(int(rng.choice(np.flatnonzero(counts[b]))))
            if state.is_terminal():
                states[b] = game.new_initial_state()
        if move % 40 == 39:
            gc.collect()
            alive.append(sum(isinstance(o, Node) for o in gc.get_objects()))
    assert alive[-1] < 2 * 8 * 9 * 4, alive  # a few trees' worth, not every node ever made


@pytest.mark.parametrize("games", [1, 16])
def test_a_reused_subtree_keeps_its_statistics(games):
    """Searching from a position two moves on reuses the subtree there with every edge's statistics as
    they were (compaction once copied a never-read node's edges from the wrong slice of the old pool),
    on the per-tree and the vectorised path."""
    from search.puct import BatchedPUCT, PUCTConfig

    game = pyspiel.load_game("tic_tac_toe")

    def evaluate(states):  # uneven priors and values, a fixed function of the position
        priors = np.zeros((len(states), 9))
        values = np.zeros(len(states))
        for b, state in enumerate(states):
            r = np.random.default_rng(zlib.crc32(str(state).encode()))
            priors[b, state.legal_actions()] = r.dirichlet(np.ones(len(state.legal_actions())))
            values[b] = r.uniform(-1, 1)
        return priors, values

    search = BatchedPUCT(game, evaluate, PUCTConfig(simulations=300, reuse_tree=True), seed=0)
    states = [game.new_initial_state() for _ in range(games)]
    search.search(states, add_noise=False)
    before, next_states = [], []
    for root, state in zip(search.roots, states, strict=True):
        a = root.actions[int(np.argmax(root.N))]
        child = root.children[root.actions.index(a)]
        b = child.actions[int(np.argmax(child.N))]
        node = child.children[child.actions.index(b)]
        before.append(stats_below(node))
        next_states.append(state.child(a).child(b))
    search.search(next_states, add_noise=False, simulations=0)
    for root, expected in zip(search.roots, before, strict=True):
        assert stats_below(root) == expected


def stats_below(node) -> list:
    """Every decision node's (history, N, W) under `node`, depth first, read from its slice of the edge
    pool (reading `node.N` would make the views that a node gets only when first read); edges with
    visits have children."""
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n is None or n.is_terminal:
            continue
        edges = slice(n.offset, n.offset + len(n.actions))
        visits, values = n.pool.N[edges].tolist(), np.round(n.pool.W[edges], 9).tolist()
        assert all(child is not None for child, v in zip(n.children, visits, strict=True) if v > 0)
        out.append((n.state.history(), visits, values))
        stack.extend(n.children)
    return out


def test_a_reused_tree_agrees_with_a_fresh_search():
    """The committed tic-tac-toe AlphaZero model plays only optimal moves against mcts:100 with fresh
    searches; with tree reuse it should too."""
    import dataclasses

    from agents.players import make_player
    from league.arena import play_match

    game = pyspiel.load_game("tic_tac_toe")
    solved = solve_exhaustively(game, discount=1.0)
    mistakes = {}
    for reuse in (False, True):
        player = make_player("models/alphazero_ttt_32x2.pt", game, seed=0)
        player.config = dataclasses.replace(player.config, reuse_tree=reuse)
        match = play_match(game, [player, make_player("mcts:100", game, seed=1)], games=16, seed=0)
        mistakes[reuse] = 0
        for record in match.games:
            state = game.new_initial_state()
            for action in record["actions"]:
                if state.current_player() == record["seat_of_first"]:
                    mistakes[reuse] += action not in solved[position_key(state)].best_actions
                state.apply_action(action)
    assert mistakes[False] == 0
    assert mistakes[True] == 0, mistakes
