"""AlphaZero: one network with a policy head and a value head, trained only by self-play through PUCT.

Silver et al. (2017, 2018). B games are played at once (`games_in_parallel`, agents/alphazero_selfplay.py);
each move of all B games is one `BatchedPUCT.search` (search/puct.py), which calls the network once per
simulation step with a leaf of every tree. Dirichlet noise is mixed into the root priors (alpha defaults to
10 / the mean number of legal moves, measured on 20 random games at the start: the paper's 0.3 / 0.15 / 0.03
for chess / shogi / Go follow that rule); moves are sampled in proportion to the visit counts for the first
`temperature_moves` moves of a game (default a quarter of a random game's mean length), then the most
visited move is played. The measured defaults are written into the run's config. Every position played
becomes a training example: the mover's observation (`envs.encoding`, the mover's view plus whose turn it
is), the root's visit distribution and, once the game ends, the mover's final return (scaled into [-1, 1]).

The learner samples the replay buffer, maps each example through a random symmetry of the game
(`envs.symmetries`; identity for games without registered ones), and minimises cross-entropy to the
visit distribution plus the squared value error, with AdamW's decoupled weight decay as the L2 term and
a cosine learning-rate schedule over `--steps`. It takes `samples_per_position` gradient samples per
position played, whoever plays them: this process (`--workers 0`, deterministic for a seed) or K actors
(`--workers K`, league/actors.py: processes of this machine with `--backend local`, Ray actors with
`--backend ray`) that receive the learner's weights every `publish_every` gradient steps. An actor plays
each game to its end with the weights it began with: new games start with a new version while the
games begun before finish with theirs (two versions at most at a time). An actor that dies is restarted
(its unfinished games are lost, never counted); past the pool's limit the run stops with its
checkpoint saved. On a
GPU the learner and the evaluator run in bfloat16 autocast (`--amp`). `--steps` counts moves played.

The network comes from a spec (agents/nets/spec.py): `--net resnet` is AlphaGo Zero's (a residual tower
with conv heads on board planes, an MLP trunk on flat observations), `--net transformer` reads the board's
cells as tokens with learned position embeddings. The completed spec is saved in every checkpoint and
snapshot ("net"), so a checkpoint plays, and the actors play, with the network it was trained with.

Evaluations play the latest network against `mcts:N` and against the earlier snapshots (one is taken at
each evaluation; a snapshot's games are played together, league/batched.py, one network call per search
step for all of them); all those games give every snapshot an Elo rating (league/elo.py, `mcts:N` at 0),
written to TensorBoard and to `elo.json` in the run folder (`bench/plot_elo.py` draws the curve).

The player (`load_player`, and so any checkpoint on the command line) is PUCT with the network at
`eval_simulations` simulations (`ckpt.pt,sims=400` overrides), no noise, most visited move.

Nothing here knows a particular game: shapes, players, chance and utilities come from `pyspiel.Game`
(and the sizes' defaults from the observation's size). Games must be sequential (turn-taking); PUCT
assumes zero-sum returns between the players. Games still in progress when a run stops are dropped.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyspiel
import torch
import torch.nn.functional as F

from agents.alphazero_selfplay import (
    GameExamples,
    SelfPlay,
    check_game,
    self_play_actor,
    with_search_defaults,
)
from agents.buffers import PolicyValueBuffer
from agents.evaluation import evaluate_player, headline, log_evaluation
from agents.nets.policy_value import (
    PolicyValueNet,
    policy_value_spec,
    transformer_spec,
    upgrade_policy_value_weights,
)
from agents.nets.spec import complete_spec, network_from_checkpoint
from agents.schedules import cosine_schedule
from agents.snapshots import SnapshotStore
from agents.training import TrainConfig, TrainingRun, TrainingStopped, resolve_device, seed_everything
from envs.encoding import encoder_for
from envs.errors import UsageError
from envs.symmetries import symmetries_for
from league.actors import ActorFailed, ActorPool, check_backend, numpy_weights
from league.elo_tracker import EloTracker
from search.network_evaluator import NetworkEvaluator, autocast
from search.puct import PUCTConfig, PUCTPlayer


@dataclass(frozen=True)
class Config(TrainConfig):
    """AlphaZero. Network sizes left unset are chosen from the size of the game's observation."""

    env: str = "tic_tac_toe"
    """a sequential OpenSpiel game string (with a forward model), or module:factory returning one"""
    steps: int = 200_000
    """moves to play in self-play in total (all games together); the learning rate decays over them"""
    net: Literal["resnet", "transformer"] = "resnet"
    """the network: resnet (AlphaGo Zero's residual tower and conv heads on board planes: --channels,
    --blocks, --hidden; an MLP trunk on flat observations) or transformer (the board's cells as tokens with
    learned position embeddings, mean+max pooled, linear policy and --hidden value heads: --transformer-dim,
    --transformer-layers, --transformer-heads; board games only)"""
    channels: int | None = None
    """convolution channels of the ResNet tower (default by board size: 32 up to 16 cells, 48 up to 64,
    else 64)"""
    blocks: int | None = None
    """residual blocks of the tower (default 2 / 4 / 6 by board size), or hidden layers of the MLP trunk
    on flat observations (default 2)"""
    hidden: int | None = None
    """width of the value head's hidden layer (default 32 / 64 / 128), and of the MLP trunk on flat
    observations (default 128)"""
    transformer_dim: int = 32
    """width of each cell token in the transformer (--net transformer)"""
    transformer_layers: int = 2
    """transformer layers (--net transformer)"""
    transformer_heads: int = 4
    """attention heads of each layer; they divide --transformer-dim (--net transformer)"""
    simulations: int = 50
    """PUCT simulations per move in self-play"""
    games_in_parallel: int = 64
    """self-play games played at once (per actor); one network call per simulation step evaluates a leaf of
    each (use 512+ on a GPU)"""
    workers: int = 0
    """actors playing self-play (0: this process alternates playing and learning, deterministic)"""
    backend: Literal["local", "ray"] = "local"
    """where the --workers actors run: processes of this machine, or a Ray cluster (palaestra[ray])"""
    address: str | None = None
    """with --backend ray: the cluster to join (auto, or HOST:PORT); without it Ray starts on this machine"""
    max_restarts: int = 3
    """actor deaths the run survives (each dead actor is restarted with the newest weights)"""
    publish_every: int = 20
    """gradient steps between sending the weights to the actors (with --workers)"""
    c_puct: float = 1.25
    """PUCT exploration weight"""
    dirichlet_alpha: float | None = None
    """concentration of the root noise (default 10 / the mean number of legal moves in random games)"""
    dirichlet_epsilon: float = 0.25
    """weight of the Dirichlet noise in the root priors during self-play"""
    temperature_moves: int | None = None
    """moves of each game sampled in proportion to visit counts before greedy play (default a quarter of
    the mean length of random games)"""
    q_weight: float = 0.0
    """value target = (1 - q_weight) * the game's outcome + q_weight * the root's search value (0: AlphaZero's
    outcome only; 0.5 averages them, which lowers the target's noise when early moves are sampled)"""
    random_opening_moves: int = 0
    """each self-play game starts with 0..N uniformly random moves, not trained on (wider coverage of the
    positions a game can reach)"""
    augment: bool = True
    """map each training example through a random symmetry of the game (envs/symmetries.py)"""
    replay_size: int = 100_000
    """positions kept in the replay buffer"""
    min_replay: int = 1_000
    """positions in the buffer before learning starts"""
    batch_size: int = 256
    """positions per gradient step"""
    samples_per_position: float = 4.0
    """gradient samples drawn per self-play position (the replay ratio)"""
    learning_rate: float = 1e-3
    """AdamW learning rate at the start"""
    final_learning_rate: float = 1e-4
    """learning rate reached at --steps (cosine decay)"""
    weight_decay: float = 1e-4
    """AdamW decoupled weight decay (the L2 term of the loss)"""
    amp: bool = True
    """bfloat16 autocast for the network on a GPU (ignored on a CPU)"""
    eval_every: int = 20_000
    """moves between evaluations (0: only at the end)"""
    eval_games: int = 20
    """games per evaluation against mcts:eval_mcts_simulations, seats alternating"""
    eval_mcts_simulations: int = 100
    """simulations of the UCT opponent (mcts:N) in evaluations"""
    eval_snapshots: int = 2
    """earlier snapshots the latest network plays at each evaluation (eval_games / 2 games each), for Elo"""
    eval_simulations: int = 50
    """simulations of the trained player in evaluations and when a checkpoint plays (sims= overrides)"""
    save_buffer: bool = True
    """write the replay buffer beside the checkpoint so --resume continues with it"""


