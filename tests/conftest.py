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

# Ray turns a loopback address into the machine's own ("a remotely reachable IP") unless multi-node
# clusters count as unsupported, as on macOS: read once, when ray is first imported, so it is set before
# any test imports ray. The test cluster's nodes and its driver then stay on 127.0.0.1.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="session")
def ray_cluster():
    """One two-node Ray cluster (a head and a worker of one CPU each, on this machine) for the whole test
    run, started by the first test that asks for it; this process is its driver. Everything Ray writes
    goes under a short temporary folder (socket paths are capped at 107 bytes), removed afterwards.
    Both nodes and the driver are on 127.0.0.1 (see RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER above), so no
    traffic leaves the loopback range."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]'")
    from ray.cluster_utils import Cluster

    saved = {name: os.environ.get(name) for name in RAY_ENVIRONMENT}
    temp = tempfile.mkdtemp(prefix="/tmp/rt")
    os.environ.update(RAY_ENVIRONMENT, RAY_TMPDIR=temp)
    os.mkdir(os.path.join(temp, "ray"))  # Ray writes the cluster's address there
    head = {"num_cpus": 1, "include_dashboard": False, "node_ip_address": LOOPBACK}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    try:
        cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)
        from league.actors_ray import connect

        connect(cluster.address)
        assert cluster.address.startswith(LOOPBACK), cluster.address
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {LOOPBACK}
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
