"""What every training run shares: common options, the run folder, logging, progress, stopping, resuming.

A run folder holds `config.json`, TensorBoard event files (CleanRL's tag names, x axis in environment
steps) and `ckpt/step_N.pt` + `ckpt/latest.pt`. Ctrl-C, `--time-limit` and `--steps` all stop the loop
the same way: the algorithm sees `run.should_stop()` turn true and the run writes its last checkpoint.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import platform
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from envs.errors import UsageError


@dataclass(frozen=True)
class TrainConfig:
    """Options every algorithm takes."""

    env: str = "CartPole-v1"
    """environment: a gymnasium id, an OpenSpiel game string such as 'connect_four', or module:factory"""
    steps: int = 100_000
    """environment steps to train for in total (moves, in games); on --resume, the run's total"""
    time_limit: float | None = None
    """stop cleanly, with a checkpoint, after this many seconds of wall time"""
    seed: int = 0
    """random seed; a CPU run with the same seed repeats exactly"""
    run_dir: str | None = None
    """run folder (default: runs/<algo>__<env>__<seed>__<time>)"""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """where the networks run: auto takes the GPU when there is one"""
    resume: str | None = None
    """continue the run in this folder from its ckpt/latest.pt"""
    checkpoint_every: int = 20_000
    """write ckpt/step_N.pt every this many steps"""
    keep_checkpoints: int = 5
    """how many ckpt/step_N.pt files to keep, newest first (0 keeps them all; latest.pt always stays)"""
    threads: int = 1
    """torch CPU threads (one is fastest for small networks)"""
    progress: bool = True
    """show a progress bar"""


class TrainingStopped(RuntimeError):
    """The run cannot go on (the message says why and where its last checkpoint is); one line, exit 1."""


