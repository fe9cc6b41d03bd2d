"""The actor layer: actors that play for a learner (self-play games, trajectories) and match jobs run as
tasks, on one of three backends: `fake` (in this process, for tests), `local` (processes) and `ray`
(league/actors_ray.py, a Ray cluster).

- `ActorPool(backend, actor_fn, config, seeds, weights)` starts one actor per seed. An actor runs
  `actor_fn(config, seed, source)`, a generator that plays and yields `(version, item)`: what it
  finished (a game's examples), tagged with the weight version it was played with. It reads the newest
  weights with `source.latest() -> (version, {name: numpy array})` between games, never in the middle of
  one. `config` and seeds are plain data; an actor imports what it needs itself (a plug-in too).
- `publish(version, weights)`: the learner's new weights (numpy arrays) for the actors' next games.
- `results(timeout)`: what the actors yielded since the last call, in arrival order, as `Emitted`.
- Faults: an actor that dies (a crash, a kill, a lost node) is restarted with the seed `restart_seed(seed,
  k)` for its k-th restart, up to `max_restarts` restarts over the pool's life; then `results` raises
  `ActorFailed`, whose one line the learner prints after saving its checkpoint. A dead actor's
  unfinished games are lost and never counted; what it yielded before is kept. A restarted actor reads
  the newest weights when it starts.
- `run_tasks(backend, fn, tasks, workers)`: `[fn(task) for task in tasks]` as tasks on the backend,
  results in task order whatever the order of completion; the arena plays match jobs through it.

The fake backend advances its actors in turn inside `results` (one item each per call), so a test is
deterministic. The local backend runs each actor in a process started by league/workers.py's start
method (forkserver, never fork), one torch thread each; the weights live in shared memory (one tensor
per array, a version counter and a lock), so a new version reaches the actors without a copy through a
pipe, and a reader thread empties the actors' queue as fast as they fill it.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from envs.errors import UsageError

BACKENDS = ("fake", "local", "ray")

Weights = dict[str, np.ndarray]
ActorFn = Callable[[Any, int, Any], Iterator[tuple[int, Any]]]
"""`actor_fn(config, seed, source) -> iterator of (version, item)`; a module-level function."""


class ActorFailed(Exception):
    """Actors died more often than the pool restarts them; the learner saves and stops."""


@dataclass(frozen=True)
class Emitted:
    """One item an actor yielded: which actor, the weight version it was played with, the item."""

    actor: int
    version: int
    item: Any


def restart_seed(seed: int, restarts: int) -> int:
    """The seed of an actor's `restarts`-th restart (0: its first start): new games, not a replay."""
    return seed + 1_000_003 * restarts


def numpy_weights(network: Any) -> Weights:
    """A torch module's state as numpy arrays (bfloat16 as float32), for `publish`."""
    import torch

    out = {}
    for name, value in network.state_dict().items():
        value = value.detach().cpu()
        out[name] = (value.float() if value.dtype == torch.bfloat16 else value).numpy()
    return out


class WeightsSource(Protocol):
    def latest(self) -> tuple[int, Weights]: ...


