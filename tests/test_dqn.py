"""DQN: it learns on a tiny case, a checkpoint round-trips, one seed repeats, resume continues (exactly,
from the end of an episode), masks hold."""

import dataclasses
import signal

import numpy as np
import pytest
import torch

import envs
from agents import dqn
from agents.checkpoint import load_checkpoint
from agents.players import load_checkpoint_player
from agents.training import TrainingRun, resume_config


def train(tmp_path, name: str, **overrides) -> dict:
    config = dqn.Config(run_dir=str(tmp_path / name), progress=False, **overrides)
    return dqn.train(config, envs.make(config.env))


def test_dqn_lifts_cartpole_return(tmp_path):
    summary = train(tmp_path, "cp", steps=10_000, eval_episodes=5, save_buffer=False, device="cpu")
    assert summary["eval_return"] >= 150, summary  # an untrained or broken learner scores ~9-30


def test_dqn_beats_random_at_tic_tac_toe(tmp_path):
    summary = train(
        tmp_path,
        "ttt",
        env="tic_tac_toe",
        steps=8_000,
        learning_starts=500,
        hidden_sizes=(64, 64),
        eval_episodes=100,
        save_buffer=False,
    )
    assert summary["eval_win_rate"] >= 0.7, summary  # random vs random wins ~0.45


def test_checkpoint_round_trip_acts_identically(tmp_path):
    summary = train(tmp_path, "rt", steps=600, learning_starts=100, hidden_sizes=(32,), eval_episodes=2)
    env = envs.make("CartPole-v1")
    checkpoint = load_checkpoint(summary["checkpoint"])
    assert checkpoint["algorithm"] == "dqn" and checkpoint["step"] == 600
    player = load_checkpoint_player(summary["checkpoint"], env)
    again = load_checkpoint_player(summary["checkpoint"], env)
    for key, value in checkpoint["model"].items():
        assert torch.equal(value, player.network.state_dict()[key])
    observations = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    assert [player.act(o) for o in observations] == [again.act(o) for o in observations]
    assert (tmp_path / "rt" / "ckpt" / "replay_buffer.npz").exists()


