"""Checkpoint RNG states: what `rng_state` saves, `restore_rng` puts back, for each generator a run uses."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from agents.checkpoint import restore_rng, rng_state, save_checkpoint


def draws(rng: np.random.Generator) -> list:
    return [
        rng.random(3).tolist(),
        [random.random() for _ in range(3)],
        np.random.random(3).tolist(),
        np.random.normal(),  # the global state's cached Gaussian comes back too
        torch.rand(3).tolist(),
    ]


def test_rng_states_round_trip_through_a_checkpoint_file(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    rng = np.random.default_rng(4)
    draws(rng)
    np.random.standard_normal()  # leaves a cached Gaussian in numpy's global state
    save_checkpoint(tmp_path / "c.pt", {"rng": rng_state(rng)})
    expected = draws(rng)

    random.seed(10)
    np.random.seed(20)
    torch.manual_seed(30)
    other = np.random.default_rng(40)
    restore_rng(other, torch.load(tmp_path / "c.pt", weights_only=True)["rng"])  # weights_only=True reads it
    assert draws(other) == expected


def test_a_checkpoint_without_the_numpy_global_state_still_restores(tmp_path):
    rng = np.random.default_rng(0)
    state = rng_state(rng)
    del state["numpy_global"]  # written before the numpy-global state was saved
    expected = rng.random(3).tolist()
    restore_rng(rng, state)
    assert rng.random(3).tolist() == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_rng_state_round_trips(tmp_path):
    torch.cuda.manual_seed_all(5)
    torch.rand(2, device="cuda")
    rng = np.random.default_rng(0)
    save_checkpoint(tmp_path / "c.pt", {"rng": rng_state(rng)})
    expected = torch.rand(4, device="cuda").cpu()
    torch.cuda.manual_seed_all(6)
    restore_rng(rng, torch.load(tmp_path / "c.pt", weights_only=True)["rng"])
    assert torch.equal(torch.rand(4, device="cuda").cpu(), expected)
