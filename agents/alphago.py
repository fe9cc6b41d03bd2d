"""AlphaGo (Silver et al. 2016) in miniature: four stages, then a search that mixes them.

1. **SL policy** (`--stage sl`): a ResNet policy (agents/nets, the AlphaZero network's trunk and policy
   head; its value head is unused here) trained by cross-entropy on the expert's moves in the games of
   `--data` (agents/expert_positions.py: duplicates removed, the held-out split by game, no held-out
   position seen in training under any symmetry, each training position through a random symmetry).
   Logged: `sl/loss`, `sl/train_accuracy`, `sl/held_out_accuracy` (top-1 over legal moves).
2. **Rollout policy** (`--stage rollout`): a linear softmax over cheap features (search/rollout_policy.py:
   3x3 patterns, liberties, captures, ataris, nearness to the last moves in Go; the raw board elsewhere),
   fitted to the same positions. It plays whole games fast, many boards in lockstep. `rollout/...`.
3. **RL policy** (`--stage rl`): starts as the SL policy and plays batches of games against an earlier
   version of itself drawn at random from the snapshot store (the SL policy is the first), both sampling
   at temperature 1; REINFORCE with the game's outcome (+1/-1) as the return of every move the learner made.
   The games are played by actors (league/actors.py: in this process with `--workers 0`, else processes).
   A snapshot joins the opponents every `rl_snapshot_every` updates. `rl/...`.
4. **Value network** (`--stage value`): the RL policy plays itself; one position per game (positions of
   one game are correlated) and that game's outcome from the mover's view; the value head (the trunk
   starts from the RL policy's) is regressed to it. `value/loss`, `value/held_out_mse`.

The **player** (`load_player`, any checkpoint of this algorithm on the command line:
`ckpt.pt,sims=200,lambda=0.5`) is PUCT (search/puct.py's BatchedPUCT) with the SL policy's priors and a
leaf value `(1 - lambda) * value_net + lambda * rollout_outcome`: `AlphaGoEvaluator` evaluates the leaves
of all trees of a batch in one network call and plays their rollouts together in one lockstep batch.
`sims=0` plays the policy's top move without search (`policy=rl` the RL policy's).

Every stage is resumable (`--resume DIR --stage S`): the checkpoint holds every stage's weights, optimizer
and progress; `--stage all` runs those not yet at their budget, in order. Nothing is Go-specific here; the
rollout policy's features are (search/rollout_policy.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from agents.nets.policy_value import PolicyValueNet, policy_value_spec
from agents.nets.spec import complete_spec
from agents.training import TrainConfig, TrainingRun, resolve_device, seed_everything
from envs.encoding import encoder_for
from envs.errors import UsageError
from envs.symmetries import symmetries_for

STAGES = ("sl", "rollout", "rl", "value")


@dataclass(frozen=True)
class Config(TrainConfig):
    """AlphaGo: SL policy, rollout policy, RL policy, value network; each stage has its own budget."""

    env: str = "go(board_size=9,komi=7.5)"
    """a two-player zero-sum OpenSpiel game"""
    steps: int = 10**12
    """not used: each stage has its own budget (--sl-steps, --rollout-steps, --rl-updates, --value-steps)"""
    progress: bool = False
    """the stages print a line now and then instead of a bar"""
    stage: Literal["sl", "rollout", "rl", "value", "all"] = "all"
    """the stage to run (all: every stage not yet at its budget, in order)"""
    data: str | None = None
    """the expert games (run.py data --out DIR, or any folder of SGF / JSON-lines games): sl and rollout"""
    held_out: float = 0.1
    """fraction of the (deduplicated) games held out for the accuracies"""
    channels: int = 48
    """convolution channels of the policy and value ResNets"""
    blocks: int = 6
    """residual blocks of the policy and value ResNets"""
    hidden: int = 64
    """width of the value head's hidden layer"""
    batch_size: int = 256
    """positions per gradient step (sl, rollout, value)"""
    sl_steps: int = 4000
    """gradient steps of the SL policy"""
    sl_learning_rate: float = 2e-3
    """AdamW learning rate of the SL policy at the start (cosine decay to a tenth over --sl-steps)"""
    weight_decay: float = 1e-4
    """AdamW decoupled weight decay of the networks"""
    eval_every: int = 500
    """gradient steps between held-out evaluations and checkpoints in the sl and value stages"""
    rollout_steps: int = 3000
    """gradient steps of the rollout policy"""
    rollout_learning_rate: float = 0.05
    """Adam learning rate of the rollout policy's weights"""
    rl_updates: int = 200
    """REINFORCE updates of the RL policy"""
    rl_games_per_update: int = 32
    """games (half with each colour) per REINFORCE update"""
    rl_learning_rate: float = 1e-4
    """SGD learning rate of the RL policy"""
    rl_snapshot_every: int = 20
    """updates between snapshots added to the opponents"""
    workers: int = 0
    """actor processes playing the rl and value games (0: this process)"""
    value_games: int = 4000
    """self-play games of the RL policy for the value net (one position each); a tenth more are held out"""
    value_steps: int = 3000
    """gradient steps of the value network"""
    value_learning_rate: float = 1e-3
    """AdamW learning rate of the value network (cosine decay to a tenth)"""
    simulations: int = 200
    """PUCT simulations of the player (sims= overrides)"""
    mix: float = 0.5
    """lambda: leaf value = (1 - lambda) * value net + lambda * rollout outcome (lambda= overrides)"""
    c_puct: float = 5.0
    """PUCT exploration weight of the player (AlphaGo's 5)"""


