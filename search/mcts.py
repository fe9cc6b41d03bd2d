"""Monte-Carlo tree search: UCT with random rollouts and PUCT with an evaluator, batched over many games.

One core serves both. A `Node` holds one position: its state, the player to move, its legal actions and,
in numpy arrays over those actions, the visit counts `N`, the value sums `W` (from the mover's view),
the priors `P` and a selection matrix `S` whose product with a two-vector is the selection score
(UCT: `S = [Q, 1/sqrt(N)]` times `[1, c*sqrt(ln V)]`; PUCT: `S = [Q, P/(1+N)]` times `[1, c*sqrt(V)]`),
so choosing a child is one `dot` and one `argmax`. Children are created only when reached. Chance nodes
sample their outcomes; terminal nodes return their exact returns. Backups carry a return per player,
so UCT works for any number of players; PUCT turns the evaluator's value for the player to move into
per-player returns assuming a zero-sum game.

- `MCTSPlayer(simulations, uct_c, seed)`: UCT, leaves valued by one random rollout run in C++ through
  `pyspiel.evaluate_bots`; a node is expanded on its second visit, as in OpenSpiel's `MCTSBot`.
- `BatchedPUCT(game, evaluator, config)`: `search(states)` runs PUCT on B games at once, one simulation
  step for all trees at a time, and calls the evaluator once per step with every leaf of every tree
  (several per tree with virtual loss); with `reuse_tree` a tree is kept between moves, matched by move
  history.
  The statistics of all its trees live in one edge pool (flat arrays; each node's arrays are views of
  its slice), so with one leaf per tree a step selects a child at every node of a tree level, and
  backs up every path, in a few numpy calls across all trees.
- `PUCTPlayer(evaluator, config, seed)`: the one-game player built on `BatchedPUCT`.

The evaluator contract (DESIGN.md): `evaluate(states) -> (priors [B, num_distinct_actions] masked and
summing to 1 over the legal actions, values [B] for the player to move)`; it must not change the states.
"""

from __future__ import annotations

import gc
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


class Evaluator(Protocol):
    def evaluate(self, states: Sequence[pyspiel.State]) -> tuple[np.ndarray, np.ndarray]: ...


_TERMINAL, _CHANCE = int(pyspiel.PlayerId.TERMINAL), int(pyspiel.PlayerId.CHANCE)


_POOL_VIEWS = frozenset(("N", "W", "S", "P", "prior"))


class _GCPaused:
    """Pauses Python's cyclic garbage collector during a search: trees hold no cycles, and collections
    triggered by node allocations would walk the whole tree again and again (20-25% of batched time)."""

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()


class Node:
    """One position of a search tree; statistics over its legal actions (or chance outcomes) in arrays."""

    __slots__ = (
        "state",
        "player",
        "actions",
        "N",
        "W",
        "P",
        "prior",
        "S",
        "children",
        "visits",
        "returns",
        "cdf",
        "unvisited",
        "offset",
        "history",
        "pool",
    )

    def __init__(self, state: pyspiel.State, visits: float = 0, arrays: bool = True) -> None:
        self.state = state
        self.visits = visits
        self.returns: list[float] | None = None
        self.cdf: list[float] | None = None
        self.P: np.ndarray | None = None
        self.prior: np.ndarray | None = None
        self.history: list[int] | None = None
        player = self.player = state.current_player()
        if player == _TERMINAL:
            self.returns = state.returns()
            self.actions: list[int] = []
            return
        if player == _CHANCE:
            outcomes = state.chance_outcomes()
            self.actions = [a for a, _ in outcomes]
            cdf = np.cumsum([p for _, p in outcomes])
            self.cdf = (cdf / cdf[-1]).tolist()
        else:
            self.actions = state.legal_actions()
        n = len(self.actions)
        if arrays:  # else `_expand` hands out views of arrays shared by a batch of new nodes
            self.N = np.zeros(n)
            self.W = np.zeros(n)
            self.S = np.zeros((n, 2))
        self.children: list[Node | None] = [None] * n
        self.unvisited = n
        self.offset = 0

    def __getattr__(self, name: str) -> np.ndarray:
        """A node made by `_expand` gets its views of the edge pool (`N`, `W`, `S`, `P`, `prior`) when
        first read: the vectorised search never reads them, so most nodes never need them."""
        if name in _POOL_VIEWS:
            self.pool._point(self)
            return object.__getattribute__(self, name)
        raise AttributeError(name)

    @property
    def is_terminal(self) -> bool:
        return self.returns is not None

    @property
    def is_chance(self) -> bool:
        return self.cdf is not None

    def child_index(self, action: int) -> int:
        return self.actions.index(action)

    def child_values(self) -> np.ndarray:
        """Mean value of each child for the player to move here (0 where unvisited)."""
        return np.where(self.N > 0, self.W / np.maximum(self.N, 1), 0.0)

    def best_action(self, rng: np.random.Generator | None = None) -> int:
        """Most visited action, ties broken by mean value, then at random."""
        n = self.N
        top = np.flatnonzero(n == n.max())
        if len(top) > 1:
            q = self.W[top] / np.maximum(n[top], 1)
            top = top[q == q.max()]
        i = int(top[0]) if len(top) == 1 or rng is None else int(rng.choice(top))
        return self.actions[i]


