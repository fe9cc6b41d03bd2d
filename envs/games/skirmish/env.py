"""Skirmish as a PettingZoo `ParallelEnv` and, against a bot, as a single-agent gymnasium env.

`SkirmishEnv(size=16)` (`envs.make("skirmish")`, `envs.make("skirmish(size=12)")`): agents "player_0"
and "player_1" act at once. An agent's observation is a dict: "planes" [15, S, S] (rules.PLANE_NAMES:
terrain, resources, own units by kind, visible enemies by kind, visibility), "entities" [80, 8] with
"entity_mask" (own units first, in id order, then the enemies it sees; rules.ENTITY_FIELDS), "scalars"
(resources, supply used, supply cap, step) and the three masks: "type_mask" [11], "unit_mask" [11, 43]
(given the type) and "target_mask" [11, S*S] (given the type). An action is MultiDiscrete([11, 43, S*S])
(type, unit: own entity slot or group, target cell; a unit is targeted by its cell), or the same three
parts as one integer `encode_action(t, u, c, size)`, which is what players hand the arena. A combination
the masks do not allow is a no-op. `info[agent]["state"]` is the full state, for training only (a value
network may see both sides); players never read it. The reward is +1/-1 for a win/loss at the end, 0
otherwise.

`SkirmishVsBot("rush")` (`envs.make("skirmish-vs:rush")`): one seat against a bot, with a flat float32
observation and `Discrete` macro actions (`MacroActions`), so DQN and REINFORCE train on it unchanged.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from pettingzoo import ParallelEnv

from envs.games.skirmish.engine import Game
from envs.games.skirmish.rules import (
    A_ATTACK,
    A_BUILD_BARRACKS,
    A_BUILD_BASE,
    A_GATHER,
    A_MOVE,
    A_STOP,
    GROUP_ARMY,
    GROUP_IDLE_WORKERS,
    MAX_ENTITIES,
    MAX_OWN,
    NUM_ENTITY_FIELDS,
    NUM_PLANES,
    NUM_SCALARS,
    NUM_TYPES,
    NUM_UNIT_CHOICES,
)


def encode_action(t: int, u: int, c: int, size: int = 16) -> int:
    """The three parts as one integer (mixed radix: type, then unit, then target cell)."""
    return (int(t) * NUM_UNIT_CHOICES + int(u)) * size * size + int(c)


def decode_action(action: Any, size: int = 16) -> tuple[int, int, int]:
    """(type, unit, target) from an integer or a three-part array; anything malformed is (0, 0, 0)."""
    parts = np.asarray(action).ravel()
    if parts.size == 3:
        return int(parts[0]), int(parts[1]), int(parts[2])
    if parts.size != 1:
        return 0, 0, 0
    a = int(parts[0])
    cells = size * size
    if a < 0 or a >= NUM_TYPES * NUM_UNIT_CHOICES * cells:
        return 0, 0, 0
    return a // (NUM_UNIT_CHOICES * cells), (a // cells) % NUM_UNIT_CHOICES, a % cells


def observation_space(size: int) -> gymnasium.spaces.Dict:
    """One agent's observation space."""
    box = gymnasium.spaces.Box
    cells = size * size
    return gymnasium.spaces.Dict({
        "planes": box(0, 1, (NUM_PLANES, size, size), np.uint8),
        "entities": box(0, 1000, (MAX_ENTITIES, NUM_ENTITY_FIELDS), np.int16),
        "entity_mask": box(0, 1, (MAX_ENTITIES,), np.uint8),
        "scalars": box(0, 2**30, (NUM_SCALARS,), np.int32),
        "type_mask": box(0, 1, (NUM_TYPES,), np.uint8),
        "unit_mask": box(0, 1, (NUM_TYPES, NUM_UNIT_CHOICES), np.uint8),
        "target_mask": box(0, 1, (NUM_TYPES, cells), np.uint8),
    })


def agent_observation(game: Game, p: int) -> dict[str, np.ndarray]:
    """Player p's observation as the env gives it (copies; planes as [C, S, S])."""
    o = game.observe(p)
    out = {k: v.copy() for k, v in o.items()}
    out["planes"] = out["planes"].reshape(NUM_PLANES, game.size, game.size)
    return out


