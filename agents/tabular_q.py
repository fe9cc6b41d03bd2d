"""Tabular Q-learning, epsilon-greedy with a decaying epsilon: gymnasium envs and self-play games.

    q(s, a) += lr * (r + gamma * max_a' q(s', a') - q(s, a))

On a gymnasium env with a Discrete observation space the table is one row of action values per
observation. An episode that terminates ends the target (no bootstrap); one that is only truncated by a
time limit still bootstraps from where it stopped.

On a turn-based OpenSpiel game the learner plays every seat against itself. A decision is keyed by the
mover's view, `observation_string(player)` (the information state string where a game has no observation
string), with the mover's id in front, because OpenSpiel observations are not player-relative. Legal
actions mask the greedy choice, exploration and every max in a target; chance nodes are sampled. In
two-player zero-sum games of perfect information the target is negamax (Q-learning for alternating
Markov games, Littman 1994): when the next decision is the opponent's, its best value counts against the
mover, q(s, a) += lr * (r + gamma * (-max_a' q(s', a')) - q(s, a)), which converges to minimax play. In
other games each player learns on its own, from its next decision or the end of the game.

The defaults reach the results in docs/results.md given only the number of steps (Taxi-v3 is
deprecated in gymnasium 1.x; Taxi-v4 has the same dynamics):

    FrozenLake-v1 (4x4, slippery)   --steps 1000000
    FrozenLake8x8-v1 (slippery)     --steps 3000000
    Taxi-v4                         --steps 1000000
    tic_tac_toe (self-play)         --steps 1000000
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from agents.evaluation import evaluate_player, headline, log_evaluation
from agents.schedules import exponential_schedule, linear_schedule
from agents.training import TrainConfig, TrainingRun, seed_everything
from envs import is_game
from envs.errors import UsageError
from envs.spaces import require_discrete_actions
from envs.turn_based import acting_seat, require_sequential


@dataclass(frozen=True)
class Config(TrainConfig):
    """Tabular Q-learning. The defaults solve FrozenLake-v1; see the module's docstring for other envs."""

    env: str = "FrozenLake-v1"
    """a gymnasium id with Discrete observations and actions, an OpenSpiel game string, or module:factory"""
    steps: int = 1_000_000
    """environment steps to train for in total (moves of both sides, in games)"""
    checkpoint_every: int = 1_000_000
    """write ckpt/step_N.pt every this many steps"""
    learning_rate: float = 0.1
    """step size of the update at the start"""
    final_learning_rate_fraction: float = 0.1
    """the step size decays linearly to this fraction of its start by the last step"""
    gamma: float = 0.995
    """discount factor; close to 1 on FrozenLake8x8-v1, where the best policy at 0.99 succeeds only 86%"""
    start_epsilon: float = 1.0
    """exploration rate at the start"""
    end_epsilon: float = 0.05
    """exploration rate after the decay"""
    exploration_fraction: float = 0.5
    """fraction of the steps over which epsilon decays to end_epsilon"""
    epsilon_schedule: Literal["linear", "exponential"] = "linear"
    """linear, or exponential (halving the distance to end_epsilon every 1/7 of the decay)"""
    initial_q: float = 0.0
    """initial value of every q(s, a); above the best return, it makes untried actions look attractive"""
    selfplay_target: Literal["auto", "negamax", "per-player"] = "auto"
    """games: negamax (two-player zero-sum perfect information; auto picks it there) or per-player"""
    eval_episodes: int = 1000
    """episodes (games against random, seats alternating, on a game) of each greedy evaluation"""
    eval_every: int = 0
    """also evaluate every this many steps during training (0: only at the end)"""


SHAPE_FIELDS = ()

LOG_EVERY = 1000  # steps between writes of epsilon, learning rate and TD loss


# --- the Q-table ---------------------------------------------------------------------------------------
# Rows are Python lists of floats: on rows of 4 to 9 actions, list max/index beat numpy several times over.
# On a gym env the rows are indexed by the observation's number; on a game they live in a dict keyed by
# the mover's view. A checkpoint stores them as one float64 tensor plus the list of keys.


