"""An LSTM core with its `(h, c)` state passed in and out, reset to zeros at episode starts.

`LSTMCore.forward(x [T, B, F], state, starts [T, B]) -> (outputs [T, B, H], new state)`: where
`starts[t, b]` is True, row b's state is zeroed before step t. The time axis is cut into segments at the
steps where any row starts; each segment is one call of `nn.LSTM` (no start inside it past its first step),
so the result equals stepping one step at a time, resetting as told (a test holds the two equal).
"""

from __future__ import annotations

import torch
from torch import nn

LSTMState = tuple[torch.Tensor, torch.Tensor]


class LSTMCore(nn.Module):
    """`nn.LSTM` (`num_layers` layers) over `[T, B, in_size]`; the state `(h, c)`, each `[layers, B, H]`."""

    def __init__(self, in_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.out_size = hidden_size
        self.lstm = nn.LSTM(in_size, hidden_size, num_layers)

    def initial_state(self, batch: int, device: torch.device | str | None = None) -> LSTMState:
        zeros = torch.zeros(self.num_layers, batch, self.hidden_size, device=device)
        return zeros, zeros.clone()

    def forward(
        self, x: torch.Tensor, state: LSTMState | None = None, starts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, LSTMState]:
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):  # oneDNN has no bf16 LSTM: run it in fp32
                return self.forward(x.float(), state, starts)
        steps, batch = x.shape[:2]
        if state is None:
            state = self.initial_state(batch, x.device)
        if starts is None:
            return self.lstm(x, state)
        starts = starts.bool()
        later = (torch.nonzero(starts[1:].any(dim=1)).flatten() + 1).tolist()  # one device sync, not T
        cuts = [0] + later + [steps]
        outputs = []
        for begin, end in zip(cuts[:-1], cuts[1:], strict=True):
            keep = (~starts[begin]).to(x.dtype).view(1, batch, 1)
            state = (state[0] * keep, state[1] * keep)
            out, state = self.lstm(x[begin:end], state)
            outputs.append(out)
        return torch.cat(outputs, dim=0), state
