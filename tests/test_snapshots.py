"""Snapshots are full checkpoints: they play anywhere a checkpoint does; a file missing a checkpoint's
fields gets one line and exit 2 from eval, tournament and play (it was a KeyError traceback)."""

from __future__ import annotations

import json

import pytest
import torch

from agents.checkpoint import load_checkpoint, save_checkpoint
from envs.errors import UsageError
from tests.test_alphazero import train
from tests.test_cli import assert_usage_error, run_cli


def test_an_alphazero_snapshot_plays_in_eval_and_tournament(tmp_path):
    train(tmp_path, "az", steps=320, eval_every=160)
    snapshot = tmp_path / "az" / "snapshots" / "step_160.pt"
    saved = load_checkpoint(snapshot)
    assert saved["algorithm"] == "alphazero" and saved["step"] == 160 and saved["env_spec"] == "tic_tac_toe"
    result = run_cli("eval", str(snapshot), "--episodes", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["games"] == 2
    out = tmp_path / "t"
    result = run_cli("tournament", "--env", "tic_tac_toe", "--players", f"{snapshot},sims=4", "random",
                     "--games", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"{snapshot},sims=4" in json.loads((out / "results.json").read_text())["ratings"]


def test_a_file_missing_checkpoint_fields_gets_one_line(tmp_path):
    weights_only = tmp_path / "old_snapshot.pt"
    save_checkpoint(weights_only, {"model": {"w": torch.zeros(2)}})  # how snapshots were saved before
    for args in (
        ("eval", str(weights_only), "--episodes", "2"),
        ("tournament", "--env", "tic_tac_toe", "--players", str(weights_only), "random", "--games", "2",
         "--out", str(tmp_path / "t")),
    ):
        assert_usage_error(run_cli(*args), "not a full checkpoint", "algorithm")
    # play builds its players as those two do (make_player, before any game): checked in this process
    import envs
    from agents.players import make_player

    game = envs.make("tic_tac_toe")
    with pytest.raises(UsageError, match="not a full checkpoint"):
        make_player(str(weights_only), game)
    no_model = tmp_path / "no_model.pt"
    identity = load_checkpoint(_tiny_checkpoint(tmp_path))
    save_checkpoint(no_model, {k: v for k, v in identity.items() if k not in ("model", "format_version")})
    with pytest.raises(UsageError, match="lacks 'model'"):
        make_player(str(no_model), game)


def _tiny_checkpoint(tmp_path):
    return train(tmp_path, "tiny", steps=64)["checkpoint"]


def test_a_full_store_deletes_old_files_only_when_pruned_after_the_checkpoint(tmp_path):
    """Until the run's next checkpoint is written, its last one still names the evicted snapshot: a run that
    died in between must resume with the file there."""
    from agents.snapshots import SnapshotStore

    store = SnapshotStore(tmp_path / "snapshots", capacity=2, load_network=lambda c: c["model"]["w"])
    for k in range(3):
        identity = {"algorithm": "reinforce", "env": {}, "env_spec": "tic_tac_toe", "config": {}, "step": k}
        store.add(f"s{k}", {**identity, "model": {"w": torch.full((1,), float(k))}})
    assert store.names == ["s1", "s2"]
    assert store.path("s0").exists()
    assert float(store.network("s1")) == 1.0
    store.prune()
    assert not store.path("s0").exists() and store.path("s1").exists() and store.path("s2").exists()
