"""AlphaStar's actor-critic, part one: an LSTM policy and value over each player's information state,
learned on fixed-length unrolls with V-trace, UPGO, TD(lambda), an entropy bonus and a KL penalty toward
a fixed reference policy (Vinyals et al. 2019; the estimators are agents/returns.py's).

Self-play (this part): B games of a two-player OpenSpiel game advance together; at every step the
players to move are answered with one network call, each seat carrying its own LSTM state through its
own decision points (reset at the start of each game). Each seat of each game is a stream of
transitions (its information-state tensor, legal mask, action, the action's probability under the
acting policy, the reward that reached it before its next decision, discount 0 where its game ended);
every `unroll_length` transitions, with the next observation to bootstrap from and the LSTM state at the
unroll's start, make one unroll. A learner step takes `batch_size` unrolls, runs the network (and the
reference, from its own carried state) over them, and minimises

    policy_weight * V-trace policy gradient + upgo_weight * UPGO policy gradient
    + value_weight * 0.5 * (TD(lambda) target - V)^2 - entropy_weight * entropy + kl_weight * KL(pi || ref)

with Adam (beta1 = 0, as AlphaStar). The acting policy lags the learner by the unrolls already in flight,
which V-trace corrects. The reference is the initial policy (the default; AlphaStar's is a supervised
one). The league (league/league.py) chooses the opponents in part two.

The player (`load_player`): the LSTM policy, sampling (a mixed strategy) by default; `policy(state)` is
its action probabilities at its next decision, so `run.py eval CKPT --exploitability` tabulates it
(agents/exploitability.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.nets.spec import SpecNetwork, network_from_checkpoint
from agents.returns import entropy, kl_to_reference, td_lambda_targets, upgo_returns, vtrace
from agents.training import TrainConfig, TrainingRun, resolve_device, seed_everything
from envs import is_game
from envs.errors import UsageError
from envs.turn_based import acting_seat, require_sequential, sample_chance

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
    max_grad_norm: float = 10.0
    eval_every: int = 0
    """environment steps between NashConv evaluations (0: only at the end; small games only)"""
    play_sampled: bool = True
    """the checkpoint's player samples its actions (a mixed strategy), as evaluations need"""


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
    require_sequential(env, "alphastar (part one)")
    if env.num_players() != 2 or not env.get_type().provides_information_state_tensor:
        raise UsageError("alphastar needs a two-player game with information-state tensors")
    return env


def observation(state: Any, seat: int) -> np.ndarray:
    return np.asarray(state.information_state_tensor(seat), dtype=np.float32)


class SelfPlay:
    """B games at once, both seats played (and learned from) by the acting network; see the docstring."""

    def __init__(self, game: Any, network: SpecNetwork, reference: SpecNetwork, config: Config,
                 rng: np.random.Generator) -> None:
        self.game, self.network, self.reference, self.config, self.rng = game, network, reference, config, rng
        self.num_actions = game.num_distinct_actions()
        B = config.games_in_parallel
        self.states = [self._new_game() for _ in range(B)]
        self.net_state = network.initial_state(2 * B)  # stream k = 2 * game + seat
        self.ref_state = reference.initial_state(2 * B)
        self.start_of_game = np.ones(2 * B, dtype=bool)
        self.streams: list[list[dict[str, Any]]] = [[] for _ in range(2 * B)]
        self.unroll_start: list[tuple[torch.Tensor, ...]] = [self._state_of(k) for k in range(2 * B)]
        self.returns: list[float] = []

    def _new_game(self) -> Any:
        state = self.game.new_initial_state()
        while state.is_chance_node():
            state.apply_action(sample_chance(state, self.rng))
        return state

    def _state_of(self, k: int) -> tuple[torch.Tensor, ...]:
        h, c = self.net_state
        rh, rc = self.ref_state
        return h[:, k].clone(), c[:, k].clone(), rh[:, k].clone(), rc[:, k].clone()

    def step(self) -> list[dict[str, Any]]:
        """One decision in every game; returns the unrolls completed."""
        movers = [(g, state.current_player()) for g, state in enumerate(self.states)]
        streams = [2 * g + p for g, p in movers]
        obs = torch.from_numpy(np.stack([observation(self.states[g], p) for g, p in movers]))
        masks = torch.zeros(len(movers), self.num_actions, dtype=torch.bool)
        for i, (g, p) in enumerate(movers):
            masks[i, self.states[g].legal_actions(p)] = True
        starts = torch.from_numpy(self.start_of_game[streams])
        index = torch.tensor(streams)
        done: list[dict[str, Any]] = []
        for i, k in enumerate(streams):  # an unroll is complete when its stream needs a new transition
            if len(self.streams[k]) == self.config.unroll_length:
                done.append(self._unroll(k, obs[i], masks[i], bool(starts[i])))
        with torch.inference_mode():
            state = (self.net_state[0][:, index], self.net_state[1][:, index])
            out = self.network(obs[None], action_mask=masks[None], state=state, starts=starts[None])
            ref_state = (self.ref_state[0][:, index], self.ref_state[1][:, index])
            ref = self.reference(obs[None], action_mask=masks[None], state=ref_state, starts=starts[None])
        self.net_state[0][:, index], self.net_state[1][:, index] = out.state
        self.ref_state[0][:, index], self.ref_state[1][:, index] = ref.state
        probabilities = torch.softmax(out.policy_logits[0].float(), dim=-1).numpy().astype(np.float64)
        for i, (g, _) in enumerate(movers):
            k = streams[i]
            row = probabilities[i] / probabilities[i].sum()
            action = int(self.rng.choice(self.num_actions, p=row))
            self.streams[k].append({"obs": obs[i], "mask": masks[i], "action": action,
                                    "log_prob": float(np.log(row[action])), "reward": 0.0,
                                    "discount": self.config.gamma, "start": bool(starts[i])})
            self.start_of_game[k] = False
            state = self.states[g]
            state.apply_action(action)
            while state.is_chance_node():
                state.apply_action(sample_chance(state, self.rng))
            if state.is_terminal():
                for seat, value in enumerate(state.returns()):
                    last = self.streams[2 * g + seat]
                    if last:
                        last[-1]["reward"] += float(value)
                        last[-1]["discount"] = 0.0
                    self.start_of_game[2 * g + seat] = True
                self.returns.append(float(state.returns()[0]))
                self.states[g] = self._new_game()
        return done

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
        }
        self.streams[k] = []
        self.unroll_start[k] = self._state_of(k)  # the state before the next transition
        return unroll


