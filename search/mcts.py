"""Monte-Carlo tree search: UCT with random rollouts, on the tree of search/tree.py.

Selection scores a node's children as `S = [Q, 1/sqrt(N)]` times `[1, c*sqrt(ln V)]` (one `dot`, one
`argmax`); each unvisited child is tried once first, in a random order that is also the order of the
node's actions from then on, so that `argmax`, taking the first of equal scores, breaks ties at random.
A leaf is valued by one random rollout the first time it is reached and becomes a node on its second
visit, as in OpenSpiel's `MCTSBot`. Chance nodes sample their outcomes; terminal nodes return their
exact returns. Backups carry a return per player, so UCT works for any number of players.

- `RandomRollout(game, seed)`: plays a state out with uniform random moves in C++ (`pyspiel.evaluate_bots`).
- `uct_search(root, simulations, uct_c, rollout, rng)`: the search loop, written flat for speed.
- `MCTSPlayer(simulations, uct_c, seed)`: the `mcts:SIMS` player; plays the most visited move.

PUCT with an evaluator, batched over games, is search/puct.py.
"""

from __future__ import annotations

import math
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence

import numpy as np
import pyspiel

from search.tree import GCPaused, Node, SearchStats, find_subtree


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
    with GCPaused():
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
                # An unvisited action at random: one step of a Fisher-Yates shuffle of the actions, which
                # moves it to the last unvisited place (the unvisited edges, in the first `unvisited`
                # places, have no statistics and no child yet). Once all are tried the actions are in
                # a uniformly random order, and `argmax` (the first of equal scores) breaks ties at random.
                i = node.unvisited - 1
                node.unvisited = i
                if i:
                    k = int(rand() * (i + 1))
                    actions = node.actions
                    actions[i], actions[k] = actions[k], actions[i]
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
        for node, i in path:  # backup, inlined: one visit and the mover's return on every edge
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
        root = find_subtree(self.root, state, history) if self.reuse_tree else None
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
