"""PUCT with an evaluator, batched over many games, on the tree of search/tree.py.

A node's children are scored as `S = [Q, P/(1+N)]` times `[1, c*sqrt(V)]` (V: one plus the node's edge
visits), equal scores going to the first in the random order a node gives its actions when it is made
(`expand`), so ties fall at random. Chance nodes sample their outcomes; terminal nodes return their exact
returns. The evaluator's value for the player to move becomes per-player returns assuming a zero-sum game.

- `BatchedPUCT(game, evaluator, config)`: `search(states)` runs PUCT on B games at once, one simulation
  step for all trees at a time, and calls the evaluator once per step with every leaf of every tree
  (several per tree with virtual loss); with `reuse_tree` a tree is kept between moves, matched by move
  history. By default all trees draw from one set of random streams (root noise, chance outcomes,
  action orders); after `reset_slots(seeds)`, `search(states, slots=...)` gives each game (slot) its own,
  seeded as a one-game search with that seed, so a game's search does not depend on which other games
  share the batch (the batched match runner, league/batched.py).
  The statistics of all its trees live in one edge pool (flat arrays; each node's arrays are views of
  its slice), so with one leaf per tree a step selects a child at every node of a tree level, and
  backs up every path, in a few numpy calls across all trees. search/puct_reference.py is the same
  algorithm written plainly, node by node; tests/test_puct_reference.py holds the two equal.
- `PUCTConfig`: its settings; `PUCTPlayer(evaluator, config, seed)`: the one-game player built on it.
- `describe_root(root)`: a root's most visited moves, for debugging.

The evaluator contract (DESIGN.md): `evaluate(states) -> (priors [B, num_distinct_actions] masked and
summing to 1 over the legal actions, values [B] for the player to move)`; it must not change the states.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyspiel

from search.tree import (
    EdgePool,
    GCPaused,
    Node,
    RandomKeys,
    SearchStats,
    expand,
    find_subtree,
    policy_from_counts,
    sample_action,
)


class Evaluator(Protocol):
    def evaluate(self, states: Sequence[pyspiel.State]) -> tuple[np.ndarray, np.ndarray]: ...


def _backup(path: list[tuple[Node, int]], returns: Sequence[float], vl: float = 0.0) -> None:
    """Add one visit and the mover's return to every edge on the path, taking back a virtual loss `vl`."""
    for node, i in path:
        node.visits += 1.0 - vl
        N = node.N
        n = N.item(i) + 1.0 - vl
        N[i] = n
        p = node.player
        if p >= 0:
            W = node.W
            w = W.item(i) + returns[p] + vl
            W[i] = w
            S = node.S
            S[i, 0] = w / n
            S[i, 1] = node.P.item(i) / (1.0 + n)  # every decision node of a PUCT tree has priors


@dataclass(frozen=True)
class PUCTConfig:
    """Settings of PUCT search (AlphaZero's defaults where it has them)."""

    simulations: int = 100
    """New simulations per tree per `search` call (a reused subtree keeps its earlier visits)."""
    c_puct: float = 1.25
    """Exploration weight: score = Q + c_puct * P * sqrt(N_parent) / (1 + N)."""
    dirichlet_alpha: float = 0.3
    """Concentration of the root noise (about 10 / typical number of legal moves)."""
    dirichlet_epsilon: float = 0.25
    """Weight of the noise in the root priors; 0 turns noise off."""
    leaves_per_step: int = 1
    """Leaves gathered per tree per evaluator call, kept apart by virtual loss."""
    virtual_loss: float = 1.0
    """Visits and losses added to a path while its leaf waits for the evaluator."""
    fpu: float = 0.0
    """Value assumed for an unvisited child."""
    reuse_tree: bool = False
    """Keep the subtree below the moves played since the last search, with its statistics (the next search
    adds `simulations` to them). Off by default, so that a search is exactly `simulations` new ones."""


def _leaf_returns(value: float, player: int, num_players: int) -> list[float]:
    """Per-player returns from a value for `player`, assuming a zero-sum game."""
    if num_players == 1:
        return [value]
    other = -value / (num_players - 1)
    returns = [other] * num_players
    returns[player] = value
    return returns


VECTORISED_MIN_TREES = 16
"""From this many trees on, a one-leaf step selects and backs up across trees with numpy (`_step_one_leaf`);
below it, numpy's fixed cost per call outweighs the saving and the step walks each tree in Python."""