@dataclass
class SearchStats:
    """Work done by one search call: simulations, tree nodes created, evaluator calls, wall time."""

    simulations: int = 0
    nodes: int = 0
    evaluator_calls: int = 0
    evaluated_states: int = 0
    steps: int = 0
    seconds: float = 0.0

    @property
    def simulations_per_second(self) -> float:
        return self.simulations / self.seconds if self.seconds > 0 else 0.0

    @property
    def nodes_per_second(self) -> float:
        return self.nodes / self.seconds if self.seconds > 0 else 0.0


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
            S[i, 1] = n**-0.5 if node.P is None else node.P.item(i) / (1.0 + n)


class _EdgePool:
    """The statistics of every edge of a set of PUCT trees, in flat arrays; a node's `N`, `W`, `S`, `P` and
    `prior` are views of its slice `[offset, offset + len(actions))`, so per-node code reads them as
    before while a simulation step can select in and back up into all trees with a few numpy calls.

    A pooled node's `offset` is the start of its slice. `nodes` lists the pooled nodes in slice order.
    When the arrays fill up they are doubled and every node's views re-pointed; `compact` starts a
    fresh pool holding only the trees under given roots (a node not kept keeps its old arrays).
    """

    def __init__(self, capacity: int) -> None:
        capacity = max(int(capacity), 64)
        self.N = np.zeros(capacity)
        self.W = np.zeros(capacity)
        self.S = np.zeros((capacity, 2))
        self.P = np.zeros(capacity)
        self.prior = np.zeros(capacity)
        self.top = 0
        self.nodes: list[Node] = []

    @property
    def capacity(self) -> int:
        return len(self.N)

    def _point(self, node: Node) -> None:
        a = node.offset
        b = a + len(node.actions)
        node.N, node.W, node.S = self.N[a:b], self.W[a:b], self.S[a:b]
        if node.cdf is None:
            node.P, node.prior = self.P[a:b], self.prior[a:b]

    def reserve(self, edges: int) -> None:
        """Room for `edges` more edges (doubling the arrays, and re-pointing every node, if needed)."""
        if self.top + edges <= self.capacity:
            return
        capacity = max(2 * self.capacity, self.top + edges)
        for name in ("N", "W", "S", "P", "prior"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]))
            new[: self.top] = old[: self.top]
            setattr(self, name, new)
        for node in self.nodes:
            self._point(node)

    def add(self, node: Node, fpu: float = 0.0) -> None:
        """Give `node` (decision or chance, not terminal) its slice: zero counts, `fpu` as its values."""
        n = len(node.actions)
        self.reserve(n)
        node.offset = self.top
        self.S[self.top : self.top + n, 0] = fpu
        self.top += n
        self.nodes.append(node)
        self._point(node)

    def compact(self, roots: Sequence[Node], extra: int) -> _EdgePool:
        """A new pool with the trees under `roots` (their statistics copied) and room for `extra` edges."""
        live: list[Node] = []
        seen: set[int] = set()
        stack = [r for r in roots if r is not None]
        while stack:
            node = stack.pop()
            if id(node) in seen or node.returns is not None:
                continue
            seen.add(id(node))
            live.append(node)
            stack.extend(child for child in node.children if child is not None)
        pool = _EdgePool(sum(len(node.actions) for node in live) + extra)
        for node in live:
            n = len(node.actions)
            pool.reserve(n)
            b = pool.top + n
            # Read the node's statistics before its offset changes: a node whose views were never made
            # makes them from its old pool at its offset (`Node.__getattr__`).
            pool.N[pool.top : b] = node.N
            pool.W[pool.top : b] = node.W
            pool.S[pool.top : b] = node.S
            if node.cdf is None:
                pool.P[pool.top : b] = node.P
                pool.prior[pool.top : b] = node.prior
            node.offset = pool.top
            pool.top = b
            pool.nodes.append(node)
            pool._point(node)
            node.pool = pool  # else the old pool, and every node it ever held, stays alive through it
        return pool


