"""PUCT written plainly, node by node: the readable twin of `BatchedPUCT` (search/puct.py).

The same algorithm with the same random draws and the same float operations, so that
tests/test_puct_reference.py can hold the two equal step by step; no edge pool, no vectorised walk, no
tree reuse. B trees are searched together. One simulation step:

1. Every tree is descended `leaves_per_step` times. A decision node takes the child with the highest
       score = Q + c_puct * sqrt(V) * (P / (1 + N))
   (V: 1 + the node's edge visits; Q = W / N, or `fpu` while N = 0), equal scores to the first in the
   node's order of its actions (a random one, drawn when the node is made); a chance node samples an
   outcome. With more than one leaf per tree, every edge taken gets a virtual loss
   (N += vl, W -= vl) so that the next descent of that tree tends to look elsewhere.
2. A descent that reaches a terminal backs up its exact returns at once. One that steps off the tree
   leaves a new state for the evaluator (descents of one tree that meet there share it).
3. One evaluator call with all the new states. Each becomes a node, its legal actions put in a random
   order (sorted by uniform random keys, one per action, drawn node after node in the batch's order) and
   its priors gathered at them (renormalised if they do not sum to 1); each waiting descent backs up
   the value for the player to move there, every other player getting -value / (players - 1) (zero sum),
   and takes back its virtual loss.

Descents run in the kernel's order, since chance draws and the evaluator's batch follow it: with one leaf
per tree and at least `VECTORISED_MIN_TREES` trees the kernel walks all trees one ply at a time; else it
finishes one descent before starting the next.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Sequence

import numpy as np
import pyspiel

from search.puct import VECTORISED_MIN_TREES, Evaluator, PUCTConfig
from search.tree import chance_cdf


class ReferenceNode:
    """A position, with per action (or chance outcome) a child, visit count N, value sum W for the
    player to move here, and prior P. A chance node is sampled from its cumulative outcome probabilities
    (the kernel also counts its edges' visits, but never reads them). An evaluated decision node (given
    `priors`) keeps its legal actions in a random order from `order_rng`: the actions sorted by a uniform
    random key each, equal keys in legal order."""

    def __init__(
        self,
        state: pyspiel.State,
        priors: np.ndarray | None = None,
        order_rng: np.random.Generator | None = None,
    ) -> None:
        self.state = state
        self.player = state.current_player()
        self.returns = state.returns() if state.is_terminal() else None
        self.cdf: list[float] | None = None
        if state.is_chance_node():
            self.actions, self.cdf = chance_cdf(state)
        else:
            self.actions = state.legal_actions()
            if priors is not None:
                keys = order_rng.random(len(self.actions))
                self.actions = [self.actions[i] for i in np.argsort(keys, kind="stable")]
        n = len(self.actions)
        self.children: list[ReferenceNode | None] = [None] * n
        self.N = [0.0] * n
        self.W = [0.0] * n
        self.P = [] if priors is None else priors_at_legal_actions(priors, self.actions)

    def select(self, c_puct: float, fpu: float) -> int:
        V = 1 + sum(self.N)

        def score(i: int) -> float:
            n = self.N[i]
            q = self.W[i] / n if n > 0 else fpu
            return q + c_puct * math.sqrt(V) * (self.P[i] / (1 + n))

        return max(range(len(self.actions)), key=score)  # the first of equal scores (in the random order)

    def sample(self, rand: Callable[[], float]) -> int:
        """A chance outcome: the first whose cumulative probability exceeds a uniform draw."""
        return min(bisect_right(self.cdf, rand()), len(self.cdf) - 1)


def priors_at_legal_actions(priors: np.ndarray, actions: list[int]) -> list[float]:
    """The evaluator's priors at `actions`, renormalised when off 1 by more than 1e-3 (uniform if 0)."""
    p = np.asarray(priors, dtype=np.float64)[actions]
    mass = p.sum()
    if abs(mass - 1.0) > 1e-3:
        p = p / mass if mass > 0 else np.full(len(actions), 1.0 / len(actions))
    return p.tolist()


def backup(path: list[tuple[ReferenceNode, int]], returns: Sequence[float], vl: float) -> None:
    """One visit and the mover's return on every decision edge of `path`, its virtual loss taken back."""
    for node, i in path:
        if node.cdf is None:
            node.N[i] = node.N[i] + 1.0 - vl
            node.W[i] = node.W[i] + returns[node.player] + vl


