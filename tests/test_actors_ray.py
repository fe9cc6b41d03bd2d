"""The actor layer on Ray (league/actors_ray.py): the contract of tests/test_actors.py on a two-node
cluster of this machine (tests/conftest.py's `ray_cluster`, one for the whole run), tasks in order, a
tournament identical to the local one, and (slow) a worker node lost in the middle of the tasks."""

from __future__ import annotations

import threading
import time

import pytest

from league.actors import ActorFailed, ActorPool, restart_seed, run_tasks
from tests.conftest import LOOPBACK
from tests.test_actors import collect, counting_actor, square, weights

pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]'")

# With pytest-xdist (`make test` runs the suite in parallel), every Ray test runs in one worker, so that
# the run starts one cluster, not one per worker.
pytestmark = pytest.mark.xdist_group("ray")


@pytest.mark.timeout(300)  # the first Ray test: the cluster's start (6 s idle, 100 s seen under load) too
def test_ray_actors_follow_the_contract_and_are_restarted_after_a_kill(ray_cluster):
    seeds = [3, 4]
    with ActorPool("ray", counting_actor, {"seconds": 0.05}, seeds, (0, weights(1.0))) as pool:
        early = collect(pool, 0, lambda out: {e.actor for e in out} == {0, 1}, limit=60)  # one starts later
        assert {e.actor for e in early} == {0, 1} and {e.version for e in early} == {0}
        assert all(e.item["w"] == 1.0 and e.item["seed"] == seeds[e.actor] for e in early)
        pool.publish(7, weights(4.0))
        pool.kill(0)
        # A pull that finished before the kill still delivers the dead actor's last items (seed 3), so
        # wait for the reborn actor's own seed.
        later = collect(pool, 0, lambda out: any(e.item["seed"] == restart_seed(3, 1) for e in out)
                        and any(e.actor == 1 and e.version == 7 for e in out), limit=60)
        assert pool.restarts == 1
        assert {e.item["seed"] for e in later if e.actor == 0} <= {3, restart_seed(3, 1)}
        reborn = [e for e in later if e.actor == 0 and e.item["seed"] == restart_seed(3, 1)]
        assert reborn and all(e.version == 7 and e.item["w"] == 4.0 for e in reborn)  # the newest weights
        assert reborn[0].item["game"] == 0  # a new actor: nothing of the dead one's unfinished game
        games = [e.item["game"] for e in early + later if e.actor == 1]
        assert games == list(range(len(games)))  # nothing lost, nothing twice, in order
        assert any(e.actor == 1 and e.version == 7 for e in later)


@pytest.mark.slow  # about 9 s; the fake backend's test of the same limit stays in the fast suite
@pytest.mark.timeout(120)
def test_ray_actor_crashes_are_restarted_up_to_the_limit_and_tasks_keep_their_order(ray_cluster):
    config = {"seconds": 0, "crash_after": 1}
    with ActorPool("ray", counting_actor, config, [1], (0, weights(0.0)), max_restarts=1) as pool:
        emitted = []
        with pytest.raises(ActorFailed, match="restarted actors 1 times.*RuntimeError: the actor crashed"):
            deadline = time.time() + 60
            while time.time() < deadline:
                emitted += pool.results(timeout=0.2)
        assert [e.item["seed"] for e in emitted] == [1, restart_seed(1, 1)]  # what it yielded is kept
    tasks = list(range(12))
    assert run_tasks("ray", square, tasks, workers=2) == [x * x for x in tasks]
    spans = sorted(run_tasks("ray", timed, [0.2] * 4, workers=1))  # a cap of one: never two at once
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False)), spans


def timed(seconds: float) -> tuple[float, float]:
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


@pytest.mark.timeout(120)
def test_a_tournament_on_ray_is_the_local_one(ray_cluster):
    from agents.players import make_player
    from league.tournament import round_robin

    players = ["random", "alphabeta:1", "mcts:8"]
    on_ray = round_robin("tic_tac_toe", players, 6, make_player, workers=2, seed=3, bootstrap=20,
                         backend="ray")
    here = round_robin("tic_tac_toe", players, 6, make_player, workers=1, seed=3, bootstrap=20)
    assert on_ray.payoff == here.payoff and on_ray.ratings == here.ratings
    assert [g["actions"] for g in on_ray.games] == [g["actions"] for g in here.games]


def slow_square(x: int) -> int:
    time.sleep(0.5)
    return x * x


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_losing_a_worker_node_loses_no_task(ray_cluster):
    """The worker node goes (as a machine would) while tasks run on it: Ray retries its tasks on the head,
    every result comes back in order; a new worker node joins afterwards for the tests that follow."""
    [worker] = list(ray_cluster.worker_nodes)
    tasks = list(range(30))
    remover = threading.Timer(3.0, lambda: ray_cluster.remove_node(worker, allow_graceful=False))
    remover.start()
    try:
        assert run_tasks("ray", slow_square, tasks, workers=2) == [x * x for x in tasks]
    finally:
        remover.join()
        ray_cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)
        ray_cluster.wait_for_nodes()


@pytest.mark.timeout(60)
def test_checkpoints_named_by_players_travel_as_bytes(ray_cluster, tmp_path, monkeypatch):
    import ray

    from league.actors_ray import _write_missing, named_files
    from league.arena import GameJob

    checkpoint = tmp_path / "ckpt.pt"
    checkpoint.write_bytes(b"weights")
    task = ("tic_tac_toe", [GameJob((f"{checkpoint},sims=4", "random"), 0)], {"other": str(tmp_path)})
    assert named_files(task) == {str(checkpoint)}  # a folder is not shipped, nor a built-in's name
    monkeypatch.chdir(tmp_path)
    _write_missing({"elsewhere/ckpt.pt": [ray.put(b"weights")]}, "/no/such/folder")  # a node without it
    assert (tmp_path / "elsewhere" / "ckpt.pt").read_bytes() == b"weights"
