"""Deep Q-learning (DQN): a Q-network, a replay buffer, a target network, epsilon-greedy exploration.

Mnih et al. (2015), with the double-DQN target (van Hasselt et al., 2016) as an option, the Huber loss
and gradient clipping. On turn-based games the learner plays one seat of `OpponentEnv` against a fixed
opponent (random by default) or against its own current network (`--opponent self`); legal-action masks
apply to the greedy choice, to exploration and to the bootstrapped target.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from agents.buffers import ReplayBuffer
from agents.evaluation import evaluate_player, headline, log_evaluation
from agents.nets.mlp import MLP, mask_logits
from agents.network_player import NetworkPlayer, num_actions, observation_shape
from agents.schedules import linear_schedule
from agents.training import SolvedCheck, TrainConfig, TrainingRun, resolve_device, seed_everything
from envs import is_game
from envs.encoding import encoder_for, legal_mask
from envs.spaces import flatten_observation
from envs.turn_based import OpponentEnv


@dataclass(frozen=True)
class Config(TrainConfig):
    """DQN. The defaults solve CartPole-v1 within 60k steps; for connect_four try --steps 300000."""

    env: str = "CartPole-v1"
    """environment: a gymnasium id with Discrete actions, an OpenSpiel game string, or module:factory"""
    steps: int = 60_000
    """environment steps to train for in total (the learner's moves, in games)"""
    hidden_sizes: tuple[int, ...] = (256, 256)
    """hidden layer sizes of the Q-network's MLP"""
    learning_rate: float = 2.3e-3
    """Adam learning rate at the start"""
    final_learning_rate_fraction: float = 0.0
    """the learning rate decays linearly to this fraction of its start by the last step"""
    buffer_size: int = 100_000
    """replay buffer capacity in transitions"""
    batch_size: int = 64
    """transitions per gradient step"""
    gamma: float = 0.99
    """discount factor"""
    learning_starts: int = 1_000
    """steps of experience before learning begins"""
    train_frequency: int = 4
    """environment steps between training rounds"""
    gradient_steps: int = 1
    """gradient steps per training round"""
    target_update_interval: int = 250
    """environment steps between copies of the Q-network into the target network"""
    start_epsilon: float = 1.0
    """exploration rate at the start"""
    end_epsilon: float = 0.02
    """exploration rate after the decay"""
    exploration_fraction: float = 0.2
    """fraction of the steps over which epsilon decays linearly"""
    double_dqn: bool = True
    """pick the next action with the online network and value it with the target network"""
    max_grad_norm: float = 10.0
    """gradient clipping by global norm"""
    opponent: str = "random"
    """opponent on a turn-based game: 'self' (the current network), random, or any player name"""
    stop_when_solved: bool = True
    """on a gymnasium env, stop once the mean return of the last `solved_window` training episodes reaches
    `solved_return` (the final checkpoint is the policy that played them)"""
    solved_return: float | None = None
    """the mean training return that counts as solved (default: the env's reward_threshold: 475 on
    CartPole-v1)"""
    solved_window: int = 20
    """how many of the latest training episodes the solved check averages"""
    eval_episodes: int = 20
    """episodes (games against random, on a game) of the final greedy evaluation"""
    save_buffer: bool = True
    """write the replay buffer beside the checkpoint so --resume continues exactly"""


SHAPE_FIELDS = ("hidden_sizes",)


def make_q_network(env: Any, config: Config) -> torch.nn.Module:
    """An MLP from the (flattened) observation to one Q-value per action."""
    return MLP(int(np.prod(observation_shape(env))), config.hidden_sizes, num_actions(env))


class SelfPlayOpponent:
    """The learner's own Q-network in the other seat(s), epsilon-greedy with the learner's epsilon."""

    def __init__(self, q_network: torch.nn.Module, game: Any, rng: np.random.Generator):
        self.q_network, self.game, self.rng = q_network, game, rng
        self.encoder = encoder_for(game)
        self.epsilon = 1.0

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        pass

    def act(self, state: Any) -> int:
        mask = legal_mask(state, self.game.num_distinct_actions())
        obs = self.encoder(state, state.current_player())
        return epsilon_greedy(self.q_network, obs, mask, self.epsilon, self.rng)


def epsilon_greedy(q_network: torch.nn.Module, obs: np.ndarray, mask: np.ndarray | None, epsilon: float,
                   rng: np.random.Generator) -> int:
    """A random legal action with probability epsilon, else the legal action of highest Q-value."""
    if rng.random() < epsilon:
        if mask is None:
            return int(rng.integers(q_network_out_size(q_network)))
        return int(rng.choice(np.flatnonzero(mask)))
    with torch.inference_mode():
        q = q_network(torch.from_numpy(obs).unsqueeze(0))[0].numpy()
    if mask is not None:
        q = np.where(mask, q, -np.inf)
    return int(np.argmax(q))


def q_network_out_size(q_network: torch.nn.Module) -> int:
    return q_network.layers[-1].out_features


def td_loss(q_network: torch.nn.Module, target_network: torch.nn.Module, batch: dict[str, torch.Tensor],
            gamma: float, double_dqn: bool) -> torch.Tensor:
    """Huber loss between Q(s, a) and r + gamma * max over legal a' of Q_target(s', a') (0 after the end)."""
    with torch.no_grad():
        next_target = mask_logits(target_network(batch["next_obs"]), batch["next_masks"])
        if double_dqn:
            next_online = mask_logits(q_network(batch["next_obs"]), batch["next_masks"])
            next_value = next_target.gather(1, next_online.argmax(1, keepdim=True)).squeeze(1)
        else:
            next_value = next_target.max(1).values
        target = batch["rewards"] + gamma * (1.0 - batch["dones"]) * next_value
    predicted = q_network(batch["obs"]).gather(1, batch["actions"].unsqueeze(1)).squeeze(1)
    return F.smooth_l1_loss(predicted, target)


def train(config: Config, env: Any, checkpoint: dict | None = None) -> dict:
    """Train a Q-network on `env`; returns the run's summary (folder, checkpoint, final evaluation)."""
    rng = seed_everything(config.seed, config.threads)
    device = resolve_device(config.device)
    game = is_game(env)
    run = TrainingRun("dqn", config, env, checkpoint, outcome_kind="win_rate" if game else "return")
    q_network = make_q_network(env, config).to(device)
    optimizer = torch.optim.Adam(q_network.parameters(), lr=config.learning_rate, fused=True)
    buffer = ReplayBuffer(config.buffer_size, observation_shape(env), num_actions(env))
    if checkpoint is not None:
        from agents.checkpoint import restore_rng

        q_network.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        restore_rng(rng, checkpoint["rng"])
        buffer_file = run.ckpt_dir / "replay_buffer.npz"
        if buffer_file.exists():
            buffer.load(buffer_file)
    target_network = copy.deepcopy(q_network)
    acting_network = q_network if device.type == "cpu" else copy.deepcopy(q_network).cpu()

    if game:
        opponent = None
        if config.opponent == "self":
            opponent = SelfPlayOpponent(acting_network, env, rng)
        else:
            from agents.players import make_player

            opponent = make_player(config.opponent, env, seed=config.seed + 1)
        train_env = OpponentEnv(env, opponent, seed=config.seed)
    else:
        train_env = env

    def vector(obs: Any) -> np.ndarray:
        return obs if game else flatten_observation(env.observation_space, obs)

    def save() -> None:
        extra = (lambda folder: buffer.save(folder / "replay_buffer.npz")) if config.save_buffer else None
        run.save({"model": q_network.state_dict(), "optimizer": optimizer.state_dict()}, rng, extra)

    solved = SolvedCheck(env, config.stop_when_solved and not game, config.solved_return,
                         config.solved_window)
    obs, info = train_env.reset(seed=config.seed + run.episodes)
    x, mask = vector(obs), info.get("action_mask")
    episode_return, episode_length = 0.0, 0
    while not solved.solved and not run.should_stop():
        epsilon = linear_schedule(config.start_epsilon, config.end_epsilon,
                                  config.exploration_fraction * config.steps, run.step)
        if game and config.opponent == "self":
            opponent.epsilon = epsilon
        action = epsilon_greedy(acting_network, x, mask, epsilon, rng)
        obs, reward, terminated, truncated, info = train_env.step(action)
        next_x, next_mask = vector(obs), info.get("action_mask")
        buffer.add(x, action, reward, next_x, terminated, next_mask)
        x, mask = next_x, next_mask
        episode_return += float(reward)
        episode_length += 1
        run.advance()
        if terminated or truncated:
            run.record_episode(episode_return, episode_length)
            solved.update(episode_return)
            obs, info = train_env.reset()
            x, mask = vector(obs), info.get("action_mask")
            episode_return, episode_length = 0.0, 0

        if run.step > config.learning_starts and run.step % config.train_frequency == 0:
            learning_rate = config.learning_rate * linear_schedule(
                1.0, config.final_learning_rate_fraction, config.steps, run.step)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate
            for _ in range(config.gradient_steps):
                sample = buffer.sample(config.batch_size, rng)
                batch = {k: torch.from_numpy(v).to(device) for k, v in sample.items()}
                loss = td_loss(q_network, target_network, batch, config.gamma, config.double_dqn)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(q_network.parameters(), config.max_grad_norm)
                optimizer.step()
            if acting_network is not q_network:
                acting_network.load_state_dict(q_network.state_dict())
            if run.step % 100 < config.train_frequency:
                loss_value = float(loss.detach())
                run.check_finite("td_loss", loss_value)
                run.log("losses/td_loss", loss_value)
                run.log("charts/epsilon", epsilon)
                run.log("charts/learning_rate", learning_rate)
        if run.step % config.target_update_interval == 0:
            target_network.load_state_dict(q_network.state_dict())
        if run.due_for_checkpoint():
            save()

    save()
    player = NetworkPlayer(copy.deepcopy(q_network).cpu(), env)
    result = evaluate_player(player, env, config.eval_episodes)
    log_evaluation(run, result)
    run.close()
    figures = {"stopped_by": solved.reason()} if solved.solved else {}
    return run.summary(**figures, **headline(result))


def load_player(checkpoint: dict, env: Any, device: str = "cpu", **options: str) -> NetworkPlayer:
    """The greedy player of a DQN checkpoint."""
    config = Config(hidden_sizes=tuple(checkpoint["config"]["hidden_sizes"]))
    q_network = make_q_network(env, config)
    q_network.load_state_dict(checkpoint["model"])
    return NetworkPlayer(q_network, env, device=device)
