"""AlphaZero: one network with a policy head and a value head, trained only by self-play through PUCT.

Silver et al. (2017, 2018). B games are played at once (`games_in_parallel`); each move of all B games
is one `BatchedPUCT.search` (search/mcts.py), which calls the network once per simulation step with a
leaf of every tree. Dirichlet noise is mixed into the root priors (alpha defaults to 10 / the number of
distinct actions); moves are sampled in proportion to the visit counts for the first
`temperature_moves` moves of a game, then the most visited move is played. Every position played becomes
a training example: the mover's observation (`envs.encoding`, the mover's view plus whose turn it is),
the root's visit distribution and, once the game ends, the mover's final return (scaled into [-1, 1]).
The learner minimises cross-entropy to the visit distribution plus the squared value error, with
AdamW's decoupled weight decay as the L2 term. `--steps` counts moves played in self-play.

The player (`load_player`, and so any checkpoint on the command line) is PUCT with the network at
`eval_simulations` simulations (`ckpt.pt,sims=400` overrides), no noise, most visited move.

Nothing here knows a particular game: shapes, players, chance and utilities come from `pyspiel.Game`.
Games must be sequential (turn-taking); PUCT assumes zero-sum returns between the players.

Not done yet (issue 5), said plainly:
- symmetry augmentation: `SYMMETRIES` is an empty registry, so every game uses the identity (no
  augmentation); connect four's mirror, go/othello's 8 symmetries and hex's half turn are still to add;
- self-play runs in this process only (no `--workers` actor processes), no learning-rate schedule, no
  mixed precision, no resignation, no evaluation against earlier checkpoints or Elo curve;
- games still in progress when a run stops are dropped (a resumed run starts fresh games).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyspiel
import torch
import torch.nn.functional as F

from agents.evaluation import evaluate_player, headline, log_evaluation
from agents.nets.mlp import mask_logits
from agents.nets.resnet import PolicyValueNet
from agents.training import TrainConfig, TrainingRun, resolve_device, seed_everything
from envs import is_game
from envs.encoding import encoder_for
from envs.errors import UsageError
from search.mcts import BatchedPUCT, PUCTConfig, PUCTPlayer, sample_action


@dataclass(frozen=True)
class Config(TrainConfig):
    """AlphaZero. The defaults are sized for a CPU run on a small board game (tic_tac_toe, connect_four)."""

    env: str = "tic_tac_toe"
    """a sequential OpenSpiel game string (with a forward model), or module:factory returning one"""
    steps: int = 200_000
    """moves to play in self-play in total (all parallel games together); on --resume, the run's total"""
    channels: int = 32
    """convolution channels of the ResNet tower (spatial observations)"""
    blocks: int = 3
    """residual blocks of the tower (spatial), or hidden layers of the MLP trunk (flat observations)"""
    hidden: int = 64
    """width of the value head's hidden layer, and of the MLP trunk on flat observations"""
    simulations: int = 50
    """PUCT simulations per move in self-play"""
    games_in_parallel: int = 64
    """self-play games played at once; one network call per simulation step evaluates a leaf of each"""
    c_puct: float = 1.25
    """PUCT exploration weight"""
    dirichlet_alpha: float | None = None
    """concentration of the root noise (default 10 / the game's number of distinct actions)"""
    dirichlet_epsilon: float = 0.25
    """weight of the Dirichlet noise in the root priors during self-play"""
    temperature_moves: int | None = None
    """moves of each game sampled in proportion to visit counts before greedy play (default a quarter of
    the game's maximum length)"""
    replay_size: int = 100_000
    """positions kept in the replay buffer"""
    min_replay: int = 1_000
    """positions in the buffer before learning starts"""
    batch_size: int = 256
    """positions per gradient step"""
    learning_rate: float = 1e-3
    """AdamW learning rate"""
    weight_decay: float = 1e-4
    """AdamW decoupled weight decay (the L2 term of the loss)"""
    train_steps_per_move: int = 1
    """gradient steps after each batched move (one move in every parallel game)"""
    eval_every: int = 20_000
    """moves between evaluations against mcts:eval_mcts_simulations (0: only at the end)"""
    eval_games: int = 20
    """games per evaluation, seats alternating"""
    eval_mcts_simulations: int = 100
    """simulations of the UCT opponent (mcts:N) in evaluations"""
    eval_simulations: int = 50
    """simulations of the trained player in evaluations and when a checkpoint plays (sims= overrides)"""
    save_buffer: bool = True
    """write the replay buffer beside the checkpoint so --resume continues with it"""


