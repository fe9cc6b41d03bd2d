"""The actor layer's Ray backend (league/actors.py): actors as Ray actors, match jobs as Ray tasks.

- `connect(address)` starts Ray here (no address, and no RAY_ADDRESS in the environment; its workers at
  niceness 0, not Ray's default 15, under which actors sharing a machine lose their cores to anything
  else running there) or joins a cluster (`auto` or HOST:PORT), once per process, with a runtime_env
  whose `py_modules` ship the project's packages and the plug-ins this process imported from outside
  installed packages, so every node imports the same code as the driver.
- `RayBackend` has LocalBackend's methods. Each actor is a Ray actor (one CPU) running `actor_fn` in a
  thread of its own; the driver keeps one `pull(weights, version, wait)` call in flight per actor, which
  hands the actor the newest weights and returns what it yielded since the last call (waiting up to
  `wait` seconds for one item). The generator runs on between pulls, so an actor plays while the learner
  learns; only its thread ever advances it; it reads `latest()` between games. Weights go through the
  object store: one `ray.put` per published version, the same reference passed to every actor inside a
  list (so a pull does not fetch them again; the actor fetches a version once, when it is new).
- Deaths: a pull that raises `RayActorError` (killed, node lost, out of memory) or the actor's own error
  is a dead actor. Ray does not restart actors here (`max_restarts=0`): the pool restarts a dead actor
  with a new seed and counts its restarts, so `start(k, seed)` creates a new actor, scheduled on any
  live node, with the newest weights. A Ray-restarted actor would rerun its constructor with the old
  seed (replaying the same games) behind the pool's back.
- `run_ray_tasks(fn, tasks, workers)` runs each task (a chunk of games) as a Ray task, `workers` at a
  time, results in task order; a task on a lost node is retried (`max_retries`). Files named by strings
  in the tasks (a checkpoint in a player name, `path[,key=value...]`) travel as bytes through the object
  store and are written on a node that lacks them, at the same path (relative paths from the driver's
  working directory).
"""

from __future__ import annotations

import dataclasses
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from league.actors import ActorFn, Emitted, Weights

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agents", "envs", "search", "league")
OBJECT_STORE_BYTES = 512 * 1024**2
"""The object store of a Ray started here: weights and match records are small (Ray's default, 30% of the
machine's memory, reserves gigabytes)."""
TASK_RETRIES = 3
"""Retries of a match task whose node is lost (its games are played again, with the same seeds)."""


