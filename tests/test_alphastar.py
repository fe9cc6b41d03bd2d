"""AlphaStar's actor-critic, part one (agents/alphastar.py): unrolls, the LSTM state across them, learning."""

from __future__ import annotations

import copy

import numpy as np
import pyspiel
import pytest
import torch

from agents import alphastar
from agents.exploitability import nash_conv
from agents.nets.spec import SpecNetwork


def make(game, config):
    network = SpecNetwork(alphastar.network_spec(config), tuple(game.information_state_tensor_shape()),
                          game.num_distinct_actions())
    return network, copy.deepcopy(network)


def test_unrolls_carry_the_lstm_state_from_one_to_the_next_of_a_stream():
    game = pyspiel.load_game("leduc_poker")
    config = alphastar.Config(env="leduc_poker", unroll_length=4, games_in_parallel=3, memory_size=8,
                              hidden_sizes=(16,))
    torch.manual_seed(0)
    network, reference = make(game, config)
    rng = np.random.default_rng(0)
    selfplay = alphastar.Matches(game, {"self": network}, reference, config, rng, ["self"] * 3)
    unrolls = []
    while len(unrolls) < 30:
        unrolls += selfplay.step()
    by_stream: dict[int, list] = {}
    for unroll in unrolls:
        by_stream.setdefault(unroll["stream"], []).append(unroll)
    pairs = [(a, b) for found in by_stream.values() for a, b in zip(found, found[1:], strict=False)]
    assert pairs
    for first, second in pairs:
        assert first["obs"].shape == (5, 30) and first["actions"].shape == (4,)
        assert torch.equal(first["obs"][-1], second["obs"][0])  # the bootstrap is the next unroll's start
        with torch.no_grad():  # the first unroll's transitions, run from its state, end in the second's
            out = network(first["obs"][:4, None], action_mask=first["mask"][:4, None],
                          state=tuple(s[:, None] for s in first["state"]), starts=first["starts"][:4, None])
        assert torch.allclose(out.state[0][:, 0], second["state"][0], atol=1e-6)
        assert torch.allclose(out.state[1][:, 0], second["state"][1], atol=1e-6)
    ended = [u for u in unrolls if (u["discounts"] == 0).any()]
    assert ended and any(u["rewards"][u["discounts"] == 0].abs().sum() > 0 for u in ended)  # payoffs land


def test_the_first_loss_has_no_kl_and_self_play_learns_kuhn(tmp_path):
    game = pyspiel.load_game("kuhn_poker")
    config = alphastar.Config(env="kuhn_poker", steps=12_000, run_dir=str(tmp_path / "as"), progress=False,
                              device="cpu")
    torch.manual_seed(1)
    network, reference = make(game, config)
    rng = np.random.default_rng(1)
    selfplay = alphastar.Matches(game, {"self": network}, reference, config, rng, ["self"] * 64)
    unrolls = []
    while len(unrolls) < config.batch_size:
        unrolls += selfplay.step()
    _, parts = alphastar.alphastar_loss(network, reference, alphastar.collate(unrolls[:32], "cpu"), config)
    assert parts["kl_to_reference"] < 1e-6
    before = nash_conv(game, alphastar.AlphaStarPlayer(network, game))
    summary = alphastar.train(config, game)
    assert summary["nash_conv"] < min(0.6, before - 0.2), (before, summary["nash_conv"])


def test_a_league_run_freezes_players_and_resumes_its_matchmaking(tmp_path):
    from agents.checkpoint import load_checkpoint
    from league.league import League

    game = pyspiel.load_game("kuhn_poker")
    common = dict(env="kuhn_poker", league=True, league_min_steps=300, league_max_steps=600,
                  games_in_parallel=16, batch_size=8, progress=False, device="cpu",
                  run_dir=str(tmp_path / "lg"))
    summary = alphastar.train(alphastar.Config(steps=6000, **common), game)
    checkpoint = load_checkpoint(summary["checkpoint"])
    league = League.from_state(checkpoint["league"])
    assert summary["league_frozen"] == len(league.frozen()) > 4 and 0 <= summary["mixture_nash_conv"] < 1.5
    assert set(checkpoint["frozen"]) == set(league.frozen())
    from agents.exploitability import nash_conv
    from agents.players import make_player

    mixture = make_player(f"league:{common['run_dir']}", game)  # reach-weighted, as PolicyAggregator mixes
    assert nash_conv(game, mixture) == pytest.approx(summary["mixture_nash_conv"], abs=2e-4)
    main = make_player(f"league:{common['run_dir']},mixture=main", game)
    assert nash_conv(game, main) == pytest.approx(summary["nash_conv"], abs=2e-4)
    branches = {entry["branch"] for entry in league.log if "branch" in entry}
    assert {"pfsp", "exploit_main", "league_exploiter_pfsp"} <= branches
    assert any(entry.get("reset") for entry in league.log)  # a main exploiter went back to its start
    resumed = alphastar.train(alphastar.Config(steps=9000, resume=common["run_dir"], **common), game,
                              checkpoint)
    later = League.from_state(load_checkpoint(resumed["checkpoint"])["league"])
    assert later.log[: len(league.log)] == league.log and len(later.log) > len(league.log)


