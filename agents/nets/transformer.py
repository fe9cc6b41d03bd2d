"""A transformer encoder over a padded set (or sequence) of entities, with its mask.

`EntityEncoder`: entities `[B, N, F]` and a mask `[B, N]` (True = a real entity) -> per-entity outputs
`[B, N, D]` and a pooled vector `[B, 2 D]` (the masked mean and the masked max, concatenated), or with
`pool="last"` the last entity's output `[B, D]` (a window of observations read at its newest step). A linear
embedding, optional learned position embeddings (for sequences, or board cells as tokens), then
`nn.TransformerEncoder` of pre-norm `nn.TransformerEncoderLayer`s with a final LayerNorm; padded entities
are keys no real entity attends to (`src_key_padding_mask`), and their outputs are zero.

A row with no real entity would give attention over nothing (NaN); its entities are attended as if real
inside the layers and then zeroed, so such a row's outputs and pooled vector are exactly zero.
"""

from __future__ import annotations

import torch
from torch import nn


class EntityEncoder(nn.Module):
    """Entities `[B, N, in_features]`, mask `[B, N]` -> (outputs `[B, N, d_model]`, pooled `[B, 2 d_model]`).

    `max_positions`: if set, a learned embedding per position `0 .. max_positions - 1` is added to each
    entity's embedding (sequences, board cells); without it the encoder is permutation-equivariant.
    `ff_size` defaults to `4 * d_model`; `dropout` defaults to 0 (RL targets move enough already).
    """

    def __init__(
        self,
        in_features: int,
        d_model: int = 64,
        num_layers: int = 2,
        num_heads: int = 8,
        ff_size: int | None = None,
        dropout: float = 0.0,
        max_positions: int | None = None,
        pool: str = "mean_max",
    ):
        super().__init__()
        if pool not in ("mean_max", "last"):
            raise ValueError(f"transformer pool {pool!r} is not 'mean_max' or 'last'")
        self.d_model = d_model
        self.pool = pool
        self.out_size = 2 * d_model if pool == "mean_max" else d_model
        self.embed = nn.Linear(in_features, d_model)
        self.positions = nn.Embedding(max_positions, d_model) if max_positions else None
        if self.positions is not None:  # small, as BERT and GPT do: N(0, 1) drowns the entities' features
            nn.init.normal_(self.positions.weight, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model,
            num_heads,
            dim_feedforward=ff_size or 4 * d_model,
            dropout=dropout,
            batch_first=True,
            norm_first=True,
        )
        self.layers = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )

    def forward(
        self, entities: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch, count = entities.shape[:2]
        if mask is None:
            mask = torch.ones(batch, count, dtype=torch.bool, device=entities.device)
        mask = mask.bool()
        x = self.embed(entities)
        if self.positions is not None:
            x = x + self.positions(torch.arange(count, device=entities.device))
        if count == 0:
            return x, x.new_zeros(batch, self.out_size)
        # A row with no real entity attends over all of its (padded) entities instead, then is zeroed.
        empty = ~mask.any(dim=1, keepdim=True)
        padding = ~mask & ~empty
        x = self.layers(x, src_key_padding_mask=padding)
        real = mask.unsqueeze(-1)
        outputs = x * real
        if self.pool == "last":
            return outputs, outputs[:, -1]
        counts = real.sum(dim=1).clamp(min=1)
        mean = outputs.sum(dim=1) / counts
        maximum = x.masked_fill(~real, torch.finfo(x.dtype).min).amax(dim=1)
        maximum = torch.where(empty, torch.zeros_like(maximum), maximum)
        return outputs, torch.cat([mean, maximum], dim=-1)