def _expand(states: list[pyspiel.State], priors: np.ndarray, fpu: float, pool: _EdgePool) -> list[Node]:
    """PUCT nodes for evaluated decision states, their statistics in `pool`.

    Priors are gathered at the legal actions and renormalised there (uniform if the evaluator gave
    them no mass). The evaluation counts as each node's first visit.
    """
    nodes: list[Node] = []
    counts: list[int] = []
    new, add_node, add_count = Node.__new__, nodes.append, counts.append
    for state in states:  # `Node(state, 1, arrays=False)` for a decision state, without the checks
        node = new(Node)
        node.state = state
        node.visits = 1
        node.returns = node.cdf = node.history = None
        node.player = state.current_player()
        actions = node.actions = state.legal_actions()
        n = len(actions)
        node.children = [None] * n
        node.unvisited = n
        node.pool = pool  # its views of the pool are made when first read (`Node.__getattr__`)
        add_node(node)
        add_count(n)
    total = sum(counts)
    if len(nodes) == 1:  # one search of one game: plain numpy indexing costs a fraction of the batch path
        n = counts[0]
        p = np.asarray(priors[0], dtype=np.float64)[nodes[0].actions]
        mass = float(p.sum())
        if abs(mass - 1.0) > 1e-3:
            p = p / mass if mass > 0 else np.full(n, 1.0 / n)
    else:
        rows = np.repeat(np.arange(len(nodes)), counts)
        cols = np.fromiter(itertools.chain.from_iterable(node.actions for node in nodes), np.int64, total)
        p = np.asarray(priors, dtype=np.float64)[rows, cols]
        starts = np.cumsum([0, *counts[:-1]])
        sums = np.add.reduceat(p, starts)
        if np.any(np.abs(sums - 1.0) > 1e-3):
            for j in np.flatnonzero(np.abs(sums - 1.0) > 1e-3).tolist():
                a, n = int(starts[j]), counts[j]
                p[a : a + n] = p[a : a + n] / sums[j] if sums[j] > 0 else 1.0 / n
    pool.reserve(total)
    a = pool.top
    b = a + total
    pool.S[a:b, 0] = fpu
    pool.S[a:b, 1] = p
    pool.P[a:b] = p
    pool.prior[a:b] = p
    for node, n in zip(nodes, counts, strict=True):
        node.offset = a
        a += n
    pool.top = b
    pool.nodes.extend(nodes)
    return nodes


def _find_subtree(root: Node | None, state: pyspiel.State, history: list[int]) -> Node | None:
    """The node of `root`'s tree at `state` (whose history extends the root's), or None."""
    if root is None or root.history is None or len(history) < len(root.history):
        return None
    if history[: len(root.history)] != root.history:
        return None
    node: Node | None = root
    for action in history[len(root.history) :]:
        if node is None or node.is_terminal or action not in node.actions:
            return None
        node = node.children[node.child_index(action)]
    if node is None or node.is_terminal or node.is_chance:
        return None
    node.history = history
    return node


def policy_from_counts(counts: np.ndarray, temperature: float) -> np.ndarray:
    """Visit counts to move probabilities: counts**(1/T) normalised; T = 0 spreads over the most visited."""
    counts = np.asarray(counts, dtype=np.float64)
    if temperature <= 0:
        top = counts == counts.max()
        return top / top.sum()
    logits = np.log(np.maximum(counts, 1e-30)) / temperature
    logits[counts <= 0] = -np.inf
    p = np.exp(logits - logits.max())
    return p / p.sum()