SIZE_FIELDS = ("channels", "blocks", "hidden")  # the resnet's, by board size when unset
SHAPE_FIELDS = ("net", *SIZE_FIELDS, "transformer_dim", "transformer_layers", "transformer_heads")


def default_sizes(game: pyspiel.Game) -> dict[str, int]:
    """Network sizes worth watching on a CPU, from the observation's size alone."""
    shape = encoder_for(game).shape
    if len(shape) != 3:
        return {"channels": 32, "blocks": 2, "hidden": 128}
    cells = shape[1] * shape[2]
    if cells <= 16:
        return {"channels": 32, "blocks": 2, "hidden": 32}
    if cells <= 64:
        return {"channels": 48, "blocks": 4, "hidden": 64}
    return {"channels": 64, "blocks": 6, "hidden": 128}


def with_sizes(config: Config, game: pyspiel.Game) -> Config:
    """The config with unset network sizes filled in from the game."""
    sizes = default_sizes(game)
    return dataclasses.replace(config, **{k: v for k, v in sizes.items() if getattr(config, k) is None})


def with_game_defaults(config: Config, game: pyspiel.Game) -> Config:
    """The config with everything left unset filled in from the game: network sizes, the root noise's alpha
    and the sampled moves (`with_search_defaults`). `train` passes the filled-in config on, so the actors
    measure nothing."""
    return with_search_defaults(with_sizes(config, game), game)



