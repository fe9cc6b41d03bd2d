"""AlphaStar's actor-critic, part one: an LSTM policy and value over each player's information state,
learned on fixed-length unrolls with V-trace, UPGO, TD(lambda), an entropy bonus and a KL penalty toward
a fixed reference policy (Vinyals et al. 2019; the estimators are agents/returns.py's).

Self-play (agents/unrolls.py's `Matches`): B games of a two-player OpenSpiel game advance together; at
every step the players to move (at a simultaneous node both seats, each from its own information state)
are answered with one network call, each seat carrying its own LSTM state through its own decision
points (reset at the start of each game). Each seat of each game is a stream of
transitions (its information-state tensor, legal mask, action, the action's probability under the
acting policy, the reward that reached it before its next decision, discount 0 where its game ended);
every `unroll_length` transitions, with the next observation to bootstrap from and the LSTM state at the
unroll's start, make one unroll. A learner step takes `batch_size` unrolls, runs the network (and the
reference, from its own carried state) over them, and minimises

    policy_weight * V-trace policy gradient + upgo_weight * UPGO policy gradient
    + value_weight * 0.5 * (TD(lambda) target - V)^2 - entropy_weight * entropy + kl_weight * KL(pi || ref)

with Adam (beta1 = 0, as AlphaStar). The acting policy lags the learner by the unrolls already in flight,
which V-trace corrects. The reference is the initial policy (the default), or with `--reference PLAYER`
a policy cloned from that player's games (agents/cloning.py; AlphaStar's is supervised on human games),
which the learners then start from. The league (league/league.py) chooses the opponents in part two.

The player (`load_player`): the LSTM policy, sampling (a mixed strategy) by default; `policy(state)` is
its action probabilities at its next decision, so `run.py eval CKPT --exploitability` tabulates it
(agents/exploitability.py).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from agents.nets.spec import SpecNetwork, network_from_checkpoint
from agents.returns import entropy, kl_to_reference, td_lambda_targets, upgo_returns, vtrace
from agents.training import TrainConfig, TrainingRun, TrainingStopped, resolve_device, seed_everything
from agents.unrolls import Matches, collate, observation
from envs import is_game
from envs.errors import UsageError
from envs.turn_based import acting_seat
from league.actors import ActorFailed, ActorPool, check_backend, numpy_weights

ALGORITHM = "alphastar"


@dataclass(frozen=True)
class Config(TrainConfig):
    env: str = "kuhn_poker"
    steps: int = 1_000_000
    """environment steps (decisions of both seats)"""
    hidden_sizes: tuple[int, ...] = (64,)
    """the MLP encoder of the information-state tensor"""
    memory_size: int = 64
    """the LSTM core's hidden size"""
    unroll_length: int = 8
    """transitions per unroll (the LSTM state is carried from one unroll of a stream to its next)"""
    batch_size: int = 32
    """unrolls per learner step"""
    games_in_parallel: int = 64
    """games played at once; one network call answers every player to move"""
    learning_rate: float = 1e-3
    adam_beta1: float = 0.0
    """Adam's beta1 (AlphaStar: 0)"""
    adam_beta2: float = 0.99
    gamma: float = 1.0
    td_lambda: float = 0.8
    """lambda of the TD(lambda) value targets (AlphaStar: 0.8)"""
    clip_rho: float = 1.0
    """V-trace's clip of the importance weights (IMPALA: 1)"""
    policy_weight: float = 1.0
    upgo_weight: float = 1.0
    value_weight: float = 1.0
    """AlphaStar's 10 is for its reward scale; returns here are of order 1"""
    entropy_weight: float = 0.01
    """AlphaStar's 1e-4 is for a long game with a supervised start; small games from scratch need more"""
    kl_weight: float = 2e-3
    """the KL penalty toward the reference policy (the initial one; AlphaStar: 2e-3)"""
    reference: str | None = None
    """a player (any player name: mcts:200, a checkpoint, ...) whose self-play games the KL reference is
    cloned from (agents/cloning.py); the learners start from the clone too, as AlphaStar's start from its
    supervised agent. Unset: the initial policy"""
    reference_games: int = 2000
    """games of --reference recorded for the clone"""
    reference_steps: int = 600
    """Adam steps fitting the clone (64 of the recorded sequences each)"""
    reward_scale: float = 1.0
    """the learner's rewards are the game's returns times this (e.g. 0.02 for matrix_brps' payoffs of 50)"""
    max_grad_norm: float = 10.0
    eval_every: int = 0
    """environment steps between NashConv evaluations (0: only at the end; small games only)"""
    play_sampled: bool = True
    """the checkpoint's player samples its actions (a mixed strategy), as evaluations need"""
    league: bool = False
    """train a league (league/league.py: a main agent, main and league exploiters, frozen snapshots chosen
    by PFSP) instead of plain self-play; the budget (--steps) counts every learner's games"""
    main_exploiters: int = 1
    league_exploiters: int = 2
    league_min_steps: int = 20_000
    """a learner's decisions between two of its checkpoints into the league, at least (DeepMind: 2e9)"""
    league_max_steps: int = 60_000
    """... at most, whatever it wins (DeepMind: 4e9)"""
    workers: int = 0
    """actors playing the self-play games (0: this process plays and learns in turn); not with --league yet"""
    backend: Literal["local", "ray"] = "local"
    """where the --workers actors run (league/actors.py): processes of this machine, or a Ray cluster"""
    max_restarts: int = 3
    """actor deaths the run survives"""