SHAPE_FIELDS = ("channels", "blocks", "hidden")

# Per-game symmetries for augmentation: game short name -> function(obs, policy) -> [(obs, policy), ...].
# TODO(issue 5): empty, so every game trains on the positions as played (identity).
SYMMETRIES: dict[str, Callable[[np.ndarray, np.ndarray], list[tuple[np.ndarray, np.ndarray]]]] = {}


def make_network(game: pyspiel.Game, config: Config) -> PolicyValueNet:
    return PolicyValueNet(
        encoder_for(game).shape, game.num_distinct_actions(), config.channels, config.blocks, config.hidden
    )


def utility_scale(game: pyspiel.Game) -> float:
    """The largest absolute return of the game: values are trained in [-1, 1] and searched in game units."""
    return max(abs(game.max_utility()), abs(game.min_utility()), 1e-12)


def check_game(env: Any) -> pyspiel.Game:
    if not is_game(env):
        raise UsageError("alphazero needs a turn-based game with a forward model (an OpenSpiel game)")
    kind = env.get_type()
    if kind.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        raise UsageError(f"alphazero needs a sequential game; {kind.short_name!r} is simultaneous-move")
    return env


class NetworkEvaluator:
    """The evaluator contract for search: priors = softmax of the masked logits, values in game units."""

    def __init__(self, network: PolicyValueNet, game: pyspiel.Game, device: str | torch.device = "cpu"):
        self.network = network
        self.game = game
        self.device = torch.device(device)
        self.encoder = encoder_for(game)
        self.num_actions = game.num_distinct_actions()
        self.scale = utility_scale(game)

    def encode(self, states: Sequence[pyspiel.State]) -> tuple[np.ndarray, np.ndarray]:
        """Observations [B, *shape] from each mover's view, and legal masks [B, A]."""
        obs = np.zeros((len(states), *self.encoder.shape), dtype=np.float32)
        masks = np.zeros((len(states), self.num_actions), dtype=bool)
        for b, state in enumerate(states):
            self.encoder.encode_into(state, state.current_player(), obs[b])
            masks[b, state.legal_actions()] = True
        return obs, masks

    def evaluate(self, states: Sequence[pyspiel.State]) -> tuple[np.ndarray, np.ndarray]:
        obs, masks = self.encode(states)
        was_training = self.network.training
        self.network.eval()
        with torch.inference_mode():
            logits, values = self.network(torch.from_numpy(obs).to(self.device))
            mask = torch.from_numpy(masks).to(self.device)
            priors = torch.softmax(mask_logits(logits.float(), mask), dim=-1).masked_fill(~mask, 0.0)
        if was_training:
            self.network.train()
        return priors.cpu().numpy(), values.float().cpu().numpy() * self.scale


