"""A worked plug-in wrapper: CartPole-v1 with the velocities hidden, a partially observable task.

The observation keeps the cart's position and the pole's angle and drops both velocities, so a policy
that sees only the current observation cannot tell which way the pole is moving: it needs memory (an
LSTM's state, or a window of recent observations).

From the repository root:

    python run.py train reinforce --env docs.examples.masked_cartpole:make_env --net lstm
"""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

KEPT = [0, 2]  # cart position, pole angle (CartPole's velocities are at 1 and 3)


class HideVelocities(gymnasium.ObservationWrapper):
    """Keeps only the position and angle of CartPole's observation."""

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        low, high = env.observation_space.low[KEPT], env.observation_space.high[KEPT]
        self.observation_space = spaces.Box(low, high, dtype=np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return observation[KEPT].astype(np.float32)


def make_env() -> gymnasium.Env:
    """The plug-in factory: `--env docs.examples.masked_cartpole:make_env`."""
    return HideVelocities(gymnasium.make("CartPole-v1"))