def sample_action(counts: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Choose a move from visit counts over `num_distinct_actions`: argmax (random ties) at T = 0."""
    p = policy_from_counts(counts, temperature)
    return int(rng.choice(len(p), p=p))


# ---------------------------------------------------------------------------------------------------------
# UCT with random rollouts


class RandomRollout:
    """Plays a state out with uniform random moves in C++ (`pyspiel.evaluate_bots`); returns per player."""

    def __init__(self, game: pyspiel.Game, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        players = range(game.num_players())
        self.bots = [pyspiel.make_uniform_random_bot(p, self.rng.getrandbits(31)) for p in players]

    def __call__(self, state: pyspiel.State) -> list[float]:
        """Plays `state` itself to the end (clone first to keep it) and returns `returns()`."""
        return pyspiel.evaluate_bots(state, self.bots, self.rng.getrandbits(31))


_SQRT_LOG = [0.0] + [math.sqrt(math.log(v)) for v in range(1, 1 << 14)]  # sqrt(ln V) for integer V


def uct_search(
    root: Node,
    simulations: int,
    uct_c: float,
    rollout: Callable[[pyspiel.State], Sequence[float]],
    rng: random.Random,
    time_limit: float | None = None,
) -> SearchStats:
    """Runs `simulations` UCT simulations from `root` (fewer when `time_limit` seconds run out).

    `rollout(state)` values a leaf the first time it is reached (it may play `state` out in place);
    the leaf becomes a node on its second visit, as in OpenSpiel's `MCTSBot`.
    """
    with _GCPaused():
        return _uct_loop(root, simulations, uct_c, rollout, rng, time_limit)


def _uct_loop(
    root: Node,
    simulations: int,
    uct_c: float,
    rollout: Callable[[pyspiel.State], Sequence[float]],
    rng: random.Random,
    time_limit: float | None = None,
) -> SearchStats:
    """The UCT loop, written flat for speed."""
    start = time.perf_counter()
    stats = SearchStats()
    coef = np.array([1.0, 0.0])
    sqrt, log, rand = math.sqrt, math.log, rng.random
    sqrt_log, table_size = _SQRT_LOG, len(_SQRT_LOG)
    if isinstance(rollout, RandomRollout):  # call evaluate_bots directly, skipping a Python frame
        evaluate_bots, bots, bits = pyspiel.evaluate_bots, rollout.bots, rollout.rng.getrandbits
    else:
        evaluate_bots = None
    created = done = 0
    for done in range(simulations):
        if time_limit is not None and (done & 31) == 0 and done and time.perf_counter() - start > time_limit:
            break
        node = root
        path: list[tuple[Node, int]] = []
        while True:
            if node.returns is not None:
                returns = node.returns
                break
            cdf = node.cdf
            first_visit = False
            if cdf is not None:
                i = bisect_right(cdf, rand())
                if i >= len(cdf):
                    i = len(cdf) - 1
                first_visit = node.N[i] == 0
            elif node.unvisited:
                n_actions = len(node.actions)
                if node.unvisited == n_actions:
                    node.offset = int(rand() * n_actions)
                node.unvisited -= 1
                i = (node.offset + node.unvisited) % n_actions
                first_visit = True
            else:
                visits = node.visits
                coef[1] = uct_c * (sqrt_log[visits] if visits < table_size else sqrt(log(visits)))
                i = int(node.S.dot(coef).argmax())
            path.append((node, i))
            child = node.children[i]
            if child is None:
                leaf = node.state.child(node.actions[i])
                if first_visit:
                    if evaluate_bots is not None:
                        returns = evaluate_bots(leaf, bots, bits(31))
                    else:
                        returns = rollout(leaf)
                    break
                child = Node(leaf, int(node.N.item(i)))
                node.children[i] = child
                created += 1
            node = child
        for node, i in path:  # backup, inlined from _backup
            node.visits += 1
            N = node.N
            n = N.item(i) + 1.0
            N[i] = n
            p = node.player
            if p >= 0:
                W = node.W
                w = W.item(i) + returns[p]
                W[i] = w
                S = node.S
                S[i, 0] = w / n
                S[i, 1] = n**-0.5
    else:
        done = simulations
    stats.simulations = done
    stats.nodes = created
    stats.seconds = time.perf_counter() - start
    return stats


class MCTSPlayer:
    """`mcts:SIMS`: UCT with one C++ random rollout per leaf; picks the most visited move."""

    def __init__(
        self,
        simulations: int = 1000,
        uct_c: float = 2.0,
        seed: int = 0,
        reuse_tree: bool = False,
        time_limit: float | None = None,
    ) -> None:
        self.simulations = simulations
        self.uct_c = uct_c
        self.reuse_tree = reuse_tree
        self.time_limit = time_limit
        self.game: pyspiel.Game | None = None
        self.root: Node | None = None
        self.last_stats: SearchStats | None = None
        self._seed(seed)

    def _seed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.py_rng = random.Random(int(self.rng.integers(2**63)))
        self.rollout: RandomRollout | None = None

    def reset(self, game: pyspiel.Game, player_id: int, seed: int) -> None:
        self.game = game
        self.root = None
        self._seed(seed)

    def search(self, state: pyspiel.State) -> Node:
        """Runs the search from `state` and returns the root with its statistics."""
        if state.is_terminal() or state.is_chance_node():
            raise ValueError("MCTS searches from a decision node")
        game = state.get_game()
        if self.rollout is None or self.game is None or self.game != game:
            self.game = game
            self.rollout = RandomRollout(game, self.py_rng.getrandbits(31))
            self.root = None
        history = state.history()
        root = _find_subtree(self.root, state, history) if self.reuse_tree else None
        if root is None:
            root = Node(state.clone())
            root.history = history
        self.last_stats = uct_search(
            root, self.simulations, self.uct_c, self.rollout, self.py_rng, self.time_limit
        )
        self.root = root
        return root

    def act(self, state: pyspiel.State) -> int:
        return self.search(state).best_action(self.rng)

    def policy(self, state: pyspiel.State) -> np.ndarray:
        """Visit-count distribution over `num_distinct_actions`."""
        root = self.search(state)
        p = np.zeros(state.get_game().num_distinct_actions())
        p[root.actions] = root.N / root.N.sum()
        return p


# ---------------------------------------------------------------------------------------------------------
# PUCT with an evaluator, batched over games


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
        self.rng = np.random.default_rng(seed)
        self.py_rng = random.Random(int(self.rng.integers(2**63)))
        self.num_players = game.num_players()
        self.num_actions = game.num_distinct_actions()
        self.roots: list[Node | None] = []
        self.pool = _EdgePool(0)
        self.last_stats = SearchStats()
        self._visits_stale = False  # `visits` of pooled nodes lag their edge counts (`_step_one_leaf`)

    def reset(self) -> None:
        """Forget every tree."""
        self.roots = []

    def _call_evaluator(
        self, states: list[pyspiel.State], stats: SearchStats
    ) -> tuple[np.ndarray, np.ndarray]:
        priors, values = self.evaluate(states)
        stats.evaluator_calls += 1
        stats.evaluated_states += len(states)
        return np.asarray(priors), np.asarray(values, dtype=np.float64)

    def search(
        self, states: Sequence[pyspiel.State], add_noise: bool = True, simulations: int | None = None
    ) -> np.ndarray:
        """Searches every state (a decision node) and returns root visit counts, float32 [B, A].

        Tree i is reused when `states[i]` follows from the state searched at index i last time.
        """
        cfg = self.config
        sims = cfg.simulations if simulations is None else simulations
        start = time.perf_counter()
        stats = SearchStats()
        B = len(states)
        old = self.roots if cfg.reuse_tree else []
        found: list[Node | None] = []
        fresh: list[int] = []
        histories: list[list[int]] = []
        for b, state in enumerate(states):
            if state.is_terminal() or state.is_chance_node():
                raise ValueError(f"state {b}: PUCT searches from a decision node")
            history = state.history()
            histories.append(history)
            root = _find_subtree(old[b], state, history) if b < len(old) else None
            if root is None or root.P is None:
                fresh.append(b)
                root = None
            found.append(root)
        width = max(len(state.legal_actions()) for state in states)
        room = (B * (sims + 1)) * width
        live = [root for root in found if root is not None]
        self.pool = self.pool.compact(live, room) if live else _EdgePool(room)
        if fresh:
            fresh_states = [states[b].clone() for b in fresh]
            priors, _ = self._call_evaluator(fresh_states, stats)
            for b, node in zip(fresh, _expand(fresh_states, priors, cfg.fpu, self.pool), strict=True):
                node.history = histories[b]
                found[b] = node
            stats.nodes += len(fresh)
            stats.steps += 1
        roots: list[Node] = found  # type: ignore[assignment]  (every slot is filled now)
        for root in roots:
            if add_noise and cfg.dirichlet_epsilon > 0:
                noise = self.rng.dirichlet([cfg.dirichlet_alpha] * len(root.actions))
                root.P[:] = (1 - cfg.dirichlet_epsilon) * root.prior + cfg.dirichlet_epsilon * noise
            else:
                root.P[:] = root.prior
            root.S[:, 1] = root.P / (1.0 + root.N)
        self.roots = list(roots)
        done = 0
        with _GCPaused():
            while done < sims:
                k = min(cfg.leaves_per_step, sims - done)
                self._step(roots, k, stats)
                done += k
                stats.steps += 1
        self._sync_visits()
        counts = np.zeros((B, self.num_actions), dtype=np.float32)
        for b, root in enumerate(roots):
            counts[b, root.actions] = root.N
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
        rand, child_of = self.py_rng.random, pyspiel.State.child
        B = len(roots)
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
                    i = choices[k] = min(bisect_right(cdf, rand()), len(cdf) - 1)
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
            new_nodes = _expand(leaf_states, priors, self.config.fpu, pool)
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
        S, N = pool.S, pool.N  # re-read: `_expand` may have grown the pool
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
        sqrt, rand = math.sqrt, self.py_rng.random
        pending: dict[tuple[int, int], int] = {}  # (id(parent), child index) -> index into leaf_states
        leaf_states: list[pyspiel.State] = []
        waiting: list[tuple[list[tuple[Node, int]], int]] = []  # (path to the leaf, index into leaf_states)
        for root in roots:
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
                        waiting.append((path, j))
                        break
                    node = child
        if not leaf_states:
            return
        priors, values = self._call_evaluator(leaf_states, stats)
        values = values.tolist()
        new_nodes = _expand(leaf_states, priors, self.config.fpu, self.pool)
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
    """PUCT with an evaluator on one game: no root noise unless asked, most visited move at temperature 0."""

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
        self.rng = np.random.default_rng(seed)
        self.last_stats: SearchStats | None = None

    def reset(self, game: pyspiel.Game, player_id: int, seed: int) -> None:
        self.tree = BatchedPUCT(game, self.evaluator, self.config, seed)
        self.rng = np.random.default_rng(seed)

    def counts(self, state: pyspiel.State) -> np.ndarray:
        """Root visit counts over `num_distinct_actions` after a search from `state`."""
        if self.tree is None or self.tree.game != state.get_game():
            self.tree = BatchedPUCT(state.get_game(), self.evaluator, self.config, self.seed)
        counts = self.tree.search([state], add_noise=self.add_noise)[0]
        self.last_stats = self.tree.last_stats
        return counts

    def act(self, state: pyspiel.State) -> int:
        return sample_action(self.counts(state), self.temperature, self.rng)

    def policy(self, state: pyspiel.State) -> np.ndarray:
        return policy_from_counts(self.counts(state), self.temperature if self.temperature > 0 else 1.0)


def describe(root: Node, limit: int = 10) -> str:
    """The root's most visited moves with visits, mean value and prior, one per line (for debugging)."""
    order = np.argsort(-root.N)[:limit]
    q = root.child_values()
    lines = []
    for i in order:
        name = root.state.action_to_string(root.player, root.actions[i])
        prior = "" if root.P is None else f" prior {root.P[i]:.3f}"
        lines.append(f"{name:>8}: N {root.N[i]:6.0f}  Q {q[i]:+.3f}{prior}")
    return "\n".join(lines)
