"""Deep Q-learning (DQN): a Q-network, a replay buffer, a target network, epsilon-greedy exploration.

Mnih et al. (2015), with the double-DQN target (van Hasselt et al., 2016) as an option, n-step returns
(the target sums n discounted rewards before it bootstraps, as in Rainbow), the Huber loss and gradient
clipping. On a gymnasium env the run stops once solved (`SolvedCheck`: a window of training returns and
a greedy check of the current network both reach the env's reward threshold).

On turn-based games (and PettingZoo AEC or Parallel envs) the learner plays one seat of `OpponentEnv`
(`AECOpponentEnv`) against a fixed opponent (random by default) or against its own current network
(`--opponent self`); legal-action masks apply to the greedy choice, to exploration and to the
bootstrapped target.

The Q-network is a spec network (agents/nets/spec.py): `--net mlp` (the flattened observation through
`--hidden-sizes`) or `--net resnet` (board planes (C, H, W) through a residual tower), then a value head
of one output per action. Checkpoints keep the network's spec under "net" and play with it whatever the
flags say later; a checkpoint from before specs (an `agents.nets.mlp.MLP`, weights `layers.N.*`) loads
through `upgrade_legacy_checkpoint` with the same Q-values.
"""

from __future__ import annotations

import collections
import copy
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from agents.buffers import ReplayBuffer
from agents.nets.mlp import mask_logits
from agents.nets.spec import (
    SpecNetwork,
    complete_spec,
    mlp_spec,
    network_from_checkpoint,
    upgrade_mlp_weights,
)
from agents.network_player import NetworkPlayer, mask_from_info, num_actions, observation_shape
from agents.schedules import linear_schedule
from agents.training import SolvedCheck, TrainConfig, TrainingRun, resolve_device, seed_everything
from envs import is_multiplayer, learner_env, refuse_position_actions
from envs.errors import UsageError
from envs.spaces import flatten_observation


@dataclass(frozen=True)
class Config(TrainConfig):
    """DQN. The defaults solve CartPole-v1; docs/results.md gives the flags used on connect_four."""

    env: str = "CartPole-v1"
    """environment: a gymnasium id with Discrete actions, an OpenSpiel game string, or module:factory"""
    steps: int = 100_000
    """environment steps to train for in total (the learner's moves, in games)"""
    net: Literal["mlp", "resnet"] = "mlp"
    """the Q-network's trunk: mlp (the flattened observation through --hidden-sizes) or resnet (board planes
    (C, H, W) through a residual tower: --resnet-channels, --resnet-blocks, --resnet-out-size); then one
    linear output per action"""
    hidden_sizes: tuple[int, ...] = (128, 128)
    """hidden layer sizes of the Q-network's MLP (--net mlp)"""
    resnet_channels: int = 16
    """filters of each 3x3 convolution of the residual tower (--net resnet; the defaults are sized for a
    small CPU: about 10 ms a gradient step of 64 positions of connect four on one core)"""
    resnet_blocks: int = 1
    """residual blocks after the tower's stem (--net resnet)"""
    resnet_out_size: int = 64
    """width of the ReLU layer between the flattened tower and the Q-values (--net resnet)"""
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
    n_step: int = 3
    """bootstrap after n steps: the target sums n discounted rewards, then gamma^n max Q_target"""
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
    self_play_epsilon: float = 0.0
    """with --opponent self: the opponent explores at least this much (its epsilon is the larger of this and
    the learner's), so the learner also meets the positions a weaker or random player leads to"""
    stop_when_solved: bool = True
    """on a gymnasium env, stop once the mean return of the last `solved_window` training episodes and a
    greedy check of the current network both reach `solved_return` (see agents/training.py SolvedCheck)"""
    solved_return: float | None = None
    """the mean training return that counts as solved (default: the env's reward_threshold: 475 on
    CartPole-v1)"""
    solved_window: int = 20
    """how many of the latest training episodes the solved check averages"""
    solved_check_episodes: int = 10
    """greedy episodes that confirm a solved window before the run stops"""
    eval_episodes: int = 20
    """episodes (games against random, on a game) of the final greedy evaluation"""
    save_buffer: bool = True
    """write the replay buffer beside the checkpoint so --resume continues exactly"""


SHAPE_FIELDS = ("net", "hidden_sizes", "resnet_channels", "resnet_blocks", "resnet_out_size")


