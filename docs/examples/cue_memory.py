"""A worked plug-in env that needs memory: a cue at the start, the answer asked for at the end.

The first observation shows a cue (one of two); then `delay` blank steps follow; the last observation
says "answer now" and the agent must give the action matching the cue: reward 1 if it does, 0 otherwise.
Actions before the last step do nothing. A policy that sees only the current observation scores 1/2 on
average; one that remembers the cue scores 1.

    python run.py train reinforce --env docs.examples.cue_memory:make_env --net lstm
"""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces


class CueMemory(gymnasium.Env):
    """Observation: [cue is 0, cue is 1, answer now]; two actions; `delay + 2` steps per episode."""

    def __init__(self, delay: int = 5):
        self.delay = delay
        self.observation_space = spaces.Box(0.0, 1.0, shape=(3,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.cue, self.t = 0, 0

    def _obs(self) -> np.ndarray:
        obs = np.zeros(3, dtype=np.float32)
        if self.t == 0:
            obs[self.cue] = 1.0
        if self.t == self.delay + 1:
            obs[2] = 1.0
        return obs

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.cue, self.t = int(self.np_random.integers(2)), 0
        return self._obs(), {}

    def step(self, action: int):
        answering = self.t == self.delay + 1
        reward = float(answering and int(action) == self.cue)
        self.t += 1
        return self._obs(), reward, answering, False, {}


def make_env() -> gymnasium.Env:
    """The plug-in factory: `--env docs.examples.cue_memory:make_env`."""
    return CueMemory()
