"""The search tree that UCT (search/mcts.py) and PUCT (search/puct.py) share, and moves from its counts.

A `Node` holds one position: its state, the player to move, its legal actions and, in numpy arrays over
those actions, the visit counts `N`, the value sums `W` (from the mover's view), the priors `P` and a
selection matrix `S` whose product with a two-vector is the selection score (UCT: `S = [Q, 1/sqrt(N)]`
times `[1, c*sqrt(ln V)]`; PUCT: `S = [Q, P/(1+N)]` times `[1, c*sqrt(V)]`), so choosing a child is one
`dot` and one `argmax`. `argmax` takes the first of equal scores, so a decision node's actions are put
in a random order (as OpenSpiel's MCTS shuffles a node's children), for ties to fall at random at no cost
per selection: PUCT orders them when `expand` makes the node, UCT as it tries each action the first time.
Children are created only when reached. A chance node keeps the cumulative probabilities of its outcomes,
to sample them; a terminal node keeps its exact returns.

- `EdgePool`: the statistics of all the edges of a set of PUCT trees in flat arrays; each node's arrays
  are views of its slice, so a step can select in and back up into every tree with a few numpy calls.
- `expand(states, priors, fpu, pool, keys)`: PUCT nodes for evaluated decision states, their legal
  actions in a random order (by `RandomKeys`) and their priors gathered there and renormalised.
- `find_subtree(root, state, history)`: the node of a kept tree at a later position (tree reuse).
- `GCPaused` (no cyclic garbage collection during a search) and `SearchStats` (the work one search did).
- `policy_from_counts` and `sample_action`: root visit counts to move probabilities and to a move.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyspiel

_TERMINAL, _CHANCE = int(pyspiel.PlayerId.TERMINAL), int(pyspiel.PlayerId.CHANCE)


_POOL_VIEWS = frozenset(("N", "W", "S", "P", "prior"))


class GCPaused:
    """Pauses Python's cyclic garbage collector during a search: trees hold no cycles, and collections
    triggered by node allocations would walk the whole tree again and again (20-25% of batched time)."""

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()


def chance_cdf(state: pyspiel.State) -> tuple[list[int], list[float]]:
    """A chance node's outcomes and their cumulative probabilities (the last exactly 1), for sampling an
    outcome with `bisect_right(cdf, u)`."""
    outcomes = state.chance_outcomes()
    cdf = np.cumsum([p for _, p in outcomes])
    return [a for a, _ in outcomes], (cdf / cdf[-1]).tolist()


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
            self.actions, self.cdf = chance_cdf(state)
        else:
            self.actions = state.legal_actions()
        n = len(self.actions)
        if arrays:  # else `expand` hands out views of arrays shared by a batch of new nodes
            self.N = np.zeros(n)
            self.W = np.zeros(n)
            self.S = np.zeros((n, 2))
        self.children: list[Node | None] = [None] * n
        self.unvisited = n
        self.offset = 0

    def __getattr__(self, name: str) -> np.ndarray:
        """A node made by `expand` gets its views of the edge pool (`N`, `W`, `S`, `P`, `prior`) when
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


class EdgePool:
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

    def add(self, node: Node) -> None:
        """Give `node` (a chance node) its slice: zero statistics (nothing above `top` is ever written)."""
        n = len(node.actions)
        self.reserve(n)
        node.offset = self.top
        self.top += n
        self.nodes.append(node)
        self._point(node)

    def compact(self, roots: Sequence[Node], extra: int) -> EdgePool:
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
        pool = EdgePool(sum(len(node.actions) for node in live) + extra)
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


