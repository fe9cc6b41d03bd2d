"""search/puct.py's `BatchedPUCT` held equal to the plain `ReferencePUCT` (search/puct_reference.py): on
fixed seeds, after every simulation step, the same root visit counts, root values and evaluator batches.

The kernel is run afresh for each number of simulations at which a reference step ends (a search is a
prefix of a longer one with the same seed), the reference once with a hook after each step. Cases cover
the vectorised one-leaf path (at least `VECTORISED_MIN_TREES` trees), the per-tree path with and
without virtual loss, a search whose last step switches path, chance nodes inside the tree, three
players, priors that need renormalising, uniform priors (many ties, which fall by each node's random
order of its actions) and Dirichlet noise at the roots.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pyspiel
import pytest

from search.evaluators import UniformEvaluator
from search.puct import VECTORISED_MIN_TREES, BatchedPUCT, PUCTConfig
from search.puct_reference import ReferencePUCT


class HashedEvaluator:
    """Priors and a value in [-1, 1] drawn from a generator seeded by the position's string: uneven, so
    ties are rare, and a fixed function of the position. `masked=False` also puts mass on illegal
    actions (the search must gather the priors at the legal ones and renormalise)."""

    def __init__(self, game: pyspiel.Game, masked: bool = True) -> None:
        self.num_actions = game.num_distinct_actions()
        self.masked = masked
        self.cache: dict[str, tuple[np.ndarray, float]] = {}

    def evaluate(self, states):
        priors = np.zeros((len(states), self.num_actions))
        values = np.zeros(len(states))
        for b, state in enumerate(states):
            key = str(state)
            if key not in self.cache:
                r = np.random.default_rng(zlib.crc32(key.encode()))
                p = np.zeros(self.num_actions)
                actions = state.legal_actions() if self.masked else list(range(self.num_actions))
                p[actions] = r.dirichlet(np.ones(len(actions)))
                self.cache[key] = p, r.uniform(-1, 1)
            priors[b], values[b] = self.cache[key]
        return priors, values


class Recording:
    """Passes every call on to `inner` and keeps each batch as the move histories of its states."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[list[tuple[int, ...]]] = []

    def evaluate(self, states):
        self.calls.append([tuple(state.history()) for state in states])
        return self.inner.evaluate(states)


def start_positions(game: pyspiel.Game, count: int, seed: int) -> list[pyspiel.State]:
    """`count` decision positions a few random moves (and chance outcomes) into the game."""
    rng = np.random.default_rng(seed)
    states = []
    while len(states) < count:
        state = game.new_initial_state()
        for _ in range(len(states) % 6):
            if state.is_terminal():
                break
            if state.is_chance_node():
                actions, probs = zip(*state.chance_outcomes(), strict=True)
                state.apply_action(int(rng.choice(actions, p=probs)))
            else:
                state.apply_action(int(rng.choice(state.legal_actions())))
        while state.is_chance_node():
            state.apply_action(state.chance_outcomes()[0][0])
        if not state.is_terminal():
            states.append(state)
    return states


def first_difference(
    game, states, evaluator, config, reference_config=None, seed=0, add_noise=True, reference_seed=None
):
    """Searches with the kernel and the reference; the first disagreement as a string, or None.

    After every reference step: root visit counts equal, root values close, and (stricter, as both add
    the same floats in the same order) every root edge's value sum equal. At the end: equal evaluator
    batches, state by state, in one order."""
    reference_evaluator = Recording(evaluator)
    reference_seed = seed if reference_seed is None else reference_seed
    reference = ReferencePUCT(game, reference_evaluator, reference_config or config, reference_seed)
    after_steps = []

    def record(done: int) -> None:
        value_sums = [list(root.W) for root in reference.roots]
        after_steps.append((done, reference.root_counts(), reference.root_values(), value_sums))

    reference.search(states, add_noise=add_noise, after_step=record)
    for done, counts, values, value_sums in after_steps:
        kernel_evaluator = Recording(evaluator)
        kernel = BatchedPUCT(game, kernel_evaluator, config, seed)
        got = kernel.search(states, add_noise=add_noise, simulations=done)
        if not np.array_equal(got, counts):
            trees = np.flatnonzero((got != counts).any(axis=1)).tolist()
            return f"root visit counts differ after {done} simulations in trees {trees}"
        if not np.allclose(kernel.root_values(), values, rtol=1e-12, atol=1e-12):
            return f"root values differ after {done} simulations"
        if [root.W.tolist() for root in kernel.roots] != value_sums:
            return f"root value sums differ after {done} simulations"
    if kernel_evaluator.calls != reference_evaluator.calls:
        return "evaluator batches differ"
    return None