class TrainingDiverged(TrainingStopped):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def resolve_device(name: str) -> Any:
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but torch sees no CUDA GPU")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def seed_everything(seed: int, threads: int = 1) -> np.random.Generator:
    """Seed Python, numpy and torch, set torch's CPU threads, and return the run's numpy generator."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    return np.random.default_rng(seed)


def resume_config(config: Any, shape_fields: Sequence[str] = ()) -> tuple[Any, dict[str, Any] | None]:
    """On --resume, the saved config with the flags given now laid over it, and the saved checkpoint.

    A flag counts as given when it differs from the default. Flags that would change the network's shape
    are refused, as is a different env.
    """
    if not config.resume:
        return config, None
    from agents.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(Path(config.resume) / "ckpt" / "latest.pt")
    default = type(config)()
    saved = checkpoint["config"]
    merged = {}
    for field in dataclasses.fields(config):
        given, default_value = getattr(config, field.name), getattr(default, field.name)
        if field.name not in saved:
            merged[field.name] = given
            continue
        saved_value = saved[field.name]
        if isinstance(default_value, tuple) and isinstance(saved_value, list):
            saved_value = tuple(saved_value)
        if given != default_value and given != saved_value:
            if field.name in shape_fields or field.name == "env":
                flag = "--" + field.name.replace("_", "-")
                raise UsageError(f"{flag} cannot change on --resume (the run has {saved_value!r})")
            merged[field.name] = given
        else:
            merged[field.name] = saved_value
    merged["resume"] = config.resume
    merged["run_dir"] = config.resume
    return dataclasses.replace(config, **merged), checkpoint


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in ("torch", "numpy", "gymnasium", "open_spiel", "palaestra"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


class SolvedCheck:
    """Stop a run on a gymnasium env once it is solved, as Stable-Baselines3's EvalCallback with
    StopTrainingOnRewardThreshold does: when the mean return of the last `window` training episodes
    reaches `threshold` (default: the env's `reward_threshold`, 475 on CartPole-v1), the current network
    plays `check_episodes` greedy episodes on a separate copy of the env (seeds from 10,000 on, apart
    from the final evaluation's); the run stops when those reach the threshold too. The final checkpoint
    is then exactly the network that passed. With `check_episodes=0` the training window alone decides."""

    CHECK_SEED = 10_000

    def __init__(
        self,
        env_spec: str,
        env: Any,
        enabled: bool,
        threshold: float | None,
        window: int,
        check_episodes: int = 10,
    ):
        if window < 1 or check_episodes < 0:
            raise UsageError("--solved-window must be at least 1 and --solved-check-episodes at least 0")
        spec = getattr(env, "spec", None)
        if threshold is None and spec is not None:
            threshold = spec.reward_threshold
        self.env_spec, self.threshold, self.window = env_spec, threshold, window
        self.check_episodes = check_episodes
        self.enabled = enabled and threshold is not None
        self.recent: collections.deque[float] = collections.deque(maxlen=window)
        self.check_env: Any = None
        self.checks = 0
        self.solved = False

    def update(self, episodic_return: float, make_player: Callable[[], Any] | None = None) -> bool:
        """Record a finished training episode; True once solved (and, if asked, the greedy check passed)."""
        self.recent.append(episodic_return)
        if not self.enabled or len(self.recent) < self.window or np.mean(self.recent) < self.threshold:
            return False
        if self.check_episodes == 0 or make_player is None:
            self.solved = True
            return True
        from agents.evaluation import evaluate_player

        if self.check_env is None:
            import envs

            self.check_env = envs.make(self.env_spec)
        self.checks += 1
        result = evaluate_player(make_player(), self.check_env, self.check_episodes, seed=self.CHECK_SEED)
        self.solved = result["mean_return"] >= self.threshold
        if not self.solved:
            self.recent.clear()  # check again only after a fresh window of training episodes
        return self.solved

    def state_dict(self) -> dict[str, Any]:
        """What --resume needs to decide as an unbroken run would: the window of returns and the checks."""
        return {"recent": list(self.recent), "checks": self.checks}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.recent.clear()
        self.recent.extend(float(r) for r in state["recent"])
        self.checks = int(state["checks"])

    def reason(self) -> str:
        if self.checks == 0:
            return f"solved (mean of the last {self.window} returns >= {self.threshold})"
        return (
            f"solved (the last {self.window} training returns and {self.check_episodes} greedy "
            f"episodes reached {self.threshold}; greedy checks: {self.checks})"
        )


class TrainingRun:
    """The run folder, TensorBoard writer, progress bar, stop conditions and checkpoints of one run."""

    def __init__(
        self,
        algorithm: str,
        config: Any,
        env: Any,
        checkpoint: dict[str, Any] | None = None,
        outcome_kind: Literal["return", "win_rate"] = "return",
    ):
        from torch.utils.tensorboard import SummaryWriter
        from tqdm import tqdm

        import envs
        from agents.checkpoint import check_env, config_to_dict

        self.algorithm = algorithm
        self.config = config
        self.env = env
        self.checkpoint = checkpoint
        self.env_identity = envs.identity(env)
        if checkpoint is not None:
            if checkpoint["algorithm"] != algorithm:
                raise UsageError(
                    f"--resume run was trained with {checkpoint['algorithm']!r}, not {algorithm!r}"
                )
            check_env(checkpoint, env)
        if config.run_dir:
            self.run_dir = Path(config.run_dir)
        else:
            env_name = config.env.replace("/", "_").replace(":", "_").replace("(", "_").replace(")", "")
            self.run_dir = Path("runs") / f"{algorithm}__{env_name}__{config.seed}__{int(time.time())}"
        self.ckpt_dir = self.run_dir / "ckpt"
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        self.step = int(checkpoint["step"]) if checkpoint else 0
        self.episodes = int(checkpoint.get("episodes", 0)) if checkpoint else 0
        self.config_dict = config_to_dict(config)
        record = {
            "algorithm": algorithm,
            "config": self.config_dict,
            "env": self.env_identity,
            "versions": _versions(),
            "git_commit": _git_commit(),
            "argv": sys.argv,
        }
        (self.run_dir / "config.json").write_text(json.dumps(record, indent=2))
        self.writer = SummaryWriter(str(self.run_dir), purge_step=self.step + 1 if checkpoint else None)
        table = "|option|value|\n|-|-|\n" + "\n".join(f"|{k}|{v}|" for k, v in self.config_dict.items())
        self.writer.add_text("config", table, self.step)
        self.outcome_kind = outcome_kind
        self.recent: collections.deque[float] = collections.deque(maxlen=100)
        self.recent.extend(float(r) for r in (checkpoint or {}).get("recent_returns", []))
        self.start_time = time.time()
        self.start_step = self.step
        self.last_checkpoint_step = self.step
        self.interrupted = False
        self.final_figures: dict[str, Any] = {}
        self._previous_handler = signal.signal(signal.SIGINT, self._on_interrupt)
        self.bar = tqdm(
            total=config.steps,
            initial=min(self.step, config.steps),
            unit="step",
            disable=not config.progress,
            dynamic_ncols=True,
            mininterval=0.5,
            smoothing=0.05,
            desc=f"{algorithm} {config.env}",
        )

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        self.interrupted = True
        signal.signal(signal.SIGINT, self._previous_handler)  # a second Ctrl-C stops at once

    def elapsed(self) -> float:
        return time.time() - self.start_time

    def should_stop(self) -> bool:
        """True once the step budget or the time limit is spent, or Ctrl-C was pressed."""
        if self.interrupted or self.step >= self.config.steps:
            return True
        return self.config.time_limit is not None and self.elapsed() >= self.config.time_limit

    def advance(self, steps: int = 1) -> None:
        """Count environment steps; logs steps per second now and then."""
        before = self.step
        self.step += steps
        self.bar.update(min(self.step, self.config.steps) - min(before, self.config.steps))
        if self.step // 1000 != before // 1000:
            self.log("charts/SPS", (self.step - self.start_step) / max(self.elapsed(), 1e-9))

    def log(self, tag: str, value: float) -> None:
        self.writer.add_scalar(tag, value, self.step)

    def check_finite(self, name: str, value: float) -> None:
        if not np.isfinite(value):
            raise TrainingDiverged(
                f"{name} became {value} at step {self.step}; "
                f"the last good checkpoint is {self.ckpt_dir / 'latest.pt'}"
            )

    def record_episode(self, episodic_return: float, length: int) -> None:
        """Log one finished training episode and show the recent mean (or win rate) on the bar."""
        self.episodes += 1
        self.log("charts/episodic_return", episodic_return)
        self.log("charts/episodic_length", length)
        self.recent.append(episodic_return)
        if self.outcome_kind == "win_rate":
            wins = float(np.mean([r > 0 for r in self.recent]))
            self.log("charts/win_rate", wins)
            self.bar.set_postfix_str(f"win={wins:.2f} ep={self.episodes}", refresh=False)
        else:
            self.bar.set_postfix_str(f"return={np.mean(self.recent):.1f} ep={self.episodes}", refresh=False)

    def recent_mean(self) -> float:
        return float(np.mean(self.recent)) if self.recent else float("nan")

    def due_for_checkpoint(self) -> bool:
        return self.step - self.last_checkpoint_step >= self.config.checkpoint_every

    def restore(
        self, rng: np.random.Generator, optional: Sequence[str] = (), **parts: Any
    ) -> dict[str, Any] | None:
        """On --resume, load each part's saved state (`model=network, optimizer=optimizer`: anything with
        `load_state_dict`, read from the checkpoint's key of that name) and the RNG states; returns the
        checkpoint, or None on a fresh run. A part named in `optional` that the checkpoint lacks (one
        written before that part was saved) keeps the state it has."""
        if self.checkpoint is None:
            return None
        from agents.checkpoint import restore_rng

        for key, part in parts.items():
            if part is not None and not (key in optional and key not in self.checkpoint):
                part.load_state_dict(self.checkpoint[key])
        restore_rng(rng, self.checkpoint["rng"])
        return self.checkpoint

    def buffer_file(self, name: str = "replay_buffer") -> Path:
        """Where a replay buffer lives beside the checkpoints (`ckpt/<name>.npz`)."""
        return self.ckpt_dir / f"{name}.npz"

    def restore_buffer(self, buffer: Any, name: str = "replay_buffer") -> bool:
        """On --resume, fill `buffer` from its file when the run saved one; True if it did."""
        path = self.buffer_file(name)
        if self.checkpoint is None or not path.exists():
            return False
        buffer.load(path)
        return True

    def full_checkpoint(
        self, payload: dict[str, Any], rng: np.random.Generator | None = None
    ) -> dict[str, Any]:
        """`payload` (parts with `state_dict()` are saved as their state) with the run's identity: the
        algorithm, env, config and step, so the file plays anywhere a checkpoint does."""
        from agents.checkpoint import rng_state

        full = {
            "algorithm": self.algorithm,
            "env": self.env_identity,
            "env_spec": self.config.env,
            "config": self.config_dict,
            "step": self.step,
            "episodes": self.episodes,
        }
        if rng is not None:
            full["rng"] = rng_state(rng)
        for key, value in payload.items():
            full[key] = value.state_dict() if hasattr(value, "state_dict") else value
        return full

    def save(
        self,
        payload: dict[str, Any],
        rng: np.random.Generator,
        keep_step_file: bool = True,
        buffer: Any = None,
    ) -> Path:
        """Write ckpt/step_N.pt and ckpt/latest.pt: `payload` with the run's identity and RNG states
        (`full_checkpoint`); `buffer` (when given) is written first to `buffer_file()`, else an older buffer
        file is removed."""
        from agents.checkpoint import save_checkpoint

        full = self.full_checkpoint(payload, rng)
        full["recent_returns"] = list(self.recent)  # the bar's and the summary's recent mean, on --resume
        if buffer is not None:
            buffer.save(self.buffer_file())
        else:  # a buffer saved earlier would not match this checkpoint, and --resume would load it
            self.buffer_file().unlink(missing_ok=True)
        latest = self.ckpt_dir / "latest.pt"
        save_checkpoint(latest, full)
        if keep_step_file:
            save_checkpoint(self.ckpt_dir / f"step_{self.step}.pt", full)
            if self.config.keep_checkpoints > 0:
                step_files = sorted(self.ckpt_dir.glob("step_*.pt"), key=lambda p: int(p.stem.split("_")[1]))
                for old in step_files[: -self.config.keep_checkpoints]:
                    old.unlink()
        self.last_checkpoint_step = self.step
        return latest

    def final_evaluation(
        self, player: Any, episodes: int, opponent: str = "random", seed: int = 0
    ) -> dict[str, Any]:
        """The end-of-run evaluation (what `run.py eval` on ckpt/latest.pt reproduces): plays it, logs it
        under DESIGN.md's tags, keeps its headline figures for `summary` and returns the full result."""
        from agents.evaluation import evaluate_player, headline, log_evaluation

        result = evaluate_player(player, self.env, episodes, opponent=opponent, seed=seed)
        log_evaluation(self, result, opponent)
        self.final_figures = headline(result)
        return result

    def close(self) -> None:
        self.bar.close()
        self.writer.flush()
        self.writer.close()
        signal.signal(signal.SIGINT, self._previous_handler)

    def summary(self, **figures: Any) -> dict[str, Any]:
        """What the CLI prints at the end: where things are, the final evaluation's headline and the run's
        figures."""
        reason = (
            "interrupted"
            if self.interrupted
            else ("time limit" if self.step < self.config.steps else "step budget")
        )
        return {
            "run_dir": str(self.run_dir),
            "checkpoint": str(self.ckpt_dir / "latest.pt"),
            "steps": self.step,
            "episodes": self.episodes,
            "stopped_by": reason,
            "seconds": round(self.elapsed(), 1),
            **self.final_figures,
            **figures,
        }