class TreeStreams:
    """The random streams of one tree, seeded as `BatchedPUCT(seed=seed)` seeds its own: root noise
    (`rng`), chance outcomes (`py_rng`) and new nodes' action orders (`order_keys`); and the tree's last
    root, for `reuse_tree`."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.py_rng = random.Random(int(self.rng.integers(2**63)))
        self.order_keys = RandomKeys(np.random.default_rng(int(self.rng.integers(2**63))))
        self.root: Node | None = None


class BatchedPUCT:
    """PUCT over B games at once: one evaluator call per simulation step for all trees."""

    def __init__(
        self,
        game: pyspiel.Game,
        evaluator: Evaluator | Callable,
        config: PUCTConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.game = game
        self.evaluate = evaluator.evaluate if hasattr(evaluator, "evaluate") else evaluator
        self.config = config or PUCTConfig()
        shared = TreeStreams(seed)  # the streams every tree draws from, unless it searches in a slot
        self.rng, self.py_rng, self.order_keys = shared.rng, shared.py_rng, shared.order_keys
        self.slots: list[TreeStreams] = []
        self._streams: list[TreeStreams] | None = None  # the searched trees' own streams, during a search
        self.num_players = game.num_players()
        self.num_actions = game.num_distinct_actions()
        self.roots: list[Node | None] = []
        self.pool = EdgePool(0)
        self.last_stats = SearchStats()
        self._visits_stale = False  # `visits` of pooled nodes lag their edge counts (`_step_one_leaf`)

    def reset(self) -> None:
        """Forget every tree."""
        self.roots = []
        for slot in self.slots:
            slot.root = None

    def reset_slots(self, seeds: Sequence[int]) -> None:
        """Forget every tree and give slot k its own random streams, seeded `seeds[k]`."""
        self.reset()
        self.slots = [TreeStreams(int(seed)) for seed in seeds]

    def _rands(self, trees: int) -> list[Callable[[], float]]:
        """Each searched tree's uniform draw for chance outcomes."""
        if self._streams is None:
            return [self.py_rng.random] * trees
        return [stream.py_rng.random for stream in self._streams]

    def _keys(self, trees: Sequence[int]) -> RandomKeys | list[RandomKeys]:
        """The order keys for new nodes of the given trees (one shared source, or each tree's own)."""
        if self._streams is None:
            return self.order_keys
        return [self._streams[t].order_keys for t in trees]

    def _call_evaluator(
        self, states: list[pyspiel.State], stats: SearchStats
    ) -> tuple[np.ndarray, np.ndarray]:
        priors, values = self.evaluate(states)
        stats.evaluator_calls += 1
        stats.evaluated_states += len(states)
        return np.asarray(priors), np.asarray(values, dtype=np.float64)

    def search(
        self,
        states: Sequence[pyspiel.State],
        add_noise: bool = True,
        simulations: int | None = None,
        slots: Sequence[int] | None = None,
    ) -> np.ndarray:
        """Searches every state (a decision node) and returns root visit counts, float32 [B, A].

        Tree i is reused when `states[i]` follows from the state searched at index i last time (with
        `slots`, in slot `slots[i]` last time). With `slots` (see `reset_slots`), tree i draws its noise,
        chance outcomes and action orders from slot `slots[i]`'s own streams.
        """
        cfg = self.config
        sims = cfg.simulations if simulations is None else simulations
        start = time.perf_counter()
        stats = SearchStats()
        B = len(states)
        self._streams = None if slots is None else [self.slots[k] for k in slots]
        if self._streams is None:
            old = self.roots if cfg.reuse_tree else []
        else:
            old = [stream.root for stream in self._streams] if cfg.reuse_tree else []
        found: list[Node | None] = []
        fresh: list[int] = []
        histories: list[list[int]] = []
        for b, state in enumerate(states):
            if state.is_terminal() or state.is_chance_node():
                raise ValueError(f"state {b}: PUCT searches from a decision node")
            history = state.history()
            histories.append(history)
            root = find_subtree(old[b], state, history) if b < len(old) else None
            if root is None or root.P is None:
                fresh.append(b)
                root = None
            found.append(root)
        width = max(len(state.legal_actions()) for state in states)
        room = (B * (sims + 1)) * width
        live = [root for root in found if root is not None]
        if self._streams is not None and cfg.reuse_tree:  # keep the trees of slots not searched now
            searched = {id(stream) for stream in self._streams}
            live += [slot.root for slot in self.slots if slot.root is not None and id(slot) not in searched]
        self.pool = self.pool.compact(live, room) if live else EdgePool(room)
        if fresh:
            fresh_states = [states[b].clone() for b in fresh]
            priors, _ = self._call_evaluator(fresh_states, stats)
            new_roots = expand(fresh_states, priors, cfg.fpu, self.pool, self._keys(fresh))
            for b, node in zip(fresh, new_roots, strict=True):
                node.history = histories[b]
                found[b] = node
            stats.nodes += len(fresh)
            stats.steps += 1
        roots: list[Node] = found  # type: ignore[assignment]  (every slot is filled now)
        for b, root in enumerate(roots):
            if add_noise and cfg.dirichlet_epsilon > 0:
                rng = self.rng if self._streams is None else self._streams[b].rng
                noise = rng.dirichlet([cfg.dirichlet_alpha] * len(root.actions))
                root.P[:] = (1 - cfg.dirichlet_epsilon) * root.prior + cfg.dirichlet_epsilon * noise
            else:
                root.P[:] = root.prior
            root.S[:, 1] = root.P / (1.0 + root.N)
        self.roots = list(roots)
        if self._streams is not None:
            for stream, root in zip(self._streams, roots, strict=True):
                stream.root = root
        done = 0
        with GCPaused():
            while done < sims:
                k = min(cfg.leaves_per_step, sims - done)
                self._step(roots, k, stats)
                done += k
                stats.steps += 1
        self._sync_visits()
        counts = np.zeros((B, self.num_actions), dtype=np.float32)
        for b, root in enumerate(roots):
            counts[b, root.actions] = root.N
        self._streams = None
        stats.seconds = time.perf_counter() - start
        self.last_stats = stats
        return counts

    def _unevaluated_node(self, state: pyspiel.State) -> Node:
        """A terminal or chance node (no evaluation); a chance node's counts go into the pool."""
        if state.is_terminal():
            return Node(state, 0.0)
        node = Node(state, 0.0, arrays=False)
        self.pool.add(node)
        return node

    def _step_one_leaf(self, roots: list[Node], stats: SearchStats) -> None:
        """One simulation step with one leaf per tree (no virtual loss), then one evaluator call.

        The fast path of batched self-play, vectorised across trees: all trees descend one level at a
        time, the children of every decision node on that level scored and chosen in a few numpy calls
        on the edge pool; after the evaluator call, every edge of every path is backed up at once.
        Trees are separate, so no edge occurs twice in one step.

        A decision node's visit count is 1 (its evaluation) plus the sum of its edges' counts, so this
        path reads it from the pool and leaves `node.visits` alone; `_sync_visits` brings those up to
        date before any per-node code reads them.
        """
        self._visits_stale = True
        pool = self.pool
        c = self.config.c_puct
        child_of = pyspiel.State.child
        B = len(roots)
        rands = self._rands(B)
        leaf_states: list[pyspiel.State] = []
        leaf_parents: list[tuple[Node, int]] = []
        leaf_trees: list[int] = []
        ended_trees: list[int] = []  # trees whose path reached a terminal, and its exact returns
        ended_returns: list[list[float]] = []
        level_edges: list[np.ndarray] = []  # per level: the edge taken, its node's player, its tree
        level_players: list[list[int]] = []
        level_trees: list[np.ndarray] = []
        nodes: list[Node] = [root for root in roots]
        trees = np.arange(B)
        created = 0
        while nodes:
            S, N = pool.S, pool.N  # re-read: adding a chance node may have grown the pool
            # A child for every node on this level: decision nodes all at once, chance nodes by sampling.
            offsets = np.array([node.offset for node in nodes])
            counts = np.array([len(node.actions) for node in nodes])
            columns = np.arange(counts.max())
            index = offsets[:, None] + columns
            outside = columns >= counts[:, None]
            index[outside] = 0
            n = N[index]
            n[outside] = 0.0
            visits = n.sum(axis=1) + 1.0
            scores = S[index, 0] + (c * np.sqrt(visits))[:, None] * S[index, 1]
            scores[outside] = -np.inf
            choices = scores.argmax(axis=1).tolist()
            players = [node.player for node in nodes]
            next_nodes: list[Node] = []
            next_trees: list[int] = []
            add_node, add_tree = next_nodes.append, next_trees.append
            for k, (t, node, i) in enumerate(zip(trees.tolist(), nodes, choices, strict=True)):
                cdf = node.cdf
                if cdf is not None:
                    i = choices[k] = min(bisect_right(cdf, rands[t]()), len(cdf) - 1)
                child = node.children[i]
                if child is None:
                    leaf = child_of(node.state, node.actions[i])
                    if not (leaf.is_terminal() or leaf.is_chance_node()):
                        leaf_states.append(leaf)
                        leaf_parents.append((node, i))
                        leaf_trees.append(t)
                        continue
                    child = node.children[i] = self._unevaluated_node(leaf)
                    created += 1
                if child.returns is not None:  # terminal: exact value, no evaluation
                    ended_trees.append(t)
                    ended_returns.append(child.returns)
                    continue
                add_node(child)
                add_tree(t)
            level_edges.append(offsets + np.array(choices))
            level_players.append(players)
            level_trees.append(trees)
            nodes, trees = next_nodes, np.array(next_trees, dtype=np.int64)
        stats.nodes += created
        stats.simulations += len(ended_trees)
        # Per tree, the return to each player of what its path reached; every edge adds its mover's.
        n_players = self.num_players
        R = np.zeros((B, n_players + 1))  # the last column: 0 for chance edges (player -1)
        if leaf_states:
            priors, leaf_values = self._call_evaluator(leaf_states, stats)
            new_nodes = expand(leaf_states, priors, self.config.fpu, pool, self._keys(leaf_trees))
            stats.nodes += len(new_nodes)
            stats.simulations += len(new_nodes)
            lt = np.array(leaf_trees)
            values = np.asarray(leaf_values, dtype=np.float64)
            R[lt, :n_players] = (-values / max(n_players - 1, 1))[:, None]
            R[lt, np.array([node.player for node in new_nodes])] = values
            for (parent, i), leaf_node in zip(leaf_parents, new_nodes, strict=True):
                parent.children[i] = leaf_node
        if ended_trees:
            R[np.array(ended_trees), :n_players] = np.array(ended_returns, dtype=np.float64)
        S, N = pool.S, pool.N  # re-read: `expand` may have grown the pool
        e = np.concatenate(level_edges)
        p = np.array(list(itertools.chain.from_iterable(level_players)))
        t = np.concatenate(level_trees)
        returns = R[t, p]  # p = -1 (chance) reads the zero column
        n = N[e] + 1.0
        w = pool.W[e] + returns  # chance edges add 0: their values are never read
        N[e] = n
        pool.W[e] = w
        S[e, 0] = w / n
        S[e, 1] = pool.P[e] / (1.0 + n)

    def _sync_visits(self) -> None:
        """Sets `visits` of every pooled node from its edge counts after vectorised steps."""
        if not self._visits_stale:
            return
        self._visits_stale = False
        pool = self.pool
        nodes = pool.nodes
        if not nodes:
            return
        offsets = np.array([node.offset for node in nodes])
        sums = np.add.reduceat(pool.N[: pool.top], offsets).tolist() if pool.top else []
        for node, v in zip(nodes, sums, strict=True):
            node.visits = v + 1.0 if node.cdf is None else v

    def _step(self, roots: list[Node], leaves_per_tree: int, stats: SearchStats) -> None:
        """One simulation step: up to `leaves_per_tree` leaves per tree, then one evaluator call."""
        if leaves_per_tree == 1 and len(roots) >= VECTORISED_MIN_TREES:
            self._step_one_leaf(roots, stats)
            return
        self._sync_visits()
        c = self.config.c_puct
        vl = self.config.virtual_loss if leaves_per_tree > 1 else 0.0
        coef = np.array([1.0, 0.0])
        sqrt = math.sqrt
        rands = self._rands(len(roots))
        leaf_trees: list[int] = []  # the tree of each of `leaf_states`
        pending: dict[tuple[int, int], int] = {}  # (id(parent), child index) -> index into leaf_states
        leaf_states: list[pyspiel.State] = []
        waiting: list[tuple[list[tuple[Node, int]], int]] = []  # (path to the leaf, index into leaf_states)
        for b, root in enumerate(roots):
            rand = rands[b]
            for _ in range(leaves_per_tree):
                node = root
                path: list[tuple[Node, int]] = []
                while True:
                    if node.returns is not None:  # terminal: exact value, no evaluation
                        _backup(path, node.returns, vl)
                        stats.simulations += 1
                        break
                    cdf = node.cdf
                    if cdf is not None:
                        i = min(bisect_right(cdf, rand()), len(cdf) - 1)
                    else:
                        coef[1] = c * sqrt(node.visits)
                        i = int(node.S.dot(coef).argmax())
                    path.append((node, i))
                    if vl:
                        node.visits += vl
                        N = node.N
                        n = N.item(i) + vl
                        N[i] = n
                        if node.player >= 0:
                            W = node.W
                            w = W.item(i) - vl
                            W[i] = w
                            node.S[i, 0] = w / n
                            node.S[i, 1] = node.P.item(i) / (1.0 + n)
                    child = node.children[i]
                    if child is None:
                        key = (id(node), i)
                        j = pending.get(key)
                        if j is None:
                            leaf = node.state.child(node.actions[i])
                            if leaf.is_terminal() or leaf.is_chance_node():
                                child = self._unevaluated_node(leaf)
                                node.children[i] = child
                                stats.nodes += 1
                                node = child
                                continue
                            j = len(leaf_states)
                            pending[key] = j
                            leaf_states.append(leaf)
                            leaf_trees.append(b)
                        waiting.append((path, j))
                        break
                    node = child
        if not leaf_states:
            return
        priors, values = self._call_evaluator(leaf_states, stats)
        values = values.tolist()
        new_nodes = expand(leaf_states, priors, self.config.fpu, self.pool, self._keys(leaf_trees))
        stats.nodes += len(new_nodes)
        n_players = self.num_players
        for path, j in waiting:
            parent, i = path[-1]
            child = new_nodes[j]
            parent.children[i] = child  # the same child for paths that met at one leaf
            _backup(path, _leaf_returns(values[j], child.player, n_players), vl)
            stats.simulations += 1

    def root_values(self) -> np.ndarray:
        """Mean value at each root for its player to move, after the last search."""
        out = np.zeros(len(self.roots))
        for b, root in enumerate(self.roots):
            if root is not None and root.N.sum() > 0:
                out[b] = root.W.sum() / root.N.sum()
        return out


