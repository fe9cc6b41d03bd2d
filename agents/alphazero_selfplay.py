"""AlphaZero's self-play: B games at once through one `BatchedPUCT` (`SelfPlay`), and the actor that plays
them with the newest published weights (`self_play_actor`, for league/actors.py). agents/alphazero.py
describes the algorithm and holds the learner; this module holds what an actor process needs.

Dirichlet noise is mixed into the root priors (alpha defaults to 10 / the mean number of legal moves,
measured on 20 random games); moves are sampled in proportion to the visit counts for the first
`temperature_moves` moves of a game (default a quarter of a random game's mean length), then the most
visited move is played. Every position played becomes a training example: the mover's observation, the
root's visit distribution and, once the game ends, the mover's final return (scaled into [-1, 1]).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pyspiel
import torch

from agents.nets.policy_value import PolicyValueNet
from envs import is_game, refuse_position_actions, utility_scale
from envs.encoding import encoder_for
from envs.errors import UsageError
from envs.turn_based import random_play_statistics, require_sequential, sample_chance
from search.network_evaluator import NetworkEvaluator
from search.puct import BatchedPUCT, PUCTConfig
from search.tree import sample_action

if TYPE_CHECKING:
    from agents.alphazero import Config


def with_search_defaults(config: Config, game: pyspiel.Game) -> Config:
    """The config with the root noise's alpha and the sampled moves filled in where unset, from 20 uniformly
    random games: 10 / their mean number of legal moves, a quarter of their mean length."""
    if config.dirichlet_alpha is not None and config.temperature_moves is not None:
        return config
    measured = random_play_statistics(game, games=20, seed=0)
    alpha = config.dirichlet_alpha
    moves = config.temperature_moves
    return dataclasses.replace(
        config,
        dirichlet_alpha=10.0 / measured.mean_legal_moves if alpha is None else alpha,
        temperature_moves=max(1, round(measured.mean_length / 4)) if moves is None else moves,
    )


def check_game(env: Any) -> pyspiel.Game:
    if not is_game(env):
        raise UsageError("alphazero needs a turn-based game with a forward model (an OpenSpiel game)")
    refuse_position_actions(env, "alphazero")
    require_sequential(env, "alphazero")
    return env


GameExamples = tuple[np.ndarray, np.ndarray, np.ndarray]
"""One finished game's training examples: observations, visit distributions, the movers' outcomes."""


class SelfPlay:
    """B games played at once with one `BatchedPUCT`; `play_move` plays one move in each of them and
    returns the finished games' examples."""

    def __init__(
        self,
        game: pyspiel.Game,
        evaluator: NetworkEvaluator,
        config: Config,
        rng: np.random.Generator,
        games: int | None = None,
    ):
        self.game, self.evaluator, self.rng = game, evaluator, rng
        config = with_search_defaults(config, game)
        self.temperature_moves = config.temperature_moves
        puct = PUCTConfig(
            simulations=config.simulations,
            c_puct=config.c_puct,
            dirichlet_alpha=config.dirichlet_alpha,
            dirichlet_epsilon=config.dirichlet_epsilon,
        )
        self.search = BatchedPUCT(game, evaluator, puct, seed=int(rng.integers(2**31)))
        self.scale = utility_scale(game)
        self.random_opening_moves = config.random_opening_moves
        self.target = config.games_in_parallel if games is None else games
        """games kept going: a finished game is replaced while there are no more (0: let them all end)"""
        self.states = [self.new_game() for _ in range(self.target)]
        self.moves = [0] * len(self.states)
        self.q_weight = config.q_weight
        self.records: list[list[tuple[np.ndarray, np.ndarray, int, float]]] = [[] for _ in self.states]
        self.simulations_per_second = 0.0

    def resolve_chance(self, state: pyspiel.State) -> None:
        while state.is_chance_node():
            state.apply_action(sample_chance(state, self.rng))

    def new_game(self) -> pyspiel.State:
        state = self.game.new_initial_state()
        self.resolve_chance(state)
        for _ in range(int(self.rng.integers(0, self.random_opening_moves + 1))):
            if state.is_terminal():
                break
            state.apply_action(int(self.rng.choice(state.legal_actions())))
            self.resolve_chance(state)
        return state if not state.is_terminal() else self.new_game()

    def play_move(self) -> list[GameExamples]:
        """One move in every game; returns the examples of the games that ended. A finished game is
        replaced by a new one while there are at most `target` games, else dropped; then new games are
        added up to `target`."""
        if not self.states:
            self.grow()
            return []
        counts = self.search.search(self.states, add_noise=True)
        root_values = self.search.root_values() / self.scale if self.q_weight else np.zeros(len(self.states))
        self.simulations_per_second = self.search.last_stats.simulations_per_second
        obs, _ = self.evaluator.encode(self.states)
        finished, ended = [], []
        for b, state in enumerate(self.states):
            policy = counts[b] / counts[b].sum()
            self.records[b].append((obs[b], policy, state.current_player(), float(root_values[b])))
            temperature = 1.0 if self.moves[b] < self.temperature_moves else 0.0
            state.apply_action(sample_action(counts[b], temperature, self.rng))
            self.moves[b] += 1
            self.resolve_chance(state)
            if state.is_terminal():
                returns = np.asarray(state.returns()) / self.scale
                record = self.records[b]
                finished.append(
                    (
                        np.stack([r[0] for r in record]),
                        np.stack([r[1] for r in record]).astype(np.float32),
                        np.array(
                            [(1 - self.q_weight) * returns[r[2]] + self.q_weight * r[3] for r in record],
                            dtype=np.float32,
                        ),
                    )
                )
                if len(self.states) - len(ended) <= self.target:
                    self.states[b], self.moves[b], self.records[b] = self.new_game(), 0, []
                else:
                    ended.append(b)
        for b in reversed(ended):
            del self.states[b], self.moves[b], self.records[b]
        self.grow()
        return finished

    def grow(self) -> None:
        """New games up to `target`."""
        while len(self.states) < self.target:
            self.states.append(self.new_game())
            self.moves.append(0)
            self.records.append([])


