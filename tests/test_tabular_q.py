"""Tabular Q-learning: it learns (FrozenLake, tic-tac-toe), saves and loads, repeats itself, and resumes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import envs
from agents import tabular_q
from agents.checkpoint import load_checkpoint
from agents.evaluation import evaluate_player
from agents.training import resume_config
from envs.turn_based import RandomPlayer, play_game


def config(tmp_path, name: str, **overrides) -> tabular_q.Config:
    options = {"run_dir": str(tmp_path / name), "progress": False, "eval_episodes": 200, **overrides}
    return tabular_q.Config(**options)


def table(run_dir) -> torch.Tensor:
    return load_checkpoint(f"{run_dir}/ckpt/latest.pt")["q_values"]


def test_learns_frozen_lake_without_slipping(tmp_path):
    env = envs.make("FrozenLake-v1", is_slippery=False)
    summary = tabular_q.train(config(tmp_path, "fl", steps=20_000), env)
    assert summary["eval_return"] == 1.0  # the greedy policy walks to the goal every time


def test_learns_slippery_frozen_lake(tmp_path):
    env = envs.make("FrozenLake-v1")
    summary = tabular_q.train(config(tmp_path, "fl", steps=150_000, eval_episodes=500), env)
    assert summary["eval_return"] >= 0.6  # random play: 0.015; the best policy: 0.74


def test_termination_ends_the_target_and_truncation_does_not(tmp_path):
    """With every q starting at 1: stepping into the goal or a hole is worth its reward alone, while a step
    cut short by the time limit is still worth gamma times the best value where it stopped."""
    exact = {"initial_q": 1.0, "learning_rate": 1.0, "final_learning_rate_fraction": 1.0, "eval_episodes": 1}
    lake = envs.make("FrozenLake-v1", is_slippery=False)
    tabular_q.train(config(tmp_path, "lake", steps=20_000, **exact), lake)
    q = table(tmp_path / "lake")
    left, down, right = 0, 1, 2
    assert q[14, right] == 1.0  # into the goal: reward 1, nothing after
    assert q[4, right] == q[6, left] == q[13, left] == 0.0  # into the holes at 5, 5 and 12
    short = envs.make("FrozenLake-v1", is_slippery=False, max_episode_steps=1)
    tabular_q.train(config(tmp_path, "short", steps=200, gamma=0.9, **exact), short)
    assert table(tmp_path / "short")[0, down] == table(tmp_path / "short")[0, right] == pytest.approx(0.9)


def test_taxi_table_has_a_row_per_observation(tmp_path):
    env = envs.make("Taxi-v4")
    tabular_q.train(config(tmp_path, "taxi", steps=2_000, eval_episodes=1), env)
    values = table(tmp_path / "taxi")
    assert values.shape == (500, 6) and values.dtype == torch.float64


def test_self_play_tic_tac_toe_beats_random(tmp_path):
    game = envs.make("tic_tac_toe")
    run_config = config(tmp_path, "ttt", env="tic_tac_toe", steps=60_000, eval_episodes=400)
    summary = tabular_q.train(run_config, game)
    assert summary["eval_win_rate"] >= 0.7  # random against random: win 0.44, loss 0.44
    assert summary["eval_loss_rate"] <= 0.12


def test_negamax_values_of_a_finished_line(tmp_path):
    """Self-play learns that the side to move wins at once where it can: q = +1 for the winning move."""
    game = envs.make("tic_tac_toe")
    tabular_q.train(
        config(
            tmp_path,
            "ttt",
            env="tic_tac_toe",
            steps=60_000,
            learning_rate=1.0,
            final_learning_rate_fraction=1.0,
            eval_episodes=1,
        ),
        game,
    )
    checkpoint = load_checkpoint(tmp_path / "ttt" / "ckpt" / "latest.pt")
    q = dict(zip(checkpoint["q_keys"], checkpoint["q_values"].tolist(), strict=True))
    state = game.new_initial_state()
    for action in (0, 3, 1, 4):  # x: 0, 1; o: 3, 4; x to move completes the top row with 2
        state.apply_action(action)
    row = q[f"0|{state.observation_string(0)}"]
    assert row[2] == 1.0  # a deterministic game: with lr 1 one visit sets the value
    assert max(row[a] for a in state.legal_actions()) == row[2]


def test_checkpoint_round_trip_acts_identically(tmp_path):
    game = envs.make("tic_tac_toe")
    tabular_q.train(config(tmp_path, "ttt", env="tic_tac_toe", steps=5_000, eval_episodes=1), game)
    path = tmp_path / "ttt" / "ckpt" / "latest.pt"
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    assert len(checkpoint["q_keys"]) == checkpoint["q_values"].shape[0] > 100
    first, second = (tabular_q.load_player(load_checkpoint(path), game) for _ in range(2))
    records = [
        [play_game(game, [player, RandomPlayer()], seed=s).actions for s in range(20)]
        for player in (first, second)
    ]
    assert records[0] == records[1]
    env = envs.make("FrozenLake-v1")
    tabular_q.train(config(tmp_path, "fl", steps=5_000, eval_episodes=1), env)
    player = tabular_q.load_player(load_checkpoint(tmp_path / "fl" / "ckpt" / "latest.pt"), env)
    values = table(tmp_path / "fl").numpy()
    assert [player.act(s) for s in range(16)] == [int(np.argmax(values[s])) for s in range(16)]
    with pytest.raises(envs.errors.UsageError):
        tabular_q.load_player(load_checkpoint(tmp_path / "fl" / "ckpt" / "latest.pt"), env, depth="3")


def test_final_evaluation_is_what_eval_reproduces(tmp_path):
    env = envs.make("FrozenLake-v1")
    summary = tabular_q.train(config(tmp_path, "fl", steps=20_000, eval_episodes=100), env)
    player = tabular_q.load_player(load_checkpoint(tmp_path / "fl" / "ckpt" / "latest.pt"), env)
    assert evaluate_player(player, envs.make("FrozenLake-v1"), 100)["mean_return"] == summary["eval_return"]


@pytest.mark.parametrize("spec", ["FrozenLake-v1", "tic_tac_toe"])
def test_same_seed_same_table(tmp_path, spec):
    runs = [
        tabular_q.train(config(tmp_path, f"run{i}", env=spec, steps=5_000, eval_episodes=1), envs.make(spec))
        for i in range(2)
    ]
    assert torch.equal(table(runs[0]["run_dir"]), table(runs[1]["run_dir"]))
    other = tabular_q.train(
        config(tmp_path, "other", env=spec, steps=5_000, seed=1, eval_episodes=1), envs.make(spec)
    )
    assert not torch.equal(table(runs[0]["run_dir"]), table(other["run_dir"]))


@pytest.mark.parametrize("spec", ["FrozenLake-v1", "tic_tac_toe"])
def test_resume_continues_from_the_saved_step(tmp_path, spec):
    first = tabular_q.train(config(tmp_path, "run", env=spec, steps=3_000, eval_episodes=1), envs.make(spec))
    saved = load_checkpoint(tmp_path / "run" / "ckpt" / "latest.pt")
    assert saved["step"] == first["steps"] == 3_000

    def resume(steps: int) -> dict:
        given = tabular_q.Config(resume=str(tmp_path / "run"), steps=steps, progress=False)
        merged, checkpoint = resume_config(given, tabular_q.SHAPE_FIELDS)
        assert merged.env == spec and merged.eval_episodes == 1
        return tabular_q.train(merged, envs.make(spec), checkpoint)

    same = resume(3_000)  # nothing left to do: the table comes back unchanged
    assert same["steps"] == 3_000 and torch.equal(table(tmp_path / "run"), saved["q_values"])
    more = resume(6_000)
    assert more["steps"] == 6_000 and more["episodes"] > first["episodes"]
    resumed = load_checkpoint(tmp_path / "run" / "ckpt" / "latest.pt")
    assert resumed["q_values"].shape[0] >= saved["q_values"].shape[0]
    assert not torch.equal(resumed["q_values"][: saved["q_values"].shape[0]], saved["q_values"])


def test_resume_repeats_itself(tmp_path):
    """Two resumes of one checkpoint give the same table: the Q-table, env and RNG states all come back."""
    spec = "FrozenLake-v1"
    tabular_q.train(config(tmp_path, "run", steps=3_000, eval_episodes=1), envs.make(spec))
    tables = []
    for _ in range(2):
        given = tabular_q.Config(resume=str(tmp_path / "run"), steps=6_000, progress=False)
        merged, checkpoint = resume_config(given, tabular_q.SHAPE_FIELDS)
        checkpoint_copy = {**checkpoint}
        tabular_q.train(
            dataclasses.replace(merged, run_dir=str(tmp_path / f"copy{len(tables)}")),
            envs.make(spec),
            checkpoint_copy,
        )
        tables.append(table(tmp_path / f"copy{len(tables)}"))
    assert torch.equal(tables[0], tables[1])


def test_per_player_targets_on_a_game_with_chance_and_hidden_cards(tmp_path):
    summary = tabular_q.train(
        config(tmp_path, "kuhn", env="kuhn_poker", steps=3_000, eval_episodes=20), envs.make("kuhn_poker")
    )
    assert summary["eval_games"] == 20
    keys = load_checkpoint(tmp_path / "kuhn" / "ckpt" / "latest.pt")["q_keys"]
    assert {key.split("|")[0] for key in keys} == {"0", "1"}  # each player's own view


def test_refuses_continuous_observations(tmp_path):
    with pytest.raises(envs.errors.UsageError, match="Discrete"):
        tabular_q.train(config(tmp_path, "cp", env="CartPole-v1", steps=100), envs.make("CartPole-v1"))


def test_epsilon_and_learning_rate_schedules():
    linear = tabular_q.Config(steps=1000, exploration_fraction=0.5, start_epsilon=1.0, end_epsilon=0.1)
    assert tabular_q.epsilon_at(linear, 0) == 1.0
    assert tabular_q.epsilon_at(linear, 250) == pytest.approx(0.55)
    assert tabular_q.epsilon_at(linear, 500) == tabular_q.epsilon_at(linear, 1000) == pytest.approx(0.1)
    exponential = dataclasses.replace(linear, epsilon_schedule="exponential")
    assert tabular_q.epsilon_at(exponential, 0) == 1.0
    assert 0.1 < tabular_q.epsilon_at(exponential, 500) < 0.1 + 0.01 * 0.9  # within 1% of the way left
    assert tabular_q.learning_rate_at(linear, 0) == linear.learning_rate
    assert tabular_q.learning_rate_at(linear, 1000) == pytest.approx(
        linear.learning_rate * linear.final_learning_rate_fraction
    )