def test_same_seed_same_result(tmp_path):
    first = train(tmp_path, "a", steps=1500, learning_starts=200, hidden_sizes=(32,), eval_episodes=2, seed=3)
    second = train(
        tmp_path, "b", steps=1500, learning_starts=200, hidden_sizes=(32,), eval_episodes=2, seed=3
    )
    a, b = load_checkpoint(first["checkpoint"])["model"], load_checkpoint(second["checkpoint"])["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_continues_from_the_saved_step(tmp_path):
    first = train(tmp_path, "r", steps=800, learning_starts=100, hidden_sizes=(32,), eval_episodes=2)
    config, checkpoint = dqn.Config(resume=first["run_dir"], steps=1600, progress=False), None
    from agents.training import resume_config

    config, checkpoint = resume_config(config, dqn.SHAPE_FIELDS)
    assert checkpoint["step"] == 800 and config.hidden_sizes == (32,) and config.steps == 1600
    for changed in ({"net": "resnet"}, {"resnet_blocks": 3}):
        with pytest.raises(envs.errors.UsageError, match="cannot change on --resume"):
            resume_config(dqn.Config(resume=first["run_dir"], **changed), dqn.SHAPE_FIELDS)
    second = dqn.train(config, envs.make(config.env), checkpoint)
    assert second["steps"] == 1600 and load_checkpoint(second["checkpoint"])["step"] == 1600


def test_resume_without_a_saved_buffer_refills_before_learning(tmp_path):
    # The n-step window holds back the first 2 transitions after the resume, and step 800 (2 steps in)
    # is due to learn (train_frequency 4): the buffer is then still empty.
    from agents.training import resume_config

    first = train(tmp_path, "n", steps=798, learning_starts=100, hidden_sizes=(32,), eval_episodes=2,
                  save_buffer=False, stop_when_solved=False)
    config = dqn.Config(resume=first["run_dir"], steps=1000, progress=False)
    config, checkpoint = resume_config(config, dqn.SHAPE_FIELDS)
    second = dqn.train(config, envs.make(config.env), checkpoint)
    assert second["steps"] == 1000


def same_tensors(a, b) -> bool:
    """torch.equal on every tensor of two (nested) checkpoint parts, and equal everything else."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_tensors(x, y) for x, y in zip(a, b, strict=True))
    return torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b


@pytest.mark.parametrize(
    "env_spec,options",
    [("CartPole-v1", {}), ("tic_tac_toe", {"opponent": "self"}), ("tic_tac_toe", {"opponent": "random"})],
)
def test_ctrl_c_at_an_episode_end_and_resume_is_the_unbroken_run(tmp_path, monkeypatch, env_spec, options):
    options = {"env": env_spec, "steps": 1_200, "learning_starts": 200, "hidden_sizes": (32,),
               "target_update_interval": 150, "buffer_size": 2_000, "eval_episodes": 2, **options}
    record_episode, ends = TrainingRun.record_episode, []

    def record_and_maybe_stop(self, episodic_return, length):
        record_episode(self, episodic_return, length)
        ends.append(self.step)
        if self.step == stop:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C: the run stops after this step, with a checkpoint

    monkeypatch.setattr(TrainingRun, "record_episode", record_and_maybe_stop)
    stop = None
    whole = train(tmp_path, "whole", **options)
    # An episode end near the middle whose episode count is odd (on a game, the next seat is then 1) and
    # that is no target-network copy.
    stop = next(e for i, e in enumerate(ends) if e >= 500 and i % 2 == 0 and e % 150)
    part = train(tmp_path, "part", **options)
    assert part["stopped_by"] == "interrupted" and part["steps"] == stop

    config, checkpoint = resume_config(dqn.Config(resume=part["run_dir"], progress=False), dqn.SHAPE_FIELDS)
    resumed = dqn.train(config, envs.make(config.env), checkpoint)
    assert resumed["steps"] == whole["steps"] == 1_200 and resumed["episodes"] == whole["episodes"]
    a, b = load_checkpoint(whole["checkpoint"]), load_checkpoint(resumed["checkpoint"])
    for key in ("model", "target", "optimizer", "window", "solved_check", "recent_returns"):
        assert same_tensors(a[key], b[key]), key
    assert {k: v for k, v in whole.items() if k.startswith("eval_")} == {
        k: v for k, v in resumed.items() if k.startswith("eval_")
    }


def test_resume_mid_episode_keeps_the_windows_steps_as_a_truncated_episode(tmp_path):
    first = train(tmp_path, "w", steps=333, learning_starts=100, hidden_sizes=(16,), eval_episodes=1,
                  stop_when_solved=False)
    saved = load_checkpoint(first["checkpoint"])
    pending = len(saved["window"]["actions"])
    assert 0 < pending < 3  # CartPole's episodes rarely end exactly at step 333 (this seed's does not)
    buffer = dqn.ReplayBuffer(100_000, (4,), 2)
    buffer.load(tmp_path / "w" / "ckpt" / "replay_buffer.npz")
    config, checkpoint = resume_config(dqn.Config(resume=first["run_dir"], steps=334, progress=False))
    dqn.train(config, envs.make(config.env), checkpoint)
    resumed = dqn.ReplayBuffer(100_000, (4,), 2)
    resumed.load(tmp_path / "w" / "ckpt" / "replay_buffer.npz")
    assert resumed.size == buffer.size + pending  # one new step: held back by the new episode's window
    window = dqn.NStepWindow(3, 0.99)
    window.load_state_dict(saved["window"])
    last = saved["window"]["next_obs"].numpy()
    for row, (obs, action, _) in zip(range(buffer.size, resumed.size), window.pending, strict=True):
        assert np.array_equal(resumed.obs[row], obs) and resumed.actions[row] == action
        assert np.array_equal(resumed.next_obs[row], last) and resumed.discounts[row] > 0


def test_n_step_window_state_round_trips_and_truncates():
    window = dqn.NStepWindow(3, 0.5)
    window.push(np.zeros(2, np.float32), 1, 1.0, np.ones(2, np.float32), False, False, None)
    window.push(np.ones(2, np.float32), 0, 2.0, np.full(2, 2.0, np.float32), False, False, None)
    again = dqn.NStepWindow(3, 0.5)
    again.load_state_dict(window.state_dict())
    expected, got = window.truncate(), again.truncate()
    assert len(expected) == len(got) == 2 and not window.pending and not again.pending
    for a, b in zip(expected, got, strict=True):
        assert np.array_equal(a[0], b[0]) and a[1:3] == b[1:3] and np.array_equal(a[3], b[3]) and a[4] == b[4]
    assert [t[2] for t in got] == [1.0 + 0.5 * 2.0, 2.0] and [t[4] for t in got] == [0.25, 0.5]


def test_masked_player_never_picks_an_illegal_move(tmp_path):
    summary = train(
        tmp_path, "m", env="connect_four", steps=300, learning_starts=50, hidden_sizes=(32,), eval_episodes=2
    )
    game = envs.make("connect_four")
    player = load_checkpoint_player(summary["checkpoint"], game)
    state = game.new_initial_state()
    for action in [3, 3, 3, 3, 3, 3]:  # fill column 3
        state.apply_action(action)
    for _ in range(20):
        assert player.act(state) in state.legal_actions()


def test_td_loss_ignores_illegal_next_actions():
    net = torch.nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [10.0, 10.0]]))  # action 2 looks best
    batch = {
        "obs": torch.ones(1, 2),
        "actions": torch.tensor([0]),
        "rewards": torch.zeros(1),
        "next_obs": torch.ones(1, 2),
        "discounts": torch.ones(1),
        "next_masks": torch.tensor([[True, True, False]]),
    }
    for double in (False, True):
        loss = dqn.td_loss(net, net, batch, double_dqn=double)
        assert loss.item() == pytest.approx(0.0)  # target = max over legal = 1 = Q(s, 0)


def test_n_step_window_sums_discounted_rewards_and_stops_at_the_end():
    window = dqn.NStepWindow(3, 0.5)
    assert window.push("s0", 0, 1.0, "s1", False, False, None) == []
    assert window.push("s1", 1, 2.0, "s2", False, False, None) == []
    ((obs, action, ret, nxt, discount, _),) = window.push("s2", 0, 4.0, "s3", False, False, None)
    assert (obs, action, ret, nxt, discount) == ("s0", 0, 1.0 + 0.5 * 2.0 + 0.25 * 4.0, "s3", 0.125)
    rest = window.push("s3", 1, 8.0, "s4", True, False, None)
    assert [(t[0], t[2], t[3], t[4]) for t in rest] == [
        ("s1", 2.0 + 2.0 + 2.0, "s4", 0.0),
        ("s2", 4.0 + 4.0, "s4", 0.0),
        ("s3", 8.0, "s4", 0.0),
    ]
    truncated = dqn.NStepWindow(3, 0.5)
    truncated.push("a", 0, 1.0, "b", False, False, None)
    (_, _, ret, nxt, discount, _), (_, _, ret2, _, discount2, _) = truncated.push(
        "b", 0, 1.0, "c", False, True, None
    )
    assert (ret, nxt, discount, ret2, discount2) == (1.5, "c", 0.25, 1.0, 0.5)  # truncation still bootstraps


def test_only_the_newest_step_checkpoints_are_kept(tmp_path):
    train(
        tmp_path,
        "k",
        steps=700,
        learning_starts=100,
        hidden_sizes=(16,),
        eval_episodes=1,
        checkpoint_every=100,
        keep_checkpoints=2,
        save_buffer=False,
    )
    names = sorted(p.name for p in (tmp_path / "k" / "ckpt").glob("*.pt"))
    assert names == ["latest.pt", "step_600.pt", "step_700.pt"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 4])
def test_default_dqn_solves_cartpole(tmp_path, seed):
    summary = train(tmp_path, f"solve{seed}", seed=seed, device="cpu", save_buffer=False)
    assert summary["eval_return"] >= 475, summary


TINY_RESNET = {"net": "resnet", "resnet_channels": 4, "resnet_blocks": 1, "resnet_out_size": 16}


def connect_four_states(count: int, seed: int = 0) -> list:
    """Positions of random connect four games (a few moves in), each with a move to make."""
    game, rng, states = envs.make("connect_four"), np.random.default_rng(seed), []
    while len(states) < count:
        state = game.new_initial_state()
        for _ in range(int(rng.integers(0, 12))):
            if state.is_terminal():
                break
            state.apply_action(int(rng.choice(state.legal_actions())))
        if not state.is_terminal():
            states.append(state)
    return states


def test_resnet_q_network_trains_on_connect_four(tmp_path):
    options = {"checkpoint_every": 100, "keep_checkpoints": 0, "eval_episodes": 2, "save_buffer": False}
    summary = train(tmp_path, "res", env="connect_four", steps=400, learning_starts=150, batch_size=16,
                    **options, **TINY_RESNET)
    before = load_checkpoint(tmp_path / "res" / "ckpt" / "step_100.pt")  # no gradient step yet
    after = load_checkpoint(summary["checkpoint"])
    assert after["net"]["encoder"] == {"kind": "resnet", "channels": 4, "blocks": 1, "out_size": 16}
    assert after["net"]["heads"]["value"]["outputs"] == 7
    changed = [k for k in after["model"] if not torch.equal(before["model"][k], after["model"][k])]
    assert any(k.startswith("encoder.tower.") for k in changed) and "value_head.layers.0.weight" in changed
    assert any(k.endswith("running_mean") for k in changed)  # batch norm learned its statistics
    player = load_checkpoint_player(summary["checkpoint"], envs.make("connect_four"))
    q = player.network(torch.zeros(3, 5, 6, 7))
    assert q.shape == (3, 7) and torch.isfinite(q).all()


def test_resnet_checkpoint_plays_its_own_network_whatever_the_config_says(tmp_path):
    summary = train(tmp_path, "rrt", env="connect_four", steps=300, learning_starts=100, batch_size=16,
                    eval_episodes=2, save_buffer=False, **TINY_RESNET)
    checkpoint = load_checkpoint(summary["checkpoint"])
    game = envs.make("connect_four")
    # The flags of a later run do not decide the network: the checkpoint's "net" does.
    checkpoint["config"] = {**checkpoint["config"], "net": "mlp", "hidden_sizes": [7], "resnet_channels": 9}
    player = dqn.load_player(checkpoint, game)
    again = load_checkpoint_player(summary["checkpoint"], game)
    assert same_tensors(dict(player.network.state_dict()), checkpoint["model"])
    states = connect_four_states(40)
    moves = [player.act(s) for s in states]
    assert moves == [again.act(s) for s in states]
    assert all(m in s.legal_actions() for m, s in zip(moves, states, strict=True))
    assert len(set(moves)) > 1  # the moves come from the network, not one fixed column


def test_a_checkpoint_from_before_specs_loads_with_identical_q_values(tmp_path):
    from agents.checkpoint import save_checkpoint
    from agents.nets.mlp import MLP

    torch.manual_seed(0)
    old = MLP(5 * 6 * 7, (24, 12), 7)  # DQN's network before specs; its weights are layers.N.*
    assert sorted(old.state_dict()) == [f"layers.{i}.{p}" for i in (0, 2, 4) for p in ("bias", "weight")]
    game = envs.make("connect_four")
    from envs import identity

    path = tmp_path / "old.pt"
    save_checkpoint(path, {"algorithm": "dqn", "env": identity(game), "env_spec": "connect_four",
                           "config": {"env": "connect_four", "hidden_sizes": [24, 12]}, "step": 10,
                           "model": old.state_dict()})
    assert "net" not in load_checkpoint(path)
    player = load_checkpoint_player(str(path), game)
    obs = torch.from_numpy(np.random.default_rng(1).integers(0, 2, size=(64, 5, 6, 7)).astype(np.float32))
    with torch.inference_mode():
        assert torch.equal(player.network(obs), old(obs))
    from envs.encoding import encoder_for

    encode = encoder_for(game)
    for state in connect_four_states(20):
        with torch.inference_mode():
            q = old(torch.from_numpy(encode(state, state.current_player())).unsqueeze(0))[0].numpy()
        legal = state.legal_actions()
        assert player.act(state) == legal[int(np.argmax(q[legal]))]


def test_resume_of_a_run_from_before_specs_upgrades_its_networks(tmp_path):
    first = train(tmp_path, "leg", steps=400, learning_starts=100, hidden_sizes=(16,), eval_episodes=1,
                  stop_when_solved=False)
    path = tmp_path / "leg" / "ckpt" / "latest.pt"
    checkpoint = load_checkpoint(path)
    old = {k: v for k, v in checkpoint.items() if k != "net"}
    for key in ("model", "target"):  # back to the names of agents.nets.mlp.MLP(4, (16,), 2)
        old[key] = {k.replace("encoder.0.layers.", "layers.").replace("value_head.layers.0.", "layers.2."): v
                    for k, v in checkpoint[key].items()}
    old["config"] = {k: v for k, v in checkpoint["config"].items() if not k.startswith(("net", "resnet_"))}
    from agents.checkpoint import save_checkpoint

    save_checkpoint(path, old)
    config = dqn.Config(resume=first["run_dir"], steps=500, progress=False)
    config, saved = resume_config(config, dqn.SHAPE_FIELDS)
    assert dqn.upgrade_legacy_checkpoint(saved)["net"] == checkpoint["net"]
    with pytest.raises(envs.errors.UsageError, match="cannot change on --resume"):  # its config lacks "net"
        dqn.train(dataclasses.replace(config, hidden_sizes=(8,)), envs.make(config.env), saved)
    second = dqn.train(config, envs.make(config.env), saved)
    assert second["steps"] == 500 and load_checkpoint(second["checkpoint"])["net"] == checkpoint["net"]


def test_net_resnet_on_cartpole_is_a_usage_error():
    from tests.test_cli import assert_usage_error, run_cli

    result = run_cli("train", "dqn", "--env", "CartPole-v1", "--net", "resnet", "--steps", "10")
    assert_usage_error(result, "--net resnet", "(4,)")
    with pytest.raises(envs.errors.UsageError, match="--net resnet"):
        dqn.make_q_network(envs.make("CartPole-v1"), dqn.Config(net="resnet"))