def self_play_actor(
    setup: tuple[Config, dict[str, Any]], seed: int, source: Any
) -> Iterator[tuple[int, Any]]:
    """An actor (league/actors.py): self-play with the newest weights, yielding `(version, (one finished
    game's examples, simulations per second))`. Each game is played to its end with one version: when a
    newer one is published, new games start with it while the others finish with theirs; a version newer
    still waits until those are done, so there are two versions at most at a time."""
    import envs

    config, spec = setup
    game = check_game(envs.make(config.env))
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    groups: list[tuple[int, SelfPlay]] = []  # (version, its games), oldest first
    while True:
        if len(groups) < 2:
            version, weights = source.latest()
            if not groups or version != groups[-1][0]:
                network = PolicyValueNet(spec, encoder_for(game).shape, game.num_distinct_actions())
                network.load_state_dict({name: torch.from_numpy(array) for name, array in weights.items()})
                if groups:
                    groups[-1][1].target = 0  # its games finish; new ones start with the new version
                free = config.games_in_parallel - sum(len(selfplay.states) for _, selfplay in groups)
                groups.append((version, SelfPlay(game, NetworkEvaluator(network, game), config, rng, free)))
        for version, selfplay in groups:
            for finished in selfplay.play_move():
                yield version, (finished, selfplay.simulations_per_second)
        groups = [(v, selfplay) for v, selfplay in groups[:-1] if selfplay.states] + groups[-1:]
        if len(groups) > 1:  # the newest version's games take the places the older games leave
            groups[-1][1].target = config.games_in_parallel - sum(len(sp.states) for _, sp in groups[:-1])
