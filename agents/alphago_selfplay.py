"""The games AlphaGo's RL and value stages learn from, played by actors (league/actors.py).

`policy_games` plays B games at once between two policy networks, both sampling their moves from the
softmax over the legal moves (temperature 1): one network call per side per step for all the games. The
learner sits in seat `g % 2` of game g. `policy_actor` is the actor: with the newest weights it plays
batches of games, against an opponent drawn at random from the snapshot files in the run's
`snapshots/` folder (the RL stage) or against itself (the value stage), and yields one item per game:
- `rl`: the learner's positions, masks and moves, and its outcome (+1 / 0 / -1);
- `value`: one position drawn uniformly from the game (either side to move) and the outcome for that
  position's mover.
`PolicyPlayer` is a policy network as a player without search (`ckpt.pt,sims=0`), batched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.nets.policy_value import PolicyValueNet
from envs.encoding import encoder_for, legal_mask


def sample_moves(network: PolicyValueNet, obs: np.ndarray, masks: np.ndarray, rng: np.random.Generator,
                 temperature: float = 1.0) -> np.ndarray:
    """A move per position from the network's softmax over the legal moves (argmax at temperature 0)."""
    with torch.inference_mode():
        logits, _ = network(torch.from_numpy(obs))
        logits = logits.float().masked_fill(~torch.from_numpy(masks), torch.finfo(torch.float32).min)
        if temperature == 0:
            return logits.argmax(-1).numpy()
        probs = torch.softmax(logits / temperature, -1).double().numpy()
    probs[~masks] = 0.0
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(obs)) * cdf[:, -1]
    picks = (cdf <= u[:, None]).sum(axis=1)
    return np.minimum(picks, masks.shape[1] - 1)


def utility_sign(returns: list[float], player: int) -> float:
    others = max(r for p, r in enumerate(returns) if p != player)
    return float(np.sign(returns[player] - others))


def policy_games(game: Any, learner: PolicyValueNet, opponent: PolicyValueNet, count: int,
                 rng: np.random.Generator, mode: str = "rl", keep_states: bool = False) -> list[tuple]:
    """`count` games, learner in seat g % 2 of game g; the items of the module's docstring (in the value
    mode with `keep_states`, each item also holds the position's state)."""
    encoder, actions_n = encoder_for(game), game.num_distinct_actions()
    states = [game.new_initial_state() for _ in range(count)]
    trails: list[list[tuple]] = [[] for _ in range(count)]
    live = list(range(count))
    while live:
        for g in live:
            while states[g].is_chance_node():
                outcomes, probs = zip(*states[g].chance_outcomes(), strict=False)
                states[g].apply_action(int(outcomes[rng.choice(len(outcomes), p=probs)]))
        live = [g for g in live if not states[g].is_terminal()]
        for side, network in ((0, learner), (1, opponent)):
            turn = [g for g in live if not states[g].is_terminal()
                    and (states[g].current_player() == g % 2) == (side == 0)]
            if not turn:
                continue
            obs = np.stack([encoder(states[g], states[g].current_player()) for g in turn])
            masks = np.stack([legal_mask(states[g], actions_n) for g in turn])
            moves = sample_moves(network, obs, masks, rng)
            for k, g in enumerate(turn):
                if side == 0 or mode == "value":
                    kept = states[g].clone() if keep_states else None
                    trails[g].append((obs[k], masks[k], int(moves[k]), states[g].current_player(), kept))
                states[g].apply_action(int(moves[k]))
        live = [g for g in live if not states[g].is_terminal()]
    items = []
    for g, trail in enumerate(trails):
        returns = states[g].returns()
        if mode == "rl":
            if trail:
                obs, masks, moves, _, _ = zip(*trail, strict=True)
                items.append((np.stack(obs).astype(np.uint8), np.stack(masks), np.asarray(moves, np.int64),
                              utility_sign(returns, g % 2)))
        elif trail:
            obs, _, _, mover, kept = trail[int(rng.integers(len(trail)))]
            extra = [kept] if keep_states else []
            items.append((obs.astype(np.uint8), utility_sign(returns, mover), *extra))
    return items


def network_from_weights(game: Any, spec: dict[str, Any], weights: dict[str, Any]) -> PolicyValueNet:
    network = PolicyValueNet(spec, encoder_for(game).shape, game.num_distinct_actions())
    network.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
    return network.eval()


def policy_actor(setup: tuple[str, dict[str, Any], str, int, str], seed: int, source: Any
                 ) -> Iterator[tuple[int, Any]]:
    """An actor: batches of `policy_games` with the newest weights (see the module's docstring)."""
    import envs
    from agents.checkpoint import load_checkpoint

    spec_text, spec, folder, count, mode = setup
    game = envs.make(spec_text)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opponents: dict[str, PolicyValueNet] = {}
    while True:
        version, weights = source.latest()
        learner = network_from_weights(game, spec, weights)
        opponent = learner
        if mode == "rl":
            names = sorted(p.name for p in Path(folder).glob("*.pt"))
            if names:
                name = names[int(rng.integers(len(names)))]
                if name not in opponents:
                    weights_then = load_checkpoint(Path(folder) / name)["model"]
                    opponents[name] = network_from_weights(game, spec, weights_then)
                opponent = opponents[name]
        for item in policy_games(game, learner, opponent, count, rng, mode):
            yield version, item


class PolicyPlayer:
    """`sims=0`: a policy network's move without search, sampled at `temperature` (0: its top move);
    batches (`act_batch`), each game (slot) with its own random stream."""

    def __init__(self, network: PolicyValueNet, game: Any, temperature: float, seed: int = 0):
        self.network, self.game, self.temperature = network.eval(), game, temperature
        self.encoder, self.num_actions = encoder_for(game), game.num_distinct_actions()
        self.rngs = [np.random.default_rng(seed)]

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.reset_batch(game, [player_id], [seed])

    def reset_batch(self, game: Any, player_ids: Any, seeds: Any) -> None:
        self.rngs = [np.random.default_rng(s) for s in seeds]

    def act_batch(self, states: Any, slots: Any) -> list[int]:
        obs = np.stack([self.encoder(s, s.current_player()) for s in states])
        masks = np.stack([legal_mask(s, self.num_actions) for s in states])
        return [int(sample_moves(self.network, obs[k : k + 1], masks[k : k + 1], self.rngs[slot],
                                 self.temperature)[0]) for k, slot in enumerate(slots)]

    def act(self, state: Any) -> int:
        return self.act_batch([state], [0])[0]