SHAPE_FIELDS = ("channels", "blocks", "hidden")


# ---------------------------------------------------------------------------------------------- networks


def network_spec(game: Any, config: Config) -> dict[str, Any]:
    return complete_spec(policy_value_spec(encoder_for(game).shape, config.channels, config.blocks,
                                           config.hidden))


def make_network(game: Any, spec: dict[str, Any]) -> PolicyValueNet:
    return PolicyValueNet(spec, encoder_for(game).shape, game.num_distinct_actions())


def masked_logits(network: PolicyValueNet, obs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    logits, _ = network(obs)
    return logits.float().masked_fill(~mask, torch.finfo(torch.float32).min)


def accuracy(network: PolicyValueNet, obs: np.ndarray, masks: np.ndarray, actions: np.ndarray,
             device: torch.device, batch: int = 1024) -> float:
    """Top-1 accuracy of the network's policy (over legal moves) on labelled positions."""
    if len(actions) == 0:
        return float("nan")
    hits = 0
    network.eval()
    with torch.inference_mode():
        for s in range(0, len(actions), batch):
            o = torch.from_numpy(obs[s : s + batch].astype(np.float32)).to(device)
            m = torch.from_numpy(masks[s : s + batch]).to(device)
            top = masked_logits(network, o, m).argmax(-1).cpu().numpy()
            hits += int((top == actions[s : s + batch]).sum())
    network.train()
    return hits / len(actions)


def cosine(start: float, step: int, total: int) -> float:
    """Cosine decay from `start` to a tenth of it over `total` steps."""
    progress = min(step / max(total, 1), 1.0)
    return float(start * (0.1 + 0.45 * (1 + np.cos(np.pi * progress))))


# ---------------------------------------------------------------------------------------------- the run


class Stages:
    """The state every stage reads and writes: the networks, their optimizers, each stage's progress."""

    def __init__(self, config: Config, game: Any, checkpoint: dict[str, Any] | None):
        self.config, self.game = config, game
        self.rng = seed_everything(config.seed, config.threads)
        self.device = resolve_device(config.device)
        self.run = TrainingRun("alphago", config, game, checkpoint, outcome_kind="win_rate")
        self.spec = network_spec(game, config)
        if checkpoint is not None and complete_spec(checkpoint["net"]) != self.spec:
            raise UsageError(f"network sizes cannot change on --resume (the run has {checkpoint['net']})")
        self.sl = make_network(game, self.spec).to(self.device)
        self.rl = make_network(game, self.spec).to(self.device)
        self.value = make_network(game, self.spec).to(self.device)
        self.rollout: Any = None  # a search.rollout_policy.RolloutPolicy once fitted
        self.progress: dict[str, dict[str, Any]] = {s: {"steps": 0} for s in STAGES}
        self.optimizers: dict[str, dict[str, Any]] = {}
        self.snapshots: list[str] = []
        saved = checkpoint or {}
        for name in ("sl", "rl", "value"):
            if f"{name}_model" in saved:
                getattr(self, name).load_state_dict(saved[f"{name}_model"])
        if "rollout" in saved:
            from search.rollout_policy import RolloutPolicy

            self.rollout = RolloutPolicy.from_state(game, saved["rollout"])
        self.progress.update(saved.get("progress", {}))
        self.optimizers = dict(saved.get("optimizers", {}))
        self.snapshots = list(saved.get("snapshots", []))
        if checkpoint is not None:
            from agents.checkpoint import restore_rng

            restore_rng(self.rng, checkpoint["rng"])
        self._dataset: Any = None

    def stop(self) -> bool:
        """Ctrl-C or the time limit (the step budgets are the stages')."""
        limit = self.config.time_limit
        return self.run.interrupted or (limit is not None and self.run.elapsed() >= limit)

    def dataset(self) -> Any:
        if self._dataset is None:
            from agents.expert_positions import build_dataset

            if self.config.data is None:
                raise UsageError("the sl and rollout stages need --data DIR (expert games: run.py data)")
            self._dataset = build_dataset(self.game, self.config.data, self.config.held_out, self.config.seed)
            print(f"expert data: {self._dataset.stats}", flush=True)
            self.progress["data"] = {"stats": self._dataset.stats}
        return self._dataset

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"net": self.spec, "progress": self.progress, "optimizers": self.optimizers,
                               "snapshots": self.snapshots, "mix": self.config.mix}
        for name in ("sl", "rl", "value"):
            if self.progress[name]["steps"] > 0 or (name == "rl" and self.progress["sl"]["steps"] > 0):
                out[f"{name}_model"] = getattr(self, name).state_dict()
        if self.rollout is not None:
            out["rollout"] = self.rollout.state()
        return out

    def save(self) -> None:
        self.run.save(self.payload(), self.rng)

    def log(self, tag: str, value: float) -> None:
        self.run.log(tag, value)

    def optimizer(self, name: str, params: Any, lr: float, kind: str = "adamw") -> torch.optim.Optimizer:
        """The stage's optimizer, with its saved state on --resume."""
        if kind == "sgd":
            optimizer: torch.optim.Optimizer = torch.optim.SGD(params, lr=lr)
        elif kind == "adam":
            optimizer = torch.optim.Adam(params, lr=lr)
        else:
            optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=self.config.weight_decay)
        if name in self.optimizers:
            optimizer.load_state_dict(self.optimizers[name])
        return optimizer