def network_spec(game: pyspiel.Game, config: Config) -> dict[str, Any]:
    """The spec of the network `config` asks for on `game` (unset sizes by board size); a user's error for a
    transformer on a flat observation."""
    config, shape = with_sizes(config, game), encoder_for(game).shape
    if config.net == "resnet":
        return policy_value_spec(shape, config.channels, config.blocks, config.hidden)
    if len(shape) == 1:
        raise UsageError(f"--net transformer needs a board (C, H, W); {config.env} has a flat observation")
    if min(config.transformer_dim, config.transformer_layers) < 1 or config.transformer_heads < 1:
        raise UsageError("--transformer-dim, --transformer-layers and --transformer-heads must be at least 1")
    if config.transformer_dim % config.transformer_heads:
        raise UsageError("--transformer-heads must divide --transformer-dim")
    sizes = config.transformer_dim, config.transformer_layers, config.transformer_heads
    return transformer_spec(*sizes, config.hidden)


def make_network(game: pyspiel.Game, config: Config, spec: dict[str, Any] | None = None) -> PolicyValueNet:
    """The network of `spec` (default: the one `config` asks for) for `game`."""
    spec = network_spec(game, config) if spec is None else spec
    return PolicyValueNet(spec, encoder_for(game).shape, game.num_distinct_actions())


def legacy_network(checkpoint: dict[str, Any], game: pyspiel.Game) -> tuple[dict[str, Any], dict[str, Any]]:
    """A checkpoint from before specs (no "net"): the spec of its config's sizes and its renamed weights."""
    saved = checkpoint["config"]
    sizes = {k: (int(saved[k]) if saved.get(k) is not None else None) for k in SIZE_FIELDS}
    spec = complete_spec(network_spec(game, Config(**sizes)))
    return spec, upgrade_policy_value_weights(checkpoint["model"], len(encoder_for(game).shape) == 3)


def load_network(checkpoint: dict[str, Any], game: pyspiel.Game) -> PolicyValueNet:
    """A checkpoint's (or snapshot's) network, rebuilt from its saved spec alone."""
    shape, actions = encoder_for(game).shape, game.num_distinct_actions()
    return network_from_checkpoint(
        checkpoint, shape, actions, legacy=lambda c: legacy_network(c, game), network_class=PolicyValueNet
    )