class ReferencePUCT:
    """`search(states)` runs PUCT on B games at once; root visit counts as `BatchedPUCT.search` gives."""

    def __init__(
        self, game: pyspiel.Game, evaluator: Evaluator | Callable, config: PUCTConfig, seed: int = 0
    ) -> None:
        self.evaluate = evaluator.evaluate if hasattr(evaluator, "evaluate") else evaluator
        self.config = config
        self.num_players = game.num_players()
        self.num_actions = game.num_distinct_actions()
        self.rng = np.random.default_rng(seed)  # root noise
        self.py_rng = random.Random(int(self.rng.integers(2**63)))  # chance outcomes
        self.order_rng = np.random.default_rng(int(self.rng.integers(2**63)))  # new nodes' action orders
        self.roots: list[ReferenceNode] = []

    def search(
        self,
        states: Sequence[pyspiel.State],
        add_noise: bool = True,
        simulations: int | None = None,
        after_step: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Fresh trees at `states` (decision nodes); `after_step(simulations so far)` after each step."""
        cfg = self.config
        sims = cfg.simulations if simulations is None else simulations
        root_states = [state.clone() for state in states]
        priors, _ = self.evaluate(root_states)
        self.roots = [ReferenceNode(s, priors[b], self.order_rng) for b, s in enumerate(root_states)]
        for root in self.roots:
            if add_noise and cfg.dirichlet_epsilon > 0:
                eps = cfg.dirichlet_epsilon
                noise = self.rng.dirichlet([cfg.dirichlet_alpha] * len(root.actions))
                root.P = ((1 - eps) * np.array(root.P) + eps * noise).tolist()
        done = 0
        while done < sims:
            leaves = min(cfg.leaves_per_step, sims - done)
            self.step(leaves)
            done += leaves
            if after_step is not None:
                after_step(done)
        return self.root_counts()

    def step(self, leaves_per_tree: int) -> None:
        """Descend every tree `leaves_per_tree` times, evaluate the new leaves in one call, back up."""
        vl = self.config.virtual_loss if leaves_per_tree > 1 else 0.0
        descents = [(root, []) for root in self.roots for _ in range(leaves_per_tree)]
        new_states: list[pyspiel.State] = []
        waiting: list[tuple[list, int]] = []  # a path (its edges) ending at a new state, the state's index
        pending: dict[tuple[int, int], int] = {}  # (id(node), child index) -> index of its new state
        c, fpu = self.config.c_puct, self.config.fpu

        def one_ply(node: ReferenceNode, path: list[tuple[ReferenceNode, int]]) -> ReferenceNode | None:
            """Takes one edge down from `node`: the child to go on from, or None where the descent ends."""
            i = node.sample(self.py_rng.random) if node.cdf is not None else node.select(c, fpu)
            path.append((node, i))
            if vl and node.cdf is None:
                node.N[i] += vl
                node.W[i] -= vl
            child = node.children[i]
            if child is None:
                state = node.state.child(node.actions[i])
                if state.is_terminal() or state.is_chance_node():
                    child = node.children[i] = ReferenceNode(state)
                else:
                    key = (id(node), i)
                    if key not in pending:
                        pending[key] = len(new_states)
                        new_states.append(state)
                    waiting.append((path, pending[key]))
                    return None
            if child.returns is not None:
                backup(path, child.returns, vl)
                return None
            return child

        if leaves_per_tree == 1 and len(self.roots) >= VECTORISED_MIN_TREES:  # all trees a ply at a time
            while descents:
                moved = [(one_ply(node, path), path) for node, path in descents]
                descents = [(node, path) for node, path in moved if node is not None]
        else:  # one descent after another
            for node, path in descents:
                while node is not None:
                    node = one_ply(node, path)
        if not new_states:
            return
        priors, values = self.evaluate(new_states)
        values = np.asarray(values, dtype=np.float64)
        new_nodes = [ReferenceNode(state, priors[j], self.order_rng) for j, state in enumerate(new_states)]
        for path, j in waiting:
            parent, i = path[-1]
            leaf = parent.children[i] = new_nodes[j]
            value = float(values[j])
            returns = [-value / max(self.num_players - 1, 1)] * self.num_players
            returns[leaf.player] = value
            backup(path, returns, vl)

    def root_counts(self) -> np.ndarray:
        """Visit counts of each root's moves, float32 [B, num_distinct_actions]."""
        counts = np.zeros((len(self.roots), self.num_actions), dtype=np.float32)
        for b, root in enumerate(self.roots):
            counts[b, root.actions] = root.N
        return counts

    def root_values(self) -> np.ndarray:
        """Mean value at each root for its player to move."""
        return np.array([sum(r.W) / sum(r.N) if sum(r.N) > 0 else 0.0 for r in self.roots])