# ---------------------------------------------------------------------------------------------- 1. SL policy


def train_sl(st: Stages) -> None:
    """Cross-entropy on the expert's moves, each position through a random symmetry."""
    from agents.expert_positions import augment

    config, progress = st.config, st.progress["sl"]
    data = st.dataset()
    train, held = data.train, data.held
    if len(train) == 0:
        raise UsageError(f"no training positions in {config.data}")
    symmetries = symmetries_for(st.game, encoder_for(st.game).shape)
    optimizer = st.optimizer("sl", st.sl.parameters(), config.sl_learning_rate)
    st.sl.train()
    started, hits, seen = time.time(), 0, 0
    while progress["steps"] < config.sl_steps and not st.stop():
        index = st.rng.integers(len(train), size=config.batch_size)
        obs, actions, masks = augment(train.obs[index], train.action[index], train.mask[index], symmetries,
                                      st.rng)
        o = torch.from_numpy(obs.astype(np.float32)).to(st.device)
        m = torch.from_numpy(masks).to(st.device)
        a = torch.from_numpy(actions).to(st.device)
        for group in optimizer.param_groups:
            group["lr"] = cosine(config.sl_learning_rate, progress["steps"], config.sl_steps)
        logits = masked_logits(st.sl, o, m)
        loss = F.cross_entropy(logits, a)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        progress["steps"] += 1
        st.run.advance(config.batch_size)
        hits += int((logits.argmax(-1) == a).sum())
        seen += len(a)
        if progress["steps"] % 20 == 0:
            st.run.check_finite("sl loss", float(loss.detach()))
            st.log("sl/loss", float(loss.detach()))
            st.log("sl/train_accuracy", hits / seen)
            hits = seen = 0
        if progress["steps"] % config.eval_every == 0 or progress["steps"] == config.sl_steps:
            progress["held_out_accuracy"] = accuracy(st.sl, held.obs, held.mask, held.action, st.device)
            st.log("sl/held_out_accuracy", progress["held_out_accuracy"])
            print(f"sl step {progress['steps']}: held-out top-1 {progress['held_out_accuracy']:.4f} "
                  f"({time.time() - started:.0f} s)", flush=True)
            st.optimizers["sl"] = optimizer.state_dict()
            st.save()
    st.optimizers["sl"] = optimizer.state_dict()
    progress["held_out_accuracy"] = accuracy(st.sl, held.obs, held.mask, held.action, st.device)
    if st.game.get_type().short_name == "go":
        moves = held.action != st.game.num_distinct_actions() - 1
        progress["held_out_accuracy_without_passes"] = accuracy(
            st.sl, held.obs[moves], held.mask[moves], held.action[moves], st.device)
    progress["held_out_positions"] = len(held)
    progress["seconds"] = progress.get("seconds", 0.0) + time.time() - started
    if st.progress["rl"]["steps"] == 0:
        st.rl.load_state_dict(st.sl.state_dict())  # the RL policy starts as the SL policy