class QNetwork(SpecNetwork):
    """A `SpecNetwork` whose value head has one output per action; calling it gives the Q-values [B, A]."""

    def forward(self, obs: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        q = super().forward(obs).value
        return q.unsqueeze(-1) if q.dim() == 1 else q  # the value head squeezes a single output


def q_network_spec(config: Config, obs_shape: tuple[int, ...], actions: int) -> dict[str, Any]:
    """The spec `config` asks for; a size that does not fit the observation is a UsageError."""
    if config.net == "mlp":
        if not config.hidden_sizes or min(config.hidden_sizes) < 1:
            raise UsageError("--net mlp needs at least one --hidden-sizes, each at least 1")
        return mlp_spec(config.hidden_sizes, "value", outputs=actions)
    if len(obs_shape) != 3:
        raise UsageError(
            f"--net resnet needs board planes (C, H, W), but {config.env}'s observation has shape "
            f"{tuple(obs_shape)}; use --net mlp"
        )
    if min(config.resnet_channels, config.resnet_blocks + 1, config.resnet_out_size) < 1:
        raise UsageError("--resnet-channels and --resnet-out-size must be positive, --resnet-blocks >= 0")
    encoder = {
        "kind": "resnet",
        "channels": config.resnet_channels,
        "blocks": config.resnet_blocks,
        "out_size": config.resnet_out_size,
    }
    return {"encoder": encoder, "heads": {"value": {"outputs": actions}}}


def make_q_network(env: Any, config: Config) -> QNetwork:
    """The Q-network of `config` for `env`: observation -> one Q-value per action."""
    obs_shape, actions = observation_shape(env), num_actions(env)
    return QNetwork(q_network_spec(config, obs_shape, actions), obs_shape, actions)


def upgrade_legacy_checkpoint(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint from before specs (no "net"; an MLP's weights `layers.N.*`) as one of now: its spec
    from `config["hidden_sizes"]` under "net", and its model's (and target's) weights under the spec
    network's names. A checkpoint that has "net" comes back as it is."""
    if "net" in checkpoint:
        return checkpoint
    hidden = list(checkpoint["config"]["hidden_sizes"])
    last = checkpoint["model"].get(f"layers.{2 * len(hidden)}.weight")
    if not hidden or last is None:
        raise UsageError("this DQN checkpoint has no network spec ('net') and no MLP of its hidden_sizes")
    upgraded = {**checkpoint, "net": complete_spec(mlp_spec(hidden, "value", outputs=int(last.shape[0])))}
    for key in ("model", "target"):
        if key in checkpoint:
            upgraded[key] = upgrade_mlp_weights(checkpoint[key], "value")
    return upgraded


def _legacy_network(checkpoint: dict[str, Any]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    upgraded = upgrade_legacy_checkpoint(checkpoint)
    return upgraded["net"], upgraded["model"]


class SelfPlayOpponent(NetworkPlayer):
    """The learner's own Q-network in the other seat(s), epsilon-greedy with the learner's epsilon (drawn
    from the run's generator, which `reset` leaves alone); it encodes its input as `NetworkPlayer` does."""

    act_batch = None  # one game at a time, exploring: NetworkPlayer's batched greedy choice is not this

    def __init__(self, q_network: torch.nn.Module, env: Any, rng: np.random.Generator):
        super().__init__(q_network, env)
        self.rng = rng
        self.epsilon = 1.0

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.seat = player_id

    def act(self, x: Any, info: dict | None = None) -> int:
        obs, mask = self.encode(x)
        return epsilon_greedy(self.network, obs, mask_from_info(mask, info), self.epsilon, self.rng)


def epsilon_greedy(
    q_network: torch.nn.Module,
    obs: np.ndarray,
    mask: np.ndarray | None,
    epsilon: float,
    rng: np.random.Generator,
) -> int:
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
    """How many Q-values (actions) the network gives."""
    return q_network.num_actions


class NStepWindow:
    """Turns one-step transitions into n-step ones: the discounted sum of up to n rewards, the state n steps
    later and the discount gamma^k to apply to its value (0 when the episode terminated before)."""

    def __init__(self, n: int, gamma: float):
        self.n, self.gamma = n, gamma
        self.pending: collections.deque = collections.deque()
        self.last: tuple[np.ndarray, np.ndarray | None] | None = None  # the latest next_obs and its mask

    def push(
        self,
        obs: np.ndarray,
        action: int,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
        next_mask: np.ndarray | None,
    ) -> list[tuple]:
        """Add one step; returns the transitions that are now complete."""
        self.pending.append((obs, action, reward))
        self.last = (next_obs, next_mask)
        complete = []
        if terminated or truncated:
            while self.pending:
                complete.append(self._pop(next_obs, terminated, next_mask))
        elif len(self.pending) == self.n:
            complete.append(self._pop(next_obs, False, next_mask))
        return complete

    def truncate(self) -> list[tuple]:
        """The pending steps as transitions of an episode truncated at the latest observation (they
        bootstrap from it); the window is then empty."""
        complete = []
        while self.pending:
            next_obs, next_mask = self.last
            complete.append(self._pop(next_obs, False, next_mask))
        return complete

    def state_dict(self) -> dict[str, Any]:
        """The pending steps and the latest observation, as tensors and numbers (for a checkpoint)."""
        state: dict[str, Any] = {
            "obs": [torch.from_numpy(np.asarray(obs)) for obs, _, _ in self.pending],
            "actions": [int(action) for _, action, _ in self.pending],
            "rewards": [float(reward) for _, _, reward in self.pending],
        }
        if self.last is not None:
            state["next_obs"] = torch.from_numpy(np.asarray(self.last[0]))
            if self.last[1] is not None:
                state["next_mask"] = torch.from_numpy(np.asarray(self.last[1]))
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pending = collections.deque(
            (obs.numpy(), action, reward)
            for obs, action, reward in zip(state["obs"], state["actions"], state["rewards"], strict=True)
        )
        self.last = None
        if "next_obs" in state:
            mask = state.get("next_mask")
            self.last = (state["next_obs"].numpy(), None if mask is None else mask.numpy())

    def _pop(self, next_obs: np.ndarray, terminated: bool, next_mask: np.ndarray | None) -> tuple:
        n_step_return = sum(self.gamma**i * r for i, (_, _, r) in enumerate(self.pending))
        discount = 0.0 if terminated else self.gamma ** len(self.pending)
        obs, action, _ = self.pending.popleft()
        return obs, action, n_step_return, next_obs, discount, next_mask


def episode_seed(seed: int, episode: int) -> int:
    """The reset seed of episode `episode` (counted from 0) of a run with seed `seed`."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


def td_loss(
    q_network: torch.nn.Module,
    target_network: torch.nn.Module,
    batch: dict[str, torch.Tensor],
    double_dqn: bool,
) -> torch.Tensor:
    """Huber loss between Q(s, a) and R + discount * max over legal a' of Q_target(s', a')."""
    with torch.no_grad():
        next_target = mask_logits(target_network(batch["next_obs"]), batch["next_masks"])
        if double_dqn:
            next_online = mask_logits(q_network(batch["next_obs"]), batch["next_masks"])
            next_value = next_target.gather(1, next_online.argmax(1, keepdim=True)).squeeze(1)
        else:
            next_value = next_target.max(1).values
        target = batch["rewards"] + batch["discounts"] * next_value
    predicted = q_network(batch["obs"]).gather(1, batch["actions"].unsqueeze(1)).squeeze(1)
    return F.smooth_l1_loss(predicted, target)


def train(config: Config, env: Any, checkpoint: dict | None = None) -> dict:
    """Train a Q-network on `env`; returns the run's summary (folder, checkpoint, final evaluation)."""
    refuse_position_actions(env, "dqn")
    spec = complete_spec(q_network_spec(config, observation_shape(env), num_actions(env)))
    if checkpoint is not None:  # (a bad --net fails before the run writes anything)
        checkpoint = upgrade_legacy_checkpoint(checkpoint)
        if complete_spec(checkpoint["net"]) != spec:
            encoder = checkpoint["net"]["encoder"]
            raise UsageError(f"--net and its sizes cannot change on --resume (the run's encoder: {encoder})")
    rng = seed_everything(config.seed, config.threads)
    device = resolve_device(config.device)
    game = is_multiplayer(env)  # seats to fill: an OpenSpiel game or a PettingZoo env
    run = TrainingRun("dqn", config, env, checkpoint, outcome_kind="win_rate" if game else "return")
    q_network = make_q_network(env, config).to(device)
    optimizer = torch.optim.Adam(q_network.parameters(), lr=config.learning_rate, fused=True)
    buffer = ReplayBuffer(config.buffer_size, observation_shape(env), num_actions(env))
    # Batch norm (the resnet's) uses the batch's statistics only in the gradient steps; acting and the
    # target network use the running ones.
    q_network.eval()
    target_network = copy.deepcopy(q_network)
    acting_network = q_network if device.type == "cpu" else copy.deepcopy(q_network).cpu()
    window = NStepWindow(config.n_step, config.gamma)
    solved = SolvedCheck(
        config.env,
        env,
        config.stop_when_solved and not game,
        config.solved_return,
        config.solved_window,
        config.solved_check_episodes,
    )
    # --resume continues exactly where a run stopped at the end of an episode: besides the networks, the
    # optimizer, the buffer and the RNG states, the checkpoint holds the target network, the n-step
    # window and the solved check's window; each episode's reset seed comes from the run's seed and the
    # episode's index (and on a game the learner's seat from that index), so no env or opponent state is
    # needed between episodes. A run stopped mid-episode restarts that episode (a gym env's state cannot
    # be saved): the steps its window held go to the buffer as a truncated episode's.
    resumable = {"target": target_network, "window": window, "solved_check": solved}
    run.restore(rng, model=q_network, optimizer=optimizer, optional=tuple(resumable), **resumable)
    run.restore_buffer(buffer)
    if checkpoint is not None:
        if "target" not in checkpoint:  # a checkpoint from before the target network was saved
            target_network.load_state_dict(q_network.state_dict())
        for transition in window.truncate():
            buffer.add(*transition)
    if acting_network is not q_network:
        acting_network.load_state_dict(q_network.state_dict())

    if game:
        opponent = None
        if config.opponent == "self":
            opponent = SelfPlayOpponent(acting_network, env, rng)
        else:
            from agents.players import make_player

            opponent = make_player(config.opponent, env, seed=config.seed + 1)
        train_env = learner_env(env, opponent, seed=config.seed)
        train_env.episodes = run.episodes  # the learner's seat alternates with the episode's index
    else:
        train_env = env

    def vector(obs: Any) -> np.ndarray:
        return obs if game else flatten_observation(env.observation_space, obs)

    def save() -> None:
        payload = {"model": q_network, "net": q_network.spec, "optimizer": optimizer, **resumable}
        run.save(payload, rng, buffer=buffer if config.save_buffer else None)

    x: np.ndarray | None = None  # the learner's observation; None until the next episode is reset
    while not solved.solved and not run.should_stop():
        epsilon = linear_schedule(
            config.start_epsilon, config.end_epsilon, config.exploration_fraction * config.steps, run.step
        )
        if game and config.opponent == "self":
            opponent.epsilon = max(epsilon, config.self_play_epsilon)
        if x is None:
            obs, info = train_env.reset(seed=episode_seed(config.seed, run.episodes))
            x, mask = vector(obs), info.get("action_mask")
            episode_return, episode_length = 0.0, 0
        action = epsilon_greedy(acting_network, x, mask, epsilon, rng)
        obs, reward, terminated, truncated, info = train_env.step(action)
        next_x, next_mask = vector(obs), info.get("action_mask")
        for transition in window.push(x, action, float(reward), next_x, terminated, truncated, next_mask):
            buffer.add(*transition)
        x, mask = next_x, next_mask
        episode_return += float(reward)
        episode_length += 1
        run.advance()
        if terminated or truncated:
            run.record_episode(episode_return, episode_length)
            solved.update(episode_return, lambda: NetworkPlayer(copy.deepcopy(q_network).cpu(), env))
            x = None

        # A run resumed without its buffer (--no-save-buffer) refills one batch before it learns again.
        learn_now = run.step > config.learning_starts and buffer.size >= config.batch_size
        if learn_now and run.step % config.train_frequency == 0:
            learning_rate = config.learning_rate * linear_schedule(
                1.0, config.final_learning_rate_fraction, config.steps, run.step
            )
            for group in optimizer.param_groups:
                group["lr"] = learning_rate
            q_network.train()
            for _ in range(config.gradient_steps):
                sample = buffer.sample(config.batch_size, rng)
                batch = {k: torch.from_numpy(v).to(device) for k, v in sample.items()}
                loss = td_loss(q_network, target_network, batch, config.double_dqn)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(q_network.parameters(), config.max_grad_norm)
                optimizer.step()
            q_network.eval()
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
    run.final_evaluation(NetworkPlayer(copy.deepcopy(q_network).cpu(), env), config.eval_episodes)
    run.close()
    return run.summary(**({"stopped_by": solved.reason()} if solved.solved else {}))


def load_q_network(checkpoint: dict[str, Any], env: Any) -> QNetwork:
    """The Q-network of a checkpoint, rebuilt from its own spec ("net"; before specs, its hidden_sizes)."""
    obs_shape, actions = observation_shape(env), num_actions(env)
    return network_from_checkpoint(
        checkpoint, obs_shape, actions, legacy=_legacy_network, network_class=QNetwork
    )


def load_player(checkpoint: dict, env: Any, device: str = "cpu", **options: str) -> NetworkPlayer:
    """The greedy player of a DQN checkpoint."""
    return NetworkPlayer(load_q_network(checkpoint, env), env, device=device)
