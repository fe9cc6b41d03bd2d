"""Evaluating a player: mean return on a gymnasium env, or a match against an opponent on a game (an
OpenSpiel game or a PettingZoo env).

`run.py eval` and the final evaluation of every training run call the same function with the same
seeds, so `eval` on `ckpt/latest.pt` reproduces the score a run reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import envs


def evaluate_player(player: Any, env: Any, episodes: int, opponent: str = "random", seed: int = 0,
                    opening_moves: int = 0) -> dict:
    """On a gym env: {episodes, mean_return, std_return}; on a game: {games, win/draw/loss rates, score, ...}.

    A gym env is evaluated on a fresh copy of itself, episode i reset with seed + i (and the player's
    `begin_episode()` called first, if it has one).
    """
    if envs.is_multiplayer(env):  # an OpenSpiel game or a PettingZoo env: a match through the arena
        from agents.players import make_player
        from league.arena import play_match

        opponent_player = make_player(opponent, env, seed=seed + 1)
        return play_match(env, [player, opponent_player], games=episodes, seed=seed,
                          opening_moves=opening_moves).summary()
    from envs.episodes import run_episodes

    returns = run_episodes(env, player.act, episodes, seed, begin=getattr(player, "begin_episode", None))
    return {"episodes": episodes, "mean_return": float(np.mean(returns)),
            "std_return": float(np.std(returns))}


def log_evaluation(run: Any, result: dict, opponent: str = "random") -> None:
    """Write an evaluation to TensorBoard under DESIGN.md's tags."""
    if "mean_return" in result:
        run.log("eval/episodic_return", result["mean_return"])
        return
    tag = opponent.replace("/", "_").replace(":", "_").replace(",", "_")
    for key in ("win_rate", "draw_rate", "loss_rate"):
        run.log(f"eval/vs_{tag}/{key}", result[key])


def headline(result: dict) -> dict:
    """The figures of an evaluation worth printing at the end of a run."""
    if "mean_return" in result:
        return {"eval_return": round(result["mean_return"], 2), "eval_episodes": result["episodes"]}
    return {"eval_win_rate": round(result["win_rate"], 3), "eval_loss_rate": round(result["loss_rate"], 3),
            "eval_games": result["games"]}