# ---------------------------------------------------------------------------------------------- 2. rollouts


def train_rollout(st: Stages) -> None:
    """Cross-entropy of the rollout policy's linear softmax on the expert's moves."""
    from search.rollout_policy import RolloutPolicy, training_inputs

    config, progress = st.config, st.progress["rollout"]
    data = st.dataset()
    policy = st.rollout or RolloutPolicy(st.game)
    started = time.time()
    train = training_inputs(policy, data.train_games, data.train)
    held = training_inputs(policy, data.held_games, data.held)
    weights = torch.nn.Parameter(torch.from_numpy(policy.weights.copy()))
    optimizer = st.optimizer("rollout", [weights], config.rollout_learning_rate, kind="adam")
    while progress["steps"] < config.rollout_steps and not st.stop():
        index = st.rng.integers(len(data.train), size=config.batch_size)
        loss = policy.fit_step({k: v[index] for k, v in train.items()}, data.train.action[index], weights,
                               optimizer)
        progress["steps"] += 1
        st.run.advance(config.batch_size)
        if progress["steps"] % 50 == 0:
            st.run.check_finite("rollout loss", loss)
            st.log("rollout/loss", loss)
        if progress["steps"] % (config.eval_every * 2) == 0:
            progress["held_out_accuracy"] = policy.accuracy(held, data.held.action)
            st.log("rollout/held_out_accuracy", progress["held_out_accuracy"])
            print(f"rollout step {progress['steps']}: held-out top-1 {progress['held_out_accuracy']:.4f}",
                  flush=True)
    st.rollout = policy
    st.optimizers["rollout"] = optimizer.state_dict()
    progress["held_out_accuracy"] = policy.accuracy(held, data.held.action)
    st.log("rollout/held_out_accuracy", progress["held_out_accuracy"])
    progress["seconds"] = progress.get("seconds", 0.0) + time.time() - started