def network_spec(config: Config) -> dict[str, Any]:
    """An MLP encoder, an LSTM core, a policy and a value head."""
    sizes = list(config.hidden_sizes)
    return {
        "encoder": {"kind": "mlp", "hidden_sizes": sizes[:-1], "out_size": sizes[-1]},
        "core": {"kind": "lstm", "hidden_size": config.memory_size, "num_layers": 1},
        "heads": {"policy": {}, "value": {}},
    }


def check_game(env: Any) -> Any:
    if not is_game(env):
        raise UsageError("alphastar learns here on OpenSpiel games (kuhn_poker, leduc_poker, ...)")
    if env.num_players() != 2 or not env.get_type().provides_information_state_tensor:
        raise UsageError("alphastar needs a two-player game with information-state tensors")
    return env


def alphastar_loss(network: SpecNetwork, reference: SpecNetwork, batch: dict[str, Any],
                   config: Config) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of one batch of unrolls (see the module's docstring) and its parts."""
    out = network(batch["obs"], action_mask=batch["mask"], state=batch["state"], starts=batch["starts"])
    with torch.no_grad():
        ref = reference(batch["obs"], action_mask=batch["mask"], state=batch["ref_state"],
                        starts=batch["starts"])
    logits, values = out.policy_logits[:-1].float(), out.value.float()
    log_probs = torch.log_softmax(logits, dim=-1).gather(-1, batch["actions"].unsqueeze(-1)).squeeze(-1)
    value, bootstrap = values[:-1], values[-1].detach()
    rewards, discounts = batch["rewards"].float(), batch["discounts"].float()
    vs, advantages = vtrace(batch["log_probs"].float(), log_probs.detach(), rewards, discounts,
                            value.detach(), bootstrap, clip_rho=config.clip_rho)
    rho = torch.exp(log_probs.detach() - batch["log_probs"].float()).clamp(max=config.clip_rho)
    upgo = upgo_returns(rewards, discounts, value.detach(), bootstrap)
    targets = td_lambda_targets(rewards, discounts, value.detach(), bootstrap, config.td_lambda)
    policy_loss = -(advantages * log_probs).mean()
    upgo_loss = -((upgo - value.detach()) * rho * log_probs).mean()
    value_loss = 0.5 * ((targets - value) ** 2).mean()
    entropy_bonus = entropy(logits).mean()
    kl = kl_to_reference(logits, ref.policy_logits[:-1].float()).mean()
    loss = (config.policy_weight * policy_loss + config.upgo_weight * upgo_loss
            + config.value_weight * value_loss - config.entropy_weight * entropy_bonus
            + config.kl_weight * kl)
    parts = {"policy_loss": policy_loss, "upgo_loss": upgo_loss, "value_loss": value_loss,
             "entropy": entropy_bonus, "kl_to_reference": kl, "vtrace_target": vs.mean()}
    return loss, {name: float(value.detach()) for name, value in parts.items()}


def self_play_actor(setup: tuple[Config, dict[str, Any], dict[str, np.ndarray]], seed: int,
                    source: Any) -> Iterator[tuple[int, Any]]:
    """An actor of the actor layer (league/actors.py): self-play games, yielding `(version, (unrolls,
    episode returns, steps))` whenever unrolls are complete. It takes the newest weights between steps,
    not only between games: every transition records the probability its acting policy gave the action,
    which is all V-trace needs (IMPALA's actors take new weights between unrolls)."""
    import envs

    config, spec, reference_weights = setup
    game = check_game(envs.make(config.env))
    torch.manual_seed(seed)
    shape, num_actions = tuple(game.information_state_tensor_shape()), game.num_distinct_actions()
    network, reference = SpecNetwork(spec, shape, num_actions).eval(), SpecNetwork(spec, shape, num_actions)
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in reference_weights.items()})
    matches = Matches(game, {"self": network}, reference.eval(), config, np.random.default_rng(seed),
                      ["self"] * config.games_in_parallel)
    seen, steps = None, 0
    while True:
        version, weights = source.latest()
        if version != seen:
            network.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
            seen = version
        unrolls = matches.step()
        steps += config.games_in_parallel
        if unrolls:  # as numpy arrays: plain data through any backend's pipe
            plain = [{key: (tuple(t.numpy() for t in value) if isinstance(value, tuple) else
                            value.numpy() if isinstance(value, torch.Tensor) else value)
                      for key, value in unroll.items()} for unroll in unrolls]
            yield version, (plain, matches.returns, steps)
            matches.returns, steps = [], 0


