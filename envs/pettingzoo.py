"""PettingZoo both ways: PettingZoo envs played and trained on here; OpenSpiel games offered as PettingZoo.

In. A PettingZoo AEC or Parallel env (from a plug-in, `envs.make("module:factory")`) has no forward
model, so it is played by players that act on observations: `reset(env, player_id, seed)` before each
game, `act(observation, info) -> action` with the action mask in `observation["action_mask"]` (as
PettingZoo's classic envs put it) or in `info["action_mask"]`, and, if they have it, `observe(observation,
None)` after every action with their own agent's new observation (what they may know; never another
agent's). `player_id` is the agent's index in `env.possible_agents`. A Parallel env is played through
PettingZoo's own `parallel_to_aec`: each agent acts in turn on its observation of the last joint step,
then the joint action is applied, so one loop plays both kinds.

- `play_aec_game`: one game, returning `envs.turn_based.GameRecord` (each agent's cumulative reward,
  in `possible_agents` order).
- `AECOpponentEnv`: the env as a single-agent `gymnasium.Env` for DQN and REINFORCE, as
  `envs.turn_based.OpponentEnv` is for OpenSpiel games.
- `ObservationEncoder`: what a network sees: the agent's observation flattened, plus a one-hot of its
  seat (observations need not be from the agent's view: a converted OpenSpiel game's are not).

Out. `to_pettingzoo(game)`: a turn-based OpenSpiel game (ours included) through Shimmy's
`OpenSpielCompatibilityV0`, built from the game's name and parameters (given a loaded game, Shimmy's
`reset` reloads the game by its short name and drops its parameters) and with PettingZoo's own dead
steps (Shimmy's count the final rewards twice); a simultaneous-move game as
`OpenSpielParallelEnv`, a native `ParallelEnv` (Shimmy has none, and PettingZoo's `parallel_api_test`
rejects its `aec_to_parallel` wrapper).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium
import numpy as np
from pettingzoo import AECEnv, ParallelEnv

from envs.errors import UsageError
from envs.spaces import flat_size
from envs.turn_based import GameRecord, sample_chance


def is_pettingzoo(env: Any) -> bool:
    """True for a PettingZoo AEC or Parallel env."""
    return isinstance(env, (AECEnv, ParallelEnv))


def as_aec(env: Any) -> Any:
    """The env as an AEC env (a Parallel env through PettingZoo's `parallel_to_aec`)."""
    from pettingzoo.utils import parallel_to_aec

    return parallel_to_aec(env) if isinstance(env, ParallelEnv) else env


def env_name(env: Any) -> str:
    """The env's name as its metadata gives it (`tictactoe_v3`), else its class's."""
    metadata = getattr(env, "metadata", None) or {}
    return str(metadata.get("name") or type(getattr(env, "unwrapped", env)).__name__)


def _inner_space(space: Any) -> Any:
    """The observation part of an agent's space (a classic env's Dict holds it under "observation")."""
    if isinstance(space, gymnasium.spaces.Dict) and "observation" in space.spaces:
        return space["observation"]
    return space


def observation_shapes(env: Any) -> dict[str, list[int]]:
    """Each agent's observation shape (the "observation" part of a classic env's dict)."""
    return {str(agent): list(_inner_space(env.observation_space(agent)).shape or ())
            for agent in env.possible_agents}


def num_actions(env: Any) -> int:
    """The number of actions, the same Discrete space for every agent, else UsageError."""
    sizes = set()
    for agent in env.possible_agents:
        space = env.action_space(agent)
        if not isinstance(space, gymnasium.spaces.Discrete):
            raise UsageError(f"{env_name(env)}: agent {agent}'s action space {space} is not Discrete")
        sizes.add(int(space.n))
    if len(sizes) != 1:
        raise UsageError(f"{env_name(env)}: the agents' action spaces differ ({sorted(sizes)} actions)")
    return sizes.pop()


def split_observation(observation: Any, info: dict | None) -> tuple[Any, np.ndarray | None]:
    """(the observation proper, the legal mask as bools or None) from what `last()` gives an agent."""
    mask = None
    if isinstance(observation, dict) and "observation" in observation:
        mask = observation.get("action_mask")
        observation = observation["observation"]
    if mask is None and info:
        mask = info.get("action_mask")
    return observation, None if mask is None else np.asarray(mask).astype(bool)


class ObservationEncoder:
    """Observations of one PettingZoo env for a network: the agent's observation flattened to float32,
    then one entry per seat, the acting agent's set (as `envs.encoding.Encoder` does for OpenSpiel)."""

    def __init__(self, env: Any):
        self.space = _inner_space(env.observation_space(env.possible_agents[0]))
        self.num_players = len(env.possible_agents)
        sizes = {flat_size(_inner_space(env.observation_space(a))) for a in env.possible_agents}
        if len(sizes) != 1:
            raise UsageError(f"{env_name(env)}: the agents' observations differ in size ({sorted(sizes)}); "
                             "one network for every agent needs one size")
        self.size = sizes.pop()
        self.shape: tuple[int, ...] = (self.size + self.num_players,)

    def __call__(self, observation: Any, seat: int) -> np.ndarray:
        from envs.spaces import flatten_observation

        out = np.zeros(self.shape, dtype=np.float32)
        out[: self.size] = flatten_observation(self.space, split_observation(observation, None)[0])
        out[self.size + seat] = 1.0
        return out


class RandomObservationPlayer:
    """Uniform over the legal actions of a PettingZoo agent (over all of them when there is no mask)."""

    def __init__(self, seed: int | None = None):
        self.rng = np.random.default_rng(seed)
        self.num_actions: int | None = None

    def reset(self, env: Any, player_id: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.num_actions = num_actions(env)

    def act(self, observation: Any, info: dict | None = None) -> int:
        _, mask = split_observation(observation, info)
        if mask is not None:
            return int(self.rng.choice(np.flatnonzero(mask)))
        return int(self.rng.integers(self.num_actions))


def _observers(players: Sequence[Any]) -> list[tuple[str | int, Callable]]:
    return [(seat, p.observe) for seat, p in enumerate(players) if callable(getattr(p, "observe", None))]


def _tell(aec: Any, agents: Sequence[str], watchers: Sequence[tuple[int, Callable]]) -> None:
    """Each observing player gets its own agent's new observation (agents already done are skipped)."""
    for seat, observe in watchers:
        if agents[seat] in aec.agents:
            observe(aec.observe(agents[seat]), None)


def play_aec_game(env: Any, players: Sequence[Any], seed: int,
                  on_move: Callable[[Any, str, int], None] | None = None) -> GameRecord:
    """Play one game of a PettingZoo env, `players[i]` as `possible_agents[i]`; each acts on its own
    observation and info. Returns the actions in order and each agent's cumulative reward (the sum of what
    `last()` reported to it). `on_move(aec, agent, action)` is called before each action is applied."""
    aec = as_aec(env)
    agents = list(aec.possible_agents)
    if len(players) != len(agents):
        raise ValueError(f"{env_name(env)} has {len(agents)} agents, not {len(players)}")
    for seat, player in enumerate(players):
        player.reset(env, seat, seed + 7919 * (seat + 1))
    aec.reset(seed=seed)
    seat_of = {agent: k for k, agent in enumerate(agents)}
    watchers = _observers(players)
    totals = dict.fromkeys(agents, 0.0)
    record = GameRecord()
    for agent in aec.agent_iter():
        observation, reward, terminated, truncated, info = aec.last()
        totals[agent] += float(reward)
        if terminated or truncated:
            aec.step(None)
            continue
        action = int(players[seat_of[agent]].act(observation, info))
        _, mask = split_observation(observation, info)
        if mask is not None and not (0 <= action < len(mask) and mask[action]):
            raise ValueError(f"agent {agent} chose illegal action {action}")
        if on_move is not None:
            on_move(aec, agent, action)
        aec.step(action)
        record.actions.append(action)
        _tell(aec, agents, watchers)
    record.returns = [totals[agent] for agent in agents]
    return record


class AECOpponentEnv(gymnasium.Env):
    """A PettingZoo env as a single-agent env: the learner is one agent, `opponent` plays the others.

    Mirrors `envs.turn_based.OpponentEnv`: the learner's seat alternates between episodes (episode index
    mod agents) unless `seat` is given; observations are `ObservationEncoder`'s; `info` carries
    "action_mask" and "seat", and "returns" (every agent's cumulative reward) at the end. The reward of a
    step is what `last()` reports to the learner when it is next to act (or when its game ends): a reward
    that arrives after the others have moved is credited to the learner's last action. `opponent` acts on
    observations (`act(observation, info)`); it may be the learner's own current network (self-play).
    """

    def __init__(self, env: Any, opponent: Any = None, seat: int | None = None, seed: int = 0):
        self.env = env
        self.aec = as_aec(env)
        self.agents = list(self.aec.possible_agents)
        self.opponent = opponent if opponent is not None else RandomObservationPlayer(seed)
        self.fixed_seat = seat
        self.encoder = ObservationEncoder(self.aec)
        self.num_actions = num_actions(self.aec)
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, self.encoder.shape, np.float32)
        self.action_space = gymnasium.spaces.Discrete(self.num_actions)
        self.rng = np.random.default_rng(seed)
        self.episodes = 0
        self.seat = 0
        self.totals: dict[str, float] = {}
        self.watchers = _observers([self.opponent])
        self._truncated = False

    @property
    def learner(self) -> str:
        return self.agents[self.seat]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        n = len(self.agents)
        self.seat = self.fixed_seat if self.fixed_seat is not None else self.episodes % n
        self.episodes += 1
        episode_seed = int(self.rng.integers(2**31))
        for p in range(n):
            if p != self.seat:
                self.opponent.reset(self.env, p, episode_seed + p)
        self.aec.reset(seed=episode_seed)
        self.totals = dict.fromkeys(self.agents, 0.0)
        observation, reward, done, info = self._advance()
        info = {**info, "pre_reward": reward}
        return observation, info

    def step(self, action: int):
        mask = split_observation(self.aec.observe(self.learner), self.aec.infos.get(self.learner))[1]
        if mask is not None and not mask[int(action)]:
            raise ValueError(f"illegal action {action}")
        self.aec.step(int(action))
        self._tell_opponent()
        observation, reward, done, info = self._advance()
        truncated = done and self._truncated
        return observation, reward, done and not truncated, truncated, info

    def _tell_opponent(self) -> None:
        """The opponent, if it observes, gets the new observation of each agent it plays."""
        for _, observe in self.watchers:
            for seat, agent in enumerate(self.agents):
                if seat != self.seat and agent in self.aec.agents:
                    observe(self.aec.observe(agent), None)

    def _advance(self) -> tuple[np.ndarray, float, bool, dict]:
        """Let the others act until the learner is to act or its game is over; then (its observation, the
        reward `last()` reports to it, whether it is done, info)."""
        self._truncated = False
        for agent in self.aec.agent_iter():
            observation, reward, terminated, truncated, info = self.aec.last()
            self.totals[agent] += float(reward)
            if agent == self.learner:
                if terminated or truncated:
                    self._truncated = bool(truncated) and not terminated
                    self.aec.step(None)
                    self._play_out()
                return self._encode(observation, info, float(reward), terminated or truncated)
            self._opponent_step(observation, terminated or truncated, info)
        return self._encode(None, {}, 0.0, True)  # the game ended without the learner to act again

    def _opponent_step(self, observation: Any, done: bool, info: dict) -> None:
        self.aec.step(None if done else int(self.opponent.act(observation, info)))
        if not done:
            self._tell_opponent()

    def _play_out(self) -> None:
        """After the learner's game ends: the others finish theirs, so every agent's reward is counted."""
        for agent in self.aec.agent_iter():
            observation, reward, terminated, truncated, info = self.aec.last()
            self.totals[agent] += float(reward)
            self._opponent_step(observation, terminated or truncated, info)

    def _encode(self, observation: Any, info: dict, reward: float,
                done: bool) -> tuple[np.ndarray, float, bool, dict]:
        if observation is None:
            x, mask = np.zeros(self.encoder.shape, dtype=np.float32), None
            x[self.encoder.size + self.seat] = 1.0
        else:
            x, mask = self.encoder(observation, self.seat), split_observation(observation, info)[1]
        out = {"action_mask": np.ones(self.num_actions, dtype=bool) if done or mask is None else mask,
               "seat": self.seat}
        if done:
            out["returns"] = [self.totals[a] for a in self.agents]
        return x, reward, done, out


def to_pettingzoo(game: Any, render_mode: str | None = None) -> Any:
    """An OpenSpiel game (a `pyspiel.Game` or a spec such as 'goofspiel(num_cards=4,imp_info=True)') as a
    PettingZoo env: turn-based games through Shimmy's AEC converter, simultaneous-move games as
    `OpenSpielParallelEnv`."""
    import pyspiel

    if isinstance(game, str):
        import envs

        game = envs.make(game)
        if not isinstance(game, pyspiel.Game):
            raise UsageError(f"{game!r} is not an OpenSpiel game")
    if game.get_type().dynamics == pyspiel.GameType.Dynamics.SIMULTANEOUS:
        return OpenSpielParallelEnv(game)
    # By name and parameters: Shimmy's reset reloads the game this way (with env=game it drops them).
    return _shimmy_class()(game_name=game.get_type().short_name, config=game.get_parameters(),
                           render_mode=render_mode)


@functools.cache
def _shimmy_class() -> type:
    """Shimmy's converter with its dead steps mended: Shimmy's `step(None)` for an agent whose game is over
    adds the last step's rewards to the other agents' once more (tic-tac-toe's loser got -2 from `last()`);
    here a dead step is PettingZoo's own `_was_dead_step`, which removes the agent and clears the rewards."""
    from shimmy import OpenSpielCompatibilityV0

    class OpenSpielAECEnv(OpenSpielCompatibilityV0):
        def step(self, action: Any) -> None:
            agent = self.agent_selection
            if self.terminations.get(agent) or self.truncations.get(agent):
                self._was_dead_step(action)
                return
            super().step(action)

    return OpenSpielAECEnv


class OpenSpielParallelEnv(ParallelEnv):
    """A simultaneous-move OpenSpiel game as a native PettingZoo `ParallelEnv`: every agent acts at once
    on its own observation (`{"observation", "action_mask"}`, the observation tensor, else the information
    state tensor); chance outcomes are sampled from the reset seed; rewards are the game's per step.
"""

    def __init__(self, game: Any):
        import pyspiel

        kind = game.get_type()
        if kind.dynamics != pyspiel.GameType.Dynamics.SIMULTANEOUS:
            raise UsageError(f"{kind.short_name} is turn-based: use to_pettingzoo (Shimmy's AEC env)")
        self.game = game
        self.possible_agents = [f"player_{i}" for i in range(game.num_players())]
        self.agents: list[str] = []
        self.metadata = {"name": kind.short_name, "render_modes": [], "is_parallelizable": True}
        self.render_mode = None
        observed = kind.provides_observation_tensor
        self._tensor = "observation_tensor" if observed else "information_state_tensor"
        shape = tuple(getattr(game, f"{self._tensor}_shape")())
        self._num_actions = game.num_distinct_actions()
        self._observation_space = gymnasium.spaces.Dict({
            "observation": gymnasium.spaces.Box(-np.inf, np.inf, shape, np.float32),
            "action_mask": gymnasium.spaces.Box(0, 1, (self._num_actions,), np.int8),
        })
        self._action_space = {a: gymnasium.spaces.Discrete(self._num_actions) for a in self.possible_agents}
        self.state: Any = None
        self.rng = np.random.default_rng()

    def observation_space(self, agent: str) -> Any:
        return self._observation_space

    def action_space(self, agent: str) -> Any:
        return self._action_space[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        self.rng = np.random.default_rng(seed)
        if seed is not None:
            for k, space in enumerate(self._action_space.values()):
                space.seed(seed + k)
        self.state = self.game.new_initial_state()
        self._play_chance()
        self.agents = list(self.possible_agents)
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, int]) -> tuple[dict, dict, dict, dict, dict]:
        self.state.apply_actions([int(actions[a]) for a in self.possible_agents])
        self._play_chance()
        rewards = dict(zip(self.possible_agents, map(float, self.state.rewards()), strict=True))
        done = self.state.is_terminal()
        observations = self._observations()
        terminations = dict.fromkeys(self.agents, done)
        truncations = dict.fromkeys(self.agents, False)
        infos = {a: {} for a in self.agents}
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def render(self) -> None:
        print(self.state)

    def close(self) -> None:
        pass

    def _play_chance(self) -> None:
        while self.state.is_chance_node():
            self.state.apply_action(sample_chance(self.state, self.rng))
        if not self.state.is_terminal() and not self.state.is_simultaneous_node():
            raise UsageError(f"{self.metadata['name']}: a node where one player moves alone; "
                             "OpenSpielParallelEnv plays games whose every decision is simultaneous")

    def _observations(self) -> dict[str, dict[str, np.ndarray]]:
        out = {}
        for i, agent in enumerate(self.possible_agents):
            mask = np.zeros(self._num_actions, dtype=np.int8)
            if not self.state.is_terminal():
                mask[self.state.legal_actions(i)] = 1
            tensor = np.asarray(getattr(self.state, self._tensor)(i), dtype=np.float32)
            out[agent] = {"observation": tensor.reshape(self._observation_space["observation"].shape),
                          "action_mask": mask}
        return out

