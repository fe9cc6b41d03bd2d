"""Tests run from the checkout: the repository root goes first on sys.path (see README)."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

# The tests' networks are tiny: one thread is fastest, and on a shared 2-core machine more threads
# oversubscribe the cores (a search making one network call per simulation slowed down a hundredfold).
torch.set_num_threads(1)

RAY_ENVIRONMENT = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": ""}
"""Set while the test cluster runs: no token file in ~/.ray, no usage reports, Ray's files in a temp
folder."""


@pytest.fixture(scope="session")
def ray_cluster():
    """One two-node Ray cluster (a head and a worker of one CPU each, on this machine) for the whole test
    run, started by the first test that asks for it; this process is its driver. Everything Ray writes
    goes under a short temporary folder (socket paths are capped at 107 bytes), removed afterwards.
    The nodes use the machine's own address: ray.init turns a loopback address into it, and a node bound
    to 127.0.0.1 is then unreachable."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]'")
    from ray.cluster_utils import Cluster

    saved = {name: os.environ.get(name) for name in RAY_ENVIRONMENT}
    temp = tempfile.mkdtemp(prefix="/tmp/rt")
    os.environ.update(RAY_ENVIRONMENT, RAY_TMPDIR=temp)
    os.mkdir(os.path.join(temp, "ray"))  # Ray writes the cluster's address there
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        from league.actors_ray import connect

        connect(cluster.address)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(temp, ignore_errors=True)
