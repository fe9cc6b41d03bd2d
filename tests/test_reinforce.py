"""REINFORCE: it learns (CartPole), saves and loads, repeats itself, respects masks, and resumes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import envs
from agents import reinforce
from agents.checkpoint import load_checkpoint
from agents.evaluation import evaluate_player
from agents.nets.spec import build_network, mlp_spec
from agents.players import load_checkpoint_player
from agents.training import TrainingDiverged, resume_config
from envs.errors import UsageError


def config(tmp_path, name: str, **overrides) -> reinforce.Config:
    options = {"run_dir": str(tmp_path / name), "progress": False, "eval_episodes": 0, **overrides}
    return reinforce.Config(**options)


def checkpoint_of(tmp_path, name: str) -> dict:
    return load_checkpoint(tmp_path / name / "ckpt" / "latest.pt")


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_learns_cartpole_and_logs_the_tags(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    summary = reinforce.train(config(tmp_path, "cp", steps=6_000, eval_episodes=10), envs.make("CartPole-v1"))
    assert summary["eval_return"] >= 200  # a random policy: about 22
    events = EventAccumulator(str(tmp_path / "cp")).Reload()
    tags = set(events.Tags()["scalars"])
    expected = ["charts/episodic_return", "charts/episodic_length", "charts/SPS", "eval/episodic_return"]
    expected += ["losses/policy_loss", "losses/value_loss", "losses/entropy"]
    assert set(expected) <= tags
    returns = [event.value for event in events.Scalars("charts/episodic_return")]
    assert np.mean(returns[-20:]) > 2 * np.mean(returns[:20])


def test_stops_once_the_training_returns_are_solved(tmp_path):
    run_config = config(tmp_path, "cp", steps=50_000, solved_return=60.0, solved_window=5)
    summary = reinforce.train(run_config, envs.make("CartPole-v1"))
    assert summary["stopped_by"].startswith("solved") and summary["steps"] < 50_000
    assert checkpoint_of(tmp_path, "cp")["episodes"] == summary["episodes"]


def test_checkpoint_round_trip_on_a_gym_env(tmp_path):
    env = envs.make("CartPole-v1")
    summary = reinforce.train(config(tmp_path, "cp", steps=3_000, eval_episodes=5), env)
    path = tmp_path / "cp" / "ckpt" / "latest.pt"
    raw = torch.load(path, weights_only=True)  # data only, never code
    assert {"model", "value", "optimizer", "step", "episodes", "rng", "config", "env"} <= set(raw)
    player = load_checkpoint_player(str(path), env)
    assert same_weights(player.network.state_dict(), raw["model"])
    assert evaluate_player(player, env, 5)["mean_return"] == pytest.approx(summary["eval_return"], abs=0.01)
    obs, _ = env.reset(seed=1)
    assert player.policy(obs).sum() == pytest.approx(1.0)


def test_checkpoint_round_trip_on_a_game(tmp_path):
    game = envs.make("tic_tac_toe")
    summary = reinforce.train(config(tmp_path, "ttt", env="tic_tac_toe", steps=2_000, eval_episodes=20), game)
    path = str(tmp_path / "ttt" / "ckpt" / "latest.pt")
    result = evaluate_player(load_checkpoint_player(path, game), game, 20)  # the same games as the run's
    assert round(result["win_rate"], 3) == summary["eval_win_rate"]
    assert round(result["loss_rate"], 3) == summary["eval_loss_rate"]
    assert load_checkpoint_player(path, game, options={"sample": "true"}).sample
    with pytest.raises(UsageError, match="unknown reinforce player option"):
        load_checkpoint_player(path, game, options={"temperature": "2"})


@pytest.mark.parametrize("env_spec,opponent", [("CartPole-v1", "random"), ("tic_tac_toe", "pool")])
def test_one_seed_gives_identical_weights(tmp_path, env_spec, opponent):
    options = {"env": env_spec, "steps": 1_500, "opponent": opponent, "snapshot_every": 5}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        reinforce.train(config(tmp_path, name, seed=seed, **options), envs.make(env_spec))
    a, b, c = (checkpoint_of(tmp_path, name) for name in "abc")
    assert same_weights(a["model"], b["model"]) and same_weights(a["value"], b["value"])
    assert not same_weights(a["model"], c["model"])


def fixed_logits(obs_shape: tuple[int, ...], favoured: list[int], num_actions: int) -> torch.nn.Module:
    """A policy network whose logits are 0, and 100 on the favoured actions, whatever it sees."""
    network = build_network(mlp_spec([4], "policy"), obs_shape, num_actions)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.zero_()
        network.policy_head.layers[0].bias[favoured] = 100.0
    return network


def test_masks_are_respected_when_playing_and_learning(tmp_path):
    game = envs.make("tic_tac_toe")
    state = game.new_initial_state()
    for action in (4, 0, 8):
        state.apply_action(action)
    taken = [0, 4, 8]
    for sample in (False, True):
        player = reinforce.ReinforcePlayer(fixed_logits((5, 3, 3), taken, 9), game, sample=sample)
        player.reset(game, 1, seed=0)
        assert all(player.act(state.clone()) not in taken for _ in range(50))
    probabilities = reinforce.ReinforcePlayer(fixed_logits((5, 3, 3), taken, 9), game).policy(state)
    assert probabilities[taken].sum() == 0.0 and probabilities.sum() == pytest.approx(1.0)

    # The loss sees only the legal actions: uniform logits over 2 legal actions have entropy log 2.
    policy = fixed_logits((4,), [], 9)
    masks = torch.zeros(3, 9, dtype=torch.bool)
    masks[:, [2, 5]] = True
    run_config = reinforce.Config(baseline=False)
    obs, actions, returns = torch.ones(3, 4), torch.tensor([2, 5, 2]), torch.tensor([1.0, -1.0, 0.5])
    loss, parts = reinforce.reinforce_loss(policy, None, obs, actions, returns, masks, [3], run_config)
    loss.backward()
    assert parts["entropy"] == pytest.approx(math.log(2))
    head = policy.policy_head.layers[0]
    assert torch.isfinite(head.weight.grad).all()
    assert head.bias.grad[[0, 1, 3, 4, 6, 7, 8]].abs().sum() == 0  # no push on illegal logits

    # Training against itself and a pool of snapshots: OpponentEnv raises on any illegal move.
    summary = reinforce.train(config(tmp_path, "self", env="tic_tac_toe", steps=1_500, opponent="self"), game)
    assert summary["steps"] >= 1_500
    run_config = config(tmp_path, "pool", env="tic_tac_toe", steps=1_500, opponent="pool", snapshot_every=1)
    reinforce.train(run_config, game)
    assert len(checkpoint_of(tmp_path, "pool")["pool"]) == run_config.pool_size


def test_pool_snapshots_are_checkpoint_files_that_play(tmp_path):
    game = envs.make("tic_tac_toe")
    options = {"env": "tic_tac_toe", "steps": 600, "opponent": "pool", "snapshot_every": 2, "pool_size": 3}
    reinforce.train(config(tmp_path, "pool", **options), game)
    names = checkpoint_of(tmp_path, "pool")["pool"]
    folder = tmp_path / "pool" / "snapshots"
    assert len(names) == 3 and sorted(names) == sorted(path.stem for path in folder.glob("*.pt"))
    for name in names:
        snapshot = load_checkpoint(folder / f"{name}.pt")
        assert snapshot["algorithm"] == "reinforce" and name == f"step_{snapshot['step']}"
        player = load_checkpoint_player(str(folder / f"{name}.pt"), game)
        assert same_weights(player.network.state_dict(), snapshot["model"])
        assert player.act(game.new_initial_state()) in range(9)


def test_resume_continues_from_the_saved_step(tmp_path):
    env = envs.make("CartPole-v1")
    options = {"stop_when_solved": False, "checkpoint_every": 1_000}
    reinforce.train(config(tmp_path, "whole", steps=4_000, **options), env)
    reinforce.train(config(tmp_path, "part", steps=2_000, **options), env)
    saved_step = checkpoint_of(tmp_path, "part")["step"]
    assert 2_000 <= saved_step < 4_000

    given = config(tmp_path, "ignored", steps=4_000, resume=str(tmp_path / "part"), **options)
    resumed, checkpoint = resume_config(given, reinforce.SHAPE_FIELDS)
    assert checkpoint["step"] == saved_step and resumed.run_dir == str(tmp_path / "part")
    summary = reinforce.train(resumed, env, checkpoint)
    whole, part = checkpoint_of(tmp_path, "whole"), checkpoint_of(tmp_path, "part")
    assert summary["steps"] == part["step"] == whole["step"] >= 4_000
    assert part["episodes"] == whole["episodes"]
    assert same_weights(part["model"], whole["model"])  # the same run as one without a break

    with pytest.raises(UsageError, match="hidden-sizes"):
        changed = config(tmp_path, "x", resume=str(tmp_path / "part"), hidden_sizes=(64,))
        resume_config(changed, reinforce.SHAPE_FIELDS)


@pytest.mark.parametrize(
    "env_spec,options",
    [
        ("CartPole-v1", {"batch_episodes": 3}),
        ("CartPole-v1", {"batch_episodes": 3, "net": "lstm", "hidden_sizes": (16,), "memory_size": 16}),
        ("tic_tac_toe", {"batch_episodes": 2, "opponent": "pool", "snapshot_every": 2, "pool_size": 3}),
        ("tic_tac_toe", {"batch_episodes": 2, "opponent": "random"}),
    ],
)
def test_a_stop_partway_through_a_batch_resumes_as_the_unbroken_run(tmp_path, monkeypatch, env_spec, options):
    from agents.training import TrainingRun

    record_episode, ends = TrainingRun.record_episode, []

    def record(self, episodic_return, length):
        record_episode(self, episodic_return, length)
        ends.append(self.step)

    monkeypatch.setattr(TrainingRun, "record_episode", record)
    options = {"env": env_spec, "stop_when_solved": False, "eval_episodes": 4, **options}
    total = 3_000 if env_spec == "CartPole-v1" else 1_200
    whole = reinforce.train(config(tmp_path, "whole", steps=total, **options), envs.make(env_spec))
    # --steps stops at the end of an episode: pick one partway through a batch (an odd episode count:
    # on a game the next seat is then 1), with updates (and pool snapshots) before it.
    stop = next(e for i, e in enumerate(ends) if e >= total // 2 and (i + 1) % options["batch_episodes"] == 1)
    part = reinforce.train(config(tmp_path, "part", steps=stop, **options), envs.make(env_spec))
    assert part["steps"] == stop and checkpoint_of(tmp_path, "part")["batch"]["episodes"] == 1

    given = config(tmp_path, "ignored", steps=total, resume=str(tmp_path / "part"), eval_episodes=4)
    resumed_config, checkpoint = resume_config(given, reinforce.SHAPE_FIELDS)
    resumed = reinforce.train(resumed_config, envs.make(env_spec), checkpoint)
    a, b = checkpoint_of(tmp_path, "whole"), checkpoint_of(tmp_path, "part")
    assert resumed["steps"] == whole["steps"] and resumed["episodes"] == whole["episodes"]
    assert same_weights(a["model"], b["model"]) and same_weights(a["value"], b["value"])
    assert a["updates"] == b["updates"] and a.get("pool") == b.get("pool")
    for key in ("eval_return", "eval_win_rate", "eval_loss_rate", "train_return"):
        assert whole.get(key) == resumed.get(key), key


def test_solved_check_state_round_trips():
    from agents.training import SolvedCheck

    env = envs.make("CartPole-v1")
    first = SolvedCheck("CartPole-v1", env, True, 50.0, window=4, check_episodes=0)
    for episodic_return in (10.0, 80.0, 70.0):
        assert not first.update(episodic_return)
    again = SolvedCheck("CartPole-v1", env, True, 50.0, window=4, check_episodes=0)
    again.load_state_dict(first.state_dict())
    assert again.update(60.0) and first.update(60.0)  # the window spans the break: (10+80+70+60)/4 >= 50


def test_a_nan_loss_stops_the_run(tmp_path):
    with pytest.raises(TrainingDiverged):
        reinforce.train(config(tmp_path, "nan", learning_rate=float("nan")), envs.make("CartPole-v1"))
    assert not (tmp_path / "nan" / "ckpt" / "latest.pt").exists()  # no checkpoint of NaN weights


def test_train_and_eval_through_the_command_line(tmp_path, capsys):
    import json

    import run

    run_dir = str(tmp_path / "cli")
    argv = ["train", "reinforce", "--env", "CartPole-v1", "--steps", "1500", "--run-dir", run_dir]
    assert run.main(argv) == 0
    assert run.main(["eval", f"{run_dir}/ckpt/latest.pt", "--episodes", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) >= {"episodes", "mean_return", "std_return"} and result["episodes"] == 3