def node_kinds(roots) -> set[str]:
    """What the reference trees hold below their roots: 'decision', 'chance', 'terminal'."""
    kinds: set[str] = set()
    stack = [child for root in roots for child in root.children if child is not None]
    while stack:
        node = stack.pop()
        kinds.add(
            "terminal" if node.returns is not None else "chance" if node.cdf is not None else "decision"
        )
        stack.extend(child for child in node.children if child is not None)
    return kinds


V = VECTORISED_MIN_TREES
PIG = {"winscore": 8}  # a short game of pig: terminals inside the trees
CASES = {
    # id: (game, game parameters, trees, evaluator, simulations, config changes)
    "ttt-vectorised": ("tic_tac_toe", {}, V, "hashed", 30, {}),
    "ttt-vectorised-uniform": ("tic_tac_toe", {}, V + 3, "uniform", 30, {}),
    "c4-vectorised": ("connect_four", {}, V, "hashed", 30, {"fpu": -0.3}),
    "c4-vectorised-uniform": ("connect_four", {}, V, "uniform", 24, {"c_puct": 2.5}),
    "ttt-per-tree": ("tic_tac_toe", {}, 5, "hashed", 30, {}),
    "c4-per-tree-uniform": ("connect_four", {}, 3, "uniform", 30, {}),
    "c4-virtual-loss": ("connect_four", {}, 4, "hashed", 30, {"leaves_per_step": 4}),
    "ttt-virtual-loss-uniform": ("tic_tac_toe", {}, 6, "uniform", 25, {"leaves_per_step": 3}),
    # 25 = 8 steps of 3 leaves, then one of 1 leaf: the last step takes the vectorised path
    "ttt-virtual-loss-then-vectorised": ("tic_tac_toe", {}, V, "unmasked", 25, {"leaves_per_step": 3}),
    "ttt-one-tree-unmasked": ("tic_tac_toe", {}, 1, "unmasked", 40, {}),
    "pig-vectorised": ("pig", PIG, V, "hashed", 30, {}),
    "pig-vectorised-uniform": ("pig", PIG, V, "uniform", 30, {}),
    "pig-3-players-virtual-loss": ("pig", PIG | {"players": 3}, 5, "hashed", 30, {"leaves_per_step": 2}),
    "pig-per-tree": ("pig", PIG, 4, "hashed", 30, {"fpu": 0.2}),
}


def make_evaluator(kind: str, game: pyspiel.Game):
    return UniformEvaluator(game) if kind == "uniform" else HashedEvaluator(game, masked=kind == "hashed")


@pytest.mark.parametrize("case", CASES)
def test_batched_puct_equals_the_reference_step_by_step(case):
    name, params, trees, kind, simulations, changes = CASES[case]
    game = pyspiel.load_game(name, params)
    states = start_positions(game, trees, seed=1)
    config = PUCTConfig(simulations=simulations, **changes)
    evaluator = make_evaluator(kind, game)
    assert first_difference(game, states, evaluator, config, seed=3) is None
    if name == "pig":  # the trees reach chance nodes and terminals below their roots
        reference = ReferencePUCT(game, evaluator, config, seed=3)
        reference.search(states)
        assert {"chance", "terminal"} <= node_kinds(reference.roots)


def test_without_root_noise():
    game = pyspiel.load_game("connect_four")
    states = start_positions(game, V, seed=2)
    config = PUCTConfig(simulations=20)
    assert first_difference(game, states, HashedEvaluator(game), config, add_noise=False) is None


@pytest.mark.parametrize("trees", [3, V])
def test_the_comparison_notices_a_different_reference(trees):
    """The test can fail: a reference with a slightly different c_puct, fpu or virtual loss disagrees."""
    game = pyspiel.load_game("tic_tac_toe")
    states = start_positions(game, trees, seed=1)
    evaluator = HashedEvaluator(game)
    config = PUCTConfig(simulations=30, leaves_per_step=1 if trees == V else 2)
    changes = [{"c_puct": 1.3}, {"fpu": 0.05}] + ([{"virtual_loss": 2.0}] if trees < V else [])
    for change in changes:
        wrong = dataclasses.replace(config, **change)
        assert first_difference(game, states, evaluator, config, reference_config=wrong) is not None, change