def plugin_modules() -> list[ModuleType]:
    """Top-level modules this process imported from files outside installed packages and the project's
    packages (plug-ins named in an env spec or a player name, a test module): other nodes need them."""
    installed = [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    homes = [Path.cwd().resolve(), ROOT]
    found: dict[str, ModuleType] = {}
    for name in list(sys.modules):
        top = name.partition(".")[0]
        module = sys.modules.get(top)
        if top in PACKAGES or top in found or top == "__main__" or module is None:
            continue
        path = getattr(module, "__file__", None)
        if path is None or len(getattr(module, "__path__", [path])) != 1:
            continue
        path = Path(path).resolve()
        if any(path.is_relative_to(p) for p in installed) or not any(path.is_relative_to(h) for h in homes):
            continue
        found[top] = module
    return list(found.values())


def runtime_env() -> dict[str, Any]:
    """What every worker of the job gets: the project's code and plug-ins, one thread per torch."""
    modules = [str(ROOT / package) for package in PACKAGES] + plugin_modules()
    return {
        "py_modules": modules,
        "excludes": ["__pycache__", "*.pyc", "*.pt", "*.npz"],
        "env_vars": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"},
    }


def connect(address: str | None = None) -> None:
    """Join the Ray cluster at `address` (`auto`, HOST:PORT; else RAY_ADDRESS) or start one on this
    machine; a no-op once connected."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    options: dict[str, Any] = {"runtime_env": runtime_env(), "logging_level": "warning"}
    if address is None:  # Ray's workers run at niceness 15 unless told: the actors are the work here
        os.environ.setdefault("RAY_worker_niceness", "0")
        options.update(num_cpus=os.cpu_count(), include_dashboard=False,
                       object_store_memory=OBJECT_STORE_BYTES)
    ray.init(address=address, **options)


class _Shelf:
    """The newest weights an actor has been handed; its game thread reads them between games."""

    def __init__(self, weights: tuple[int, Weights]) -> None:
        self.newest = weights

    def latest(self) -> tuple[int, Weights]:
        return self.newest


class ActorCrashed(Exception):
    """The actor's own code raised (or returned): the driver counts the actor dead."""


def _fetch(box: list[Any]) -> Weights:
    """The weights in `box` (a list holding one object ref), copied out of the object store (the store's
    arrays are read-only and would stay pinned while referenced)."""
    import ray

    return {name: np.array(array) for name, array in ray.get(box[0]).items()}


class RayActor:
    """One actor: `actor_fn(config, seed, shelf)` advanced by a thread of its own into a bounded queue
    (the bound holds an actor back while the learner does not pull), emptied by `pull`."""

    def __init__(self, actor_fn: ActorFn, config: Any, seed: int, box: list[Any], version: int,
                 queue_size: int) -> None:
        from league.workers import initialize_worker

        initialize_worker()
        self.shelf = _Shelf((version, _fetch(box)))
        self.items: queue.Queue = queue.Queue(maxsize=queue_size)
        self.error: str | None = None
        self.thread = threading.Thread(target=self._play, args=(actor_fn, config, seed), daemon=True)
        self.thread.start()

    def _play(self, actor_fn: ActorFn, config: Any, seed: int) -> None:
        try:
            for version, item in actor_fn(config, seed, self.shelf):
                self.items.put((int(version), item))
            self.error = "it returned"
        except Exception as error:  # the actor's death, reported by the next pull
            self.error = f"{type(error).__name__}: {error}"

    def pull(self, box: list[Any], version: int, wait: float) -> list[tuple[int, Any]]:
        """Take the newest weights (fetched once per version); return what was yielded since the last
        pull, waiting up to `wait` seconds for one item; raise ActorCrashed once the actor is dead and
        everything it yielded has been returned."""
        if version != self.shelf.newest[0]:
            self.shelf.newest = (version, _fetch(box))
        out = []
        deadline = time.monotonic() + wait
        while not out:
            try:
                out.append(self.items.get(timeout=min(0.05, max(0.0, deadline - time.monotonic()))))
            except queue.Empty:
                if self.error is not None and self.items.empty():
                    raise ActorCrashed(self.error) from None
                if time.monotonic() >= deadline:
                    return out
        while True:
            try:
                out.append(self.items.get_nowait())
            except queue.Empty:
                return out


class RayBackend:
    """Actors on a Ray cluster (see the module's docstring): LocalBackend's methods."""

    def __init__(self, actor_fn: ActorFn, config: Any, weights: tuple[int, Weights],
                 address: str | None = None, queue_size: int = 64, pull_wait: float = 0.2,
                 num_cpus: float = 1) -> None:
        connect(address)
        import ray

        self.actor_fn, self.config = actor_fn, config
        self.queue_size, self.pull_wait = queue_size, pull_wait
        self.remote = ray.remote(num_cpus=num_cpus, max_restarts=0)(RayActor)
        self.actors: dict[int, Any] = {}
        self.calls: dict[Any, int] = {}  # in-flight pull -> actor
        self.causes: dict[int, str] = {}
        self.publish(*weights)

    def start(self, k: int, seed: int) -> None:
        import ray

        if k in self.actors:
            ray.kill(self.actors[k], no_restart=True)
        self.actors[k] = self.remote.remote(self.actor_fn, self.config, seed, [self.weights], self.version,
                                            self.queue_size)
        self.causes.pop(k, None)
        self._pull(k)

    def _pull(self, k: int) -> None:
        call = self.actors[k].pull.remote([self.weights], self.version, self.pull_wait)
        self.calls[call] = k

    def publish(self, version: int, weights: Weights) -> None:
        import ray

        self.version = int(version)
        self.weights = ray.put({name: np.asarray(array) for name, array in weights.items()})

    def drain(self, timeout: float) -> list[Emitted]:
        import ray
        from ray.exceptions import RayActorError, RayError, RayTaskError

        if not self.calls:
            return []
        ready, _ = ray.wait(list(self.calls), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(list(self.calls), num_returns=len(self.calls), timeout=0)
        out = []
        for call in ready:
            k = self.calls.pop(call)
            try:
                items = ray.get(call)
            except RayActorError as error:
                self.causes[k] = f": the Ray actor died ({type(error).__name__})"
                continue
            except RayTaskError as error:  # the actor's own code failed
                self.causes[k] = f": {error.cause}" if error.cause is not None else f": {error}"
                ray.kill(self.actors[k], no_restart=True)
                continue
            except RayError as error:  # its result is lost (its node, its owner): count it dead too
                self.causes[k] = f": {type(error).__name__}"
                ray.kill(self.actors[k], no_restart=True)
                continue
            out += [Emitted(k, version, item) for version, item in items]
            self._pull(k)
        return out

    def dead(self) -> list[int]:
        return sorted(self.causes)

    def cause(self, k: int) -> str:
        return self.causes.get(k, "")

    def kill(self, k: int) -> None:
        import ray

        ray.kill(self.actors[k], no_restart=True)

    def close(self) -> None:
        import ray

        for actor in self.actors.values():
            ray.kill(actor, no_restart=True)
        self.actors.clear()
        self.calls.clear()
        self.causes.clear()


def named_files(value: Any) -> set[str]:
    """Paths of existing files named by the strings in a task (a player name `path[,key=value...]`)."""
    if isinstance(value, str):
        path = value.split(",")[0]
        return {path} if path and os.path.isfile(path) else set()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = [getattr(value, field.name) for field in dataclasses.fields(value)]
    elif isinstance(value, dict):
        value = list(value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return set().union(*(named_files(v) for v in value)) if value else set()
    return set()


def _write_missing(files: dict[str, Any], cwd: str) -> None:
    """On a worker: write the files it lacks (a node without the driver's disk), atomically."""
    import ray

    if os.path.isdir(cwd):
        os.chdir(cwd)  # relative player paths mean what they meant on the driver
    for path, box in files.items():
        if os.path.exists(path):
            continue
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        temp = f"{path}.{os.getpid()}.part"
        Path(temp).write_bytes(ray.get(box[0]))
        os.replace(temp, path)


def _run_task(fn: Callable[[Any], Any], task: Any, files: dict[str, Any], cwd: str) -> Any:
    """A Ray task: the files it needs, then `fn(task)` with one torch thread."""
    from league.workers import initialize_worker

    _write_missing(files, cwd)
    initialize_worker()
    return fn(task)


def run_ray_tasks(fn: Callable[[Any], Any], tasks: Sequence[Any], workers: int = 1) -> list[Any]:
    """`[fn(task) for task in tasks]` as Ray tasks of one CPU each, in task order, at most `workers` of them
    in flight at once (Ray places each on a node with a free CPU)."""
    connect()
    import ray

    files = {path: [ray.put(Path(path).read_bytes())] for path in sorted(named_files(list(tasks)))}
    remote = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(_run_task)
    cwd, width = os.getcwd(), max(1, workers)
    results: list[Any] = [None] * len(tasks)
    running: dict[Any, int] = {}
    for i, task in enumerate(tasks):
        if len(running) >= width:
            [ready], _ = ray.wait(list(running), num_returns=1)
            results[running.pop(ready)] = ray.get(ready)
        running[remote.remote(fn, task, files, cwd)] = i
    for ref, i in running.items():
        results[i] = ray.get(ref)
    return results
