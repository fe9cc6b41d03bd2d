"""Self-play unrolls for actor-critic learners: B games at once between named LSTM networks, each seat a
stream of transitions cut into fixed-length unrolls with the next observation to bootstrap from and the
LSTM state at the unroll's start (agents/alphastar.py learns from them; see its docstring).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from agents.nets.spec import SpecNetwork
from envs.turn_based import SIMULTANEOUS, sample_chance


def observation(state: Any, seat: int) -> np.ndarray:
    return np.asarray(state.information_state_tensor(seat), dtype=np.float32)


class Matches:
    """B games at once between named networks (see the module's docstring). Game slot g always has the
    learning player `homes[g]`; at the start of each of its games `matchmaker(home)` names the opponent
    and whether the opponent's seat is learned from too (self-play), and the home player takes a random
    seat. Each slot has two streams, home (k = 2g) and away (k = 2g + 1), each with its LSTM states; an
    away stream's unfinished unroll is dropped when its next game has another opponent."""

    def __init__(self, game: Any, networks: dict[str, SpecNetwork], reference: SpecNetwork, config: Any,
                 rng: np.random.Generator, homes: list[str],
                 matchmaker: Callable[[str], tuple[str, bool]] | None = None) -> None:
        self.game, self.networks, self.reference = game, networks, reference
        self.config, self.rng = config, rng
        self.reward_scale = float(getattr(config, "reward_scale", 1.0))
        self.matchmaker = matchmaker or (lambda home: (home, True))
        self.num_actions = game.num_distinct_actions()
        self.homes = list(homes)
        B = len(homes)
        any_network = next(iter(networks.values()))
        self.net_state = any_network.initial_state(2 * B)
        self.ref_state = reference.initial_state(2 * B)
        self.start_of_game = np.ones(2 * B, dtype=bool)
        self.streams: list[list[dict[str, Any]]] = [[] for _ in range(2 * B)]
        self.unroll_start = [self._state_of(k) for k in range(2 * B)]
        self.learner: list[str | None] = [None] * (2 * B)  # whose unroll stream k is building
        self.seats: list[list[str]] = [[] for _ in range(B)]  # the network name at each seat
        self.stream_of: list[list[int]] = [[] for _ in range(B)]  # the stream of each seat
        self.away: list[str] = [""] * B
        self.home_moves = [0] * B  # the home player's decisions in the current game
        self.states = [self._new_game(g) for g in range(B)]
        self.finished: list[tuple[str, str, list[float], int]] = []  # (home, away, home's returns, steps)
        self.returns: list[float] = []

    def _new_game(self, g: int) -> Any:
        home = self.homes[g]
        away, learn_away = self.matchmaker(home)
        home_seat = int(self.rng.integers(2))
        self.seats[g] = [home, away] if home_seat == 0 else [away, home]
        self.stream_of[g] = [2 * g, 2 * g + 1] if home_seat == 0 else [2 * g + 1, 2 * g]
        self.away[g] = away
        away_learner = away if learn_away else None
        if self.learner[2 * g + 1] != away_learner:  # another opponent: its unfinished unroll is dropped
            self.streams[2 * g + 1] = []
            self.unroll_start[2 * g + 1] = self._state_of(2 * g + 1)
        self.learner[2 * g], self.learner[2 * g + 1] = home, away_learner
        state = self.game.new_initial_state()
        while state.is_chance_node():
            state.apply_action(sample_chance(state, self.rng))
        return state

    def _state_of(self, k: int) -> tuple[torch.Tensor, ...]:
        h, c = self.net_state
        rh, rc = self.ref_state
        return h[:, k].clone(), c[:, k].clone(), rh[:, k].clone(), rc[:, k].clone()

    def movers(self) -> list[tuple[int, int]]:
        """(game, seat) of every decision this step: the player to move, or at a simultaneous node every
        seat (each decides on its own information state, not seeing the other's choice)."""
        out = []
        for g, state in enumerate(self.states):
            mover = state.current_player()
            out += [(g, p) for p in range(2)] if mover == SIMULTANEOUS else [(g, mover)]
        return out

    def step(self) -> list[dict[str, Any]]:
        """One decision in every game; returns the unrolls completed (each tagged with its learner)."""
        movers = self.movers()
        streams = [self.stream_of[g][p] for g, p in movers]
        obs = torch.from_numpy(np.stack([observation(self.states[g], p) for g, p in movers]))
        masks = torch.zeros(len(movers), self.num_actions, dtype=torch.bool)
        for i, (g, p) in enumerate(movers):
            masks[i, self.states[g].legal_actions(p)] = True
        starts = torch.from_numpy(self.start_of_game[streams])
        done: list[dict[str, Any]] = []
        for i, k in enumerate(streams):  # an unroll is complete when its stream needs a new transition
            if self.learner[k] is not None and len(self.streams[k]) == self.config.unroll_length:
                done.append(self._unroll(k, obs[i], masks[i], bool(starts[i])))
        probabilities = np.zeros((len(movers), self.num_actions))
        groups: dict[str, list[int]] = {}
        for i, (g, p) in enumerate(movers):
            groups.setdefault(self.seats[g][p], []).append(i)
        with torch.inference_mode():  # one call per network for all the games it moves in
            for name, rows in groups.items():
                index = torch.tensor([streams[i] for i in rows])
                o, m, s = obs[rows][None], masks[rows][None], starts[rows][None]
                out = self.networks[name](o, action_mask=m, state=self._take(self.net_state, index), starts=s)
                self.net_state[0][:, index], self.net_state[1][:, index] = out.state
                ref = self.reference(o, action_mask=m, state=self._take(self.ref_state, index), starts=s)
                self.ref_state[0][:, index], self.ref_state[1][:, index] = ref.state
                probabilities[rows] = torch.softmax(out.policy_logits[0].float(), dim=-1).numpy()
        chosen: dict[int, list[int]] = {}
        for i, (g, _) in enumerate(movers):
            k = streams[i]
            if k == 2 * g:
                self.home_moves[g] += 1
            row = probabilities[i] / probabilities[i].sum()
            action = int(self.rng.choice(self.num_actions, p=row))
            if self.learner[k] is not None:
                self.streams[k].append({"obs": obs[i], "mask": masks[i], "action": action,
                                        "log_prob": float(np.log(row[action])), "reward": 0.0,
                                        "discount": self.config.gamma, "start": bool(starts[i])})
            self.start_of_game[k] = False
            chosen.setdefault(g, []).append(action)
        for g, actions in chosen.items():
            state = self.states[g]
            if len(actions) > 1:
                state.apply_actions(actions)
            else:
                state.apply_action(actions[0])
            while state.is_chance_node():
                state.apply_action(sample_chance(state, self.rng))
            if state.is_terminal():
                self._end_game(g, state)
        return done

    def _end_game(self, g: int, state: Any) -> None:
        """The returns reach each seat's last transition; a new game starts in slot g."""
        returns = [float(r) for r in state.returns()]
        for seat, value in enumerate(returns):
            stream = self.stream_of[g][seat]
            last = self.streams[stream]
            if self.learner[stream] is not None and last:
                last[-1]["reward"] += value * self.reward_scale
                last[-1]["discount"] = 0.0
            self.start_of_game[stream] = True
        home_seat = self.stream_of[g].index(2 * g)
        self.finished.append((self.homes[g], self.away[g], returns[home_seat], self.home_moves[g]))
        self.home_moves[g] = 0
        self.returns.append(returns[0])
        self.states[g] = self._new_game(g)

    @staticmethod
    def _take(state: tuple[torch.Tensor, torch.Tensor], index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return state[0][:, index], state[1][:, index]

    def _unroll(self, k: int, next_obs: torch.Tensor, next_mask: torch.Tensor, next_start: bool) -> dict:
        steps = self.streams[k]
        h, c, rh, rc = self.unroll_start[k]
        unroll = {
            "obs": torch.stack([s["obs"] for s in steps] + [next_obs]),
            "mask": torch.stack([s["mask"] for s in steps] + [next_mask]),
            "starts": torch.tensor([s["start"] for s in steps] + [next_start]),
            "actions": torch.tensor([s["action"] for s in steps]),
            "log_probs": torch.tensor([s["log_prob"] for s in steps]),
            "rewards": torch.tensor([s["reward"] for s in steps]),
            "discounts": torch.tensor([s["discount"] for s in steps]),
            "state": (h, c),
            "ref_state": (rh, rc),
            "stream": k,
            "learner": self.learner[k],
        }
        self.streams[k] = []
        self.unroll_start[k] = self._state_of(k)  # the state before the next transition
        return unroll


def collate(unrolls: list[dict[str, Any]], device: torch.device) -> dict[str, Any]:
    """Unrolls -> time-major tensors [T(+1), B, ...] and LSTM states [layers, B, H]."""
    batch = {key: torch.stack([torch.as_tensor(u[key]) for u in unrolls], dim=1).to(device)
             for key in ("obs", "mask", "starts", "actions", "log_probs", "rewards", "discounts")}
    for key in ("state", "ref_state"):
        batch[key] = tuple(torch.stack([torch.as_tensor(u[key][i]) for u in unrolls], dim=1).to(device)
                           for i in range(2))
    return batch
