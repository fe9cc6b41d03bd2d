"""Board symmetries of games, for data augmentation: a registry keyed by the game's short name.

A symmetry is a permutation of the encoded observation (`envs.encoding`: [C, H, W] planes plus the
player planes) and the matching permutation of the actions, such that the transformed position is worth
the same to the mover and the transformed visit distribution is its policy. Only games whose rules are
invariant under the transformation are listed; every other game gets the identity alone, so nothing is
assumed about a game that is not registered here.

- tic_tac_toe, go, othello: the 8 rotations and reflections of the square board (go and othello keep
  their pass action in place);
- connect_four: the left-right mirror;
- hex: the half turn, which also swaps the edge-connection planes (north with south, west with east).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Symmetry:
    """`obs_index[k]` is the flat index of the original observation that lands at flat index k, and
    `action_index[a]` is the original action that becomes action a (so `policy[action_index]`)."""

    name: str
    obs_index: np.ndarray
    action_index: np.ndarray

    def apply(self, obs: np.ndarray, policies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Transforms a batch: obs [N, *shape] and policies (or masks) [N, A]."""
        flat = obs.reshape(len(obs), -1)[:, self.obs_index].reshape(obs.shape)
        return flat, policies[:, self.action_index]

    def map_action(self, action: int) -> int:
        """Where an action of the original position goes in the transformed one."""
        return int(np.flatnonzero(self.action_index == action)[0])


def _grid_transforms(height: int, width: int) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The 8 dihedral transforms of an [H, W] array (4 of them need a square board)."""
    transforms: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "identity": lambda g: g,
        "mirror": lambda g: g[:, ::-1],
        "flip": lambda g: g[::-1, :],
        "half_turn": lambda g: g[::-1, ::-1],
    }
    if height == width:
        transforms.update(
            {
                "quarter_turn": lambda g: np.rot90(g, 1),
                "three_quarter_turn": lambda g: np.rot90(g, 3),
                "transpose": lambda g: g.T,
                "anti_transpose": lambda g: np.rot90(g, 2).T,
            }
        )
    return transforms


def _symmetry(
    name: str,
    transform: Callable[[np.ndarray], np.ndarray],
    shape: tuple[int, ...],
    num_actions: int,
    actions_on_cells: bool,
    channel_order: list[int] | None = None,
) -> Symmetry:
    """Builds the index maps of one grid transform; actions are the board's cells (row-major), optionally
    followed by extra actions (pass) that stay in place, or else the board's columns."""
    channels, height, width = shape
    cells = np.arange(height * width).reshape(height, width)
    cell_index = np.ascontiguousarray(transform(cells)).reshape(-1)
    order = (
        list(range(channels))
        if channel_order is None
        else channel_order + list(range(len(channel_order), channels))
    )
    obs_index = (np.asarray(order)[:, None] * height * width + cell_index[None, :]).reshape(-1)
    if actions_on_cells:
        action_index = np.concatenate([cell_index, np.arange(height * width, num_actions)])
    else:
        action_index = np.ascontiguousarray(transform(np.arange(width)[None, :])).reshape(-1)
    return Symmetry(name, obs_index, action_index)


def _board(
    names: tuple[str, ...], channel_order: list[int] | None = None, on_cells: bool = True
) -> Callable[[tuple[int, ...], int], list[Symmetry]]:
    """A registry entry: the named grid transforms (those the board's shape allows)."""

    def build(shape: tuple[int, ...], num_actions: int) -> list[Symmetry]:
        transforms = _grid_transforms(shape[1], shape[2])
        return [
            _symmetry(
                name,
                transforms[name],
                shape,
                num_actions,
                on_cells,
                None if name == "identity" else channel_order,
            )
            for name in names
            if name in transforms
        ]

    return build


DIHEDRAL = (
    "identity",
    "mirror",
    "flip",
    "half_turn",
    "quarter_turn",
    "three_quarter_turn",
    "transpose",
    "anti_transpose",
)
# OpenSpiel's hex planes are its cell states + 4: white win, west, east, white, empty, black, south,
# north, black win; the half turn swaps west/east and north/south.
HEX_HALF_TURN_CHANNELS = [0, 2, 1, 3, 4, 5, 7, 6, 8]

SYMMETRIES: dict[str, Callable[[tuple[int, ...], int], list[Symmetry]]] = {
    "tic_tac_toe": _board(DIHEDRAL),
    "go": _board(DIHEDRAL),
    "othello": _board(DIHEDRAL),
    "connect_four": _board(("identity", "mirror"), on_cells=False),
    "hex": _board(("identity", "half_turn"), channel_order=HEX_HALF_TURN_CHANNELS),
}


def symmetries_for(game: Any, shape: tuple[int, ...]) -> list[Symmetry]:
    """The game's symmetries over encoded observations of `shape` (identity first; identity alone for
    games not in the registry or whose observation is not the registered board)."""
    num_actions = game.num_distinct_actions()
    identity = Symmetry("identity", np.arange(int(np.prod(shape))), np.arange(num_actions))
    build = SYMMETRIES.get(game.get_type().short_name)
    if build is None or len(shape) != 3:
        return [identity]
    return build(tuple(shape), num_actions)
