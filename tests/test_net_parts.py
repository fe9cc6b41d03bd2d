"""Network parts: the entity transformer, the LSTM core, the heads and the spec (agents/nets)."""

from __future__ import annotations

import json

import pytest
import torch

from agents.nets.heads import PointerHead, PolicyHead, ValueHead
from agents.nets.lstm import LSTMCore
from agents.nets.spec import build_network
from agents.nets.transformer import EntityEncoder

N, F, D = 5, 3, 16


def entity_mask(counts: list[int], n: int = N) -> torch.Tensor:
    """Row b has its first counts[b] entities real (then, in the last row, real ones scattered)."""
    return torch.arange(n).unsqueeze(0) < torch.tensor(counts).unsqueeze(1)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("positions", [False, True])
def test_encoder_shapes_for_every_count_and_no_nan(positions, train):
    torch.manual_seed(0)
    encoder = EntityEncoder(F, d_model=D, num_layers=2, max_positions=N if positions else None).train(train)
    counts = list(range(N + 1))
    mask = entity_mask(counts)
    with torch.set_grad_enabled(train):  # eval without grad takes torch's fused fast path
        outputs, pooled = encoder(torch.randn(len(counts), N, F), mask)
    assert outputs.shape == (N + 1, N, D) and pooled.shape == (N + 1, 2 * D)
    assert torch.isfinite(outputs).all() and torch.isfinite(pooled).all()
    assert (outputs[~mask] == 0).all()  # padded entities give zero
    assert (pooled[0] == 0).all()  # no real entity: a zero pooled vector
    assert (pooled[1:].abs().sum(-1) > 0).all()
    # an empty entity axis, and a batch whose every row is empty
    outputs, pooled = encoder(torch.randn(2, 0, F), torch.zeros(2, 0, dtype=torch.bool))
    assert outputs.shape == (2, 0, D) and (pooled == 0).all() and pooled.shape == (2, 2 * D)
    with torch.set_grad_enabled(train):
        outputs, pooled = encoder(torch.randn(2, N, F), torch.zeros(2, N, dtype=torch.bool))
    assert torch.isfinite(outputs).all() and (outputs == 0).all() and (pooled == 0).all()


@pytest.mark.parametrize("train", [True, False])
def test_padded_entities_change_no_output(train):
    torch.manual_seed(1)
    encoder = EntityEncoder(F, d_model=D, num_layers=2, max_positions=N).train(train)
    mask = entity_mask([0, 1, 3, N])
    mask[3, 1] = False  # a hole in the middle
    x = torch.randn(4, N, F)
    changed = x.clone()
    changed[~mask] = 100.0 * torch.randn(int((~mask).sum()), F)
    with torch.no_grad():
        out_a, pooled_a = encoder(x, mask)
        out_b, pooled_b = encoder(changed, mask)
        out_c, _ = encoder(changed, None)  # the same change, unmasked, does reach the real entities
    torch.testing.assert_close(out_a, out_b)
    torch.testing.assert_close(pooled_a, pooled_b)
    assert not torch.allclose(out_a[mask], out_c[mask])


def test_masked_actions_get_probability_zero():
    torch.manual_seed(2)
    legal = torch.tensor([[True, False, True, False], [False, False, False, True]])
    logits = PolicyHead(8, 4)(torch.randn(2, 8) * 100, legal)
    probs = logits.softmax(-1)
    assert (probs[~legal] == 0).all() and torch.allclose(probs.sum(-1), torch.ones(2))
    assert (logits.argmax(-1) == torch.tensor([logits[0, [0, 2]].argmax() * 2, 3])).all()

    mask = entity_mask([1, 3, N])
    pointer = PointerHead(8, D, key_size=8)
    logits = pointer(torch.randn(3, 8) * 100, torch.randn(3, N, D) * 100, mask)
    probs = logits.softmax(-1)
    assert logits.shape == (3, N)
    assert (probs[~mask] == 0).all() and torch.isfinite(probs).all()
    assert (probs[0, 0] == 1).all()
    # no legal entity: uniform, not NaN
    none = pointer(torch.randn(1, 8), torch.randn(1, N, D), torch.zeros(1, N, dtype=torch.bool))
    assert torch.isfinite(none.softmax(-1)).all()


def test_value_head_outputs():
    assert ValueHead(8)(torch.randn(3, 8)).shape == (3,)
    assert ValueHead(8, outputs=2, hidden=4)(torch.randn(3, 8)).shape == (3, 2)


def step_by_step(core: LSTMCore, x, state, starts):
    """The reference: one nn.LSTM step at a time, zeroing a row's state where it starts."""
    outputs = []
    for t in range(x.shape[0]):
        keep = (~starts[t]).float().view(1, -1, 1)
        state = (state[0] * keep, state[1] * keep)
        out, state = core.lstm(x[t : t + 1], state)
        outputs.append(out)
    return torch.cat(outputs), state


