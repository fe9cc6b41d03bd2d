"""The actor layer's contract (league/actors.py), on the fake backend and on local processes."""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
import pytest

from envs.errors import UsageError
from league.actors import ActorFailed, ActorPool, restart_seed, run_tasks


def counting_actor(config, seed, source):
    """Plays 'games' of `config["seconds"]` each; a game reports the seed, its number and the weight."""
    game = 0
    while True:
        version, weights = source.latest()  # between games only
        time.sleep(config["seconds"])
        if config.get("crash_after") is not None and game >= config["crash_after"]:
            raise RuntimeError("the actor crashed")
        yield version, {"seed": seed, "game": game, "w": float(weights["w"][0])}
        game += 1


def square(x: int) -> int:
    time.sleep(0.01 * (x % 3))
    return x * x


def weights(value: float) -> dict[str, np.ndarray]:
    return {"w": np.full(3, value, dtype=np.float32)}


def collect(pool: ActorPool, count: int, done=lambda out: True, limit: float = 120.0) -> list:
    """Results until there are `count` and `done(results)` holds (or `limit` seconds passed: a process
    started on a loaded machine can take half a minute to import torch)."""
    out, deadline = [], time.time() + limit
    while (len(out) < count or not done(out)) and time.time() < deadline:
        out += pool.results(timeout=0.2)
    return out


def test_fake_actors_take_new_weights_between_games_and_survive_a_kill():
    with ActorPool("fake", counting_actor, {"seconds": 0}, [10, 20], (0, weights(0.0))) as pool:
        first = pool.results(0)
        assert [(e.actor, e.version, e.item["seed"], e.item["game"]) for e in first] == [
            (0, 0, 10, 0), (1, 0, 20, 0)]
        pool.publish(5, weights(2.0))
        second = pool.results(0)
        assert [(e.version, e.item["w"]) for e in second] == [(5, 2.0), (5, 2.0)]
        pool.kill(0)  # its unfinished game goes; what it emitted stays with the caller
        third = pool.results(0)
        assert [e.actor for e in third] == [1] and pool.restarts == 1
        pool.publish(6, weights(3.0))
        fourth = pool.results(0)
        restarted = [e for e in fourth if e.actor == 0][0]
        assert restarted.item == {"seed": restart_seed(10, 1), "game": 0, "w": 3.0} and restarted.version == 6


def test_actors_that_keep_dying_stop_the_pool_after_its_limit():
    config = {"seconds": 0, "crash_after": 1}
    with ActorPool("fake", counting_actor, config, [1], (0, weights(0.0)), max_restarts=2) as pool:
        emitted = []
        with pytest.raises(ActorFailed, match="restarted actors 2 times.*RuntimeError: the actor crashed"):
            for _ in range(10):
                emitted += pool.results(0)
        assert [e.item["seed"] for e in emitted] == [1, restart_seed(1, 1), restart_seed(1, 2)]


def test_local_actors_follow_the_contract_and_are_restarted_after_a_kill():
    seeds = [3, 4]
    with ActorPool("local", counting_actor, {"seconds": 0.05}, seeds, (0, weights(1.0))) as pool:
        early = collect(pool, 4, lambda out: {e.actor for e in out} == {0, 1})
        assert {e.actor for e in early} == {0, 1} and {e.version for e in early} == {0}
        assert all(e.item["w"] == 1.0 and e.item["seed"] == seeds[e.actor] for e in early)
        pool.publish(7, weights(4.0))
        pool.kill(0)
        later = collect(pool, 4, lambda out: any(e.item["seed"] == restart_seed(3, 1) for e in out)
                        and any(e.actor == 1 and e.version == 7 for e in out))
        assert pool.restarts == 1
        reborn = [e for e in later if e.actor == 0 and e.item["seed"] == restart_seed(3, 1)]
        assert reborn and all(e.version == 7 and e.item["w"] == 4.0 for e in reborn)
        assert reborn[0].item["game"] == 0  # a new actor: nothing of the dead one's unfinished game
        assert any(e.actor == 1 and e.version == 7 for e in later)
    assert not [p for p in multiprocessing.active_children() if p.is_alive()]


def test_tasks_come_back_in_task_order_and_a_missing_backend_is_one_line():
    tasks = list(range(12))
    assert run_tasks("fake", square, tasks) == [x * x for x in tasks]
    assert run_tasks("local", square, tasks, workers=2) == [x * x for x in tasks]
    with pytest.raises(UsageError, match="backends: local, ray"):
        run_tasks("spark", square, tasks)


LEARNER_THAT_DIES = """
import os, signal, sys, time
sys.path.insert(0, {root!r})
from league.actors import ActorPool
from tests.test_actors import counting_actor, weights

if __name__ == "__main__":
    pool = ActorPool("local", counting_actor, {{"seconds": 0.05}}, [1, 2], (0, weights(0.0)))
    while len({{e.actor for e in pool.results(timeout=0.5)}}) < 1:
        pass
    print(" ".join(str(p.pid) for p in pool.backend.processes.values()), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no atexit: as a learner killed from outside
"""


def test_local_actors_stop_when_their_learner_is_killed(tmp_path):
    """A learner killed by a signal leaves no actor playing on: each notices its parent is gone."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "learner.py"
    script.write_text(LEARNER_THAT_DIES.format(root=str(Path(__file__).resolve().parent.parent)))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2, done.stderr
    deadline = time.time() + 20
    while time.time() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
