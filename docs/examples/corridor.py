"""A worked plug-in env: Corridor, a gymnasium env. The agent starts at cell 0 of a corridor of `length`
cells and moves left or right; reaching the last cell ends the episode with reward 1, every step costs 0.01.

Use it from the repository root:  python run.py train q --env docs.examples.corridor:make_env
"""

from __future__ import annotations

import gymnasium
from gymnasium import spaces


class Corridor(gymnasium.Env):
    def __init__(self, length: int = 8, max_steps: int = 50):
        self.length, self.max_steps = length, max_steps
        self.observation_space = spaces.Discrete(length)
        self.action_space = spaces.Discrete(2)
        self.position = 0
        self.steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position, self.steps = 0, 0
        return self.position, {}

    def step(self, action):
        self.position = max(0, min(self.length - 1, self.position + (1 if action == 1 else -1)))
        self.steps += 1
        terminated = self.position == self.length - 1
        reward = 1.0 if terminated else -0.01
        return self.position, reward, terminated, self.steps >= self.max_steps, {}


def make_env() -> gymnasium.Env:
    """The plug-in factory: `--env docs.examples.corridor:make_env`."""
    return Corridor()
