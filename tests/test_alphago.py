"""AlphaGo (agents/alphago.py) on connect four with tiny budgets: every stage end to end, each resumable,
the checkpoint as the full player (PUCT mixing the value net and rollouts) and as a policy player."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyspiel
import pytest
import torch

import run
from agents.checkpoint import load_checkpoint
from agents.expert_data import generate
from agents.players import make_player
from envs.errors import UsageError
from envs.turn_based import RandomPlayer, play_game

TINY = ["--channels", "8", "--blocks", "1", "--hidden", "8", "--batch-size", "32", "--eval-every", "10",
        "--sl-steps", "20", "--rollout-steps", "20", "--rl-updates", "2", "--rl-games-per-update", "6",
        "--rl-snapshot-every", "1", "--value-games", "30", "--value-steps", "10"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("c4_expert")
    generate("connect_four", ["mcts:10"], 16, out, seed=0, opening_moves=2)
    return out


def _train(capsys: pytest.CaptureFixture, *args: str) -> str:
    status = run.main(["train", "alphago", "--env", "connect_four", *args])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def test_stages_one_by_one_then_play(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "run"
    common = ["--data", str(data), *TINY]
    _train(capsys, "--stage", "sl", "--run-dir", str(folder), *common)
    saved = torch.load(folder / "ckpt" / "latest.pt", weights_only=True)
    assert saved["progress"]["sl"]["steps"] == 20 and "rl_model" in saved and "value_model" not in saved
    assert 0.0 <= saved["progress"]["sl"]["held_out_accuracy"] <= 1.0
    for stage in ("rollout", "rl", "value"):
        _train(capsys, "--resume", str(folder), "--stage", stage)
    checkpoint = load_checkpoint(folder / "ckpt" / "latest.pt")
    progress = checkpoint["progress"]
    assert [progress[s]["steps"] for s in ("sl", "rollout", "rl", "value")] == [20, 20, 2, 10]
    assert progress["rl"]["games"] >= 12 and progress["value"]["positions"] == 30
    assert sorted(p.name for p in (folder / "snapshots").glob("*.pt")) == ["rl_0.pt", "rl_1.pt", "rl_2.pt"]
    rl, sl = checkpoint["rl_model"], checkpoint["sl_model"]
    assert any(not torch.equal(rl[k], sl[k]) for k in sl)  # REINFORCE moved the RL policy off the SL one
    assert (folder / "ckpt" / "value_data.npz").exists()
    game = pyspiel.load_game("connect_four")
    ckpt = str(folder / "ckpt" / "latest.pt")
    for options in (",sims=8", ",sims=0,policy=rl,temperature=1"):  # lambda's mixes: the evaluator's test
        player = make_player(ckpt + options, game, seed=1)
        record = play_game(game, [player, RandomPlayer(2)], seed=3)
        assert len(record.returns) == 2
    with pytest.raises(UsageError, match="lambda"):
        make_player(ckpt + ",lambda=2", game)
    with pytest.raises(UsageError, match="not"):
        make_player(ckpt + ",depth=3", game)


def test_all_stages_in_one_run_and_resume_is_a_no_op(data: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "all"
    out = _train(capsys, "--run-dir", str(folder), "--data", str(data), *TINY)
    assert "stages=sl,rollout,rl,value" in out
    before = load_checkpoint(folder / "ckpt" / "latest.pt")
    again = _train(capsys, "--resume", str(folder))
    assert "stages=none" in again
    after = load_checkpoint(folder / "ckpt" / "latest.pt")
    assert all(torch.equal(before["sl_model"][k], after["sl_model"][k]) for k in before["sl_model"])
    more = _train(capsys, "--resume", str(folder), "--sl-steps", "30", "--stage", "sl")
    assert "sl_steps=30" in more


def test_mistakes_are_one_line(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status = run.main(["train", "alphago", "--env", "connect_four", "--stage", "sl", "--run-dir",
                       str(tmp_path / "x"), *TINY])
    _, err = capsys.readouterr()
    assert status == 2 and "--data" in err and err.count("\n") == 1
    status = run.main(["train", "alphago", "--env", "connect_four", "--stage", "rl", "--run-dir",
                       str(tmp_path / "y"), *TINY])
    _, err = capsys.readouterr()
    assert status == 2 and "sl first" in err


def test_evaluator_mixes_value_and_rollouts() -> None:
    """lambda = 1: the leaf value is the rollout's outcome (+1/-1), whatever the value net says; lambda = 0:
    the value net's alone; in between, the mix."""
    from agents.alphago import Config, make_network, network_spec
    from search.alphago_mcts import AlphaGoEvaluator
    from search.rollout_policy import RolloutPolicy

    game = pyspiel.load_game("connect_four")
    spec = network_spec(game, Config(channels=4, blocks=1, hidden=4))
    policy, value = make_network(game, spec), make_network(game, spec)
    rollout = RolloutPolicy(game)
    states = [game.new_initial_state() for _ in range(5)]
    by_rollout = AlphaGoEvaluator(policy, value, rollout, game, 1.0, seed=0).evaluate(states)[1]
    by_value = AlphaGoEvaluator(policy, value, rollout, game, 0.0, seed=0).evaluate(states)[1]
    mixed = AlphaGoEvaluator(policy, value, rollout, game, 0.5, seed=0).evaluate(states)[1]
    assert set(np.abs(by_rollout).tolist()) <= {0.0, 1.0}
    assert np.allclose(mixed, 0.5 * by_value + 0.5 * by_rollout)
    priors = AlphaGoEvaluator(policy, value, rollout, game, 0.5).evaluate(states)[0]
    assert np.allclose(priors.sum(1), 1.0)