def observation_index(space: Any) -> tuple[int, Any]:
    """The number of distinct observations of a gym space and a function from observation to row."""
    from gymnasium import spaces

    if not isinstance(space, spaces.Discrete):
        raise UsageError(f"tabular Q needs a Discrete observation space, not {space}; try dqn")
    start = int(space.start)
    return int(space.n), (int if start == 0 else (lambda obs: int(obs) - start))


def state_key_function(game: Any) -> Any:
    """key(state, player): the mover's id and its view of the state, the Q-table's key on a game."""
    game_type = game.get_type()
    if game_type.provides_observation_string:
        return lambda state, player: f"{player}|{state.observation_string(player)}"
    if game_type.provides_information_state_string:
        return lambda state, player: f"{player}|{state.information_state_string(player)}"
    raise UsageError(f"game {game_type.short_name!r} provides no observation or information state string")


def table_payload(rows: list[list[float]], keys: list[str] | None, num_actions: int,
                  coin: random.Random) -> dict[str, Any]:
    """The learner's checkpoint data: the table as a float64 tensor [rows, actions], the key of each row
    (on a game) and the state of the hot loop's random numbers."""
    values = torch.tensor(rows, dtype=torch.float64).reshape(len(rows), num_actions)
    return {"q_values": values, "q_keys": keys or [], "coin": list(coin.getstate()[1])}


def greedy(row: list[float], legal: list[int], choose: Any) -> int:
    """The legal action with the highest value; ties broken by `choose(n) -> index`."""
    best = max(row[a] for a in legal)
    ties = [a for a in legal if row[a] == best]
    return ties[0] if len(ties) == 1 else ties[choose(len(ties))]


# --- the schedules -------------------------------------------------------------------------------------


def epsilon_at(config: Config, step: int) -> float:
    duration = config.exploration_fraction * config.steps
    if config.epsilon_schedule == "exponential":
        if duration <= 0:
            return config.end_epsilon
        return exponential_schedule(config.start_epsilon, config.end_epsilon, duration / 7, step)
    return linear_schedule(config.start_epsilon, config.end_epsilon, duration, step)


def learning_rate_at(config: Config, step: int) -> float:
    fraction = linear_schedule(1.0, config.final_learning_rate_fraction, config.steps, step)
    return config.learning_rate * fraction


# --- training ------------------------------------------------------------------------------------------


def train(config: Config, env: Any, checkpoint: dict | None = None) -> dict:
    """Train a Q-table on `env`; returns the run's summary (folder, checkpoint, final evaluation)."""
    game = is_game(env)
    if not game:
        require_discrete_actions(env.action_space)
        observation_index(env.observation_space)
    rng = seed_everything(config.seed, config.threads)
    coin = random.Random(int(rng.integers(2**63)))  # the hot loop's random numbers: fast, and saved
    run = TrainingRun("q", config, env, checkpoint, outcome_kind="win_rate" if game else "return")
    if checkpoint is not None:
        from agents.checkpoint import restore_rng

        restore_rng(rng, checkpoint["rng"])
        coin.setstate((3, tuple(checkpoint["coin"]), None))
    try:
        learn = learn_game if game else learn_gym
        player = learn(config, env, run, rng, coin, checkpoint)
        result = evaluate_player(player, env, config.eval_episodes)
        log_evaluation(run, result)
    finally:
        run.close()
    return run.summary(**headline(result))