# ---------------------------------------------------------------------------------------------- 3. RL policy


def actor_pool(st: Stages, network: PolicyValueNet, mode: str, games: int, seed: int) -> Any:
    """Actors playing `policy_games` with `network`'s weights: in this process (`--workers 0`, the fake
    backend: deterministic) or in `--workers` processes."""
    from agents.alphago_selfplay import policy_actor
    from league.actors import ActorPool, numpy_weights

    folder = str(st.run.run_dir / "snapshots")
    setup = (st.config.env, st.spec, folder, games, mode)
    workers = max(st.config.workers, 1)
    backend = "local" if st.config.workers else "fake"
    return ActorPool(backend, policy_actor, setup, [seed + 1000 * k for k in range(workers)],
                     (0, numpy_weights(network)))


def add_snapshot(st: Stages, name: str) -> None:
    from agents.snapshots import SnapshotStore

    store = SnapshotStore(st.run.run_dir / "snapshots", st.snapshots)
    weights = {k: v.detach().cpu().clone() for k, v in st.rl.state_dict().items()}
    store.add(name, st.run.full_checkpoint({"model": weights, "net": st.spec}))
    st.snapshots = store.names


def train_rl(st: Stages) -> None:
    """REINFORCE against earlier snapshots: loss = -mean(z * log pi(a | s)) over the learner's moves."""
    from league.actors import numpy_weights

    config, progress = st.config, st.progress["rl"]
    if st.progress["sl"]["steps"] == 0:
        raise UsageError("the rl stage starts from the SL policy: run --stage sl first")
    if not st.snapshots:
        add_snapshot(st, "rl_0")  # the SL policy is the first opponent
    optimizer = st.optimizer("rl", st.rl.parameters(), config.rl_learning_rate, kind="adam")
    started = time.time()
    pool = actor_pool(st, st.rl, "rl", config.rl_games_per_update, config.seed + 7 + progress["steps"])
    games: list[tuple] = []
    wins = []
    try:
        while progress["steps"] < config.rl_updates and not st.stop():
            games += [e.item for e in pool.results(timeout=1.0)]
            if len(games) < config.rl_games_per_update:
                continue
            batch, games = games[: config.rl_games_per_update], games[config.rl_games_per_update :]
            obs = torch.from_numpy(np.concatenate([g[0] for g in batch]).astype(np.float32)).to(st.device)
            masks = torch.from_numpy(np.concatenate([g[1] for g in batch])).to(st.device)
            moves = torch.from_numpy(np.concatenate([g[2] for g in batch])).to(st.device)
            z = np.concatenate([np.full(len(g[2]), g[3], np.float32) for g in batch])
            z = torch.from_numpy(z).to(st.device)
            st.rl.train()
            logp = torch.log_softmax(masked_logits(st.rl, obs, masks), -1).gather(1, moves[:, None])[:, 0]
            loss = -(z * logp).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            progress["steps"] += 1
            st.run.advance(len(moves))
            st.run.episodes += len(batch)
            wins += [g[3] for g in batch]
            pool.publish(progress["steps"], numpy_weights(st.rl))
            st.log("rl/loss", float(loss.detach()))
            st.log("rl/win_rate_vs_snapshots", float(np.mean([w > 0 for w in wins[-200:]])))
            if progress["steps"] % config.rl_snapshot_every == 0:
                add_snapshot(st, f"rl_{progress['steps']}")
                print(f"rl update {progress['steps']}: win rate against snapshots "
                      f"{np.mean([w > 0 for w in wins[-200:]]):.3f} ({time.time() - started:.0f} s)",
                      flush=True)
                st.optimizers["rl"] = optimizer.state_dict()
                st.save()
    finally:
        pool.close()
    st.optimizers["rl"] = optimizer.state_dict()
    progress["games"] = progress.get("games", 0) + len(wins)
    progress["seconds"] = progress.get("seconds", 0.0) + time.time() - started


