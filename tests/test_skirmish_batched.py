"""The batched engine equals the single-game engine step for step: states, observations and masks; and the
compiled kernel equals the plain-Python specification."""

import numpy as np
import pytest

from envs.games.skirmish.batched import BatchedGames
from envs.games.skirmish.bots import make_bot
from envs.games.skirmish.engine import Game
from envs.games.skirmish.env import agent_observation, decode_action
from envs.games.skirmish.rules import NUM_TYPES, NUM_UNIT_CHOICES

STATE = ("units", "players", "misc", "amounts", "occ")


def mixed_action(game: Game, p: int, bot, rng) -> tuple[int, int, int]:
    """Mostly the bot's action (games that build armies and fight), else a legal random action or an
    arbitrary, usually illegal, one."""
    r = rng.random()
    o = game.observe(p)
    if r < 0.15:
        return (int(rng.integers(NUM_TYPES)), int(rng.integers(NUM_UNIT_CHOICES)),
                int(rng.integers(game.size * game.size)))
    if r < 0.35:
        t = int(rng.choice(np.flatnonzero(o["type_mask"])))
        return t, int(rng.choice(np.flatnonzero(o["unit_mask"][t]))), int(rng.choice(np.flatnonzero(
            o["target_mask"][t])))
    return decode_action(bot.act(agent_observation(game, p), {}), game.size)


def play_side_by_side(batch: int, steps: int, size: int, compiled_single: bool, seed: int) -> int:
    """B single games and one batched engine fed the same actions; compared after every step. Returns
    the number of game steps compared."""
    rng = np.random.default_rng(seed)
    names = ["rush", "economy", "counter", "turtle", "random"]
    singles = [Game(size, compiled=compiled_single) for _ in range(batch)]
    bots = [[make_bot(names[(b + p) % 5], b * 2 + p) for p in range(2)] for b in range(batch)]
    for b, game in enumerate(singles):
        game.reset(seed + b)
        for p in range(2):
            bots[b][p].reset(None, p, b * 2 + p)
    games = BatchedGames(batch, size)
    games.reset([seed + b for b in range(batch)])
    compared = 0
    for _ in range(steps):
        actions = np.zeros((batch, 2, 3), dtype=np.int32)
        for b, game in enumerate(singles):
            if not game.done:
                actions[b] = [mixed_action(game, p, bots[b][p], rng) for p in range(2)]
                game.step(actions[b, 0], actions[b, 1])
                compared += 1
        games.step(actions)
        for b, game in enumerate(singles):
            for key in STATE:
                assert np.array_equal(getattr(game, key), getattr(games, key)[b]), (key, b, game.step_count)
            for p in range(2):
                for key, value in game.observe(p).items():
                    assert np.array_equal(value, games.obs[key][b, p]), (key, b, p, game.step_count)
    return compared


def test_batched_equals_single_over_thousands_of_steps():
    assert play_side_by_side(batch=10, steps=500, size=16, compiled_single=True, seed=0) > 2000


def test_compiled_kernel_equals_the_plain_python_specification():
    assert play_side_by_side(batch=1, steps=120, size=12, compiled_single=False, seed=3) >= 100


@pytest.mark.slow
def test_batched_equals_the_plain_python_specification_over_thousands_of_steps():
    assert play_side_by_side(batch=12, steps=500, size=16, compiled_single=False, seed=100) > 2500
