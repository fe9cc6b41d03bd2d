"""Observations of turn-based games for networks: `encode(state, player)` and legal-action masks.

OpenSpiel observations are not player-relative in most games, so the encoding adds the viewer's
identity: one-hot planes (for [C, H, W] observations) or one-hot entries (for flat ones), one per player.
The fast path is OpenSpiel's `make_observation(...).set_from`, which fills a float32 array in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.errors import UsageError


class Encoder:
    """Encodes states of one game from a given player's view; reuse one per game in hot loops."""

    def __init__(self, game: Any):
        from open_spiel.python.observation import make_observation

        if not game.get_type().provides_observation_tensor:
            raise UsageError(f"game {game.get_type().short_name!r} provides no observation tensor")
        self.game = game
        self.num_players = game.num_players()
        self._observation = make_observation(game)
        raw_shape = tuple(game.observation_tensor_shape())
        self.spatial = len(raw_shape) == 3
        if self.spatial:
            self.raw_shape = raw_shape
            self.shape: tuple[int, ...] = (raw_shape[0] + self.num_players, raw_shape[1], raw_shape[2])
        else:
            self.raw_shape = (int(np.prod(raw_shape)),)
            self.shape = (self.raw_shape[0] + self.num_players,)

    def __call__(self, state: Any, player: int) -> np.ndarray:
        out = np.zeros(self.shape, dtype=np.float32)
        self.encode_into(state, player, out)
        return out

    def encode_into(self, state: Any, player: int, out: np.ndarray) -> None:
        """Write the encoding of `state` from `player`'s view into `out` (shape `self.shape`)."""
        self._observation.set_from(state, player)
        raw = self._observation.tensor
        if self.spatial:
            channels = self.raw_shape[0]
            out[:channels] = raw.reshape(self.raw_shape)
            out[channels:] = 0.0
            out[channels + player] = 1.0
        else:
            size = self.raw_shape[0]
            out[:size] = raw
            out[size:] = 0.0
            out[size + player] = 1.0


_encoders: dict[str, Encoder] = {}


def encoder_for(game: Any) -> Encoder:
    """The cached Encoder of a game (keyed by the game's string with parameters)."""
    key = str(game)
    if key not in _encoders:
        _encoders[key] = Encoder(game)
    return _encoders[key]


def encode(state: Any, player: int) -> np.ndarray:
    """The observation of `state` from `player`'s view, plus whose view it is, as float32."""
    return encoder_for(state.get_game())(state, player)


def legal_mask(state: Any, num_actions: int, player: int | None = None) -> np.ndarray:
    """Boolean mask over the game's distinct actions: True where the action is legal."""
    mask = np.zeros(num_actions, dtype=bool)
    legal = state.legal_actions() if player is None else state.legal_actions(player)
    mask[legal] = True
    return mask
