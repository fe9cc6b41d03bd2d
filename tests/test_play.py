"""`run.py play`: a human's input through a scripted stdin (bad entry, undo, quit), and watch-play."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pyspiel
import pytest

from agents.players import make_player
from league.human import HumanPlayer, QuitGame, parse_typed_move, play_in_terminal

ROOT = Path(__file__).resolve().parent.parent


def run_play(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "run.py", "play", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_bad_entry_undo_and_quit_through_stdin():
    script = "zz\nundo\n4\nx(0,0)\nundo\nquit\n"
    result = run_play("--env", "tic_tac_toe", "--players", "human", "alphabeta:9", stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "'zz' is not a legal move" in out
    assert "nothing to undo yet" in out
    assert "legal moves: x(0,0) x(0,1)" in out  # moves by name
    assert out.count("player 0 (human) plays") == 2
    assert "took back player 0's last move" in out
    boards = out.split("took back")[1]  # after the undo: only the first two moves are on the board
    assert boards.split("legal moves")[0].strip().splitlines()[-3:][1] == ".x."
    assert out.rstrip().endswith("quit")


def test_end_of_input_quits_cleanly_and_bad_players_are_one_line():
    result = run_play("--env", "connect_four", "--players", "random", "human", stdin="")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    bad = run_play("--env", "tic_tac_toe", "--players", "human")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_two_programs_watch_play_to_the_end():
    result = run_play("--env", "tic_tac_toe", "--players", "mcts:50", "alphabeta:9", "--delay", "0.01")
    assert result.returncode == 0, result.stderr
    assert "game over" in result.stdout
    assert result.stdout.count("plays") >= 5


def test_undo_replays_the_history_in_process():
    game = pyspiel.load_game("connect_four")
    stdin = io.StringIO("x3\nundo\n0\nundo\nundo\n6\nquit\n")
    out = io.StringIO()
    human = HumanPlayer(stdin=stdin, stdout=out)
    opponent = make_player("alphabeta:1", game, seed=0)
    with pytest.raises(QuitGame):
        play_in_terminal(game, [human, opponent], ["human", "alphabeta:1"], seed=0, stdout=out)
    text = out.getvalue()
    assert text.count("took back") == 2  # the third undo has nothing left to take back
    assert "nothing to undo yet" in text
    assert text.count("player 0 (human) plays x3") == 1 and "player 0 (human) plays x6" in text


def test_parse_move_accepts_names_numbers_and_loose_forms():
    state = pyspiel.load_game("tic_tac_toe").new_initial_state()
    names = {state.action_to_string(0, a): a for a in state.legal_actions()}
    assert parse_typed_move("x(1,1)", names) == 4
    assert parse_typed_move("4", names) == 4
    assert parse_typed_move("(2, 2)", names) == 8
    assert parse_typed_move("X(0,0)", names) == 0
    for bad in ("9", "", "e4"):
        assert parse_typed_move(bad, names) is None


def test_backgammon_entry_in_the_games_own_notation():
    import envs
    from league.human import move_names

    state = envs.make("backgammon").new_initial_state()
    state.apply_action(6 * (5 - 1) + (3 - 1))  # opening roll: X throws 5, O throws 3, so X plays 5-3
    assert state.current_player() == 0
    names = move_names(state)
    target = state.parse_action("13/5")
    assert "13/8 8/5" not in names and "8/5 13/8" not in names  # only the game's parser reads these
    for entry in ("13/8 8/5", "8/5 13/8"):
        out = io.StringIO()
        assert HumanPlayer(stdin=io.StringIO(entry + "\n"), stdout=out).act(state) == target
        assert "not a legal move" not in out.getvalue()
    out = io.StringIO()
    human = HumanPlayer(stdin=io.StringIO("24/20\nzz\n13/8 8/5\n"), stdout=out, show_board=False)
    assert human.act(state) == target
    lines = out.getvalue().split("player 0 move> ")
    assert len(lines) == 4  # asked three times
    assert lines[1] == "'24/20' is not a legal move with 5-3\n"  # the parser's ValueError, one line
    assert "'zz'" in lines[2] and lines[2].count("\n") == 1 and "legal moves" not in lines[2]