def train(config: Config, env: Any, checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Self-play, or a league with `--league`, on `env`; returns the run's summary."""
    from league.league import League, LeagueConfig

    game = check_game(env)
    for name in ("unroll_length", "batch_size", "games_in_parallel", "memory_size"):
        if getattr(config, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if config.reward_scale <= 0:
        raise UsageError("--reward-scale must be above 0")
    if config.workers < 0 or (config.workers and config.league):
        raise UsageError("--workers must be 0 or more, and 0 with --league (a league plays in this process)")
    if config.workers:
        check_backend(config.backend)
    rng = seed_everything(config.seed, config.threads)
    device = resolve_device(config.device)
    spec = checkpoint["net"] if checkpoint is not None else network_spec(config)
    shape, num_actions = tuple(game.information_state_tensor_shape()), game.num_distinct_actions()
    initial, cloned = SpecNetwork(spec, shape, num_actions), {}
    if checkpoint is not None:
        initial.load_state_dict(checkpoint["reference"])
    elif config.reference is not None:
        from agents.cloning import clone_player

        if config.reference_games < 10 or config.reference_steps < 1:
            raise UsageError("--reference-games must be at least 10 and --reference-steps at least 1")
        initial, cloned = clone_player(game, config.reference, spec, config.reference_games,
                                       config.reference_steps, seed=config.seed)
    reference = copy.deepcopy(initial).to(device).eval()
    league = None
    if config.league:
        sizes = LeagueConfig(1, config.main_exploiters, config.league_exploiters, config.league_min_steps,
                             config.league_max_steps)
        league = League(sizes, seed=config.seed)
        if checkpoint is not None:
            league = League.from_state(checkpoint["league"])
    learners = league.learning() if league is not None else ["self"]
    main = learners[0]
    networks = {name: copy.deepcopy(initial).to(device) for name in learners}

    def adam(network: SpecNetwork) -> torch.optim.Adam:
        return torch.optim.Adam(network.parameters(), lr=config.learning_rate,
                                betas=(config.adam_beta1, config.adam_beta2))

    optimizers = {name: adam(networks[name]) for name in learners}
    run = TrainingRun(ALGORITHM, config, env, checkpoint, outcome_kind="return")
    run.restore(rng, model=networks[main], optimizer=optimizers[main])
    acting = {name: copy.deepcopy(net).cpu().eval() for name, net in networks.items()}
    if checkpoint is not None and league is not None:
        for name in learners[1:]:
            networks[name].load_state_dict(checkpoint["learners"][name])
            optimizers[name].load_state_dict(checkpoint["optimizers"][name])
        for name, weights in checkpoint["frozen"].items():
            acting[name] = copy.deepcopy(initial).eval()
            acting[name].load_state_dict(weights)
        for name in learners:
            acting[name].load_state_dict(networks[name].state_dict())
    elif league is not None:
        for name in league.frozen():  # the main agent's initial weights, frozen
            acting[name] = copy.deepcopy(initial).eval()
    updates = int(checkpoint.get("updates", 0)) if checkpoint is not None else 0

    def matchmaker(home: str) -> tuple[str, bool]:
        if league is None:
            return home, True
        match = league.get_match(home)
        return match.away, match.selfplay

    homes = [learners[g % len(learners)] for g in range(config.games_in_parallel)]
    matches = Matches(game, acting, copy.deepcopy(reference).cpu(), config, rng, homes, matchmaker)
    pending: dict[str, list[dict[str, Any]]] = {name: [] for name in learners}
    last_eval = run.step

    def save() -> None:
        payload: dict[str, Any] = {"model": networks[main], "net": networks[main].spec, "reference": initial,
                                   "optimizer": optimizers[main], "updates": updates}
        if league is not None:
            payload |= {"league": league.state(),
                        "learners": {name: networks[name].state_dict() for name in learners[1:]},
                        "optimizers": {name: optimizers[name].state_dict() for name in learners[1:]},
                        "frozen": {name: acting[name].state_dict() for name in league.frozen()}}
            save_league_players(run, league, acting)
        run.save(payload, rng)

    def evaluate() -> float:
        from agents.exploitability import nash_conv

        value = nash_conv(game, AlphaStarPlayer(copy.deepcopy(networks[main]).cpu(), game))
        run.log("eval/nash_conv", value)
        return value

    def learn(name: str) -> None:
        nonlocal updates
        batch = collate(pending[name][: config.batch_size], device)
        del pending[name][: config.batch_size]
        network = networks[name]
        network.train()
        loss, parts = alphastar_loss(network, reference, batch, config)
        run.check_finite("loss", float(loss.detach()))
        optimizers[name].zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), config.max_grad_norm)
        optimizers[name].step()
        acting[name].load_state_dict(network.state_dict())
        updates += 1
        if updates % 10 == 0:
            for part, value in parts.items():
                run.log(f"losses/{name}/{part}" if league is not None else f"losses/{part}", value)

    actors = None
    if config.workers:
        seeds = [config.seed + 1000 * (k + 1) for k in range(config.workers)]
        setup = (config, networks[main].spec, numpy_weights(initial))
        actors = ActorPool(config.backend, self_play_actor, setup, seeds,
                           (updates, numpy_weights(networks[main])), max_restarts=config.max_restarts)

    def play() -> None:
        """One step of every game here, or what the actors finished since the last call."""
        if actors is None:
            for unroll in matches.step():
                pending[unroll["learner"]].append(unroll)
            run.advance(config.games_in_parallel)
            finished, matches.returns = matches.returns, []
        else:
            finished = []
            for emitted in actors.results(timeout=0.5):
                unrolls, returns, steps = emitted.item
                pending[main] += unrolls
                finished += returns
                run.advance(steps)
        for episodic_return in finished:
            run.record_episode(episodic_return, 0)
        for home, away, value, moves in matches.finished:
            if league is not None:
                league.update(home, away, "win" if value > 0 else ("loss" if value < 0 else "draw"))
                league.add_steps(home, moves)
        matches.finished = []

    try:
        while not run.should_stop():
            play()
            for name in learners:
                while len(pending[name]) >= config.batch_size:
                    learn(name)
                    if actors is not None:
                        actors.publish(updates, numpy_weights(networks[name]))
                if league is not None and league.ready_to_checkpoint(name):
                    frozen = league.checkpoint(name)
                    acting[frozen.frozen] = copy.deepcopy(acting[name])
                    if frozen.reset:  # back to the initial weights, with a fresh optimizer
                        networks[name].load_state_dict(initial.state_dict())
                        optimizers[name] = adam(networks[name])
                        acting[name].load_state_dict(initial.state_dict())
                    run.log("league/players", len(league.players))
            if config.eval_every > 0 and run.step - last_eval >= config.eval_every:
                last_eval = run.step
                evaluate()
            if run.due_for_checkpoint():
                save()
    except ActorFailed as error:
        save()
        raise TrainingStopped(
            f"{error}; the run's checkpoint is saved: continue with --resume {run.run_dir}") from None
    finally:
        if actors is not None:
            actors.close()
    save()
    figures: dict[str, Any] = {"updates": updates, **cloned}
    if actors is not None:
        figures["actor_restarts"] = actors.restarts
    try:
        figures["nash_conv"] = round(evaluate(), 4)
        if league is not None:  # the Nash mixture of the frozen players, by their exact expected returns
            from agents.exploitability import meta_nash

            frozen = {name: AlphaStarPlayer(acting[name], game) for name in league.frozen()}
            weights, value = meta_nash(game, frozen)
            figures["mixture_nash_conv"] = round(value, 4)
            run.log("eval/mixture_nash_conv", value)
            (run.run_dir / "meta_nash.json").write_text(json.dumps(weights, indent=1))
    except UsageError:
        pass
    if league is not None:
        figures["league_frozen"] = len(league.frozen())
    run.close()
    return run.summary(**figures)