def learn_gym(config: Config, env: Any, run: TrainingRun, rng: np.random.Generator, coin: random.Random,
              checkpoint: dict | None) -> TabularQPlayer:
    """Q-learning on a gymnasium env; returns the greedy player of the final table."""
    size, index = observation_index(env.observation_space)
    num_actions = int(env.action_space.n)
    if checkpoint is not None:
        rows = checkpoint["q_values"].tolist()
    else:
        rows = [[config.initial_q] * num_actions for _ in range(size)]
    evaluation_env = copy.deepcopy(env) if config.eval_every > 0 else None

    def save() -> None:
        env_rng = env.unwrapped.np_random.bit_generator.state
        run.save({**table_payload(rows, None, num_actions, coin), "env_rng": env_rng}, rng)

    seed: int | None = int(rng.integers(2**31))
    if checkpoint is not None:  # seed the env, then put its generator back where the run left it
        env.reset(seed=seed)
        env.unwrapped.np_random.bit_generator.state = checkpoint["env_rng"]
        seed = None
    gamma, actions, uniform, below = config.gamma, list(range(num_actions)), coin.random, coin.randrange
    squared_td, updates, next_log = 0.0, 0, run.step + LOG_EVERY
    next_eval = run.step + config.eval_every
    while not run.should_stop():
        epsilon, lr = epsilon_at(config, run.step), learning_rate_at(config, run.step)
        obs, _ = env.reset(seed=seed)
        seed, state = None, index(obs)
        budget, total, length, done = config.steps - run.step, 0.0, 0, False
        while not done and length < budget:
            row = rows[state]
            if uniform() < epsilon:
                action = below(num_actions)
            else:
                best = max(row)
                action = row.index(best) if row.count(best) == 1 else greedy(row, actions, below)
            obs, reward, terminated, truncated, _ = env.step(action)
            next_state = index(obs)
            target = reward if terminated else reward + gamma * max(rows[next_state])
            td = target - row[action]
            row[action] += lr * td
            squared_td += td * td
            total += reward
            length += 1
            state, done = next_state, terminated or truncated
        updates += length
        run.advance(length)
        if done:
            run.record_episode(total, length)
        if run.step >= next_log:
            log_learning(run, epsilon, lr, squared_td / max(updates, 1))
            squared_td, updates, next_log = 0.0, 0, run.step + LOG_EVERY
        if config.eval_every > 0 and run.step >= next_eval:
            player = TabularQPlayer(rows, index=index)
            log_evaluation(run, evaluate_player(player, evaluation_env, config.eval_episodes))
            next_eval = run.step + config.eval_every
        if run.due_for_checkpoint():
            save()
    save()
    return TabularQPlayer(rows, index=index)


def learn_game(config: Config, env: Any, run: TrainingRun, rng: np.random.Generator, coin: random.Random,
               checkpoint: dict | None) -> TabularQPlayer:
    """Self-play Q-learning on a turn-based game; returns the greedy player of the final table."""
    import pyspiel

    require_sequential(env, "tabular Q")
    game_type = env.get_type()
    negamax = config.selfplay_target == "negamax" or (
        config.selfplay_target == "auto"
        and env.num_players() == 2
        and game_type.utility == pyspiel.GameType.Utility.ZERO_SUM
        and game_type.information == pyspiel.GameType.Information.PERFECT_INFORMATION
    )
    if negamax and env.num_players() != 2:
        raise UsageError("--selfplay-target negamax needs a two-player game")
    key_of = state_key_function(env)
    num_actions = env.num_distinct_actions()
    table: dict[str, list[float]] = {}
    if checkpoint is not None:
        table = dict(zip(checkpoint["q_keys"], checkpoint["q_values"].tolist(), strict=True))
    new_row = [config.initial_q] * num_actions
    evaluation_player = TabularQPlayer(table, key_of=key_of)

    def save() -> None:
        keys = list(table)
        run.save(table_payload([table[k] for k in keys], keys, num_actions, coin), rng)

    gamma, uniform, below = config.gamma, coin.random, coin.randrange
    squared_td, updates, next_log = 0.0, 0, run.step + LOG_EVERY
    next_eval = run.step + config.eval_every
    while not run.should_stop():
        epsilon, lr = epsilon_at(config, run.step), learning_rate_at(config, run.step)
        state = env.new_initial_state()
        budget, length = config.steps - run.step, 0
        # The decisions waiting for their target: [row, action, reward since] per player (one, in negamax).
        pending: dict[int, list[Any]] = {}
        while not state.is_terminal() and length < budget:
            if state.is_chance_node():
                outcomes, probabilities = zip(*state.chance_outcomes(), strict=True)
                state.apply_action(coin.choices(outcomes, probabilities)[0])
                add_rewards(pending, state.rewards())
                continue
            player = state.current_player()
            key = key_of(state, player)
            row = table.get(key)
            if row is None:
                row = table[key] = list(new_row)
            legal = state.legal_actions()
            best = max(row[a] for a in legal)
            if negamax:  # the previous decision, whoever made it
                previous = pending.popitem() if pending else None
            else:  # this player's own last decision
                previous = (player, pending.pop(player)) if player in pending else None
            if previous is not None:
                mover, (before, taken, reward) = previous
                td = reward + gamma * (best if mover == player else -best) - before[taken]
                before[taken] += lr * td
                squared_td += td * td
                updates += 1
            if uniform() < epsilon:
                action = legal[below(len(legal))]
            else:
                ties = [a for a in legal if row[a] == best]
                action = ties[0] if len(ties) == 1 else ties[below(len(ties))]
            state.apply_action(action)
            length += 1
            pending[player] = [row, action, 0.0]
            add_rewards(pending, state.rewards())
        if state.is_terminal():
            for before, taken, reward in pending.values():
                td = reward - before[taken]
                before[taken] += lr * td
                squared_td += td * td
                updates += 1
        run.advance(length)
        if state.is_terminal():
            run.record_episode(float(state.returns()[0]), length)
        if run.step >= next_log:
            log_learning(run, epsilon, lr, squared_td / max(updates, 1))
            squared_td, updates, next_log = 0.0, 0, run.step + LOG_EVERY
        if config.eval_every > 0 and run.step >= next_eval:
            log_evaluation(run, evaluate_player(evaluation_player, env, config.eval_episodes))
            next_eval = run.step + config.eval_every
        if run.due_for_checkpoint():
            save()
    save()
    return evaluation_player


