"""Actor processes fed with a learner's latest weights: self-play runs in K processes while the learner
learns in this one.

The weights live in shared memory (one tensor per parameter, a version counter and a lock), so an actor
picks up new weights without a copy through a pipe; finished games come back on a queue, emptied by a
reader thread of the learner as fast as the actors fill it. Processes start with the worker pool's
start method (league/workers.py: forkserver or spawn, never fork). An actor that dies stops the run with
its learner's checkpoint saved (`ActorFailed`); finished games already received are kept.

`target(config, seed, spec, shared_weights, version, lock, examples, stop)` is the actor's main function, a
module-level function (it is sent by name): it builds its network from `spec` (the learner's network's
`spec`, plain data), loads `shared_weights` whenever `version` changes and puts `(finished games,
simulations per second)` on `examples` until `stop` is set.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import torch


class ActorFailed(Exception):
    """An actor process stopped; the learner saves its checkpoint and stops the run."""


class Actors:
    """`workers` actor processes running `target`, fed with the learner's weights through shared memory;
    actor k is seeded `seed + 1000 * (k + 1)`."""

    def __init__(
        self, target: Callable[..., None], config: Any, network: torch.nn.Module, workers: int, seed: int
    ):
        import torch.multiprocessing as mp

        from league.workers import start_method

        context = mp.get_context(start_method())
        self.shared = {k: v.detach().cpu().clone().share_memory_() for k, v in network.state_dict().items()}
        self.version = context.Value("l", 0)
        self.lock = context.Lock()
        self.examples = context.Queue(maxsize=64 * workers)
        self.stop = context.Event()
        self.processes = [
            context.Process(
                target=target,
                args=(
                    config,
                    seed + 1000 * (k + 1),
                    getattr(network, "spec", None),
                    self.shared,
                    self.version,
                    self.lock,
                    self.examples,
                    self.stop,
                ),
                daemon=True,
            )
            for k in range(workers)
        ]
        for process in self.processes:
            process.start()
        self.inbox: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def publish(self, network: torch.nn.Module) -> None:
        with self.lock, torch.no_grad():
            for name, value in network.state_dict().items():
                self.shared[name].copy_(value.detach().cpu())
            self.version.value += 1

    def _read(self) -> None:
        """A thread of the learner that empties the queue as fast as the actors fill it (a pipe holds
        only a few games; reading between gradient steps alone would stall the actors)."""
        while not self.stop.is_set():
            try:
                self.inbox.put(self.examples.get(timeout=0.1))
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return

    def collect(self, timeout: float) -> tuple[list[Any], float]:
        """Finished games received so far (waiting up to `timeout` for the first), and the actors' latest
        simulations per second."""
        games, speed = [], 0.0
        try:
            while True:
                finished, speed = self.inbox.get(timeout=timeout) if not games else self.inbox.get_nowait()
                games.append(finished)
        except queue.Empty:
            pass
        dead = [p.exitcode for p in self.processes if not p.is_alive()]
        if not games and dead:
            signalled = any(code is not None and code < 0 for code in dead)
            killed = " (killed by a signal: out of memory?)" if signalled else ""
            raise ActorFailed(f"an actor process stopped with exit code {dead[0]}{killed}")
        return games, speed

    def close(self) -> None:
        self.stop.set()
        self.reader.join(timeout=1.0)
        deadline = time.time() + 10
        for process in self.processes:
            while process.is_alive() and time.time() < deadline:
                try:
                    self.examples.get(timeout=0.1)
                except queue.Empty:
                    pass
            process.join(timeout=max(0.0, deadline - time.time()))
            if process.is_alive():
                process.terminate()