def test_lstm_state_resets_at_starts():
    torch.manual_seed(3)
    core = LSTMCore(F, 8, num_layers=2)
    steps, batch, t = 6, 3, 3
    x = torch.randn(steps, batch, F)
    state = (torch.randn(2, batch, 8), torch.randn(2, batch, 8))  # a state carried from before
    starts = torch.zeros(steps, batch, dtype=torch.bool)
    starts[t, 0] = True
    starts[1, 2] = True
    starts[t, 2] = True
    with torch.no_grad():
        out, (h, c) = core(x, state, starts)
        fresh, (fresh_h, fresh_c) = core(x[t:], core.initial_state(batch), None)
        reference, (ref_h, ref_c) = step_by_step(core, x, state, starts)
        carried, _ = core(x, state, None)
    assert out.shape == (steps, batch, 8) and h.shape == (2, batch, 8)
    for row in (0, 2):
        torch.testing.assert_close(out[t:, row], fresh[:, row])
        torch.testing.assert_close(h[:, row], fresh_h[:, row])
        torch.testing.assert_close(c[:, row], fresh_c[:, row])
    torch.testing.assert_close(out, reference)
    torch.testing.assert_close((h, c), (ref_h, ref_c))
    # row 1 never starts: its state is carried, so it differs from a fresh start; without starts, no reset
    assert not torch.allclose(out[t:, 1], fresh[:, 1])
    assert not torch.allclose(carried[t:, 0], fresh[:, 0])


SPECS = {
    "mlp": ({"encoder": {"kind": "mlp", "hidden_sizes": [16], "out_size": 16}}, (2, 3)),
    "resnet": ({"encoder": {"kind": "resnet", "channels": 4, "blocks": 1, "out_size": 16}}, (2, 3, 3)),
    "transformer": (
        {"encoder": {"kind": "transformer", "d_model": 16, "num_layers": 1, "positions": True}},
        (N, F),
    ),
}
CORES = {"feedforward": {"kind": "feedforward"}, "lstm": {"kind": "lstm", "hidden_size": 8}}


def make_net(encoder: str, core: str, outputs: int = 1):
    spec, obs_shape = SPECS[encoder]
    spec = {**spec, "core": CORES[core], "heads": {"policy": {}, "value": {"outputs": outputs, "hidden": 8}}}
    return build_network(spec, obs_shape, num_actions=4), obs_shape


