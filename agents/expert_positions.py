"""Positions for supervised learning from expert games: duplicates removed, the held-out split by game,
no held-out position that training also holds, and the training positions through the game's symmetries.

1. Games are read from a data folder (`agents/expert_data.py`: SGF, JSON lines).
2. Duplicate games are removed: two games are one when their move lists are equal under one of the game's
   symmetries (`envs/symmetries.py`: the 8 of the square board in Go, the mirror in connect four).
3. The games are split by game (a seeded shuffle): `held_out` of them for evaluation.
4. Each game is replayed in OpenSpiel; every move after the random opening is a position (the mover's
   encoding, `envs.encoding`) labelled with the expert's move. A game stops at a move OpenSpiel refuses
   (a user's SGF under other rules).
5. Each position gets a key that is the same for all its symmetric images (the least of a 64-bit hash of
   each image); held-out positions whose key is also a training key are removed, so the held-out accuracy
   is measured on positions never seen in training, under any symmetry.
6. `augment` gives each training position a random symmetry of its own (position and move together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.expert_data import ExpertGame, read_games
from envs.encoding import encoder_for, legal_mask
from envs.errors import UsageError
from envs.symmetries import Symmetry, symmetries_for


@dataclass
class Positions:
    """Labelled positions: encodings (uint8 when the game's are 0/1, else float32), legal masks, the
    expert's moves, and which game (index into the games it came from) and move number each is."""

    obs: np.ndarray
    mask: np.ndarray
    action: np.ndarray
    game: np.ndarray
    move: np.ndarray

    def __len__(self) -> int:
        return len(self.action)

    def subset(self, keep: np.ndarray) -> Positions:
        return Positions(self.obs[keep], self.mask[keep], self.action[keep], self.game[keep], self.move[keep])


@dataclass
class ExpertDataset:
    train: Positions
    held: Positions
    train_games: list[ExpertGame]
    held_games: list[ExpertGame]
    stats: dict[str, Any] = field(default_factory=dict)


def _inverse(sym: Symmetry) -> np.ndarray:
    """`inverse[a]`: where action a of the original position goes in the transformed one."""
    inverse = np.empty_like(sym.action_index)
    inverse[sym.action_index] = np.arange(len(sym.action_index))
    return inverse


def canonical_moves(actions: Sequence[int], symmetries: Sequence[Symmetry]) -> tuple[int, ...]:
    """The least of a game's move lists under the symmetries: equal for games that are one up to symmetry."""
    moves = np.asarray(actions, dtype=np.int64)
    return min(tuple(int(a) for a in _inverse(sym)[moves]) for sym in symmetries)


def dedup_games(games: Sequence[ExpertGame], symmetries: Sequence[Symmetry]) -> list[ExpertGame]:
    """The games, first of each set of duplicates (under the symmetries) kept, in order."""
    seen, unique = set(), []
    for record in games:
        key = canonical_moves(record.actions, symmetries)
        if key not in seen:
            seen.add(key)
            unique.append(record)
    return unique


def split_games(games: Sequence[ExpertGame], held_out: float, seed: int) -> tuple[list, list]:
    """(training games, held-out games): a seeded shuffle of the games, `held_out` of them (at least one
    when there are two or more) held out."""
    order = np.random.default_rng(seed).permutation(len(games))
    count = int(round(held_out * len(games)))
    if held_out > 0 and len(games) >= 2:
        count = max(1, count)
    held = set(order[:count].tolist())
    return ([g for k, g in enumerate(games) if k not in held], [g for k, g in enumerate(games) if k in held])


def game_positions(game: Any, games: Sequence[ExpertGame]) -> Positions:
    """Every labelled position of the games: after the opening, at a player's turn, up to the end or to a
    move OpenSpiel refuses."""
    encoder = encoder_for(game)
    num_actions = game.num_distinct_actions()
    obs, masks, actions, which, moves = [], [], [], [], []
    for index, record in enumerate(games):
        state = game.new_initial_state()
        for k, action in enumerate(record.actions):
            if state.is_terminal():
                break
            player = state.current_player()
            if player >= 0:
                legal = state.legal_actions()
                if action not in legal:
                    break
                if k >= record.opening:
                    obs.append(encoder(state, player))
                    masks.append(legal_mask(state, num_actions))
                    actions.append(action)
                    which.append(index)
                    moves.append(k)
            state.apply_action(int(action))
    if not obs:
        shape = encoder.shape
        return Positions(np.zeros((0, *shape), np.uint8), np.zeros((0, num_actions), bool),
                         np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32))
    stacked = np.stack(obs)
    binary = bool(np.all((stacked == 0) | (stacked == 1)))
    return Positions(stacked.astype(np.uint8) if binary else stacked, np.stack(masks),
                     np.asarray(actions, np.int64), np.asarray(which, np.int32), np.asarray(moves, np.int32))


