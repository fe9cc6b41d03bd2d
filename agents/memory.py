"""Acting and learning with memory: an LSTM core's state carried through an episode, or a transformer over a
window of the last K observations (`context`). Shared by the policy-gradient learners.

Acting (`EpisodeMemory`) goes one step at a time; learning (`step_outputs`) runs whole episodes at once.
Both give a step the same input: the LSTM's state after the episode's earlier steps (zero at its start),
or the window whose last token is the step's observation and whose tokens before the episode's start are
masked out. A test holds the two equal.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import numpy as np
import torch

from agents.nets.spec import NetOutput, SpecNetwork


def uses_window(network: SpecNetwork) -> bool:
    """True when the network reads a window of observations (a transformer encoder over `(K, F)`)."""
    return network.spec["encoder"]["kind"] == "transformer" and network.core is None


class EpisodeMemory:
    """What a network remembers of the current episode, for acting one step at a time; `reset()` at the
    start of every episode."""

    def __init__(self, network: SpecNetwork):
        self.network = network
        self.context = network.obs_shape[0] if uses_window(network) else 0
        self.reset()

    def reset(self) -> None:
        self.state = None
        self.window: collections.deque[np.ndarray] = collections.deque(maxlen=max(self.context, 1))
        self.device = next(self.network.parameters()).device  # where the network is now; once an episode

    def outputs(self, obs: np.ndarray) -> NetOutput:
        """The network's outputs for the episode's next observation (batch of one), remembering it."""
        device = self.device
        with torch.inference_mode():
            if self.network.core is not None:
                x = torch.as_tensor(obs, device=device)[None, None]
                out = self.network(x, state=self.state)
                self.state = out.state
                return _first(out, 2)
            if self.context:
                self.window.append(np.asarray(obs, dtype=np.float32).reshape(-1))
                window = np.zeros((1, *self.network.obs_shape), dtype=np.float32)
                mask = np.zeros((1, self.context), dtype=bool)
                count = len(self.window)
                window[0, self.context - count:] = np.stack(self.window)
                mask[0, self.context - count:] = True
                out = self.network(torch.from_numpy(window).to(device), torch.from_numpy(mask).to(device))
                return _first(out, 1)
            return _first(self.network(torch.as_tensor(obs, device=device)[None]), 1)


def _first(out: NetOutput, dims: int) -> NetOutput:
    """The one step of a batch of one (`dims` leading axes of size 1 dropped)."""

    def take(x: torch.Tensor | None) -> torch.Tensor | None:
        return None if x is None else x.reshape(x.shape[dims:])

    return NetOutput(take(out.policy_logits), take(out.value), out.state)


def step_outputs(
    network: SpecNetwork, obs: torch.Tensor, lengths: Sequence[int], chunk_length: int = 0
) -> NetOutput:
    """Outputs for every step of whole episodes: `obs` `[N, *shape]` holds the episodes' steps one episode
    after another (`lengths` of them each); the result's policy logits are `[N, A]` and values `[N]`.

    An LSTM core runs the episodes side by side, padded to the longest, from a zero state; with
    `chunk_length` L it runs L steps at a time and carries the state from chunk to chunk without
    gradient through it (truncated backpropagation through time). A window network sees each step's
    window of the last K observations."""
    steps = torch.as_tensor(np.concatenate([np.arange(n) for n in lengths]), device=obs.device)
    episode = torch.as_tensor(np.repeat(np.arange(len(lengths)), lengths), device=obs.device)
    if network.core is not None:
        longest = max(lengths)
        padded = obs.new_zeros(longest, len(lengths), *obs.shape[1:])
        padded[steps, episode] = obs
        chunk = chunk_length or longest
        state, logits, values = None, [], []
        for begin in range(0, longest, chunk):
            out = network(padded[begin:begin + chunk], state=state)
            state = (out.state[0].detach(), out.state[1].detach())
            logits.append(out.policy_logits)
            values.append(out.value)
        pick = lambda parts: None if parts[0] is None else torch.cat(parts)[steps, episode]  # noqa: E731
        return NetOutput(pick(logits), pick(values), None)
    if uses_window(network):
        context = network.obs_shape[0]
        flat = obs.reshape(obs.shape[0], -1)
        windows = flat.new_zeros(flat.shape[0], context, flat.shape[1])
        mask = torch.zeros(flat.shape[0], context, dtype=torch.bool, device=obs.device)
        index = torch.arange(flat.shape[0], device=obs.device)
        for token in range(context):
            back = context - 1 - token  # how many steps before the current one this token shows
            real = steps >= back
            windows[real, token] = flat[index[real] - back]
            mask[real, token] = True
        return network(windows, mask)
    return network(obs)
