"""Schedules for exploration rates and learning rates, as functions of training progress."""

from __future__ import annotations

import math


def linear_schedule(start: float, end: float, duration: float, t: float) -> float:
    """Goes linearly from `start` to `end` over `duration` (steps or episodes), then stays at `end`."""
    if duration <= 0:
        return end
    return start + (end - start) * min(1.0, t / duration)


def exponential_schedule(start: float, end: float, half_life: float, t: float) -> float:
    """Decays from `start` towards `end`, halving the distance every `half_life`."""
    return end + (start - end) * 0.5 ** (t / half_life)


def cosine_schedule(start: float, end: float, duration: float, t: float) -> float:
    """From `start` at t = 0 to `end` at `duration` along half a cosine, then stays at `end` (AlphaZero's
    learning rate over the moves played)."""
    progress = min(1.0, t / max(duration, 1))
    return end + 0.5 * (start - end) * (1.0 + math.cos(math.pi * progress))