def save_league_players(run: TrainingRun, league: Any, acting: dict[str, SpecNetwork]) -> None:
    """Each player of the league as a checkpoint that plays anywhere: RUN/league/<learner>/ckpt/latest.pt
    and RUN/league/snapshots/<frozen>.pt (written once)."""
    from agents.checkpoint import save_checkpoint

    root = run.run_dir / "league"
    for name in league.learning():
        path = root / name / "ckpt" / "latest.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(path, run.full_checkpoint({"model": acting[name], "net": acting[name].spec}))
    for name in league.frozen():
        path = root / "snapshots" / f"{name}.pt"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(path, run.full_checkpoint({"model": acting[name], "net": acting[name].spec}))


class AlphaStarPlayer:
    """The LSTM policy as a player: its memory follows its own decisions in a game (reset at `reset`)."""

    def __init__(self, network: SpecNetwork, env: Any, device: str = "cpu", sample: bool = True,
                 seed: int = 0) -> None:
        self.network = network.to(device).eval()
        self.game, self.sample, self.seat = env, sample, 0
        self.rng = np.random.default_rng(seed)
        self.state = self.network.initial_state(1, device)

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.seat, self.rng = player_id, np.random.default_rng(seed)
        self.state = self.network.initial_state(1, next(self.network.parameters()).device)

    def policy(self, state: Any) -> np.ndarray:
        """Action probabilities at this decision (the memory advances by one step)."""
        seat = acting_seat(state, self.seat)
        device = next(self.network.parameters()).device
        obs = torch.from_numpy(observation(state, seat)).to(device)[None, None]
        mask = torch.zeros(1, 1, self.game.num_distinct_actions(), dtype=torch.bool, device=device)
        mask[0, 0, state.legal_actions(seat)] = True
        with torch.inference_mode():
            out = self.network(obs, action_mask=mask, state=self.state)
        self.state = out.state
        probabilities = torch.softmax(out.policy_logits[0, 0].float(), dim=-1).cpu().numpy()
        return probabilities.astype(np.float64) / probabilities.sum()

    def act(self, state: Any) -> int:
        probabilities = self.policy(state)
        if self.sample:
            return int(self.rng.choice(len(probabilities), p=probabilities))
        return int(np.argmax(probabilities))