def position_keys(obs: np.ndarray, symmetries: Sequence[Symmetry], chunk: int = 4096) -> np.ndarray:
    """A 64-bit key per position, the same for all its symmetric images: the least over the symmetries of
    a random-weight hash of the transformed encoding (wrapping uint64 arithmetic)."""
    flat = obs.reshape(len(obs), -1)
    weights = np.random.default_rng(12345).integers(1, 2**63, size=flat.shape[1], dtype=np.uint64)
    keys = np.empty(len(obs), np.uint64)
    for start in range(0, len(obs), chunk):
        part = flat[start : start + chunk]
        values = (part if part.dtype != np.float32 else part.view(np.uint32)).astype(np.uint64)
        hashes = [values[:, sym.obs_index] @ weights for sym in symmetries]
        keys[start : start + chunk] = np.min(np.stack(hashes), axis=0)
    return keys


def build_dataset(game: Any, folder: str | Path, held_out: float = 0.1, seed: int = 0) -> ExpertDataset:
    """Steps 1-5 of the module's docstring on the games under `folder`."""
    games = read_games(game, folder)
    if not games:
        raise UsageError(f"no games of {game} under {str(folder)!r} (SGF for go, games.jsonl otherwise)")
    symmetries = symmetries_for(game, encoder_for(game).shape)
    unique = dedup_games(games, symmetries)
    train_games, held_games = split_games(unique, held_out, seed)
    train, held = game_positions(game, train_games), game_positions(game, held_games)
    train_keys = set(position_keys(train.obs, symmetries).tolist())
    held_keys = position_keys(held.obs, symmetries)
    fresh = np.array([k not in train_keys for k in held_keys.tolist()], dtype=bool)
    held_before = len(held)
    held = held.subset(fresh)
    passing = game.num_distinct_actions() - 1 if game.get_type().short_name == "go" else -1
    players: dict[str, int] = {}
    for record in unique:
        name = record.players[0] if record.players else "?"
        players[name] = players.get(name, 0) + 1
    stats = {
        "games_read": len(games), "duplicate_games": len(games) - len(unique),
        "train_games": len(train_games), "held_out_games": len(held_games),
        "train_positions": len(train), "held_out_positions_before_leak_removal": held_before,
        "held_out_positions": len(held), "symmetries": len(symmetries), "experts": players,
        "held_out_pass_fraction": round(float(np.mean(held.action == passing)), 4) if len(held) else 0.0,
    }
    return ExpertDataset(train, held, train_games, held_games, stats)


def augment(obs: np.ndarray, actions: np.ndarray, masks: np.ndarray, symmetries: Sequence[Symmetry],
            rng: np.random.Generator, chosen: np.ndarray | None = None,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each position (and its move and mask) through a symmetry drawn for it (or `chosen[i]`)."""
    if len(symmetries) == 1:
        return obs, actions, masks
    if chosen is None:
        chosen = rng.integers(len(symmetries), size=len(obs))
    obs_index = np.stack([s.obs_index for s in symmetries])[chosen]
    action_index = np.stack([s.action_index for s in symmetries])[chosen]
    inverse = np.stack([_inverse(s) for s in symmetries])[chosen]
    flat = obs.reshape(len(obs), -1)
    out_obs = np.take_along_axis(flat, obs_index, axis=1).reshape(obs.shape)
    out_masks = np.take_along_axis(masks, action_index, axis=1)
    out_actions = inverse[np.arange(len(obs)), actions]
    return out_obs, out_actions, out_masks