def test_actors_on_the_actor_layer_feed_the_learner(tmp_path):
    game = pyspiel.load_game("kuhn_poker")
    config = alphastar.Config(env="kuhn_poker", steps=4000, workers=2, backend="fake", games_in_parallel=16,
                              batch_size=8, progress=False, device="cpu", run_dir=str(tmp_path / "w"))
    summary = alphastar.train(config, game)
    assert summary["updates"] > 5 and summary["actor_restarts"] == 0 and summary["steps"] >= 4000


def test_self_play_on_a_simultaneous_game_decides_for_both_seats_at_once():
    """goofspiel's bids are simultaneous: each step both seats of a game decide on their own information
    state, the joint bid is applied, and each seat's stream gets its transitions and its payoff."""
    game = pyspiel.load_game("goofspiel(num_cards=3,imp_info=True)")
    config = alphastar.Config(env="goofspiel", unroll_length=2, games_in_parallel=4, memory_size=8,
                              hidden_sizes=(16,), reward_scale=0.5)
    torch.manual_seed(0)
    network, reference = make(game, config)
    selfplay = alphastar.Matches(game, {"self": network}, reference, config, np.random.default_rng(0),
                                 ["self"] * 4)
    assert len(selfplay.movers()) == 8  # both seats of the 4 games
    unrolls = []
    for _ in range(12):
        unrolls += selfplay.step()
    assert {u["stream"] % 2 for u in unrolls} == {0, 1}
    assert len(selfplay.finished) == 4 * 12 // 2  # two bids a game (the last card plays itself)
    payoffs = torch.cat([u["rewards"][u["discounts"] == 0] for u in unrolls])
    assert payoffs.numel() and set(payoffs.abs().tolist()) <= {0.0, 0.5}  # +-1 win/loss, scaled


class BetsWithKings:
    """A fixed Kuhn poker strategy with memory of nothing: bet or call holding the king, else pass/fold."""

    def __init__(self, game) -> None:
        self.seat = 0

    def reset(self, game, player_id: int, seed: int) -> None:
        self.seat = player_id

    def act(self, state) -> int:
        return 1 if "2" in state.information_state_string(state.current_player())[:1] else 0


def kings(game):
    return BetsWithKings(game)


def test_a_reference_cloned_from_a_players_games_is_the_kl_target_and_the_start(tmp_path):
    """--reference PLAYER: the player's games are recorded, a network fitted to them (held-out accuracy),
    and that network is both the KL reference (KL 0 at the start) and the learner's first weights."""
    from agents.checkpoint import load_checkpoint
    from agents.cloning import clone_player, record_games

    game = pyspiel.load_game("kuhn_poker")
    sequences = record_games(game, "tests.test_alphastar:kings", 20)
    assert len(sequences) == 40 and all(len(a) >= 1 for _, _, a in sequences)
    config = alphastar.Config(env="kuhn_poker", hidden_sizes=(16,), memory_size=8)
    spec = alphastar.network_spec(config)
    _, figures = clone_player(game, "tests.test_alphastar:kings", spec, games=100, steps=60)
    assert figures["reference_held_out_accuracy"] > 0.95, figures
    config = alphastar.Config(env="kuhn_poker", steps=300, hidden_sizes=(16,), memory_size=8,
                              reference="tests.test_alphastar:kings", reference_games=100, reference_steps=60,
                              run_dir=str(tmp_path / "ref"), progress=False, device="cpu", learning_rate=0.0)
    summary = alphastar.train(config, game)
    assert summary["reference_held_out_accuracy"] > 0.95
    saved = load_checkpoint(summary["checkpoint"])
    for name, weights in saved["reference"].items():  # no learning (rate 0): the learner is the clone
        assert torch.equal(weights, saved["model"][name]), name