class SkirmishEnv(ParallelEnv):
    """Two players, simultaneous moves, fog of war (see the module's docstring)."""

    metadata = {"name": "skirmish_v0", "render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(self, size: int = 16, render_mode: str | None = None, compiled: bool = True):
        if not 12 <= int(size) <= 16:
            from envs.errors import UsageError

            raise UsageError(f"skirmish: size must be 12 to 16, not {size}")
        self.size = int(size)
        self.render_mode = render_mode
        self.game = Game(self.size, compiled=compiled)
        self.possible_agents = ["player_0", "player_1"]
        self.agents: list[str] = []
        self._observation_space = observation_space(self.size)
        self._action_spaces = {a: gymnasium.spaces.MultiDiscrete([NUM_TYPES, NUM_UNIT_CHOICES,
                                                                  self.size * self.size])
                               for a in self.possible_agents}
        self.seed_used: int | None = None
        self.history: list[tuple[int, int]] = []

    def observation_space(self, agent: str) -> gymnasium.spaces.Dict:
        return self._observation_space

    def action_space(self, agent: str) -> gymnasium.spaces.MultiDiscrete:
        return self._action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31))
        self.seed_used = int(seed)
        for k, space in enumerate(self._action_spaces.values()):
            space.seed(int(seed) + k)
        self.game.reset(int(seed))
        self.agents = list(self.possible_agents)
        self.history = []
        return self._observations(), self._infos()

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        parts = [decode_action(actions.get(a, 0), self.size) for a in self.possible_agents]
        self.history.append((encode_action(*parts[0], self.size) if _in_range(parts[0], self.size) else 0,
                             encode_action(*parts[1], self.size) if _in_range(parts[1], self.size) else 0))
        self.game.step(parts[0], parts[1])
        done = self.game.done
        returns = self.game.returns() if done else [0.0, 0.0]
        rewards = dict(zip(self.possible_agents, returns, strict=True))
        observations, infos = self._observations(), self._infos()
        terminations = dict.fromkeys(self.agents, done)
        truncations = dict.fromkeys(self.agents, False)
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def _observations(self) -> dict[str, dict[str, np.ndarray]]:
        return {a: agent_observation(self.game, p) for p, a in enumerate(self.possible_agents)}

    def _infos(self) -> dict[str, dict[str, Any]]:
        truth = self.game.truth()
        return {a: {"state": truth, "seat": p} for p, a in enumerate(self.possible_agents)}

    def render(self) -> str | None:
        from envs.games.skirmish.view import draw

        text = draw(self.game, None)
        if self.render_mode == "ansi":
            return text
        print(text)
        return None

    def close(self) -> None:
        pass

    def write_expert_data(self, experts: list[str], games: int, out: str, seed: int = 0,
                          workers: int = 1) -> dict[str, Any]:
        """`run.py data --env skirmish --expert skirmish-bot:NAME`: see replay.write_expert_data."""
        from envs.games.skirmish.replay import write_expert_data

        return write_expert_data(experts, games, out, seed=seed, size=self.size)

    def play_in_terminal(self, players: list[Any], names: list[str], seed: int = 0,
                         delay: float = 0.0) -> list[float]:
        """`run.py play`'s loop for this env: the map drawn in the terminal, typed commands for a human."""
        from envs.games.skirmish.view import play_in_terminal

        return play_in_terminal(self, players, names, seed=seed, delay=delay)


def _in_range(parts: tuple[int, int, int], size: int) -> bool:
    t, u, c = parts
    return 0 <= t < NUM_TYPES and 0 <= u < NUM_UNIT_CHOICES and 0 <= c < size * size