def add_rewards(pending: dict[int, list[Any]], rewards: list[float]) -> None:
    """Credit each waiting decision with its player's reward for the move just made."""
    for player, entry in pending.items():
        entry[2] += rewards[player]


def log_learning(run: TrainingRun, epsilon: float, learning_rate: float, td_loss: float) -> None:
    run.check_finite("td_loss", td_loss)
    run.log("charts/epsilon", epsilon)
    run.log("charts/learning_rate", learning_rate)
    run.log("losses/td_loss", td_loss)


# --- the player ----------------------------------------------------------------------------------------


def load_player(checkpoint: dict, env: Any, device: str = "cpu", **options: str) -> TabularQPlayer:
    """The greedy player of a tabular Q checkpoint; option `epsilon=0.1` makes it epsilon-greedy."""
    unknown = set(options) - {"epsilon"}
    if unknown:
        raise UsageError(f"tabular Q players take the option epsilon=..., not {', '.join(sorted(unknown))}")
    try:
        epsilon = float(options.get("epsilon", 0.0))
    except ValueError:
        raise UsageError(f"epsilon={options['epsilon']!r} is not a number") from None
    rows = checkpoint["q_values"].tolist()
    if is_game(env):
        table = dict(zip(checkpoint["q_keys"], rows, strict=True))
        return TabularQPlayer(table, key_of=state_key_function(env), epsilon=epsilon)
    return TabularQPlayer(rows, index=observation_index(env.observation_space)[1], epsilon=epsilon)


class TabularQPlayer:
    """Acts greedily from a Q-table (epsilon-greedy when epsilon > 0), legal actions only.

    On a gym env `act` takes an observation and breaks ties by the lowest action; on a game it takes a
    state, reads the mover's view, breaks ties at random (seeded by `reset`) and plays uniformly at random
    in a position the table has never seen.
    """

    def __init__(self, table: list[list[float]] | dict[str, list[float]], key_of: Any = None,
                 index: Any = int, epsilon: float = 0.0, seed: int = 0):
        self.table = table
        self.key_of = key_of
        self.index = index
        self.epsilon = epsilon
        self.rng = random.Random(seed)
        self.seat = 0

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seat = player_id

    def act(self, x: Any) -> int:
        if self.key_of is None:  # a gymnasium observation
            row = self.table[self.index(x)]
            if self.epsilon > 0 and self.rng.random() < self.epsilon:
                return self.rng.randrange(len(row))
            return row.index(max(row))
        seat = acting_seat(x, self.seat)
        legal = x.legal_actions(seat)
        row = self.table.get(self.key_of(x, seat))
        if row is None or (self.epsilon > 0 and self.rng.random() < self.epsilon):
            return legal[self.rng.randrange(len(legal))]
        return greedy(row, legal, self.rng.randrange)
