"""Return estimators and policy losses over trajectories, as pure functions of time-major [T, B] tensors.

For actor-critic learners over fixed-length unrolls (AlphaStar's, agents/alphastar.py), written like
DeepMind's rlax: no state, no modules, every input a tensor shaped [T, B] (time first) except
`bootstrap`, the value after the last step, [B]. `discounts[t]` is gamma at step t and 0 where the episode
ends at t, so one unroll may hold several episodes.

- `lambda_returns`: G_t = r_t + d_t * ((1 - lambda_t) * v_{t+1} + lambda_t * G_{t+1}), G after the last
  step = the bootstrap value; lambda 0 gives one-step targets, lambda 1 the discounted returns.
- `vtrace`: IMPALA's off-policy targets (Espeholt et al. 2018) with the importance weights clipped at
  `clip_rho` (the TD errors') and `clip_c` (the traces'), and the policy-gradient advantage
  `rho_clipped * (r_t + d_t * vs_{t+1} - V(x_t))`.
- `upgo_returns`: AlphaStar's UPGO, a lambda return whose trace continues while r_t + d_t * V_{t+1} >= V_t
  (the action was at least as good as expected) and bootstraps from the value otherwise.
- `kl_to_reference`, `entropy`: per step, over the legal actions (logits already masked to -inf).
"""

from __future__ import annotations

import torch


def lambda_returns(
    rewards: torch.Tensor, discounts: torch.Tensor, next_values: torch.Tensor, lambdas: torch.Tensor | float,
) -> torch.Tensor:
    """G_t = r_t + d_t * ((1 - l_t) * v_{t+1} + l_t * G_{t+1}); `next_values[t]` is v_{t+1} (the last row
    is the bootstrap value)."""
    lambdas = torch.as_tensor(lambdas, dtype=rewards.dtype, device=rewards.device).expand_as(rewards)
    returns = torch.empty_like(rewards)
    following = next_values[-1]
    for t in range(rewards.shape[0] - 1, -1, -1):
        following = rewards[t] + discounts[t] * ((1 - lambdas[t]) * next_values[t] + lambdas[t] * following)
        returns[t] = following
    return returns


def _next_values(values: torch.Tensor, bootstrap: torch.Tensor) -> torch.Tensor:
    return torch.cat([values[1:], bootstrap.unsqueeze(0)], dim=0)


def vtrace(
    behaviour_log_probs: torch.Tensor,
    target_log_probs: torch.Tensor,
    rewards: torch.Tensor,
    discounts: torch.Tensor,
    values: torch.Tensor,
    bootstrap: torch.Tensor,
    clip_rho: float = 1.0,
    clip_c: float = 1.0,
    lambda_: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """V-trace value targets `vs` and policy-gradient advantages, both [T, B], with no gradient.

    vs_t = V(x_t) + sum_{s>=t} (prod_{t<=i<s} d_i c_i) * rho_s * (r_s + d_s V(x_{s+1}) - V(x_s)), with
    rho = min(clip_rho, pi/mu) and c = lambda * min(clip_c, pi/mu) (log_probs of the actions taken)."""
    with torch.no_grad():
        ratios = torch.exp(target_log_probs - behaviour_log_probs)
        rho = ratios.clamp(max=clip_rho)
        c = lambda_ * ratios.clamp(max=clip_c)
        next_values = _next_values(values, bootstrap)
        deltas = rho * (rewards + discounts * next_values - values)
        corrections = torch.empty_like(values)
        following = torch.zeros_like(bootstrap)
        for t in range(values.shape[0] - 1, -1, -1):
            following = deltas[t] + discounts[t] * c[t] * following
            corrections[t] = following
        vs = values + corrections
        advantages = rho * (rewards + discounts * _next_values(vs, bootstrap) - values)
    return vs, advantages


def upgo_returns(
    rewards: torch.Tensor, discounts: torch.Tensor, values: torch.Tensor, bootstrap: torch.Tensor
) -> torch.Tensor:
    """UPGO targets [T, B]: G_t = r_t + d_t * G_{t+1} while the next action was no worse than expected
    (r_{t+1} + d_{t+1} V_{t+2} >= V_{t+1}), else r_t + d_t * V_{t+1}; no gradient."""
    with torch.no_grad():
        next_values = _next_values(values, bootstrap)
        better = (rewards + discounts * next_values >= values).to(rewards.dtype)
        # the trace through step t+1 continues if the action at t+1 was good: shift by one, the last open
        lambdas = torch.cat([better[1:], torch.ones_like(better[:1])], dim=0)
        return lambda_returns(rewards, discounts, next_values, lambdas)


def td_lambda_targets(
    rewards: torch.Tensor, discounts: torch.Tensor, values: torch.Tensor, bootstrap: torch.Tensor,
    lambda_: float = 0.8,
) -> torch.Tensor:
    """TD(lambda) value targets [T, B] (AlphaStar's value loss, lambda 0.8), no gradient."""
    with torch.no_grad():
        return lambda_returns(rewards, discounts, _next_values(values, bootstrap), lambda_)


def kl_to_reference(logits: torch.Tensor, reference_logits: torch.Tensor) -> torch.Tensor:
    """KL(pi || pi_ref) per step [..], over the actions; illegal actions carry -inf in both."""
    legal = torch.isfinite(logits)
    log_p = _legal_log_softmax(logits, legal)
    log_q = _legal_log_softmax(reference_logits, legal)
    return (log_p.exp() * (log_p - log_q)).masked_fill(~legal, 0.0).sum(dim=-1)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """The policy's entropy per step, over the legal actions."""
    legal = torch.isfinite(logits)
    log_p = _legal_log_softmax(logits, legal)
    return -(log_p.exp() * log_p).masked_fill(~legal, 0.0).sum(dim=-1)


def _legal_log_softmax(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """log_softmax with 0 (not -inf) at illegal actions, so that no NaN reaches a gradient through them;
    callers zero those entries' terms."""
    return torch.log_softmax(logits, dim=-1).masked_fill(~legal, 0.0)
