"""Return estimators (agents/returns.py) against hand-computed cases."""

from __future__ import annotations

import math

import torch

from agents.returns import entropy, kl_to_reference, lambda_returns, td_lambda_targets, upgo_returns, vtrace


def col(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).unsqueeze(1)  # [T, 1]


def test_lambda_returns_span_one_step_targets_to_discounted_returns():
    rewards, discounts = col(1.0, 2.0, 3.0), col(0.5, 0.5, 0.5)
    values, bootstrap = col(0.1, 0.2, 0.3), torch.tensor([4.0], dtype=torch.float64)
    one_step = td_lambda_targets(rewards, discounts, values, bootstrap, lambda_=0.0)
    assert torch.allclose(one_step, col(1 + 0.5 * 0.2, 2 + 0.5 * 0.3, 3 + 0.5 * 4.0))
    monte_carlo = td_lambda_targets(rewards, discounts, values, bootstrap, lambda_=1.0)
    expected = col(1 + 0.5 * (2 + 0.5 * (3 + 0.5 * 4)), 2 + 0.5 * (3 + 0.5 * 4), 3 + 0.5 * 4)
    assert torch.allclose(monte_carlo, expected)
    ended = td_lambda_targets(rewards, col(0.5, 0.0, 0.5), values, bootstrap, lambda_=1.0)
    assert ended[1, 0] == 2.0 and ended[0, 0] == 1 + 0.5 * 2.0  # an episode ends at step 1


def test_vtrace_against_a_hand_computed_case():
    values, bootstrap = col(0.5, 0.2), torch.tensor([0.1], dtype=torch.float64)
    behaviour = col(math.log(0.25), math.log(0.5))
    target = col(math.log(0.5), math.log(0.25))  # ratios 2 (clipped to 1) and 0.5
    vs, advantages = vtrace(behaviour, target, col(1.0, 0.0), col(0.9, 0.9), values, bootstrap)
    # deltas: 1 * (1 + 0.9 * 0.2 - 0.5) = 0.68 and 0.5 * (0.9 * 0.1 - 0.2) = -0.055; c = 1, 0.5
    assert torch.allclose(vs, col(0.5 + 0.68 + 0.9 * 1.0 * -0.055, 0.2 - 0.055))
    assert torch.allclose(advantages, col(1 + 0.9 * (0.2 - 0.055) - 0.5, 0.5 * (0.9 * 0.1 - 0.2)))


def test_vtrace_on_policy_is_the_n_step_bootstrapped_return():
    torch.manual_seed(0)
    T, B = 6, 4
    rewards, values, bootstrap = torch.randn(T, B), torch.randn(T, B), torch.randn(B)
    discounts = (torch.rand(T, B) > 0.2).float() * 0.95
    log_probs = torch.log(torch.rand(T, B))
    vs, advantages = vtrace(log_probs, log_probs, rewards, discounts, values, bootstrap)
    returns = lambda_returns(rewards, discounts, torch.cat([values[1:], bootstrap[None]]), 1.0)
    assert torch.allclose(vs, returns, atol=1e-6)
    next_vs = torch.cat([vs[1:], bootstrap[None]])
    assert torch.allclose(advantages, rewards + discounts * next_vs - values, atol=1e-6)


def test_upgo_follows_good_actions_and_bootstraps_before_bad_ones():
    rewards, discounts = col(0.0, 1.0, -1.0), col(1.0, 1.0, 1.0)
    values, bootstrap = col(0.0, 0.0, 0.0), torch.tensor([0.0], dtype=torch.float64)
    # the action at step 1 beat its value (1 >= 0), the one at step 2 did not (-1 < 0): the target of
    # step 0 runs through step 1's reward and stops before step 2's; step 1 bootstraps from V(x_2)
    assert torch.equal(upgo_returns(rewards, discounts, values, bootstrap), col(1.0, 1.0, -1.0))
    values = col(0.0, 2.0, 0.0)  # now step 1's action was worse than expected: step 0 bootstraps at once
    assert torch.equal(upgo_returns(rewards, discounts, values, bootstrap), col(2.0, 1.0, -1.0))


def test_kl_and_entropy_over_legal_actions_and_the_kl_gradient():
    masked = torch.tensor([[0.3, -1.0, float("-inf"), 2.0]], dtype=torch.float64, requires_grad=True)
    reference = torch.tensor([[0.0, 0.0, float("-inf"), 0.0]], dtype=torch.float64)
    kl = kl_to_reference(masked, reference)
    p = torch.softmax(masked.detach(), -1)
    q = torch.softmax(reference, -1)
    legal = p > 0
    expected = (p[legal] * (p[legal].log() - q[legal].log())).sum()
    assert torch.allclose(kl, expected.reshape(1))
    kl.sum().backward()
    analytic = torch.where(legal, p * (p.clamp_min(1e-300).log() - q.clamp_min(1e-300).log() - expected),
                           torch.zeros_like(p))
    assert torch.allclose(masked.grad, analytic)
    assert torch.allclose(entropy(reference), torch.tensor([math.log(3)], dtype=torch.float64))
    assert torch.allclose(kl_to_reference(reference, reference), torch.zeros(1, dtype=torch.float64))