# ---------------------------------------------------------------------------------------------- 4. value net


def value_positions(st: Stages, games: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One position per self-play game of the RL policy, and that game's outcome for its mover."""
    pool = actor_pool(st, st.rl, "value", min(64, games), seed)
    items: list[tuple] = []
    try:
        while len(items) < games and not st.stop():
            items += [e.item for e in pool.results(timeout=1.0)]
    finally:
        pool.close()
    items = items[:games]
    return np.stack([i[0] for i in items]), np.asarray([i[1] for i in items], np.float32)


def train_value(st: Stages) -> None:
    """Regression of the value head to the outcome, on one position per RL self-play game; the held-out
    MSE on positions of other games. The positions are kept beside the checkpoint (`ckpt/value_data.npz`)."""
    from agents.expert_positions import augment

    config, progress = st.config, st.progress["value"]
    started = time.time()
    path = st.run.ckpt_dir / "value_data.npz"
    held_games = max(config.value_games // 10, 1)
    if path.exists():
        saved = np.load(path)
        obs, z, held_obs, held_z = saved["obs"], saved["z"], saved["held_obs"], saved["held_z"]
    else:
        obs, z = value_positions(st, config.value_games, config.seed + 11)
        held_obs, held_z = value_positions(st, held_games, config.seed + 13)
        if len(z) < config.value_games or len(held_z) < held_games:
            return  # stopped while playing: the next run plays them again
        np.savez(path, obs=obs, z=z, held_obs=held_obs, held_z=held_z)
        print(f"value data: {len(z)} + {len(held_z)} held-out positions ({time.time() - started:.0f} s)")
    if progress["steps"] == 0:
        st.value.load_state_dict(st.rl.state_dict())  # the trunk starts from the RL policy's
    symmetries = symmetries_for(st.game, encoder_for(st.game).shape)
    optimizer = st.optimizer("value", st.value.parameters(), config.value_learning_rate)
    masks = np.ones((len(z), st.game.num_distinct_actions()), bool)

    def held_out_mse() -> float:
        st.value.eval()
        with torch.inference_mode():
            _, v = st.value(torch.from_numpy(held_obs.astype(np.float32)).to(st.device))
        st.value.train()
        return float(((v.float().cpu().numpy() - held_z) ** 2).mean())

    while progress["steps"] < config.value_steps and not st.stop():
        index = st.rng.integers(len(z), size=config.batch_size)
        o, _, _ = augment(obs[index], np.zeros(len(index), np.int64), masks[index], symmetries, st.rng)
        for group in optimizer.param_groups:
            group["lr"] = cosine(config.value_learning_rate, progress["steps"], config.value_steps)
        _, v = st.value(torch.from_numpy(o.astype(np.float32)).to(st.device))
        loss = F.mse_loss(v.float(), torch.from_numpy(z[index]).to(st.device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        progress["steps"] += 1
        st.run.advance(config.batch_size)
        if progress["steps"] % 20 == 0:
            st.run.check_finite("value loss", float(loss.detach()))
            st.log("value/loss", float(loss.detach()))
        if progress["steps"] % config.eval_every == 0:
            progress["held_out_mse"] = held_out_mse()
            st.log("value/held_out_mse", progress["held_out_mse"])
            print(f"value step {progress['steps']}: held-out MSE {progress['held_out_mse']:.4f}", flush=True)
    st.optimizers["value"] = optimizer.state_dict()
    progress["held_out_mse"] = held_out_mse()
    progress["positions"] = len(z)
    progress["seconds"] = progress.get("seconds", 0.0) + time.time() - started


# ---------------------------------------------------------------------------------------------- train


STAGE_FUNCTIONS = {"sl": train_sl, "rollout": train_rollout, "rl": train_rl, "value": train_value}
BUDGETS = {"sl": "sl_steps", "rollout": "rollout_steps", "rl": "rl_updates", "value": "value_steps"}


def train(config: Config, env: Any, checkpoint: dict | None = None) -> dict:
    """Run `--stage` (or every stage not yet at its budget); returns the run's summary."""
    from envs import is_game

    if not is_game(env) or env.num_players() != 2:
        raise UsageError("alphago needs a two-player OpenSpiel game")
    if config.workers < 0:
        raise UsageError("--workers must be 0 (this process) or more")
    st = Stages(config, env, checkpoint)
    stages = STAGES if config.stage == "all" else (config.stage,)
    ran = []
    for stage in stages:
        if st.stop():
            break
        if config.stage == "all" and st.progress[stage]["steps"] >= getattr(config, BUDGETS[stage]):
            continue
        print(f"stage {stage}", flush=True)
        STAGE_FUNCTIONS[stage](st)
        ran.append(stage)
        st.save()
    st.save()
    st.run.close()
    figures = {f"{s}_{k}": (round(v, 4) if isinstance(v, float) else v) for s in STAGES
               for k, v in st.progress[s].items() if k in ("steps", "held_out_accuracy", "held_out_mse")}
    stopped = "interrupted" if st.run.interrupted else ("time limit" if st.stop() else "stage budgets")
    return st.run.summary(stopped_by=stopped, stages=",".join(ran) or "none", **figures)


# ---------------------------------------------------------------------------------------------- the player


def load_player(checkpoint: dict, env: Any, device: str = "cpu", **options: str) -> Any:
    """The full player: PUCT with the SL prior and leaf value `(1 - lambda) v + lambda z` (`sims=`,
    `lambda=`, `c_puct=`); `sims=0` plays a policy network without search (`policy=sl|rl`,
    `temperature=`, default 0: its top move)."""
    from search.alphago_mcts import AlphaGoEvaluator
    from search.puct import PUCTConfig, PUCTPlayer
    from search.rollout_policy import RolloutPolicy

    unknown = set(options) - {"sims", "lambda", "c_puct", "policy", "temperature"}
    if unknown:
        raise UsageError(f"alphago players take sims=, lambda=, c_puct=, policy=, temperature=, not "
                         f"{', '.join(sorted(unknown))}")
    saved = checkpoint["config"]
    try:
        sims = int(options.get("sims", saved.get("simulations", 200)))
        mix = float(options.get("lambda", saved.get("mix", 0.5)))
        c_puct = float(options.get("c_puct", saved.get("c_puct", 5.0)))
        temperature = float(options.get("temperature", 0.0))
    except ValueError:
        raise UsageError(f"alphago player options must be numbers: {options}") from None
    if not 0 <= mix <= 1 or sims < 0 or temperature < 0:
        raise UsageError("lambda= must be in [0, 1], sims= and temperature= at least 0")
    which = options.get("policy", "sl")
    if which not in ("sl", "rl") or f"{which}_model" not in checkpoint:
        raise UsageError(f"policy={which}: the checkpoint has no {which} policy (policy=sl or rl, once "
                         "trained)")

    def network(key: str) -> PolicyValueNet | None:
        if key not in checkpoint:
            return None
        net = make_network(env, checkpoint["net"])
        net.load_state_dict(checkpoint[key])
        return net.to(device).eval()

    if sims == 0:
        from agents.alphago_selfplay import PolicyPlayer

        return PolicyPlayer(network(f"{which}_model"), env, temperature)
    rollout = RolloutPolicy.from_state(env, checkpoint["rollout"]) if "rollout" in checkpoint else None
    evaluator = AlphaGoEvaluator(network(f"{which}_model"), network("value_model"), rollout, env, mix, device)
    config = PUCTConfig(simulations=sims, c_puct=c_puct, dirichlet_epsilon=0.0)
    return PUCTPlayer(evaluator, config, temperature=temperature)
