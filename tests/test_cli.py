"""The command line through subprocesses: every bad-input case exits 2 with one line, and the happy paths."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )


def assert_usage_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "dqn-cartpole"
    result = run_cli(
        "train",
        "dqn",
        "--env",
        "CartPole-v1",
        "--steps",
        "1500",
        "--learning-starts",
        "200",
        "--run-dir",
        str(run_dir),
        "--no-progress",
        "--eval-episodes",
        "3",
    )
    assert result.returncode == 0, result.stderr
    return run_dir


@pytest.fixture(scope="module")
def tictactoe_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "dqn-ttt"
    result = run_cli(
        "train",
        "dqn",
        "--env",
        "tic_tac_toe",
        "--steps",
        "600",
        "--learning-starts",
        "100",
        "--run-dir",
        str(run_dir),
        "--no-progress",
        "--eval-episodes",
        "4",
    )
    assert result.returncode == 0, result.stderr
    return run_dir


def test_help_and_list_answer_quickly():
    assert run_cli("--help").returncode == 0
    listing = run_cli("list")
    assert listing.returncode == 0
    for word in ("dqn", "reinforce", "random", "CartPole-v1", "connect_four"):
        assert word in listing.stdout
    help_text = run_cli("train", "dqn", "--help")
    assert help_text.returncode == 0
    assert "--learning-rate" in help_text.stdout and "0.0023" in help_text.stdout


def test_unknown_command_and_algorithm():
    assert_usage_error(run_cli("trian"), "train")
    assert_usage_error(run_cli("train", "dqm", "--env", "CartPole-v1"), "dqn")


def test_unknown_env_names_the_closest():
    assert_usage_error(run_cli("train", "dqn", "--env", "CartPol-v1"), "CartPole-v1")
    assert_usage_error(run_cli("train", "dqn", "--env", "conect_four"), "connect_four")


def test_bad_option_value_exits_2_without_traceback():
    result = run_cli("train", "dqn", "--steps", "many")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_missing_and_corrupt_checkpoints(tmp_path):
    assert_usage_error(run_cli("eval", str(tmp_path / "nope.pt")), "does not exist")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint at all")
    assert_usage_error(run_cli("eval", str(corrupt)), "corrupt")


def test_eval_json_reproduces_the_runs_score(cartpole_run):
    config = json.loads((cartpole_run / "config.json").read_text())
    assert config["config"]["steps"] == 1500 and config["algorithm"] == "dqn"
    assert any(p.name.startswith("events.out.tfevents") for p in cartpole_run.iterdir())
    result = run_cli("eval", str(cartpole_run / "ckpt" / "latest.pt"), "--episodes", "3", "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(scores) == {"episodes", "mean_return", "std_return"}
    again = json.loads(
        run_cli("eval", str(cartpole_run / "ckpt" / "latest.pt"), "--episodes", "3", "--json")
        .stdout.strip()
        .splitlines()[-1]
    )
    assert scores == again


def test_checkpoint_for_another_env_is_refused(cartpole_run):
    assert_usage_error(
        run_cli("eval", str(cartpole_run / "ckpt" / "latest.pt"), "--env", "Acrobot-v1"), "CartPole-v1"
    )


def test_resume_refuses_a_new_network_shape(cartpole_run):
    result = run_cli("train", "dqn", "--resume", str(cartpole_run), "--hidden-sizes", "32", "--steps", "3000")
    assert_usage_error(result, "--hidden-sizes")


def test_game_eval_reports_rates_against_an_opponent(tictactoe_run):
    result = run_cli("eval", str(tictactoe_run / "ckpt" / "latest.pt"), "--episodes", "6", "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert scores["games"] == 6
    assert abs(scores["win_rate"] + scores["draw_rate"] + scores["loss_rate"] - 1) < 1e-9
    assert_usage_error(
        run_cli("eval", str(tictactoe_run / "ckpt" / "latest.pt"), "--opponent", "randon"), "random"
    )
    checkpoint = str(tictactoe_run / "ckpt" / "latest.pt")
    runs = [run_cli("eval", checkpoint, "--episodes", "6", "--json", "--workers", k) for k in ("2", "3")]
    in_workers = [json.loads(r.stdout.strip().splitlines()[-1]) for r in runs]
    assert in_workers[0] == in_workers[1] and in_workers[0]["games"] == 6  # the same games in 2 or 3 workers


def test_plugin_game_and_env_train_through_the_cli(tmp_path):
    game_run = run_cli(
        "train",
        "dqn",
        "--env",
        "docs.examples.countdown:make_game",
        "--steps",
        "300",
        "--learning-starts",
        "50",
        "--run-dir",
        str(tmp_path / "g"),
        "--no-progress",
        "--eval-episodes",
        "4",
    )
    assert game_run.returncode == 0, game_run.stderr
    env_run = run_cli(
        "train",
        "dqn",
        "--env",
        "docs.examples.corridor:make_env",
        "--steps",
        "300",
        "--learning-starts",
        "50",
        "--run-dir",
        str(tmp_path / "e"),
        "--no-progress",
        "--eval-episodes",
        "2",
    )
    assert env_run.returncode == 0, env_run.stderr
    result = run_cli("eval", str(tmp_path / "g" / "ckpt" / "latest.pt"), "--episodes", "4", "--json")
    assert result.returncode == 0 and json.loads(result.stdout.splitlines()[-1])["games"] == 4


def _cpu_seconds(pid: int) -> float:
    """CPU seconds a process has used (Linux's /proc; elsewhere wall time stands in)."""
    import time

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return time.time()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ctrl_c_leaves_a_loadable_checkpoint_and_resume_continues(tmp_path):
    import signal
    import time

    import torch

    run_dir = tmp_path / "interrupted"
    process = subprocess.Popen(
        [
            sys.executable,
            "run.py",
            "train",
            "dqn",
            "--env",
            "CartPole-v1",
            "--steps",
            "1000000",
            "--learning-starts",
            "100",
            "--run-dir",
            str(run_dir),
            "--no-progress",
            "--eval-episodes",
            "1",
            "--no-stop-when-solved",
            "--no-save-buffer",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while not (run_dir / "config.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    # 3 s of the run's own CPU time after its start (wall time alone is too little on a loaded machine)
    started = _cpu_seconds(process.pid)
    while _cpu_seconds(process.pid) - started < 3 and time.time() < deadline + 60:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "interrupted" in out
    checkpoint = torch.load(run_dir / "ckpt" / "latest.pt", weights_only=True)
    stopped_at = checkpoint["step"]
    assert 0 < stopped_at < 1_000_000
    resumed = run_cli(
        "train",
        "dqn",
        "--resume",
        str(run_dir),
        "--steps",
        str(stopped_at + 300),
        "--no-progress",
        "--eval-episodes",
        "1",
    )
    assert resumed.returncode == 0, resumed.stderr
    assert torch.load(run_dir / "ckpt" / "latest.pt", weights_only=True)["step"] == stopped_at + 300