def alphazero_loss(network: PolicyValueNet, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """(total, policy, value): cross-entropy to the visit distribution + MSE to the outcome."""
    logits, values = network(batch["obs"])
    policy_loss = -(batch["policies"] * F.log_softmax(logits.float(), dim=-1)).sum(-1).mean()
    value_loss = F.mse_loss(values.float(), batch["values"])
    return policy_loss + value_loss, policy_loss, value_loss


def puct_player(
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


class PolicyHeadPlayer:
    """`sims=0`: the policy head's most probable legal move, no search (the raw policy, as in the papers'
    "raw network" rows); `policy` is the masked softmax."""

    def __init__(self, evaluator: NetworkEvaluator) -> None:
        self.evaluator = evaluator

    def reset(self, game: pyspiel.Game, player_id: int, seed: int) -> None:
        pass

    def policy(self, state: pyspiel.State) -> np.ndarray:
        return self.evaluator.evaluate([state])[0][0]

    def act(self, state: pyspiel.State) -> int:
        return int(np.argmax(self.policy(state)))


def train(config: Config, env: Any, checkpoint: dict | None = None) -> dict:
    """Self-play and learn on `env`; returns the run's summary (folder, checkpoint, final evaluation)."""
    game = check_game(env)
    config = with_game_defaults(config, game)
    network_spec(game, config)  # a bad --net fails before anything runs
    if checkpoint is not None and "net" not in checkpoint:  # a run from before specs
        spec, weights = legacy_network(checkpoint, game)
        checkpoint = {**checkpoint, "net": spec, "model": weights}
    if config.workers < 0:
        raise UsageError("--workers must be 0 (self-play in this process) or more")
    if config.max_restarts < 0:
        raise UsageError("--max-restarts must be 0 or more")
    if config.workers:
        check_backend(config.backend)
    rng = seed_everything(config.seed, config.threads)
    device = resolve_device(config.device)
    run = TrainingRun("alphazero", config, env, checkpoint, outcome_kind="win_rate")
    network = make_network(game, config).to(device)
    if checkpoint is not None and complete_spec(checkpoint["net"]) != network.spec:
        raise UsageError(f"--net and its sizes cannot change on --resume (the run has {checkpoint['net']})")
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    symmetries = symmetries_for(game, encoder_for(game).shape) if config.augment else []
    buffer = PolicyValueBuffer(
        config.replay_size, encoder_for(game).shape, game.num_distinct_actions(), symmetries
    )
    opponent = f"mcts:{config.eval_mcts_simulations}"
    saved = run.restore(rng, model=network, optimizer=optimizer) or {}
    run.restore_buffer(buffer)
    train_steps = int(saved.get("train_steps", 0))
    seconds_before = float(saved.get("training_seconds", 0.0))
    elo = EloTracker(opponent, saved.get("elo"))

    snapshots = SnapshotStore(
        run.run_dir / "snapshots", elo.names[1:], load_network=lambda snapshot: load_network(snapshot, game)
    )

    def save() -> None:
        payload = {
            "model": network,
            "net": network.spec,
            "optimizer": optimizer,
            "train_steps": train_steps,
            "elo": elo.state(),
            "training_seconds": seconds_before + run.elapsed(),
        }
        run.save(payload, rng, buffer=buffer if config.save_buffer else None)

    def evaluate() -> dict:
        from league.arena import play_match

        player = puct_player(network, game, config.eval_simulations, config.c_puct, device, config.seed)
        result = evaluate_player(player, env, config.eval_games, opponent=opponent, seed=config.seed)
        log_evaluation(run, result, opponent)
        weights = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
        name = f"step_{run.step}"
        # a snapshot is a full checkpoint, its spec included: it plays anywhere a checkpoint does
        snapshots.add(name, run.full_checkpoint({"model": weights, "net": network.spec}))
        latest = elo.add(name, run.step, seconds_before + run.elapsed())
        elo.record(latest, 0, result)
        for k in range(max(1, latest - config.eval_snapshots), latest):
            snapshot = snapshots.network(elo.names[k])
            other = puct_player(snapshot, game, config.eval_simulations, config.c_puct, device, config.seed)
            games = max(2, config.eval_games // 2)
            match = play_match(game, [player, other], games=games, seed=run.step, batch_size=games)
            elo.record(latest, k, match.summary())
        ratings = elo.fit()
        run.log("eval/elo", ratings[latest])
        elo.write(run.run_dir / "elo.json")
        network.train()
        return result

    def learn() -> None:
        nonlocal train_steps
        network.train()
        for group in optimizer.param_groups:
            group["lr"] = cosine_schedule(
                config.learning_rate, config.final_learning_rate, config.steps, run.step
            )
        sample = buffer.sample(config.batch_size, rng)
        batch = {k: torch.from_numpy(v).to(device) for k, v in sample.items()}
        with autocast(device, config.amp):
            loss, policy, value = alphazero_loss(network, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        train_steps += 1
        if train_steps % 10 == 0:
            policy_loss, value_loss = float(policy.detach()), float(value.detach())
            run.check_finite("loss", policy_loss + value_loss)
            run.log("losses/policy_loss", policy_loss)
            run.log("losses/value_loss", value_loss)
            run.log("charts/learning_rate", optimizer.param_groups[0]["lr"])
            run.bar.set_postfix_str(
                f"games={run.episodes} pl={policy_loss:.3f} vl={value_loss:.3f}", refresh=False
            )

    def add_games(finished: list[GameExamples], speed: float) -> None:
        for obs, policies, values in finished:
            buffer.add(obs, policies, values)
            run.episodes += 1
            run.log("charts/episodic_length", len(values))
        if finished:
            run.log("selfplay/games", run.episodes)
            run.log("selfplay/sims_per_second", speed)

    def learning_due() -> bool:
        """Learn while the gradient samples so far fall short of samples_per_position per move played."""
        return (
            buffer.size >= config.min_replay
            and train_steps * config.batch_size < config.samples_per_position * run.step
        )

    actors = None
    if config.workers:
        seeds = [config.seed + 1000 * (k + 1) for k in range(config.workers)]
        actors = ActorPool(config.backend, self_play_actor, (config, network.spec), seeds,
                           (train_steps, numpy_weights(network)), max_restarts=config.max_restarts,
                           **({"address": config.address} if config.backend == "ray" else {}))
    selfplay = (
        None if actors else SelfPlay(game, NetworkEvaluator(network, game, device, config.amp), config, rng)
    )
    last_eval, last_result = run.step, None
    started = time.time()
    try:
        while not run.should_stop():
            if actors is None:
                finished = selfplay.play_move()
                add_games(finished, selfplay.simulations_per_second)
                run.advance(len(selfplay.states))
                while learning_due():
                    learn()
            else:
                emitted = actors.results(timeout=0.0 if learning_due() else 0.2)
                finished = [e.item[0] for e in emitted]
                add_games(finished, emitted[-1].item[1] if emitted else 0.0)
                run.advance(sum(len(values) for _, _, values in finished))
                for _ in range(config.publish_every):
                    if not learning_due():
                        break
                    learn()
                    if train_steps % config.publish_every == 0:
                        actors.publish(train_steps, numpy_weights(network))
            if config.eval_every > 0 and run.step - last_eval >= config.eval_every:
                last_eval, last_result = run.step, evaluate()
            if run.due_for_checkpoint():
                save()
    except ActorFailed as error:
        save()
        raise TrainingStopped(
            f"{error}; the run's checkpoint is saved: continue with --resume {run.run_dir}"
        ) from None
    finally:
        if actors is not None:
            actors.close()

    save()
    if last_result is None or last_eval != run.step:
        last_result = evaluate()
        save()
    result = last_result
    run.close()
    return run.summary(
        games=run.episodes,
        train_steps=train_steps,
        selfplay_seconds=round(time.time() - started, 1),
        eval_opponent=opponent,
        elo=round(elo.ratings[-1], 1),
        **({"actor_restarts": actors.restarts} if actors is not None else {}),
        **headline(result),
    )


def load_player(
    checkpoint: dict, env: Any, device: str = "cpu", **options: str
) -> PUCTPlayer | PolicyHeadPlayer:
    """PUCT with the checkpoint's network at its `eval_simulations` (option `sims=N`), greedy; `sims=0`
    plays the policy head's top move with no search."""
    unknown = set(options) - {"sims", "c_puct"}
    if unknown:
        raise UsageError(f"alphazero players take sims= and c_puct=, not {', '.join(sorted(unknown))}")
    saved = checkpoint["config"]
    game = check_game(env)
    try:
        simulations = int(options.get("sims", saved.get("eval_simulations", 50)))
        c_puct = float(options.get("c_puct", saved.get("c_puct", 1.25)))
    except ValueError:
        raise UsageError(f"alphazero player options must be numbers: {options}") from None
    if simulations < 0:
        raise UsageError("sims= must be 0 (the policy head's top move) or more")
    network = load_network(checkpoint, game)
    if simulations == 0:
        return PolicyHeadPlayer(NetworkEvaluator(network.to(device).eval(), game, device))
    return puct_player(network, game, simulations, c_puct, device)