class RandomKeys:
    """Random keys by which `expand` orders new nodes' actions: the 53-bit integers behind the floats of
    `rng.random` (each float is the top 53 bits of one 64-bit draw, times 2**-53). They are drawn `BLOCK`
    at a time and handed out in order, so a request for `n` keys gets those that `rng.random(n)` would
    give at that point, mostly without a numpy call (which costs several microseconds in a search's
    loop). Nothing else may draw from `rng`."""

    BLOCK = 4096

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.keys = np.empty(0, dtype=np.uint64)
        self.keys_list: list[int] | None = []  # `keys` as Python ints, made when first needed
        self.used = 0

    def take_array(self, n: int) -> np.ndarray:
        """The next `n` keys, uint64 [n]."""
        start, end = self.used, self.used + n
        if end > len(self.keys):
            fresh = self.rng.bit_generator.random_raw(max(self.BLOCK, end - len(self.keys))) >> 11
            self.keys = np.concatenate((self.keys[start:], fresh))
            self.keys_list = None
            start, end = 0, n
        self.used = end
        return self.keys[start:end]

    def take_list(self, n: int) -> list[int]:
        """The next `n` keys as Python ints."""
        start, end = self.used, self.used + n
        if end > len(self.keys):
            return self.take_array(n).tolist()
        if self.keys_list is None:
            self.keys_list = self.keys.tolist()
        self.used = end
        return self.keys_list[start:end]


ORDER_KEY_BITS = 53
"""At most this many top bits of each edge's random key go below the node's index into the uint64 by which
`expand` sorts a batch of nodes' edges: all 53 of the key up to 2048 nodes, fewer above (52 up to 4096).
With fewer than 53 it looks for two keys of one node that agree in the bits kept (about 2**-52 for a
pair) and, if any do, sorts on the full keys. Tests lower it to force that."""


def expand(
    states: list[pyspiel.State],
    priors: np.ndarray,
    fpu: float,
    pool: EdgePool,
    keys: RandomKeys | Sequence[RandomKeys] | None,
) -> list[Node]:
    """PUCT nodes for evaluated decision states, their statistics in `pool`.

    Each node's legal actions are put in a random order (legal order when `keys` is None): sorted by
    random keys, one per action, taken from `keys` node after node (or, given one source per state, each
    node's from its own), equal keys in legal order.
    Selection's `argmax` takes the first of equal scores, so ties fall at random. Priors are gathered at
    the actions and renormalised there (uniform if the evaluator gave them no mass). The evaluation
    counts as each node's first visit.
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
    ordered: list[int] | None = None  # the actions of all nodes in their new order, node after node
    if len(nodes) == 1:  # one search of one game: plain numpy indexing costs a fraction of the batch path
        node, n = nodes[0], counts[0]
        if keys is not None:
            source = keys if isinstance(keys, RandomKeys) else keys[0]
            actions, key = node.actions, source.take_list(n).__getitem__
            node.actions = [actions[i] for i in sorted(range(n), key=key)]
        p = np.asarray(priors[0], dtype=np.float64)[node.actions]
        mass = float(p.sum())
        if abs(mass - 1.0) > 1e-3:
            p = p / mass if mass > 0 else np.full(n, 1.0 / n)
    else:
        rows = np.repeat(np.arange(len(nodes)), counts)
        cols = np.fromiter(itertools.chain.from_iterable(node.actions for node in nodes), np.int64, total)
        if keys is not None:  # each node's slice of `cols` sorted by its keys: one sort of (node, key)
            if isinstance(keys, RandomKeys):
                key = keys.take_array(total)
            else:
                key = np.concatenate([source.take_array(n) for source, n in zip(keys, counts, strict=True)])
            key_bits = min(ORDER_KEY_BITS, 64 - (len(nodes) - 1).bit_length())  # 53 up to 2048 nodes
            packed = (rows.view(np.uint64) << key_bits) | (key >> (53 - key_bits))
            order = packed.argsort(kind="stable")
            if key_bits < 53:  # keys cut short: where two of one node now tie, sort on the full keys
                packed = packed[order]
                if (packed[1:] == packed[:-1]).any():
                    order = np.lexsort((key, rows))
            cols = cols[order]
            ordered = cols.tolist()
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
    start = 0
    for node, n in zip(nodes, counts, strict=True):
        node.offset = a + start
        if ordered is not None:
            node.actions = ordered[start : start + n]
        start += n
    pool.top = b
    pool.nodes.extend(nodes)
    return nodes


def find_subtree(root: Node | None, state: pyspiel.State, history: list[int]) -> Node | None:
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
