"""AlphaGo's fast rollout policy: a linear softmax over cheap features, and batched rollouts with it.

- Go (`go` games): the local features of search/go_rollout_kernel.py (3x3 patterns, captures,
  liberties, ataris, nearness to the last moves, the edge), one weight each; a batch of rollouts is one
  compiled call (`rollout`), whose readable twin is search/go_rollout_reference.py.
- Every other game: the raw board, `logits = encoding @ W + b` (one small linear layer); a batch of
  OpenSpiel states is advanced in lockstep, one matrix product per step for all of them.

`fit(...)` learns the weights by cross-entropy on expert positions (`training_inputs` turns expert games
into the policy's inputs), `probabilities(states)` gives the policy over the legal moves (its accuracy),
`rollout(states, seeds)` plays each state to the end and returns the outcome for its player to move
(+1 win, 0 draw, -1 loss; each rollout has its own random stream from its seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from envs.encoding import encoder_for, legal_mask
from search import go_rollout_kernel as kernel


def is_go(game: Any) -> bool:
    return game.get_type().short_name == "go"


def go_inputs(state: Any) -> tuple[np.ndarray, int, int, int, int, int]:
    """An OpenSpiel Go state as the kernel's inputs: (stones int8[N], colour 1/2, last move, the mover's
    previous move, 1 if the last move was a pass, the move number)."""
    game = state.get_game()
    size = int(game.get_parameters()["board_size"])
    n = size * size
    planes = encoder_for(game)(state, 0).reshape(-1, n)  # OpenSpiel's planes: Black, White, empty, ...
    stones = (planes[0] > 0).astype(np.int8) + 2 * (planes[1] > 0).astype(np.int8)
    history = state.history()
    last = history[-1] if history else -1
    previous = history[-2] if len(history) > 1 else -1
    passed = 1 if last == n else 0
    return (stones, 1 + state.current_player(), -1 if last == n else last, -1 if previous == n else previous,
            passed, len(history))


class RolloutPolicy:
    """The rollout policy of one game: its weights, features and rollouts (see the module's docstring)."""

    def __init__(self, game: Any, weights: np.ndarray | None = None):
        self.game = game
        self.num_actions = game.num_distinct_actions()
        self.go = is_go(game)
        if self.go:
            self.size = int(game.get_parameters()["board_size"])
            self.komi = float(game.get_parameters()["komi"])
            self.tables = kernel.board_tables(self.size)
            names = ("neighbours", "ring", "rows", "cols", "edge", "patterns")
            self._t = tuple(self.tables[k] for k in names)
            shape: tuple[int, ...] = (kernel.NUM_FEATURES,)
        else:
            self.encoder = encoder_for(game)
            shape = (int(np.prod(self.encoder.shape)) + 1, self.num_actions)
        self.weights = np.zeros(shape, np.float64) if weights is None else np.asarray(weights, np.float64)

    # ------------------------------------------------------------------ saving
    def state(self) -> dict[str, Any]:
        return {"weights": torch.from_numpy(self.weights.copy()), "kind": "go" if self.go else "board"}

    @classmethod
    def from_state(cls, game: Any, state: dict[str, Any]) -> RolloutPolicy:
        return cls(game, state["weights"].numpy())

    # ------------------------------------------------------------------ inputs and logits
    def inputs(self, states: Sequence[Any]) -> dict[str, np.ndarray]:
        """What the policy reads of each state (Go: the kernel's inputs; else the encoding), and the legal
        masks."""
        masks = np.stack([legal_mask(s, self.num_actions) for s in states])
        if not self.go:
            obs = np.stack([self.encoder(s, s.current_player()).reshape(-1) for s in states])
            return {"obs": obs, "mask": masks}
        parts = [go_inputs(s) for s in states]
        return {"stones": np.stack([p[0] for p in parts]),
                "colour": np.array([p[1] for p in parts], np.int64),
                "last": np.array([p[2] for p in parts], np.int64),
                "previous": np.array([p[3] for p in parts], np.int64),
                "passed": np.array([p[4] for p in parts], np.int64),
                "move": np.array([p[5] for p in parts], np.int64), "mask": masks}

    def features(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Go: the feature ids [B, N + 1, SLOTS] of every move (-1: none)."""
        return kernel.features_batch(inputs["stones"], inputs["colour"], inputs["last"], inputs["previous"],
                                     *self._t)

    def logits(self, inputs: dict[str, np.ndarray], weights: torch.Tensor | None = None) -> torch.Tensor:
        """Masked logits [B, A] (torch, differentiable in `weights` when given)."""
        w = torch.from_numpy(self.weights) if weights is None else weights
        mask = torch.from_numpy(inputs["mask"])
        if self.go:
            ids = torch.from_numpy(self.features(inputs))
            padded = torch.cat([w, w.new_zeros(1)])  # id -1 reads the zero at the end
            z = padded[ids].sum(-1)
        else:
            obs = torch.from_numpy(inputs["obs"].astype(np.float64))
            z = torch.cat([obs, obs.new_ones(len(obs), 1)], 1) @ w
        return z.masked_fill(~mask, torch.finfo(z.dtype).min)

    def probabilities(self, states: Sequence[Any]) -> np.ndarray:
        return torch.softmax(self.logits(self.inputs(states)), -1).numpy()

    def accuracy(self, inputs: dict[str, np.ndarray], actions: np.ndarray, batch: int = 2048) -> float:
        hits = 0
        for s in range(0, len(actions), batch):
            part = {k: v[s : s + batch] for k, v in inputs.items()}
            hits += int((self.logits(part).argmax(-1).numpy() == actions[s : s + batch]).sum())
        return hits / max(len(actions), 1)

    # ------------------------------------------------------------------ learning
    def fit_step(self, inputs: dict[str, np.ndarray], actions: np.ndarray, weights: torch.Tensor,
                 optimizer: torch.optim.Optimizer) -> float:
        """One Adam step of cross-entropy on a batch; `weights` is the torch parameter (copied back)."""
        loss = F.cross_entropy(self.logits(inputs, weights), torch.from_numpy(actions))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        self.weights = weights.detach().numpy().copy()
        return float(loss.detach())

    # ------------------------------------------------------------------ rollouts
    def rollout(self, states: Sequence[Any], seeds: Sequence[int]) -> np.ndarray:
        """Each state played to its end by the policy: the outcome for its player to move [B]."""
        if self.go:
            outcomes, _ = self.rollout_go(self.inputs(states), np.asarray(seeds, np.uint64))
            return outcomes
        return self.rollout_board(states, seeds)

    def rollout_go(self, inputs: dict[str, np.ndarray], seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = self.size * self.size
        banned = ~inputs["mask"][:, :n]
        return kernel.rollouts(inputs["stones"], inputs["colour"], inputs["last"], inputs["previous"],
                               inputs["passed"], inputs["move"], banned, seeds.astype(np.uint64),
                               self.weights,
                               self.game.max_game_length(), self.komi, *self._t)

    def rollout_board(self, states: Sequence[Any], seeds: Sequence[int]) -> np.ndarray:
        """Any game: the states advanced in lockstep, one matrix product per step for all that go on."""
        rngs = [np.random.default_rng(int(s)) for s in seeds]
        live = [s.clone() for s in states]
        movers = [s.current_player() for s in states]
        w = self.weights
        active = [k for k, s in enumerate(live) if not s.is_terminal()]
        while active:
            turn = [k for k in active if not live[k].is_chance_node()]
            for k in active:
                if live[k].is_chance_node():
                    actions, probs = zip(*live[k].chance_outcomes(), strict=False)
                    live[k].apply_action(int(actions[rngs[k].choice(len(actions), p=probs)]))
            if turn:
                obs = np.stack([self.encoder(live[k], live[k].current_player()).reshape(-1) for k in turn])
                z = np.concatenate([obs, np.ones((len(turn), 1))], 1) @ w
                for row, k in zip(z, turn, strict=True):
                    legal = live[k].legal_actions()
                    x = np.exp(row[legal] - row[legal].max())
                    u = rngs[k].random() * x.sum()
                    pick = min(int(np.searchsorted(np.cumsum(x), u, side="right")), len(legal) - 1)
                    live[k].apply_action(int(legal[pick]))
            active = [k for k in active if not live[k].is_terminal()]
        out = np.zeros(len(states))
        for k, s in enumerate(live):
            returns = s.returns()
            others = max(r for p, r in enumerate(returns) if p != movers[k])
            out[k] = float(np.sign(returns[movers[k]] - others))
        return out


def training_inputs(policy: RolloutPolicy, games: Sequence[Any], positions: Any) -> dict[str, np.ndarray]:
    """The policy's inputs at the labelled positions (`agents.expert_positions.Positions`, whose `game`
    and `move` index into `games`), by replaying the games."""
    game = policy.game
    wanted: dict[int, set[int]] = {}
    for g, m in zip(positions.game.tolist(), positions.move.tolist(), strict=True):
        wanted.setdefault(g, set()).add(m)
    found: dict[tuple[int, int], Any] = {}
    for g, moves in wanted.items():
        state = game.new_initial_state()
        for k, action in enumerate(games[g].actions):
            if k in moves:
                found[(g, k)] = state.clone()
            if k >= max(moves):
                break
            state.apply_action(int(action))
    order = [found[(g, m)] for g, m in zip(positions.game.tolist(), positions.move.tolist(), strict=True)]
    parts = [policy.inputs([state]) for state in order]
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]} if parts else {}