@pytest.mark.parametrize("trees", [1, 3, V])
def test_the_reference_follows_the_random_order_of_each_node(trees):
    """Every new node orders its actions at random (ties go to the first): without root noise or chance
    nodes the seed decides only those orders, and the reference agrees with the kernel on its seed only.
    Each node's actions are its legal actions, not all in legal order."""
    game = pyspiel.load_game("tic_tac_toe")
    states = start_positions(game, trees, seed=1)
    evaluator = UniformEvaluator(game)
    config = PUCTConfig(simulations=20)
    assert first_difference(game, states, evaluator, config, seed=5, add_noise=False) is None
    assert first_difference(game, states, evaluator, config, seed=5, add_noise=False, reference_seed=6)
    reference = ReferencePUCT(game, evaluator, config, seed=5)
    reference.search(states, add_noise=False)
    nodes = [node for node in decision_nodes(reference.roots) if len(node.actions) > 2]
    assert all(sorted(node.actions) == node.state.legal_actions() for node in nodes)
    assert sum(node.actions != sorted(node.actions) for node in nodes) > 0.6 * len(nodes)


def decision_nodes(roots) -> list:
    """The decision nodes of the reference trees, roots included."""
    out, stack = [], list(roots)
    while stack:
        node = stack.pop()
        if node is not None and node.returns is None and node.cdf is None:
            out.append(node)
            stack.extend(node.children)
    return out


def test_the_kernel_orders_a_batch_exactly_when_packed_keys_tie(monkeypatch):
    """`expand` sorts a batch's edges on (node, top bits of the key); where two keys of one node agree in
    those bits it sorts on the full keys, so the orders stay those of the reference. With one bit kept,
    ties are everywhere."""
    import search.tree

    monkeypatch.setattr(search.tree, "ORDER_KEY_BITS", 1)
    game = pyspiel.load_game("connect_four")
    states = start_positions(game, V, seed=1)
    config = PUCTConfig(simulations=12)
    assert first_difference(game, states, UniformEvaluator(game), config, seed=2, add_noise=False) is None


@pytest.mark.parametrize("block", [4096, 10])
def test_expand_orders_each_node_as_drawn_node_after_node(block, monkeypatch):
    """`expand` orders one node, batches, and a batch of more than 2048 nodes (whose packed sort keys keep
    fewer bits) as sorting each node's legal actions by its own `random(n)` draws would, with the keys
    drawn ahead in blocks (requests straddle blocks of 10 keys); each node's priors follow its actions."""
    from search.tree import EdgePool, RandomKeys, expand

    monkeypatch.setattr(RandomKeys, "BLOCK", block)
    game = pyspiel.load_game("tic_tac_toe")
    states = start_positions(game, 2200, seed=4)
    priors, _ = HashedEvaluator(game).evaluate(states)
    keys, pool = RandomKeys(np.random.default_rng(7)), EdgePool(0)
    nodes = []
    for a, b in [(0, 1), (1, 3), (3, 4), (4, 9), (9, 10), (10, 2110), (2110, 2111), (2111, 2200)]:
        nodes += expand(states[a:b], priors[a:b], 0.0, pool, keys)
    draws = np.random.default_rng(7)
    for b, (node, state) in enumerate(zip(nodes, states, strict=True)):
        legal = state.legal_actions()
        order = np.argsort(draws.random(len(legal)), kind="stable")
        assert node.actions == [legal[i] for i in order]
        assert node.P.tolist() == priors[b, node.actions].tolist()
    assert sum(node.actions != sorted(node.actions) for node in nodes) >= 0.9 * len(nodes)  # 4-9 actions


@pytest.mark.parametrize("trees", [1, 3, V])
def test_the_kernel_equals_the_reference_with_keys_drawn_a_few_at_a_time(trees, monkeypatch):
    """The kernel draws its order keys ahead in blocks (`RandomKeys`); with blocks of 10 keys, requests
    straddle blocks all the time, and the orders stay those of the reference's draws node by node."""
    from search.tree import RandomKeys

    monkeypatch.setattr(RandomKeys, "BLOCK", 10)
    game = pyspiel.load_game("tic_tac_toe")
    states = start_positions(game, trees, seed=1)
    config = PUCTConfig(simulations=15, leaves_per_step=2 if trees == 3 else 1)
    assert first_difference(game, states, UniformEvaluator(game), config, seed=8, add_noise=False) is None
