"""league/: the arena (seats, determinism, workers), Elo and the payoff matrix, the tournament command."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyspiel
import pytest

from agents.players import make_player
from envs.turn_based import RandomPlayer
from league.arena import play_match
from league.elo import bootstrap_intervals, elo_ratings, payoff_matrix, rate_players
from league.tournament import tag_safe

ROOT = Path(__file__).resolve().parent.parent


class FirstLegal:
    """Always the lowest legal action: a deterministic player."""

    def reset(self, game, player_id, seed):
        self.seat = player_id

    def act(self, state):
        return state.legal_actions()[0]


def test_arena_alternates_seats_and_keeps_every_game():
    game = pyspiel.load_game("tic_tac_toe")
    result = play_match(game, [FirstLegal(), RandomPlayer(0)], games=6, seed=5)
    assert result.played == 6 and len(result.games) == 6
    assert [g["seat_of_first"] for g in result.games] == [0, 1, 0, 1, 0, 1]
    for g in result.games:  # each game replays from its actions to its returns
        state = game.new_initial_state()
        for action in g["actions"]:
            state.apply_action(action)
        assert state.is_terminal() and state.returns() == g["returns"]
    assert [g["seed"] for g in result.games] == [5, 6, 7, 8, 9, 10]


def test_arena_by_name_is_deterministic_and_seats_alternate():
    runs = [
        play_match("tic_tac_toe", ["random", "mcts:8"], games=6, seed=1, make_player=make_player)
        for _ in range(2)
    ]
    assert runs[0].games == runs[1].games
    assert [g["players"] for g in runs[0].games[:2]] == [["random", "mcts:8"], ["mcts:8", "random"]]
    other = play_match("tic_tac_toe", ["random", "mcts:8"], games=6, seed=2, make_player=make_player)
    assert other.games != runs[0].games


def test_arena_gives_the_same_games_on_one_and_two_workers():
    kwargs = dict(games=8, seed=3, make_player=make_player)
    one = play_match("tic_tac_toe", ["random", "mcts:10"], workers=1, **kwargs)
    two = play_match("tic_tac_toe", ["random", "mcts:10"], workers=2, **kwargs)
    assert one.games == two.games
    assert (one.wins, one.draws, one.losses) == (two.wins, two.draws, two.losses)
    with pytest.raises(ValueError, match="names"):
        play_match("tic_tac_toe", [RandomPlayer(0), "random"], games=2, workers=2, make_player=make_player)


def test_random_openings_make_deterministic_players_play_different_games_pair_by_pair():
    game = pyspiel.load_game("tic_tac_toe")
    plain = play_match(game, [FirstLegal(), FirstLegal()], games=20, seed=4)
    assert plain.summary()["distinct_games"] == 1  # the same game twenty times
    opened = play_match(game, [FirstLegal(), FirstLegal()], games=20, seed=4, opening_moves=3)
    assert opened.summary()["distinct_games"] >= 8
    for first, second in zip(opened.games[::2], opened.games[1::2], strict=True):
        assert first["actions"][:3] == second["actions"][:3]  # a pair shares its opening, seats swapped
        assert first["opening_actions"] == 3 and second["seat_of_first"] == 1
    openings = {tuple(g["actions"][:3]) for g in opened.games}
    assert len(openings) >= 8
    for g in opened.games:  # the opening is in the record: each game replays to its returns
        state = game.new_initial_state()
        for action in g["actions"]:
            state.apply_action(action)
        assert state.is_terminal() and state.returns() == g["returns"]
    by_name = dict(games=8, seed=3, make_player=make_player, opening_moves=2)
    one = play_match("tic_tac_toe", ["random", "mcts:10"], workers=1, **by_name)
    two = play_match("tic_tac_toe", ["random", "mcts:10"], workers=2, **by_name)
    assert one.games == two.games and one.games[0]["actions"][:2] == one.games[1]["actions"][:2]


def test_elo_is_finite_with_a_perfect_score_anchored_and_ordered():
    # 0 = random, 1 beats random always, 2 beats both always
    results = [(1, 0, 1.0)] * 20 + [(2, 0, 1.0)] * 20 + [(2, 1, 1.0)] * 15 + [(1, 2, 0.5)] * 5
    ratings = rate_players(["random", "weak", "strong"], results, samples=300)
    values = [ratings[n]["elo"] for n in ("random", "weak", "strong")]
    assert all(np.isfinite(v) for v in values)
    assert ratings["random"] == {"elo": 0.0, "low": 0.0, "high": 0.0}
    assert 0 < values[1] < values[2] < 2000
    for name in ("weak", "strong"):
        r = ratings[name]
        assert r["low"] <= r["elo"] <= r["high"] and r["high"] - r["low"] > 10
    # 40 straight wins: finite through the per-player prior (tests/test_elo.py checks its value)
    assert 600 < elo_ratings(2, [(0, 1, 1.0)] * 40, anchor=1)[0] < 1600


def test_elo_without_random_has_mean_zero_and_matches_the_scores():
    results = [(0, 1, 1.0)] * 3 + [(0, 1, 0.0)] * 1  # 3 of 4: about 400 log10(3) apart (less, by the prior)
    ratings = elo_ratings(2, results)
    assert ratings.sum() == pytest.approx(0.0, abs=1e-9)
    assert 0 < ratings[0] - ratings[1] < 400 * np.log10(3)
    low, high = bootstrap_intervals(2, results, samples=200)
    assert np.all(low <= ratings + 1e-9) and np.all(ratings <= high + 1e-9)


def test_payoff_matrix():
    payoff = payoff_matrix(3, [(0, 1, 1.0), (1, 0, 0.5), (2, 0, 0.0)])
    assert payoff[0][0] is None and payoff[1][1] is None and payoff[2][2] is None
    assert payoff[0][1] == 0.75 and payoff[1][0] == 0.25
    assert payoff[0][2] == 1.0 and payoff[2][0] == 0.0
    assert payoff[1][2] is None  # never met


def test_tag_safe_names():
    assert tag_safe("mcts:400,uct_c=2") == "mcts_400_uct_c=2"
    assert tag_safe("runs/az-c4/ckpt/step_800.pt") == "az-c4_step_800"
    assert tag_safe("docs.examples.players:make") == "docs.examples.players_make"


def test_tournament_cli_writes_results_games_png_and_tensorboard(tmp_path):
    out = tmp_path / "t"
    players = ["random", "mcts:30", "alphabeta:2"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [
            sys.executable,
            "run.py",
            "tournament",
            "--env",
            "tic_tac_toe",
            "--players",
            *players,
            "--games",
            "4",
            "--workers",
            "2",
            "--out",
            str(out),
            "--seed",
            "1",
            "--bootstrap",
            "100",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "elo" in result.stdout and "payoff" in result.stdout
    data = json.loads((out / "results.json").read_text())
    assert set(data) == {"env", "players", "games_per_pair", "ratings", "payoff"}
    assert data["players"] == players and data["games_per_pair"] == 4 and data["env"] == "tic_tac_toe"
    assert set(data["ratings"]) == set(players)
    assert data["ratings"]["random"]["elo"] == 0.0
    assert all(set(r) == {"elo", "low", "high"} for r in data["ratings"].values())
    assert [data["payoff"][i][i] for i in range(3)] == [None, None, None]
    assert data["payoff"][0][1] + data["payoff"][1][0] == pytest.approx(1.0)
    games = [json.loads(line) for line in (out / "games.jsonl").read_text().splitlines()]
    assert len(games) == 3 * 4
    seats = {}
    for g in games:
        seats.setdefault(tuple(g["pair"]), []).append(g["players"][0])
    for (i, j), first_seats in seats.items():  # seats split evenly within each pair
        assert sorted(first_seats) == sorted([players[i], players[j]] * 2)
    assert (out / "payoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out))
    events.Reload()
    assert set(events.Tags()["scalars"]) == {f"league/elo/{tag_safe(p)}" for p in players}


def test_tournament_cli_input_errors_are_one_line():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for args, word in (
        (["--players", "random"], "two"),
        (["--players", "random", "mcst"], "mcts"),
        (["--players", "random", "random"], "twice"),
    ):
        result = subprocess.run(
            [sys.executable, "run.py", "tournament", "--env", "tic_tac_toe", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1 and word in lines[0], result.stderr
