"""The batched match runner: games advance together, and each plays exactly as it would alone."""

from __future__ import annotations

import zlib

import numpy as np
import pyspiel
import torch

from agents.network_player import NetworkPlayer
from agents.players import make_player
from envs.encoding import encoder_for, legal_mask
from envs.turn_based import RandomPlayer, play_game
from league.arena import match_jobs, play_games, play_match
from league.batched import batches, play_batch
from search.puct import PUCTConfig, PUCTPlayer


class HashEvaluator:
    """Priors and values drawn from a hash of each state alone: the same whatever else is in the batch."""

    def __init__(self, game) -> None:
        self.num_actions = game.num_distinct_actions()

    def evaluate(self, states):
        priors, values = np.zeros((len(states), self.num_actions)), np.zeros(len(states))
        for i, state in enumerate(states):
            rng = np.random.default_rng(zlib.crc32(str(state).encode()))
            p = rng.random(self.num_actions) * legal_mask(state, self.num_actions)
            priors[i], values[i] = p / p.sum(), rng.uniform(-1, 1)
        return priors, values


class Recorder(RandomPlayer):
    """A random player (it does not batch) that keeps what it is told."""

    def reset(self, game, player_id: int, seed: int) -> None:
        super().reset(game, player_id, seed)
        self.told = []

    def observe(self, state, action) -> None:
        self.told.append(action)


def puct(game, simulations: int = 12, temperature: float = 0.0) -> PUCTPlayer:
    return PUCTPlayer(HashEvaluator(game), PUCTConfig(simulations=simulations, dirichlet_epsilon=0.0),
                      temperature=temperature)


def test_games_in_a_batch_play_as_alone_whatever_their_companions():
    for spec, sims, temperature in (("tic_tac_toe", 12, 0.0), ("pig(winscore=12)", 16, 1.0)):
        game = pyspiel.load_game(spec)  # pig: chance inside the search, from each tree's own stream
        first, second = puct(game, sims, temperature), puct(game, sims + 3, temperature)
        seeds = list(range(100, 124))  # 24 games: the vectorised step (16 trees and more), then the plain one
        alone = [play_game(game, [first, second], seed) for seed in seeds]
        for order in (seeds, seeds[::-1], seeds[:7]):
            tables = [[first, second] for _ in order]
            together = play_batch(game, tables, order)
            for seed, record in zip(order, together, strict=True):
                assert record.actions == alone[seed - 100].actions
                assert record.returns == alone[seed - 100].returns


def test_a_batch_of_one_is_the_one_game_path_exactly_with_a_network():
    game = pyspiel.load_game("tic_tac_toe")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(int(np.prod(encoder_for(game).shape)), 9))
    sampler = NetworkPlayer(net, game, sample=True)
    assert batches(sampler)
    for seed in range(6):
        other = Recorder()
        alone = play_game(game, [sampler, other], seed)
        told = list(other.told)
        together = play_batch(game, [[sampler, other]], [seed])[0]
        assert (together.actions, together.returns) == (alone.actions, alone.returns)
        assert other.told == told == alone.actions  # a player that does not batch still follows the game


def test_players_that_do_not_batch_get_a_seat_each_and_simultaneous_games_batch():
    game = pyspiel.load_game("tic_tac_toe")
    searcher = puct(game)
    seeds = list(range(10))
    recorders = [Recorder() for _ in seeds]
    together = play_batch(game, [[searcher, r] for r in recorders], seeds)
    for seed, record, recorder in zip(seeds, together, recorders, strict=True):
        assert recorder.told == record.actions
        assert play_game(game, [searcher, Recorder()], seed).actions == record.actions
    rps = pyspiel.load_game("matrix_rps")
    together = play_batch(rps, [[Recorder(), Recorder()] for _ in seeds], seeds)
    alone = [play_game(rps, [Recorder(), Recorder()], s).actions for s in seeds]
    assert [r.actions for r in together] == alone


def test_matches_and_named_games_in_batches_give_the_one_game_results():
    game = pyspiel.load_game("tic_tac_toe")
    a, b = puct(game, 10), puct(game, 20)
    alone = play_match(game, [a, b], games=12, seed=3)
    together = play_match(game, [a, b], games=12, seed=3, batch_size=12)
    assert [g["actions"] for g in together.games] == [g["actions"] for g in alone.games]
    jobs = match_jobs(["random", "alphabeta:1"], 8, seed=5)
    batched = play_games("tic_tac_toe", jobs, make_player, batch_size=4)
    assert batched == play_games("tic_tac_toe", jobs, make_player)
    opened = play_match(game, [a, b], games=12, seed=3, batch_size=12, opening_moves=2)
    assert [g["actions"] for g in opened.games] == [
        g["actions"] for g in play_match(game, [a, b], games=12, seed=3, opening_moves=2).games]
    assert [g["actions"][:2] for g in opened.games] != [g["actions"][:2] for g in together.games]


def test_a_player_that_does_not_batch_cannot_sit_at_two_tables():
    import pytest

    game = pyspiel.load_game("tic_tac_toe")
    shared = Recorder()
    with pytest.raises(ValueError, match="its own object"):
        play_batch(game, [[shared, Recorder()], [shared, Recorder()]], [0, 1])
