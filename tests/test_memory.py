"""Memory in the learners: an LSTM's state and a transformer's window act as they learn, a memory task
that only memory solves, checkpoints that play with their own network, and old checkpoints that load."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import envs
from agents import reinforce
from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.memory import EpisodeMemory, step_outputs
from agents.nets.mlp import MLP
from agents.nets.spec import build_network
from agents.players import make_player
from envs.errors import UsageError

MEMORY_SPECS = {
    "lstm": ({"encoder": {"kind": "mlp", "hidden_sizes": [], "out_size": 8},
              "core": {"kind": "lstm", "hidden_size": 8, "num_layers": 2}}, (3,)),
    "transformer": ({"encoder": {"kind": "transformer", "d_model": 16, "num_layers": 1, "positions": True}},
                    (4, 3)),
}


@pytest.mark.parametrize("kind", sorted(MEMORY_SPECS))
def test_acting_step_by_step_sees_what_learning_sees(kind):
    torch.manual_seed(0)
    spec, shape = MEMORY_SPECS[kind]
    network = build_network(spec, shape, 2)
    lengths = [5, 1, 7]  # the transformer's window reaches past the start of every episode
    obs = torch.randn(sum(lengths), 3)
    learned = step_outputs(network, obs, lengths)
    memory, acted = EpisodeMemory(network), []
    for episode in np.split(obs.numpy(), np.cumsum(lengths)[:-1]):
        memory.reset()
        acted += [memory.outputs(step).policy_logits for step in episode]
    assert torch.allclose(torch.stack(acted), learned.policy_logits, atol=1e-5)
    # Chunks carry the state without gradient: the forward pass is the same.
    chunked = step_outputs(network, obs, lengths, chunk_length=2)
    assert torch.allclose(chunked.policy_logits, learned.policy_logits, atol=1e-6)


def cue_config(tmp_path, net: str) -> reinforce.Config:
    return reinforce.Config(
        env="docs.examples.cue_memory:make_env", net=net, steps=20_000, learning_rate=0.002, batch_episodes=4,
        hidden_sizes=(32,), memory_size=32, solved_return=0.98, seed=0, threads=1, eval_episodes=50,
        run_dir=str(tmp_path / net), progress=False,
    )


def test_only_memory_solves_the_cue_task(tmp_path):
    """The answer at the end must repeat the cue from the start: the LSTM learns it, the MLP (which sees the
    current observation only) cannot beat a coin flip at the same budget."""
    env_spec = "docs.examples.cue_memory:make_env"
    lstm = reinforce.train(cue_config(tmp_path, "lstm"), envs.make(env_spec))
    assert lstm["eval_return"] == 1.0 and lstm["steps"] < 20_000
    mlp = reinforce.train(cue_config(tmp_path, "mlp"), envs.make(env_spec))
    assert mlp["eval_return"] < 0.8


@pytest.mark.parametrize("net", ["lstm", "transformer"])
def test_a_checkpoint_plays_with_its_own_network(tmp_path, net):
    env = envs.make("docs.examples.masked_cartpole:make_env")
    options = {"net": net, "hidden_sizes": (16,), "memory_size": 16, "context": 3, "steps": 600}
    reinforce.train(reinforce.Config(run_dir=str(tmp_path / net), progress=False, eval_episodes=0, **options),
                    env)
    path = tmp_path / net / "ckpt" / "latest.pt"
    checkpoint = load_checkpoint(path)
    assert checkpoint["net"]["encoder"]["kind"] == ("mlp" if net == "lstm" else "transformer")
    player = make_player(str(path), env)
    trained = reinforce.policy_network(checkpoint, env)
    assert type(player.network.core) is type(trained.core)
    # The same episode played twice gives the same actions: the memory is forgotten between episodes.
    runs = []
    for _ in range(2):
        player.begin_episode()
        obs, _ = env.reset(seed=3)
        actions = []
        done = False
        while not done and len(actions) < 30:
            actions.append(player.act(obs))
            obs, _, terminated, truncated, _ = env.step(actions[-1])
            done = terminated or truncated
        runs.append(actions)
    assert runs[0] == runs[1]


def test_a_checkpoint_from_before_specs_loads_and_plays_the_same(tmp_path):
    """REINFORCE checkpoints of before held a plain MLP's weights and no spec: they load, renamed."""
    env = envs.make("CartPole-v1")
    reinforce.train(reinforce.Config(run_dir=str(tmp_path / "new"), steps=300, progress=False,
                                     eval_episodes=0, hidden_sizes=(8, 8)), env)
    old = load_checkpoint(tmp_path / "new" / "ckpt" / "latest.pt")
    mlp = MLP(4, [8, 8], 2)
    old["model"] = mlp.state_dict()
    del old["net"]
    save_checkpoint(tmp_path / "old.pt", {k: v for k, v in old.items() if k != "format_version"})
    player = make_player(str(tmp_path / "old.pt"), env)
    obs = torch.randn(16, 4)
    with torch.no_grad():
        assert torch.equal(player.network(obs).policy_logits, mlp(obs))


def test_bad_network_choices_are_one_line_errors():
    with pytest.raises(UsageError, match="--context"):
        reinforce.make_networks(envs.make("CartPole-v1"), reinforce.Config(net="transformer", context=0))


def test_a_run_from_before_specs_resumes_with_its_weights_renamed(tmp_path):
    """A REINFORCE run saved before specs (MLP names `layers.N.*`, no "net") resumes as an MLP."""
    from agents.training import resume_config

    env = envs.make("CartPole-v1")
    options = {"steps": 300, "progress": False, "eval_episodes": 0, "hidden_sizes": (8, 8)}
    reinforce.train(reinforce.Config(run_dir=str(tmp_path / "run"), **options), env)
    path = tmp_path / "run" / "ckpt" / "latest.pt"
    new = load_checkpoint(path)

    def old_names(state: dict) -> dict:  # back to MLP(in, [8, 8], out)'s names
        return {k.replace("encoder.0.", "").replace("policy_head.layers.0", "layers.4")
                .replace("value_head.layers.0", "layers.4"): v for k, v in state.items()}

    old = {**new, "model": old_names(new["model"]), "value": old_names(new["value"])}
    del old["net"]
    del old["format_version"]
    save_checkpoint(path, old)
    given = reinforce.Config(resume=str(tmp_path / "run"), **options)
    config, checkpoint = resume_config(given, reinforce.SHAPE_FIELDS)
    reinforce.train(config, env, checkpoint)  # no steps left: it loads, then saves in today's names
    resumed = load_checkpoint(path)
    assert resumed["net"] == new["net"]
    for key in ("model", "value"):
        assert all(torch.equal(resumed[key][k], new[key][k]) for k in new[key])
    with pytest.raises(UsageError, match="--net"):
        lstm = reinforce.Config(resume=str(tmp_path / "run"), net="lstm", **options)
        reinforce.train(lstm, env, old)
