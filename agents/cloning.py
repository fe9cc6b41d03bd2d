"""A recurrent policy cloned from a player's games: AlphaStar's supervised reference, in miniature.

`clone_player` lets the named player (any name `make_player` knows: `mcts:200`, a checkpoint, a plug-in)
play `games` games against itself, records each seat's decisions as a sequence (its information-state
tensors, legal masks and the actions it chose), and fits a fresh network of `spec` to them by
cross-entropy, each sequence run through the LSTM from a zero state as the player met it in its game
(simultaneous nodes included: each seat decides on its own clone of the state). agents/alphastar.py uses
the clone as the fixed reference of its KL penalty (`--reference PLAYER`) and starts its learners from it,
as AlphaStar starts from its supervised agent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.nets.spec import SpecNetwork
from agents.unrolls import observation
from envs.turn_based import SIMULTANEOUS, sample_chance

Sequence = tuple[np.ndarray, np.ndarray, np.ndarray]
"""One seat's decisions in one game: observations [T, ...], legal masks [T, A] and actions [T]."""


def record_games(game: Any, name: str, games: int, seed: int = 0) -> list[Sequence]:
    """The named player against itself, `games` games: each seat's decisions in each game."""
    from agents.players import make_player

    players = [make_player(name, game, seed=seed + seat) for seat in range(2)]
    rng = np.random.default_rng(seed)
    num_actions = game.num_distinct_actions()
    out: list[Sequence] = []
    for g in range(games):
        for seat, player in enumerate(players):
            player.reset(game, seat, seed + 2 * g + seat)
        steps: list[list[tuple[np.ndarray, np.ndarray, int]]] = [[], []]
        state = game.new_initial_state()
        while not state.is_terminal():
            if state.is_chance_node():
                state.apply_action(sample_chance(state, rng))
                continue
            mover = state.current_player()
            seats = range(2) if mover == SIMULTANEOUS else [mover]
            joint = []
            for seat in seats:
                mask = np.zeros(num_actions, dtype=bool)
                mask[state.legal_actions(seat)] = True
                action = int(players[seat].act(state.clone()))
                steps[seat].append((observation(state, seat), mask, action))
                joint.append(action)
            if mover == SIMULTANEOUS:
                state.apply_actions(joint)
            else:
                state.apply_action(joint[0])
        for seat_steps in steps:
            if seat_steps:
                obs, masks, actions = zip(*seat_steps, strict=True)
                out.append((np.stack(obs), np.stack(masks), np.asarray(actions, dtype=np.int64)))
    return out


def pad(sequences: list[Sequence]) -> dict[str, torch.Tensor]:
    """Sequences -> time-major tensors [T, B, ...] padded to the longest, with `valid` [T, B] and episode
    starts at t = 0."""
    T, B = max(len(a) for _, _, a in sequences), len(sequences)
    obs = torch.zeros((T, B, *sequences[0][0].shape[1:]))
    masks = torch.ones((T, B, sequences[0][1].shape[1]), dtype=torch.bool)
    actions = torch.zeros((T, B), dtype=torch.long)
    valid = torch.zeros((T, B), dtype=torch.bool)
    for b, (o, m, a) in enumerate(sequences):
        n = len(a)
        obs[:n, b], masks[:n, b] = torch.from_numpy(o), torch.from_numpy(m)
        actions[:n, b], valid[:n, b] = torch.from_numpy(a), True
    starts = torch.zeros((T, B), dtype=torch.bool)
    starts[0] = True
    return {"obs": obs, "masks": masks, "actions": actions, "valid": valid, "starts": starts}


def cloning_loss(network: SpecNetwork, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, float]:
    """Mean cross-entropy of the recorded actions over the valid steps, and the top-1 accuracy."""
    B = batch["actions"].shape[1]
    out = network(batch["obs"], action_mask=batch["masks"], state=network.initial_state(B),
                  starts=batch["starts"])
    logits = out.policy_logits.float()
    nll = -torch.log_softmax(logits, dim=-1).gather(-1, batch["actions"].unsqueeze(-1)).squeeze(-1)
    valid = batch["valid"]
    hits = (logits.argmax(-1) == batch["actions"])[valid].float().mean()
    return nll[valid].mean(), float(hits)


def clone_player(game: Any, name: str, spec: dict[str, Any], games: int = 2000, steps: int = 600,
                 batch_size: int = 64, learning_rate: float = 1e-2,
                 seed: int = 0) -> tuple[SpecNetwork, dict[str, Any]]:
    """A network of `spec` fitted to the named player's self-play games; returns it and its figures
    (games, decisions, training and held-out cross-entropy and accuracy; a tenth of the games held out)."""
    sequences = record_games(game, name, games, seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(sequences))
    held = [sequences[i] for i in order[: max(1, len(order) // 10)]]
    train = [sequences[i] for i in order[max(1, len(order) // 10):]] or held
    torch.manual_seed(seed)
    network = SpecNetwork(spec, tuple(game.information_state_tensor_shape()), game.num_distinct_actions())
    optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate)
    loss = torch.zeros(())
    for _ in range(steps):
        batch = pad([train[i] for i in rng.integers(len(train), size=batch_size)])
        loss, _ = cloning_loss(network, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    network.eval()
    with torch.no_grad():
        held_loss, held_accuracy = cloning_loss(network, pad(held))
    figures = {"reference_games": games, "reference_decisions": int(sum(len(a) for _, _, a in sequences)),
               "reference_train_loss": round(float(loss.detach()), 4),
               "reference_held_out_loss": round(float(held_loss), 4),
               "reference_held_out_accuracy": round(held_accuracy, 4)}
    return network, figures
