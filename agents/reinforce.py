"""REINFORCE: Monte-Carlo policy gradient (Williams, 1992), with an optional learned baseline.

The policy is a softmax over the actions (the legal ones, on a game). Each episode is played to its end
by sampling from it; then every sampled action is treated as the teacher, its log-probability pushed
up in proportion to the discounted return G_t that followed it, less a learned baseline V(s_t):

    advantage_t  = G_t - V(s_t)                      (G_t alone when the baseline is off)
    policy_loss  = - mean_t  advantage_t * log pi(a_t | s_t)  -  entropy_coef * mean_t H(pi(. | s_t))
    value_loss   =   mean_t  (G_t - V(s_t))^2

One update follows every `batch_episodes` episodes, with the advantages standardised over the batch.

`--net` picks the networks (the policy's and the baseline's, built alike from a spec, agents/nets/spec.py):
`mlp` sees the current observation only; `lstm` adds an LSTM core whose state runs through the episode
(learned on whole episodes, or on `--chunk-length` steps at a time with the state carried); `transformer`
attends over the last `--context` observations (agents/memory.py keeps what each remembers).
On a turn-based game the learner sits in one seat of `OpponentEnv` (on a PettingZoo AEC or Parallel env,
`AECOpponentEnv`; seats alternate between episodes)
against `random` (or any player name), against itself, or against a pool of its own past snapshots
(full checkpoints in the run's `snapshots/` folder, agents/snapshots.py); illegal actions are masked
out of the softmax when acting, when learning and when playing.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from agents.memory import EpisodeMemory, step_outputs
from agents.nets.mlp import mask_logits
from agents.nets.spec import (
    SpecNetwork,
    build_network,
    mlp_spec,
    network_from_checkpoint,
    upgrade_mlp_weights,
)
from agents.network_player import NetworkPlayer, num_actions, observation_shape
from agents.snapshots import SnapshotStore
from agents.training import SolvedCheck, TrainConfig, TrainingRun, resolve_device, seed_everything
from envs import is_multiplayer, learner_env, refuse_position_actions
from envs.errors import UsageError
from envs.spaces import flatten_observation

ALGORITHM = "reinforce"


@dataclass(frozen=True)
class Config(TrainConfig):
    """REINFORCE. The defaults solve CartPole-v1 in a few hundred episodes; connect_four against random
    wants --batch-episodes 32 --hidden-sizes 256 256 --learning-rate 0.0003 --value-learning-rate 0.001
    --entropy-coef 0.04 (the entropy bonus keeps it exploring until it learns to block)."""

    steps: int = 500_000
    """environment steps to train for in total (the learner's moves, in games); stops between episodes"""
    net: Literal["mlp", "lstm", "transformer"] = "mlp"
    """the networks: 'mlp' (the current observation), 'lstm' (an LSTM core after the MLP, its state carried
    through the episode) or 'transformer' (attention over the last --context observations, read at the
    newest; it wants smaller learning rates: 0.001 for both on masked-velocity CartPole)"""
    hidden_sizes: tuple[int, ...] = (128,)
    """hidden layer sizes of the MLP (the whole network with --net mlp, the encoder before the LSTM)"""
    memory_size: int = 64
    """--net lstm: the LSTM's hidden size; --net transformer: the model width (8 attention heads)"""
    memory_layers: int = 1
    """--net lstm: LSTM layers; --net transformer: encoder layers"""
    context: int = 8
    """--net transformer: how many of the latest observations (the current one included) it attends over"""
    chunk_length: int = 0
    """--net lstm: learn on chunks of this many steps, the state carried between them without gradient
    (0: backpropagate through whole episodes)"""
    learning_rate: float = 0.005
    """Adam learning rate of the policy network"""
    value_learning_rate: float = 0.005
    """Adam learning rate of the value network (the baseline)"""
    gamma: float = 0.99
    """discount factor of the returns"""
    baseline: bool = True
    """subtract a learned state value V(s) (a separate network, fitted by MSE) from the return"""
    normalize: bool = True
    """standardise the advantages over each batch (zero mean, unit standard deviation)"""
    batch_episodes: int = 1
    """episodes per update (a run that stops partway through a batch keeps those episodes, not yet learned
    from, in its checkpoint; --resume completes the batch)"""
    entropy_coef: float = 0.0
    """weight of an entropy bonus that keeps the policy from collapsing early"""
    max_grad_norm: float = 10.0
    """clip each network's gradient to this global norm (0: no clipping)"""
    opponent: str = "random"
    """on a game, who sits in the other seats: 'self' (the current policy, sampling), 'pool' (past
    snapshots of it), or any player name (random, a checkpoint, module:factory)"""
    pool_size: int = 10
    """with --opponent pool: how many past snapshots the pool keeps (one is drawn for each game)"""
    snapshot_every: int = 50
    """with --opponent pool: add a snapshot of the policy every this many updates"""
    stop_when_solved: bool = True
    """on a gymnasium env, stop once the mean return of the last `solved_window` training episodes
    reaches `solved_return` (the summary reports the episodes this took)"""
    solved_return: float | None = None
    """the mean training return that counts as solved (default: the env's reward_threshold: 475 on
    CartPole-v1)"""
    solved_window: int = 20
    """how many of the latest training episodes the solved check averages"""
    eval_episodes: int = 20
    """episodes (games against random, seats alternating, on a game) of the final greedy evaluation"""
    play_sampled: bool = False
    """the trained player samples from its policy instead of taking its most probable action"""


# Options that change the networks' shapes: refused on --resume.
SHAPE_FIELDS = ("net", "hidden_sizes", "memory_size", "memory_layers", "context", "baseline")


# ---------------------------------------------------------------------------------------------------
# The networks: a policy with one logit per action, and a value network for the baseline.


def network_spec(config: Config, head: str) -> dict[str, Any]:
    """The spec of the policy network (`head` 'policy') or of the baseline ('value') for `--net`."""
    if config.net == "mlp":
        return mlp_spec(config.hidden_sizes, head)  # the network of before specs, weight for weight
    if config.net == "lstm":
        spec = mlp_spec(config.hidden_sizes, head)
        spec["core"] = {"kind": "lstm", "hidden_size": config.memory_size, "num_layers": config.memory_layers}
        return spec
    encoder = {"kind": "transformer", "d_model": config.memory_size, "num_layers": config.memory_layers,
               "positions": True, "pool": "last"}
    return {"encoder": encoder, "heads": {head: {}}}


def network_input_shape(env: Any, net: str, context: int) -> tuple[int, ...]:
    """What the network reads: the observation, or for the transformer a window of `context` of them."""
    shape = observation_shape(env)
    return (context, int(np.prod(shape))) if net == "transformer" else shape


def make_networks(env: Any, config: Config) -> tuple[SpecNetwork, SpecNetwork | None]:
    if config.net not in ("mlp", "lstm", "transformer"):
        raise UsageError(f"--net {config.net!r} is not one of mlp, lstm, transformer")
    if config.context < 1 or config.chunk_length < 0:
        raise UsageError("--context must be at least 1 and --chunk-length at least 0")
    shape = network_input_shape(env, config.net, config.context)
    policy = build_network(network_spec(config, "policy"), shape, num_actions(env))
    value = build_network(network_spec(config, "value"), shape, 1) if config.baseline else None
    return policy, value


def sample_from_logits(logits: np.ndarray, rng: np.random.Generator) -> int:
    """A draw from softmax(logits) by the Gumbel-max trick: masked (-inf) actions are never drawn."""
    return int(np.argmax(logits + rng.gumbel(size=logits.shape[0])))


# ---------------------------------------------------------------------------------------------------
# The loss.


def discounted_returns(rewards: list[float], gamma: float) -> np.ndarray:
    """G_t = r_t + gamma * G_{t+1} for each step of one episode."""
    out = np.zeros(len(rewards), dtype=np.float32)
    total = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        total = rewards[t] + gamma * total
        out[t] = total
    return out


def reinforce_loss(
    policy: SpecNetwork,
    value: SpecNetwork | None,
    obs: torch.Tensor,
    actions: torch.Tensor,
    returns: torch.Tensor,
    masks: torch.Tensor | None,
    lengths: Sequence[int],
    config: Config,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The policy-gradient loss (plus the baseline's MSE) over one batch of whole episodes (their steps one
    episode after another, `lengths` of them each), and its parts."""
    logits = step_outputs(policy, obs, lengths, config.chunk_length).policy_logits
    if masks is not None:
        logits = mask_logits(logits, masks)
    log_probs = torch.log_softmax(logits, dim=-1)
    chosen = log_probs.gather(1, actions[:, None]).squeeze(1)
    plogp = log_probs.exp() * log_probs
    if masks is not None:
        plogp = torch.where(masks, plogp, 0.0)
    entropy = -plogp.sum(-1).mean()
    if value is not None:
        values = step_outputs(value, obs, lengths, config.chunk_length).value
        advantages = returns - values.detach()
        value_loss = (returns - values).pow(2).mean()
    else:
        advantages = returns
        value_loss = torch.zeros((), device=obs.device)
    if config.normalize and advantages.numel() > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    policy_loss = -(advantages * chosen).mean()
    loss = policy_loss - config.entropy_coef * entropy + value_loss
    parts = {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy}
    return loss, {name: float(part.detach()) for name, part in parts.items()}


# ---------------------------------------------------------------------------------------------------
# The training loop.


class Batch:
    """The steps of the episodes gathered for one update."""

    def __init__(self) -> None:
        self.obs: list[np.ndarray] = []
        self.actions: list[int] = []
        self.masks: list[np.ndarray] = []
        self.returns: list[np.ndarray] = []
        self.episodes = 0

    def state_dict(self) -> dict[str, Any]:
        """The episodes gathered so far, as tensors (a run that stops partway through a batch saves them)."""
        if not self.episodes:
            return {"episodes": 0}
        state = {
            "episodes": self.episodes,
            "obs": torch.from_numpy(np.stack(self.obs)),
            "actions": torch.as_tensor(self.actions, dtype=torch.int64),
            "returns": [torch.from_numpy(returns) for returns in self.returns],
        }
        if self.masks:
            state["masks"] = torch.from_numpy(np.stack(self.masks))
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.episodes = int(state["episodes"])
        self.obs = list(state["obs"].numpy()) if self.episodes else []
        self.actions = [int(action) for action in state["actions"]] if self.episodes else []
        self.returns = [returns.numpy() for returns in state["returns"]] if self.episodes else []
        self.masks = list(state["masks"].numpy()) if "masks" in state else []

    def tensors(self, device: torch.device) -> tuple[torch.Tensor, ...]:
        obs = torch.from_numpy(np.stack(self.obs)).to(device)
        actions = torch.as_tensor(self.actions, dtype=torch.int64).to(device)
        returns = torch.from_numpy(np.concatenate(self.returns)).to(device)
        masks = torch.from_numpy(np.stack(self.masks)).to(device) if self.masks else None
        return obs, actions, returns, masks, [len(returns) for returns in self.returns]


def train(config: Config, env: Any, checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train a policy on `env` (a gymnasium env, a pyspiel game or a PettingZoo env); returns the run's
    summary."""
    if config.batch_episodes < 1 or config.solved_window < 1:
        raise UsageError("--batch-episodes and --solved-window must be at least 1")
    refuse_position_actions(env, ALGORITHM)
    if checkpoint is not None and "net" not in checkpoint:  # a run from before specs: an MLP
        if config.net != "mlp":
            raise UsageError("--net cannot change on --resume (the run has 'mlp', from before network specs)")
        checkpoint = upgrade_pre_spec_checkpoint(checkpoint)
    rng = seed_everything(config.seed, config.threads)
    device = resolve_device(config.device)
    game = is_multiplayer(env)  # seats to fill: an OpenSpiel game or a PettingZoo env
    policy, value = make_networks(env, config)
    policy.to(device)
    groups = [{"params": policy.parameters(), "lr": config.learning_rate}]
    if value is not None:
        value.to(device)
        groups.append({"params": value.parameters(), "lr": config.value_learning_rate})
    optimizer = torch.optim.Adam(groups)
    run = TrainingRun(ALGORITHM, config, env, checkpoint, outcome_kind="win_rate" if game else "return")
    pool = make_pool(config, env, run) if game and config.opponent == "pool" else None
    solved = SolvedCheck(config.env, env, config.stop_when_solved and not game, config.solved_return,
                         config.solved_window, check_episodes=0)
    batch = Batch()
    # --resume continues exactly (runs stop between episodes): the checkpoint also holds the unfinished
    # batch and the solved check's window; each episode's reset seed is drawn from the saved generator,
    # and on a game the learner's seat follows the episode's index.
    resumable = {"batch": batch, "solved_check": solved}
    run.restore(rng, model=policy, value=value, optimizer=optimizer, optional=tuple(resumable), **resumable)
    updates = int(checkpoint.get("updates", 0)) if checkpoint is not None else 0
    acting_policy = policy if device.type == "cpu" else copy.deepcopy(policy).cpu()
    memory = EpisodeMemory(acting_policy)
    train_env = env
    if game:
        train_env = learner_env(env, make_opponent(config, env, acting_policy, pool), seed=config.seed)
        train_env.episodes = run.episodes  # the learner's seat alternates with the episode's index

    def save() -> None:
        payload = {"model": policy, "net": policy.spec, "optimizer": optimizer, "updates": updates}
        payload |= {"batch": batch, "solved_check": solved}  # `batch` is rebound after each update
        if value is not None:
            payload["value"] = value
        if pool is not None:
            payload["pool"] = list(pool.names)
        run.save(payload, rng)
        if pool is not None:
            pool.prune()

    try:
        while not solved.solved and not run.should_stop():
            # 1. Play `batch_episodes` whole episodes, sampling each action from the current policy.
            while batch.episodes < config.batch_episodes and not run.should_stop():
                obs, info = train_env.reset(seed=int(rng.integers(2**31)))
                memory.reset()
                rewards: list[float] = []
                done = False
                while not done:
                    x = obs if game else flatten_observation(env.observation_space, obs)
                    mask = info["action_mask"] if game else None
                    logits = memory.outputs(x).policy_logits.numpy()
                    if mask is not None:
                        logits = np.where(mask, logits, -np.inf)
                    action = sample_from_logits(logits, rng)
                    batch.obs.append(x)
                    batch.actions.append(action)
                    if game:
                        batch.masks.append(mask)
                    obs, reward, terminated, truncated, info = train_env.step(action)
                    rewards.append(float(reward))
                    done = terminated or truncated
                batch.returns.append(discounted_returns(rewards, config.gamma))
                batch.episodes += 1
                episodic_return = sum(rewards)
                run.advance(len(rewards))
                run.record_episode(episodic_return, len(rewards))
                if solved.update(episodic_return):
                    break  # keep the policy that played the solved episodes as it is
            if solved.solved or batch.episodes < config.batch_episodes:
                break  # solved, or stopped partway through the batch: its episodes wait in the checkpoint

            # 2. One gradient step: the sampled actions are the teachers, scaled by their advantages.
            loss, parts = reinforce_loss(policy, value, *batch.tensors(device), config=config)
            run.check_finite("loss", float(loss.detach()))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.max_grad_norm > 0:
                for net in (policy, value) if value is not None else (policy,):
                    nn.utils.clip_grad_norm_(net.parameters(), config.max_grad_norm)
            optimizer.step()
            updates += 1
            batch = Batch()
            if acting_policy is not policy:
                acting_policy.load_state_dict(policy.state_dict())
            for name, part in parts.items():
                run.log(f"losses/{name}", part)
            if pool is not None and updates % config.snapshot_every == 0:
                snapshot = run.full_checkpoint({"model": acting_policy, "net": acting_policy.spec})
                pool.add(f"step_{run.step}", snapshot, network=copy.deepcopy(acting_policy).eval())
            if run.due_for_checkpoint():
                save()
        save()

        # 3. The final greedy evaluation (what `run.py eval` on ckpt/latest.pt reproduces).
        if config.eval_episodes > 0:
            player = ReinforcePlayer(copy.deepcopy(policy).cpu(), env, sample=config.play_sampled)
            run.final_evaluation(player, config.eval_episodes)
        figures: dict[str, Any] = {"train_return": round(run.recent_mean(), 2)}
        if solved.solved:
            figures["stopped_by"] = solved.reason()
        return run.summary(**figures)
    finally:
        run.close()


def pre_spec_policy(checkpoint: dict[str, Any]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The policy of a checkpoint (or snapshot) saved before specs (no "net"; MLP weights `layers.N.*`): the
    MLP's spec from its config's hidden sizes, and its weights renamed."""
    spec = mlp_spec(checkpoint["config"]["hidden_sizes"], "policy")
    return spec, upgrade_mlp_weights(checkpoint["model"], "policy")


def upgrade_pre_spec_checkpoint(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A run's checkpoint from before specs as one of now, to resume: its policy and its baseline renamed."""
    spec, weights = pre_spec_policy(checkpoint)
    upgraded = {**checkpoint, "net": spec, "model": weights}
    if checkpoint.get("value") is not None:
        upgraded["value"] = upgrade_mlp_weights(checkpoint["value"], "value")
    return upgraded


def make_pool(config: Config, game: Any, run: TrainingRun) -> SnapshotStore:
    """The pool of past policies for --opponent pool: the newest `pool_size` snapshots, each a full
    checkpoint in the run's `snapshots/` folder. On --resume the run's checkpoint names them and their
    networks are loaded from the files here, before the RNG states are restored (building a network draws
    from torch's RNG)."""

    def load_network(snapshot: dict[str, Any]) -> nn.Module:
        return policy_network(snapshot, game).eval()

    saved = run.checkpoint.get("pool", []) if run.checkpoint is not None else []
    pool = SnapshotStore(run.run_dir / "snapshots", capacity=config.pool_size, load_network=load_network)
    for index, entry in enumerate(saved):
        if isinstance(entry, dict):  # a checkpoint from before snapshot files held the weights themselves
            pool.add(f"pool_{index}", run.full_checkpoint({"model": entry}))
        else:
            pool.names.append(entry)
    for name in pool.names:
        pool.network(name)
    return pool


def make_opponent(config: Config, game: Any, policy: nn.Module, pool: SnapshotStore | None) -> Any:
    """Who plays the other seats of a game: the live policy, a snapshot from the pool, or a named player."""
    if config.opponent == "self":
        return ReinforcePlayer(policy, game, sample=True, seed=config.seed + 1)
    if pool is not None:
        return PoolOpponent(policy, pool, game)
    from agents.players import make_player

    return make_player(config.opponent, game, seed=config.seed + 1)


class PoolOpponent:
    """Draws one of the policy's past snapshots for each game (the live policy while the pool is empty)."""

    def __init__(self, policy: nn.Module, pool: SnapshotStore, game: Any):
        self.policy, self.pool, self.game = policy, pool, game
        self.player = ReinforcePlayer(policy, game, sample=True)

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        names = self.pool.names
        net = self.pool.network(names[int(rng.integers(len(names)))]) if names else self.policy
        self.player = ReinforcePlayer(net, game, sample=True, seed=seed)

    def act(self, *inputs: Any) -> int:
        """The drawn snapshot's action: `act(state)` on a game, `act(observation, info)` on PettingZoo."""
        return self.player.act(*inputs)


# ---------------------------------------------------------------------------------------------------
# The player: the argmax of the masked logits, or (sample=true) a draw from their softmax.


class ReinforcePlayer(NetworkPlayer):
    """A policy network as a player: `act(state)` on a game, `act(obs)` on a gymnasium env, and
    `policy(state)`, the action probabilities (zero on illegal actions). A network with memory remembers
    the game's or episode's earlier inputs (`reset` or `begin_episode` forgets them), so each call is the
    next step: `policy` too."""

    act_batch = None  # one game at a time: its memory (and a SpecNetwork's outputs) are not batched here

    def __init__(self, network: SpecNetwork, env: Any, device: str | torch.device = "cpu",
                 sample: bool = False, seed: int = 0):
        super().__init__(network, env, device=device, sample=sample, seed=seed)
        self.memory = EpisodeMemory(self.network)

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        super().reset(game, player_id, seed)
        self.memory.reset()

    def begin_episode(self) -> None:
        self.memory.reset()

    def scores(self, x: Any) -> tuple[np.ndarray, np.ndarray | None]:
        obs, mask = self.encode(x)
        return self.memory.outputs(obs).policy_logits.float().cpu().numpy(), mask

    def policy(self, state: Any) -> np.ndarray:
        logits, mask = self.scores(state)
        logits = logits.astype(np.float64)
        if mask is not None:
            logits = np.where(mask, logits, -np.inf)
        probabilities = np.exp(logits - logits.max())
        return probabilities / probabilities.sum()


def load_player(checkpoint: dict[str, Any], env: Any, device: str = "cpu", **options: str) -> ReinforcePlayer:
    """The player of a checkpoint; option `sample=true|false` (default: the run's `play_sampled`)."""
    unknown = set(options) - {"sample", "seed"}
    if unknown:
        raise UsageError(
            f"unknown reinforce player option(s) {', '.join(sorted(unknown))}; known: sample, seed"
        )
    saved = checkpoint["config"]
    sample = str(options.get("sample", saved.get("play_sampled", False))).lower() in ("1", "true", "yes")
    policy = policy_network(checkpoint, env)
    return ReinforcePlayer(policy, env, device=device, sample=sample, seed=int(options.get("seed", 0)))


def policy_network(checkpoint: dict[str, Any], env: Any) -> SpecNetwork:
    """The policy network of a checkpoint (or snapshot), rebuilt from its saved spec; one from before specs
    holds an MLP's weights, renamed on load."""
    saved = checkpoint["config"]
    shape = network_input_shape(env, saved.get("net", "mlp"), int(saved.get("context", 1)))
    return network_from_checkpoint(checkpoint, shape, num_actions(env), legacy=pre_spec_policy)