# ---- the single-agent env ------------------------------------------------------------------------------
class MacroActions:
    """A small Discrete action set over the structured one, for generic learners: action t * R + r is
    type t aimed at region r of a 4x4 grid of the map. The unit: for move/attack/stop the army group if it
    has units, else the first own unit that can; for gather the idle workers if any, else the first
    worker; otherwise the first unit that can. The target: the allowed cell nearest the region's centre
    (types without a target: region 0 only)."""

    REGIONS = 16

    def __init__(self, size: int):
        self.size = size
        cells = np.arange(size * size)
        xs, ys = cells % size, cells // size
        centres = [((i % 4 + 0.5) * size / 4, (i // 4 + 0.5) * size / 4) for i in range(self.REGIONS)]
        self.order = [np.argsort((xs - cx) ** 2 + (ys - cy) ** 2, kind="stable") for cx, cy in centres]
        self.n = NUM_TYPES * self.REGIONS

    def _spatial(self, t: int) -> bool:
        return t in (A_MOVE, A_ATTACK, A_GATHER, A_BUILD_BARRACKS, A_BUILD_BASE)

    def mask(self, o: dict[str, np.ndarray]) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for t in np.flatnonzero(o["type_mask"]):
            regions = self.REGIONS if self._spatial(int(t)) else 1
            out[t * self.REGIONS : t * self.REGIONS + regions] = True
        return out

    def structured(self, action: int, o: dict[str, np.ndarray]) -> tuple[int, int, int]:
        t, r = divmod(int(action), self.REGIONS)
        if not o["type_mask"][t]:
            return 0, 0, 0
        units = o["unit_mask"][t]
        group = {A_MOVE: GROUP_ARMY, A_ATTACK: GROUP_ARMY, A_STOP: GROUP_ARMY,
                 A_GATHER: GROUP_IDLE_WORKERS}.get(t)
        if group is not None and units[MAX_OWN + group]:
            u = MAX_OWN + group
        else:
            singles = np.flatnonzero(units[:MAX_OWN])
            u = int(singles[0]) if len(singles) else int(np.flatnonzero(units)[0])
        targets = o["target_mask"][t].reshape(-1)
        if not self._spatial(t):
            return t, u, int(np.flatnonzero(targets)[0])
        ranked = self.order[r]
        return t, u, int(ranked[np.argmax(targets[ranked] > 0)])


def flat_observation(o: dict[str, np.ndarray]) -> np.ndarray:
    """An observation as one float32 vector: planes, entities (scaled by 1/16), entity mask, scalars (/64)."""
    return np.concatenate([o["planes"].ravel().astype(np.float32),
                           o["entities"].ravel().astype(np.float32) / 16.0,
                           o["entity_mask"].astype(np.float32),
                           o["scalars"].astype(np.float32) / 64.0])


class SkirmishVsBot(gymnasium.Env):
    """Skirmish against `bot` (a `skirmish-bot` name), the learner's seat alternating between episodes;
    `info["action_mask"]` holds the legal macro actions; reward +1/-1/0 at the end."""

    def __init__(self, bot: str = "rush", size: int = 16, seed: int = 0):
        from envs.games.skirmish.bots import make_bot

        self.env = SkirmishEnv(size)
        self.bot = make_bot(bot, seed)
        self.macro = MacroActions(size)
        n_obs = (NUM_PLANES * size * size + MAX_ENTITIES * NUM_ENTITY_FIELDS + MAX_ENTITIES + NUM_SCALARS)
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (n_obs,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(self.macro.n)
        self.rng = np.random.default_rng(seed)
        self.episodes = 0
        self.seat = 0
        self.obs: dict[str, Any] = {}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.seat = self.episodes % 2
        self.episodes += 1
        game_seed = int(self.rng.integers(2**31))
        self.bot.reset(self.env, 1 - self.seat, game_seed + 1)
        self.obs, _ = self.env.reset(seed=game_seed)
        return self._out()

    def _out(self):
        me = self.obs[self.env.possible_agents[self.seat]]
        return flat_observation(me), {"action_mask": self.macro.mask(me), "seat": self.seat}

    def step(self, action: int):
        agents = self.env.possible_agents
        mine, theirs = agents[self.seat], agents[1 - self.seat]
        structured = self.macro.structured(int(action), self.obs[mine])
        bot_action = self.bot.act(self.obs[theirs], {})
        self.obs, rewards, terminations, _, _ = self.env.step({mine: np.array(structured),
                                                               theirs: bot_action})
        x, info = self._out()
        done = bool(terminations[mine])
        return x, float(rewards[mine]), done, False, info