class PolicyValueBuffer:
    """A ring of (observation, visit distribution, outcome for the mover) training examples."""

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], num_actions: int):
        self.capacity = capacity
        self.obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.policies = np.zeros((capacity, num_actions), dtype=np.float32)
        self.values = np.zeros(capacity, dtype=np.float32)
        self.size = 0
        self.position = 0

    def add(self, obs: np.ndarray, policies: np.ndarray, values: np.ndarray) -> None:
        for i in range(len(values)):
            j = self.position
            self.obs[j], self.policies[j], self.values[j] = obs[i], policies[i], values[i]
            self.position = (j + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        index = rng.integers(0, self.size, size=batch_size)
        return {"obs": self.obs[index], "policies": self.policies[index], "values": self.values[index]}

    def save(self, path: str | Path) -> None:
        path = Path(path)
        temporary = path.with_name(path.name + ".tmp.npz")
        n = self.size
        np.savez(
            temporary,
            obs=self.obs[:n],
            policies=self.policies[:n],
            values=self.values[:n],
            position=np.int64(self.position),
        )
        temporary.replace(path)

    def load(self, path: str | Path) -> None:
        with np.load(path, allow_pickle=False) as data:
            n = min(len(data["values"]), self.capacity)
            self.obs[:n], self.policies[:n], self.values[:n] = (
                data["obs"][:n],
                data["policies"][:n],
                data["values"][:n],
            )
            self.size = n
            self.position = int(data["position"]) % self.capacity


def alphazero_loss(network: PolicyValueNet, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """(total, policy, value): cross-entropy to the visit distribution + MSE to the outcome."""
    logits, values = network(batch["obs"])
    policy_loss = -(batch["policies"] * F.log_softmax(logits, dim=-1)).sum(-1).mean()
    value_loss = F.mse_loss(values, batch["values"])
    return policy_loss + value_loss, policy_loss, value_loss


class SelfPlay:
    """B games played at once with one `BatchedPUCT`; `play_move` plays one move in each of them and
    returns the finished games' examples (obs, visit distributions, the movers' scaled outcomes)."""

    def __init__(
        self, game: pyspiel.Game, evaluator: NetworkEvaluator, config: Config, rng: np.random.Generator
    ):
        self.game, self.evaluator, self.rng = game, evaluator, rng
        num_actions = game.num_distinct_actions()
        alpha = config.dirichlet_alpha if config.dirichlet_alpha is not None else 10.0 / num_actions
        self.temperature_moves = (
            config.temperature_moves
            if config.temperature_moves is not None
            else max(1, game.max_game_length() // 4)
        )
        puct = PUCTConfig(
            simulations=config.simulations,
            c_puct=config.c_puct,
            dirichlet_alpha=alpha,
            dirichlet_epsilon=config.dirichlet_epsilon,
        )
        self.search = BatchedPUCT(game, evaluator, puct, seed=int(rng.integers(2**31)))
        self.scale = utility_scale(game)
        self.states = [self.new_game() for _ in range(config.games_in_parallel)]
        self.moves = [0] * len(self.states)
        self.records: list[list[tuple[np.ndarray, np.ndarray, int]]] = [[] for _ in self.states]
        self.simulations_per_second = 0.0

    def resolve_chance(self, state: pyspiel.State) -> None:
        while state.is_chance_node():
            actions, probs = zip(*state.chance_outcomes(), strict=True)
            state.apply_action(int(self.rng.choice(actions, p=np.asarray(probs) / sum(probs))))

    def new_game(self) -> pyspiel.State:
        state = self.game.new_initial_state()
        self.resolve_chance(state)
        return state

    def play_move(self) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], list[int]]:
        """One move in every game; returns the finished games' examples and lengths."""
        counts = self.search.search(self.states, add_noise=True)
        self.simulations_per_second = self.search.last_stats.simulations_per_second
        obs, _ = self.evaluator.encode(self.states)
        finished, lengths = [], []
        for b, state in enumerate(self.states):
            policy = counts[b] / counts[b].sum()
            self.records[b].append((obs[b], policy, state.current_player()))
            temperature = 1.0 if self.moves[b] < self.temperature_moves else 0.0
            state.apply_action(sample_action(counts[b], temperature, self.rng))
            self.moves[b] += 1
            self.resolve_chance(state)
            if state.is_terminal():
                returns = np.asarray(state.returns()) / self.scale
                record = self.records[b]
                finished.append(
                    (
                        np.stack([r[0] for r in record]),
                        np.stack([r[1] for r in record]),
                        np.array([returns[r[2]] for r in record], dtype=np.float32),
                    )
                )
                lengths.append(self.moves[b])
                self.states[b], self.moves[b], self.records[b] = self.new_game(), 0, []
        return finished, lengths


def make_player(
    network: PolicyValueNet,
    game: pyspiel.Game,
    simulations: int,
    c_puct: float,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> PUCTPlayer:
    """PUCT with the network, no root noise, most visited move."""
    evaluator = NetworkEvaluator(network.to(device).eval(), game, device)
    config = PUCTConfig(simulations=simulations, c_puct=c_puct, dirichlet_epsilon=0.0)
    return PUCTPlayer(evaluator, config, seed=seed, temperature=0.0, add_noise=False)


def train(config: Config, env: Any, checkpoint: dict | None = None) -> dict:
    """Self-play and learn on `env`; returns the run's summary (folder, checkpoint, final evaluation)."""
    game = check_game(env)
    rng = seed_everything(config.seed, config.threads)
    device = resolve_device(config.device)
    run = TrainingRun("alphazero", config, env, checkpoint, outcome_kind="win_rate")
    network = make_network(game, config).to(device)
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    buffer = PolicyValueBuffer(config.replay_size, encoder_for(game).shape, game.num_distinct_actions())
    train_steps = 0
    if checkpoint is not None:
        from agents.checkpoint import restore_rng

        network.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        restore_rng(rng, checkpoint["rng"])
        train_steps = int(checkpoint.get("train_steps", 0))
        buffer_file = run.ckpt_dir / "replay_buffer.npz"
        if buffer_file.exists():
            buffer.load(buffer_file)
    opponent = f"mcts:{config.eval_mcts_simulations}"

    def save() -> None:
        extra = (lambda folder: buffer.save(folder / "replay_buffer.npz")) if config.save_buffer else None
        payload = {
            "model": network.state_dict(),
            "optimizer": optimizer.state_dict(),
            "train_steps": train_steps,
        }
        run.save(payload, rng, extra)

    def evaluate() -> dict:
        player = make_player(network, game, config.eval_simulations, config.c_puct, device, config.seed)
        result = evaluate_player(player, env, config.eval_games, opponent=opponent, seed=config.seed)
        network.train()
        log_evaluation(run, result, opponent)
        return result

    selfplay = SelfPlay(game, NetworkEvaluator(network, game, device), config, rng)
    last_eval = run.step
    policy_loss = value_loss = float("nan")
    started = time.time()
    while not run.should_stop():
        finished, lengths = selfplay.play_move()
        for (obs, policies, values), length in zip(finished, lengths, strict=True):
            buffer.add(obs, policies, values)
            run.episodes += 1
            run.log("charts/episodic_length", length)
        run.advance(len(selfplay.states))
        if finished:
            run.log("selfplay/games", run.episodes)
        run.log("selfplay/sims_per_second", selfplay.simulations_per_second)
        if buffer.size >= config.min_replay:
            network.train()
            for _ in range(config.train_steps_per_move):
                sample = buffer.sample(config.batch_size, rng)
                batch = {k: torch.from_numpy(v).to(device) for k, v in sample.items()}
                loss, policy, value = alphazero_loss(network, batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                train_steps += 1
            policy_loss, value_loss = float(policy.detach()), float(value.detach())
            run.check_finite("loss", policy_loss + value_loss)
            run.log("losses/policy_loss", policy_loss)
            run.log("losses/value_loss", value_loss)
        run.bar.set_postfix_str(
            f"games={run.episodes} sims/s={selfplay.simulations_per_second:.0f} "
            f"pl={policy_loss:.3f} vl={value_loss:.3f}",
            refresh=False,
        )
        if config.eval_every > 0 and run.step - last_eval >= config.eval_every:
            evaluate()
            last_eval = run.step
        if run.due_for_checkpoint():
            save()

    save()
    result = evaluate()
    run.close()
    return run.summary(
        games=run.episodes,
        train_steps=train_steps,
        selfplay_seconds=round(time.time() - started, 1),
        eval_opponent=opponent,
        **headline(result),
    )


def load_player(checkpoint: dict, env: Any, device: str = "cpu", **options: str) -> PUCTPlayer:
    """PUCT with the checkpoint's network at its `eval_simulations` (option `sims=N`), greedy."""
    unknown = set(options) - {"sims", "c_puct"}
    if unknown:
        raise UsageError(f"alphazero players take sims= and c_puct=, not {', '.join(sorted(unknown))}")
    saved = checkpoint["config"]
    config = Config(channels=int(saved["channels"]), blocks=int(saved["blocks"]), hidden=int(saved["hidden"]))
    try:
        simulations = int(options.get("sims", saved.get("eval_simulations", 50)))
        c_puct = float(options.get("c_puct", saved.get("c_puct", 1.25)))
    except ValueError:
        raise UsageError(f"alphazero player options must be numbers: {options}") from None
    if simulations < 1:
        raise UsageError("sims= must be at least 1")
    game = check_game(env)
    network = make_network(game, config)
    network.load_state_dict(checkpoint["model"])
    return make_player(network, game, simulations, c_puct, device)