def check_backend(backend: str) -> str:
    """The backend's name, or a one-line UsageError (for Ray: how to install it)."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; backends: local, ray")
    if backend == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise UsageError("--backend ray needs Ray: pip install 'palaestra[ray]'") from None
    return backend


class ActorPool:
    """Actors on a backend (see the module's docstring); `seeds[k]` is actor k's seed."""

    def __init__(
        self,
        backend: str,
        actor_fn: ActorFn,
        config: Any,
        seeds: Sequence[int],
        weights: tuple[int, Weights],
        max_restarts: int = 3,
        **backend_options: Any,
    ) -> None:
        self.seeds = [int(seed) for seed in seeds]
        self.max_restarts = max_restarts
        self.restarts = 0
        self.starts = [0] * len(self.seeds)  # restarts of each actor so far
        if check_backend(backend) == "fake":
            self.backend: Any = FakeBackend(actor_fn, config, weights)
        elif backend == "local":
            self.backend = LocalBackend(actor_fn, config, weights, **backend_options)
        else:
            from league.actors_ray import RayBackend

            self.backend = RayBackend(actor_fn, config, weights, **backend_options)
        for k, seed in enumerate(self.seeds):
            self.backend.start(k, seed)

    def publish(self, version: int, weights: Weights) -> None:
        self.backend.publish(int(version), weights)

    def results(self, timeout: float) -> list[Emitted]:
        """Items yielded since the last call (waiting up to `timeout` seconds for the first); restarts the
        actors that died, or raises ActorFailed past `max_restarts`."""
        emitted = self.backend.drain(timeout)
        for k in self.backend.dead():
            if self.restarts >= self.max_restarts:
                raise ActorFailed(
                    f"actor {k} died and the pool has restarted actors {self.restarts} times already "
                    f"(the limit){self.backend.cause(k)}"
                )
            self.restarts += 1
            self.starts[k] += 1
            self.backend.start(k, restart_seed(self.seeds[k], self.starts[k]))
        return emitted

    def kill(self, actor: int) -> None:
        """Kill one actor as a crash would (for tests): the pool restarts it at its next `results`."""
        self.backend.kill(actor)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> ActorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Shelf:
    """The newest published weights, for actors in this process."""

    def __init__(self, weights: tuple[int, Weights]) -> None:
        self.newest = weights

    def latest(self) -> tuple[int, Weights]:
        return self.newest


class FakeBackend:
    """Actors as generators in this process, advanced in turn by `drain`: one item from each live actor
    per call. An exception in an actor, or `kill`, is its death."""

    def __init__(self, actor_fn: ActorFn, config: Any, weights: tuple[int, Weights]) -> None:
        self.actor_fn, self.config = actor_fn, config
        self.shelf = _Shelf(weights)
        self.actors: dict[int, Iterator[tuple[int, Any]] | None] = {}
        self.causes: dict[int, str] = {}

    def start(self, k: int, seed: int) -> None:
        self.actors[k] = self.actor_fn(self.config, seed, self.shelf)

    def publish(self, version: int, weights: Weights) -> None:
        self.shelf.newest = (version, weights)

    def drain(self, timeout: float) -> list[Emitted]:
        out = []
        for k, actor in self.actors.items():
            if actor is None:
                continue
            try:
                version, item = next(actor)
            except StopIteration:
                self.actors[k] = None
                self.causes[k] = ": it returned"
                continue
            except Exception as error:  # the actor crashed: it is dead, the run goes on
                self.actors[k] = None
                self.causes[k] = f": {type(error).__name__}: {error}"
                continue
            out.append(Emitted(k, int(version), item))
        return out

    def dead(self) -> list[int]:
        return [k for k, actor in self.actors.items() if actor is None]

    def cause(self, k: int) -> str:
        return self.causes.get(k, "")

    def kill(self, k: int) -> None:
        actor = self.actors.get(k)
        if actor is not None:
            actor.close()  # its unfinished games go with it
        self.actors[k] = None
        self.causes[k] = ": killed"

    def close(self) -> None:
        for k in list(self.actors):
            actor = self.actors[k]
            if actor is not None:
                actor.close()
            self.actors[k] = None


class _SharedWeights:
    """In a local actor: the newest weights from shared memory, copied out only when the version changed."""

    def __init__(self, shared: dict[str, Any], version: Any, lock: Any) -> None:
        self.shared, self.version, self.lock = shared, version, lock
        self.seen, self.weights = -1, {}

    def latest(self) -> tuple[int, Weights]:
        if self.version.value != self.seen:
            with self.lock:
                self.weights = {name: tensor.numpy().copy() for name, tensor in self.shared.items()}
                self.seen = self.version.value
        return self.seen, self.weights


def _local_actor(actor_fn: ActorFn, config: Any, seed: int, k: int, shared: dict, version: Any, lock: Any,
                 out: Any, stop: Any) -> None:
    """A local actor process: run `actor_fn`, putting what it yields on `out` until `stop` is set."""
    from league.workers import initialize_worker

    initialize_worker()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the learner handles Ctrl-C and stops the actors
    learner = multiprocessing.parent_process()  # gone when the learner dies, whatever killed it
    for emitted_version, item in actor_fn(config, seed, _SharedWeights(shared, version, lock)):
        while True:
            if stop.is_set() or (learner is not None and not learner.is_alive()):
                return
            try:
                out.put((k, emitted_version, item), timeout=0.5)
                break
            except queue.Full:
                continue


class LocalBackend:
    """Actors in processes of this machine (see the module's docstring)."""

    def __init__(self, actor_fn: ActorFn, config: Any, weights: tuple[int, Weights], queue_size: int = 64):
        import torch
        import torch.multiprocessing as mp

        from league.workers import start_method

        self.actor_fn, self.config = actor_fn, config
        self.context = mp.get_context(start_method())
        version, arrays = weights
        self.shared = {name: torch.from_numpy(np.array(a)).share_memory_() for name, a in arrays.items()}
        self.version = self.context.Value("l", int(version))
        self.lock = self.context.Lock()
        self.out = self.context.Queue(maxsize=queue_size)
        self.stop = self.context.Event()
        self.processes: dict[int, Any] = {}
        self.inbox: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        """A thread of the learner that empties the actors' queue (a pipe holds only a few games;
        reading between gradient steps alone would stall the actors)."""
        while not self.stop.is_set():
            try:
                self.inbox.put(self.out.get(timeout=0.1))
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return

    def start(self, k: int, seed: int) -> None:
        process = self.context.Process(
            target=_local_actor,
            args=(self.actor_fn, self.config, seed, k, self.shared, self.version, self.lock, self.out,
                  self.stop),
            daemon=True,
        )
        process.start()
        self.processes[k] = process

    def publish(self, version: int, weights: Weights) -> None:
        import torch

        with self.lock:
            for name, array in weights.items():
                self.shared[name].copy_(torch.from_numpy(np.asarray(array)))
            self.version.value = version

    def drain(self, timeout: float) -> list[Emitted]:
        out = []
        try:
            while True:
                k, version, item = self.inbox.get(timeout=timeout) if not out else self.inbox.get_nowait()
                out.append(Emitted(k, version, item))
        except queue.Empty:
            pass
        return out

    def dead(self) -> list[int]:
        return [k for k, process in self.processes.items() if not process.is_alive()]

    def cause(self, k: int) -> str:
        code = self.processes[k].exitcode
        signalled = code is not None and code < 0
        return f": exit code {code}" + (" (killed by a signal: out of memory?)" if signalled else "")

    def kill(self, k: int) -> None:
        process = self.processes[k]
        os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=5)

    def close(self) -> None:
        self.stop.set()
        self.reader.join(timeout=1.0)
        deadline = time.time() + 10
        for process in self.processes.values():
            while process.is_alive() and time.time() < deadline:
                try:
                    self.out.get(timeout=0.1)
                except queue.Empty:
                    pass
                except (OSError, EOFError):  # an item whose sender is gone: nothing left to read there
                    break
            process.join(timeout=max(0.0, deadline - time.time()))
            if process.is_alive():
                process.terminate()


def run_tasks(backend: str, fn: Callable[[Any], Any], tasks: Sequence[Any], workers: int = 1,
              pool: Any = None) -> list[Any]:
    """`[fn(task) for task in tasks]` on a backend, in task order: here (`fake`, or `local` with one
    worker and no pool), in local worker processes (`pool`, a league.workers.WorkerPool, or a new one of
    `workers`), or as Ray tasks. `fn` is a module-level function."""
    check_backend(backend)
    if backend == "ray":
        from league.actors_ray import run_ray_tasks

        return run_ray_tasks(fn, tasks, workers)
    if backend == "fake" or (pool is None and workers <= 1):
        return [fn(task) for task in tasks]
    from league.workers import WorkerPool

    own = pool is None
    pool = pool or WorkerPool(workers)
    try:
        return pool.map(fn, tasks)
    finally:
        if own:
            pool.close()