def load_player(checkpoint: dict[str, Any], env: Any, device: str = "cpu", **options: str) -> AlphaStarPlayer:
    """The checkpoint's LSTM policy; option `sample=true|false` (default: the run's `play_sampled`)."""
    unknown = set(options) - {"sample"}
    if unknown:
        raise UsageError(f"alphastar players take sample=, not {', '.join(sorted(unknown))}")
    game = check_game(env)
    default = str(checkpoint["config"].get("play_sampled", True))
    sample = options.get("sample", default).lower() in ("true", "1")
    network = network_from_checkpoint(checkpoint, tuple(game.information_state_tensor_shape()),
                                      game.num_distinct_actions())
    return AlphaStarPlayer(network, game, device, sample=sample)



class MixturePlayer:
    """A population mixed by weight, as a league's meta-Nash mixture plays: one member drawn per game
    (`act`), which is what a mixture of behaviour policies is. `policy(state)` gives the mixture's
    probabilities at the player's next decision: each member weighted by its weight times its probability
    of the player's own earlier actions in this game (reach weighting; not the members' plain average)."""

    def __init__(self, members: dict[str, Any], weights: dict[str, float], seed: int = 0) -> None:
        self.names = [name for name in members if weights.get(name, 0.0) > 0]
        if not self.names:
            raise UsageError("the mixture gives no weight to any player")
        self.members = [members[name] for name in self.names]
        self.weights = np.array([weights[name] for name in self.names], dtype=np.float64)
        self.weights /= self.weights.sum()
        self.rng = np.random.default_rng(seed)
        self.reset(None, 0, seed)

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.chosen = self.members[int(self.rng.choice(len(self.members), p=self.weights))]
        for member in self.members:
            member.reset(game, player_id, seed)
        self.posterior = self.weights.copy()
        self.last: tuple[int, np.ndarray] | None = None  # (history length, members' probabilities)

    def act(self, state: Any) -> int:
        return self.chosen.act(state)

    def policy(self, state: Any) -> np.ndarray:
        if self.last is not None:  # the action this player took at its previous decision
            length, previous = self.last
            action = state.history()[length]
            self.posterior = self.posterior * previous[:, action]
        rows = np.stack([member.policy(state) for member in self.members])
        self.last = (len(state.history()), rows)
        weights = self.posterior / self.posterior.sum() if self.posterior.sum() > 0 else self.weights
        mixed = weights @ rows
        return mixed / mixed.sum()


def league_player(run: str, options: dict[str, str], env: Any, seed: int) -> Any:
    """`league:RUN[,mixture=nash|main]`: a league run's meta-Nash mixture of its frozen players (the
    default, its weights from RUN/meta_nash.json, computed now if absent) or its main agent."""
    from pathlib import Path

    from agents.checkpoint import load_checkpoint

    unknown = set(options) - {"mixture"}
    if unknown:
        raise UsageError(f"league players take mixture=nash|main, not {', '.join(sorted(unknown))}")
    folder = Path(run)
    if not (folder / "league").is_dir():
        raise UsageError(f"{run!r} is not the folder of an alphastar --league run (no league/ inside)")
    if options.get("mixture", "nash") == "main":
        return load_player(load_checkpoint(folder / "league" / "main_0" / "ckpt" / "latest.pt"), env)
    members = {path.stem: load_player(load_checkpoint(path), env)
               for path in sorted((folder / "league" / "snapshots").glob("*.pt"))}
    weights_file = folder / "meta_nash.json"
    if weights_file.exists():
        weights = json.loads(weights_file.read_text())
    else:
        from agents.exploitability import meta_nash

        weights, _ = meta_nash(check_game(env), members)
    return MixturePlayer(members, weights, seed)