class PUCTPlayer:
    """PUCT with an evaluator: no root noise unless asked, most visited move at temperature 0.

    One game at a time (`reset`, `act`) or several (`reset_batch`, `act_batch`: one search over all the
    games it is to move in, each game in a slot with its own random streams, seeded as `reset` seeds a
    one-game search), so a batch of games plays each game exactly as alone, up to the evaluator's
    floating-point sums over a batch."""

    def __init__(
        self,
        evaluator: Evaluator | Callable,
        config: PUCTConfig | None = None,
        seed: int = 0,
        temperature: float = 0.0,
        add_noise: bool = False,
    ) -> None:
        self.evaluator = evaluator
        self.config = config or PUCTConfig()
        self.temperature = temperature
        self.add_noise = add_noise
        self.seed = seed
        self.tree: BatchedPUCT | None = None
        self.rngs: list[np.random.Generator] = [np.random.default_rng(seed)]  # move choice, per slot
        self.last_stats: SearchStats | None = None

    def reset(self, game: pyspiel.Game, player_id: int, seed: int) -> None:
        self.reset_batch(game, [player_id], [seed])

    def reset_batch(self, game: pyspiel.Game, player_ids: Sequence[int], seeds: Sequence[int]) -> None:
        """Start len(seeds) games: slot k plays seat `player_ids[k]` of a game seeded `seeds[k]`."""
        self.tree = BatchedPUCT(game, self.evaluator, self.config, self.seed)
        self.tree.reset_slots(seeds)
        self.rngs = [np.random.default_rng(seed) for seed in seeds]

    def counts_batch(self, states: Sequence[pyspiel.State], slots: Sequence[int]) -> np.ndarray:
        """Root visit counts [B, num_distinct_actions] after one search from each state, in its slot."""
        if self.tree is None or self.tree.game != states[0].get_game():
            self.reset(states[0].get_game(), 0, self.seed)
        counts = self.tree.search(states, add_noise=self.add_noise, slots=slots)
        self.last_stats = self.tree.last_stats
        return counts

    def counts(self, state: pyspiel.State) -> np.ndarray:
        """Root visit counts over `num_distinct_actions` after a search from `state`."""
        return self.counts_batch([state], [0])[0]

    def act_batch(self, states: Sequence[pyspiel.State], slots: Sequence[int]) -> list[int]:
        counts = self.counts_batch(states, slots)
        rngs = [self.rngs[k] for k in slots]
        return [sample_action(row, self.temperature, rng) for row, rng in zip(counts, rngs, strict=True)]

    def act(self, state: pyspiel.State) -> int:
        return self.act_batch([state], [0])[0]

    def policy(self, state: pyspiel.State) -> np.ndarray:
        return policy_from_counts(self.counts(state), self.temperature if self.temperature > 0 else 1.0)


def describe_root(root: Node, limit: int = 10) -> str:
    """The root's most visited moves with visits, mean value and prior, one per line (for debugging)."""
    order = np.argsort(-root.N)[:limit]
    q = root.child_values()
    lines = []
    for i in order:
        name = root.state.action_to_string(root.player, root.actions[i])
        prior = "" if root.P is None else f" prior {root.P[i]:.3f}"
        lines.append(f"{name:>8}: N {root.N[i]:6.0f}  Q {q[i]:+.3f}{prior}")
    return "\n".join(lines)
