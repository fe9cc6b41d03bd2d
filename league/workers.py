"""The one worker pool: K processes that play games (or run other CPU-bound jobs) for one command.

- An explicit start method, `forkserver` where the platform has it, else `spawn`: never `fork`, which
  copies a parent whose torch (OpenMP) threads have run and can deadlock.
- Each worker runs torch with one thread: small networks in actor processes run several times slower
  with more threads than cores (DESIGN.md). When the command has imported torch already (it plays
  checkpoints), the forkserver imports it once before forking and each worker calls
  `torch.set_num_threads(1)`; otherwise the worker sets `OMP_NUM_THREADS=1`, which torch reads when
  it is first imported there (a tournament of search players then never pays seconds for torch).
- Workers receive env specs, player names and seeds, never live objects; a plug-in module named in a
  spec or a player name is imported again in the worker.
- A pool lives as long as the command that made it: make one with `with WorkerPool(k) as pool:` and
  hand it to every `play_match` of a tournament, so processes start (and import torch) once.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

PRELOAD = ["numpy", "pyspiel", "envs", "league.arena"]
"""Modules a forkserver imports before it forks workers (and torch, when the parent has imported it)."""


def start_method() -> str:
    """`forkserver` where available (Linux, macOS), else `spawn` (Windows)."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def initialize_worker() -> None:
    """Runs once in each worker: one thread for torch (and OpenMP, MKL), whenever torch is imported."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


class WorkerPool:
    """`workers` processes started with an explicit start method; `map` keeps the order of its inputs."""

    def __init__(self, workers: int, method: str | None = None) -> None:
        if workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.workers = workers
        self.method = method or start_method()
        context = multiprocessing.get_context(self.method)
        if self.method == "forkserver":
            # The server imports these once (torch costs seconds); workers fork from it before any torch
            # operation has started a thread, so each pays nothing for them. Missing ones are skipped.
            torch = ["torch"] if "torch" in sys.modules else []
            context.set_forkserver_preload(["__main__", *PRELOAD, *torch])
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=initialize_worker
        )

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run `fn(*args)` in a worker; `fn` must be a module-level function (it is sent by name)."""
        return self._executor.submit(fn, *args)

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> list[Any]:
        """`[fn(job) for job in jobs]`, run in the workers, results in the order of `jobs`."""
        futures = [self._executor.submit(fn, job) for job in jobs]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