def collate(unrolls: list[dict[str, Any]], device: torch.device) -> dict[str, Any]:
    """Unrolls -> time-major tensors [T(+1), B, ...] and LSTM states [layers, B, H]."""
    batch = {key: torch.stack([u[key] for u in unrolls], dim=1).to(device)
             for key in ("obs", "mask", "starts", "actions", "log_probs", "rewards", "discounts")}
    for key in ("state", "ref_state"):
        batch[key] = tuple(torch.stack([u[key][i] for u in unrolls], dim=1).to(device) for i in range(2))
    return batch


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


def train(config: Config, env: Any, checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Self-play on `env`; returns the run's summary."""
    game = check_game(env)
    for name in ("unroll_length", "batch_size", "games_in_parallel", "memory_size"):
        if getattr(config, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    rng = seed_everything(config.seed, config.threads)
    device = resolve_device(config.device)
    spec = checkpoint["net"] if checkpoint is not None else network_spec(config)
    shape = tuple(game.information_state_tensor_shape())
    network = SpecNetwork(spec, shape, game.num_distinct_actions()).to(device)
    reference = copy.deepcopy(network).eval()
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate,
                                 betas=(config.adam_beta1, config.adam_beta2))
    run = TrainingRun(ALGORITHM, config, env, checkpoint, outcome_kind="return")
    run.restore(rng, model=network, reference=reference, optimizer=optimizer)
    updates = int(checkpoint.get("updates", 0)) if checkpoint is not None else 0
    acting = copy.deepcopy(network).cpu().eval()
    selfplay = SelfPlay(game, acting, copy.deepcopy(reference).cpu(), config, rng)
    pending: list[dict[str, Any]] = []
    last_eval = run.step

    def save() -> None:
        run.save({"model": network, "net": network.spec, "reference": reference, "optimizer": optimizer,
                  "updates": updates}, rng)

    def evaluate() -> float:
        from agents.exploitability import nash_conv

        value = nash_conv(game, AlphaStarPlayer(copy.deepcopy(network).cpu(), game))
        run.log("eval/nash_conv", value)
        return value

    while not run.should_stop():
        pending += selfplay.step()
        run.advance(config.games_in_parallel)
        for episodic_return in selfplay.returns:
            run.record_episode(episodic_return, 0)
        selfplay.returns = []
        while len(pending) >= config.batch_size:
            batch, pending = collate(pending[: config.batch_size], device), pending[config.batch_size :]
            network.train()
            loss, parts = alphastar_loss(network, reference, batch, config)
            run.check_finite("loss", float(loss.detach()))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), config.max_grad_norm)
            optimizer.step()
            updates += 1
            acting.load_state_dict(network.state_dict())
            if updates % 10 == 0:
                for name, part in parts.items():
                    run.log(f"losses/{name}", part)
        if config.eval_every > 0 and run.step - last_eval >= config.eval_every:
            last_eval = run.step
            evaluate()
        if run.due_for_checkpoint():
            save()
    save()
    figures: dict[str, Any] = {"updates": updates}
    try:
        figures["nash_conv"] = round(evaluate(), 4)
    except UsageError:
        pass
    run.close()
    return run.summary(**figures)


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