def run_net(net, obs_shape, core: str, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    lead = (3, 4) if core == "lstm" else (8,)
    obs = torch.randn(*lead, *obs_shape, generator=gen)
    kwargs = {}
    if len(obs_shape) == 2 and obs_shape == (N, F):
        mask = torch.ones(*lead, N, dtype=torch.bool)
        mask.view(-1, N)[0] = False  # one observation with no entity
        mask.view(-1, N)[1, 2:] = False
        kwargs["entity_mask"] = mask
    if core == "lstm":
        starts = torch.zeros(*lead, dtype=torch.bool)
        starts[1, 0] = True
        kwargs["starts"] = starts
    return net(obs, **kwargs)


@pytest.mark.parametrize("core", sorted(CORES))
@pytest.mark.parametrize("encoder", sorted(SPECS))
def test_gradients_reach_every_parameter(encoder, core):
    torch.manual_seed(4)
    net, obs_shape = make_net(encoder, core, outputs=2)
    result = run_net(net, obs_shape, core)
    lead = (3, 4) if core == "lstm" else (8,)
    assert result.policy_logits.shape == (*lead, 4) and result.value.shape == (*lead, 2)
    assert torch.isfinite(result.policy_logits).all() and torch.isfinite(result.value).all()
    (result.policy_logits.sum() + result.value.sum()).backward()
    missing = [name for name, p in net.named_parameters() if p.grad is None or not (p.grad != 0).any()]
    assert not missing, missing


def test_pointer_head_gradients():
    torch.manual_seed(5)
    pointer = PointerHead(8, D, key_size=8)
    logits = pointer(torch.randn(3, 8), torch.randn(3, N, D), entity_mask([1, 3, N]))
    logits.softmax(-1)[:, 0].sum().backward()
    assert all(p.grad is not None and (p.grad != 0).any() for p in pointer.parameters())


@pytest.mark.parametrize("core", sorted(CORES))
@pytest.mark.parametrize("encoder", sorted(SPECS))
def test_spec_round_trip(encoder, core):
    torch.manual_seed(6)
    net, obs_shape = make_net(encoder, core)
    torch.manual_seed(6)
    twin, _ = make_net(encoder, core)
    for (name, a), (_, b) in zip(net.state_dict().items(), twin.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    # from the saved spec alone (through JSON), with different initial weights, then the state dict
    saved = json.loads(json.dumps(net.spec))
    torch.manual_seed(7)
    rebuilt = build_network(saved, obs_shape, 4)
    assert rebuilt.spec == net.spec
    pairs = zip(net.state_dict().values(), rebuilt.state_dict().values(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)
    rebuilt.load_state_dict(net.state_dict())
    net.eval()
    rebuilt.eval()
    with torch.no_grad():
        a, b = run_net(net, obs_shape, core), run_net(rebuilt, obs_shape, core)
    torch.testing.assert_close(a.policy_logits, b.policy_logits)
    torch.testing.assert_close(a.value, b.value)


def test_spec_rejects_unknown_kinds_and_keys():
    with pytest.raises(ValueError, match="kind"):
        build_network({"encoder": {"kind": "gru"}}, (4,), 2)
    with pytest.raises(ValueError, match="unknown keys"):
        build_network({"encoder": {"kind": "mlp", "hiden_sizes": [4]}}, (4,), 2)
    with pytest.raises(ValueError, match="unknown heads"):
        build_network({"heads": {"q": {}}}, (4,), 2)
    with pytest.raises(ValueError, match="planes"):
        build_network({"encoder": {"kind": "resnet"}}, (4,), 2)


def all_parameters_get_gradient(net: torch.nn.Module) -> list[str]:
    return [name for name, p in net.named_parameters() if p.grad is None or not (p.grad != 0).any()]


@pytest.mark.parametrize("kind", ["resnet_planes", "cells"])
def test_conv_heads_on_planes_and_cells_as_tokens(kind):
    """AlphaGo Zero's heads on the tower's planes; a transformer over a board's cells as tokens."""
    torch.manual_seed(8)
    if kind == "resnet_planes":
        spec = {"encoder": {"kind": "resnet", "channels": 4, "blocks": 1, "out_size": 0},
                "heads": {"policy": {"conv": 2}, "value": {"conv": 1, "hidden": 8, "squash": "tanh"}}}
    else:
        spec = {"encoder": {"kind": "transformer", "d_model": 16, "num_layers": 1, "positions": True},
                "heads": {"policy": {}, "value": {"hidden": 8, "squash": "tanh"}}}
    net = build_network(spec, (3, 4, 5), 20)
    out = net(torch.randn(6, 3, 4, 5))
    assert out.policy_logits.shape == (6, 20) and out.value.shape == (6,)
    assert out.value.abs().max() <= 1.0
    (out.policy_logits.sum() + out.value.sum()).backward()
    assert not all_parameters_get_gradient(net)
    with pytest.raises(ValueError, match="conv"):
        build_network({**spec, "heads": {"policy": {}}} if kind == "resnet_planes" else
                      {**spec, "heads": {"policy": {"conv": 2}}}, (3, 4, 5), 20)


COMBINE_SHAPES = {"scalars": (4,), "units": (N, F), "board": (2, 3, 3)}
COMBINE_SPEC = {
    "encoder": {"kind": "combine", "parts": {
        "scalars": {"kind": "mlp", "hidden_sizes": [], "out_size": 8},
        "units": {"kind": "transformer", "d_model": D, "num_layers": 1},
        "board": {"kind": "resnet", "channels": 4, "blocks": 1, "out_size": 8},
    }},
    "heads": {"policy": {}, "value": {}, "pointer": {"key_size": 8}},
}


@pytest.mark.parametrize("core", sorted(CORES))
def test_combined_encoders_and_the_pointer_head(core):
    """Scalars, entities and planes in one network; the pointer chooses among the real entities only."""
    torch.manual_seed(9)
    net = build_network({**COMBINE_SPEC, "core": CORES[core]}, COMBINE_SHAPES, 3)
    lead = (3, 4) if core == "lstm" else (12,)
    obs = {name: torch.randn(*lead, *shape) for name, shape in COMBINE_SHAPES.items()}
    mask = entity_mask([0, 1, 2, 3, 4, 5] * 2).view(*lead, N)
    masks = {"units": mask}
    out = net(obs, entity_mask=masks, pointer_mask=mask)
    assert out.policy_logits.shape == (*lead, 3) and out.value.shape == lead
    assert out.pointer_logits.shape == (*lead, N)
    probabilities = out.pointer_logits.softmax(-1)
    real_rows = mask.any(-1)
    assert (probabilities[~mask & real_rows.unsqueeze(-1)] == 0).all()  # masked entities: probability 0
    assert torch.isfinite(out.pointer_logits).all() and torch.isfinite(out.value).all()
    (out.policy_logits.sum() + out.value.sum() + (probabilities * torch.arange(N)).sum()).backward()
    assert not all_parameters_get_gradient(net)
    # a padded entity's features change nothing
    changed = {**obs, "units": torch.where(mask.unsqueeze(-1), obs["units"], torch.randn_like(obs["units"]))}
    with torch.no_grad():
        a, b = net(obs, entity_mask=masks), net(changed, entity_mask=masks)
    torch.testing.assert_close(a.policy_logits, b.policy_logits)
    torch.testing.assert_close(a.pointer_logits, b.pointer_logits)
    # the spec alone (through JSON) rebuilds it
    rebuilt = build_network(json.loads(json.dumps(net.spec)), COMBINE_SHAPES, 3)
    rebuilt.load_state_dict(net.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(obs, entity_mask=masks).value, a.value)
    with pytest.raises(ValueError, match="dict observation"):
        build_network(COMBINE_SPEC, (4,), 3)
