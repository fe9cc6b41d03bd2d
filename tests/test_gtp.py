"""GTP engines as players and the kit as a GTP engine (agents/gtp.py, agents/gtp_server.py).

The tests with GNU Go skip where it is absent (`apt-get install -y gnugo`); a fake engine (a small Python
script written to tmp_path) stands in for the failures: an engine that hangs, dies, keeps dying, refuses.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pyspiel
import pytest

from agents.gtp import (
    EngineFailed,
    GTPEngine,
    GTPRefused,
    action_to_vertex,
    area_score,
    find_gnugo,
    format_score,
    gnugo_argv,
    vertex_to_action,
)
from agents.gtp_server import GTPServer
from agents.players import make_player, parse_player_name
from envs.errors import UsageError
from envs.turn_based import RandomPlayer, play_game, replay

ROOT = Path(__file__).resolve().parent.parent
GO9 = "go(board_size=9,komi=7.5)"


def _gnugo_installed() -> bool:
    try:
        find_gnugo()
    except UsageError:
        return False
    return True


needs_gnugo = pytest.mark.skipif(not _gnugo_installed(),
                                 reason="GNU Go is not installed (apt-get install -y gnugo)")

SUPERKO_5X5 = [1, 15, 6, 10, 24, 19, 0, 25, 16, 20, 14, 23, 21, 12, 3, 7, 8, 4, 5, 25, 2, 13, 25, 24, 11, 18,
               22, 15, 10, 9, 14, 4]
"""A random game on 5x5 (komi 7.5) whose last move repeats a position: OpenSpiel ends it there as a draw,
GNU Go's positional superko answers `?`."""

FAKE_ENGINE = r'''
import os, sys, time
args = dict(a.split("=", 1) for a in sys.argv[1:])
marker = args.get("marker")
first_life = marker is None or not os.path.exists(marker)
if marker:
    open(marker, "a").write("started\n")
plays = genmoves = 0
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    command, answer = words[0], ""
    if command == "quit":
        print("=\n", flush=True)
        break
    if command == "clear_board":
        plays = 0
    elif command == "known_command":
        answer = "false"
    elif command == "name":
        answer = "fake"
    elif command == "play":
        plays += 1
        if plays == int(args.get("refuse", 0)):
            print("? illegal move\n", flush=True)
            continue
    elif command == "genmove":
        genmoves += 1
        if genmoves == int(args.get("genmove", 0)) and (first_life or args.get("always")):
            if args["fail"] == "die":
                sys.exit(3)
            time.sleep(60)
        answer = args.get("move", "pass")
    print(f"= {answer}\n", flush=True)
'''


@pytest.fixture
def fake_engine(tmp_path):
    """argv of the fake engine with its behaviour: refuse=N (the Nth play since clear_board is '?'),
    genmove=N fail=die|hang (on the Nth genmove of its first life, or of every life with always=1)."""
    script = tmp_path / "fake_gtp.py"
    script.write_text(FAKE_ENGINE)

    def argv(**behaviour: object) -> list[str]:
        behaviour.setdefault("marker", tmp_path / "started")
        return [sys.executable, str(script), *(f"{k}={v}" for k, v in behaviour.items())]

    return argv


def _fake_player(argv: list[str], **options: object):
    from agents.gtp import GTPPlayer

    return GTPPlayer(argv, "fake", **options)


# --- vertices and scores ---


@pytest.mark.parametrize("size", [5, 9, 19])
def test_vertices_map_to_openspiel_actions_and_back(size):
    state = pyspiel.load_game(f"go(board_size={size})").new_initial_state()
    for action in range(size * size + 1):
        vertex = action_to_vertex(action, size)
        assert vertex == state.action_to_string(0, action).split()[-1].upper().replace("PASS", "pass")
        assert vertex_to_action(vertex, size) == vertex_to_action(vertex.lower(), size) == action
    assert [action_to_vertex(a, 9) for a in (0, 8, 9, 80, 81)] == ["A1", "J1", "A2", "J9", "pass"]
    assert vertex_to_action("resign", size) is None
    for bad in ("I5", "A0", f"A{size + 1}", "Z3", "", "5"):
        with pytest.raises(ValueError):
            vertex_to_action(bad, size)


def test_area_score_is_openspiels_result():
    """Tromp-Taylor area minus komi has the sign of OpenSpiel's returns at every game's end (no draws at
    komi 7.5 except by a repeated position)."""
    game = pyspiel.load_game(GO9)
    for seed in range(6):
        players = [RandomPlayer(seed), RandomPlayer(seed + 100)]
        record = play_game(game, players, seed)
        state = replay(game, record.actions)
        score = area_score(state)
        if record.returns[0] != 0:
            assert (score > 0) == (record.returns[0] > 0)
    assert format_score(2.5) == "B+2.5" and format_score(-7.5) == "W+7.5" and format_score(0) == "0"


# --- the players' names and errors ---


def test_player_names_and_one_line_errors(monkeypatch):
    quoted = 'gtp:eng --cfg "a,b" x,timeout=3'
    assert parse_player_name(quoted) == ("gtp", 'eng --cfg "a,b" x', {"timeout": "3"})
    with pytest.raises(UsageError, match="plays Go"):
        make_player("gnugo:1", pyspiel.load_game("tic_tac_toe"))
    with pytest.raises(UsageError, match="0-10"):
        make_player("gnugo:11", pyspiel.load_game(GO9))
    with pytest.raises(UsageError, match="no file at path"):
        make_player("gnugo:1,path=/nonexistent/gnugo", pyspiel.load_game(GO9))
    with pytest.raises(UsageError, match="no program"):
        make_player("gtp:/nonexistent/engine --mode gtp", pyspiel.load_game(GO9))
    with pytest.raises(UsageError, match="handicap"):
        make_player("gtp:python", pyspiel.load_game("go(board_size=9,handicap=2)"))
    monkeypatch.setattr("agents.gtp.GNUGO_PATHS", ())
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(UsageError, match="install it: apt-get install -y gnugo"):
        make_player("gnugo:1", pyspiel.load_game(GO9))


# --- against GNU Go ---


@needs_gnugo
def test_a_game_between_two_gnugos_scores_as_openspiel():
    """Finished games of gnugo:1 against gnugo:1 through the client: every move maps to a legal action,
    GNU Go's final_score is OpenSpiel's Tromp-Taylor result at komi 7.5, and reset's seed makes the game
    (the same seed, the same game; another, another)."""
    game = pyspiel.load_game(GO9)
    black, white = make_player("gnugo:1", game, seed=1), make_player("gnugo:1", game, seed=2)
    games = []
    for seed in (3, 4, 3):
        record = play_game(game, [black, white], seed)
        state = replay(game, record.actions)
        assert state.history()[-2:] == [81, 81] and len(record.actions) < game.max_game_length()
        assert black.final_score(state) == white.final_score(state) == format_score(area_score(state))
        assert (area_score(state) > 0) == (record.returns[0] > 0)
        assert black.restarts == white.restarts == 0
        games.append(record.actions)
    assert games[0] == games[2] != games[1]


@needs_gnugo
def test_a_killed_engine_is_restarted_and_the_game_finishes():
    game = pyspiel.load_game(GO9)
    gnugo = make_player("gnugo:1", game, seed=0)

    def kill_at_move_ten(state, action):
        if len(state.history()) == 10:
            gnugo.engine.process.kill()

    record = play_game(game, [make_player("gnugo:1", game), gnugo], seed=1, on_move=kill_at_move_ten)
    assert gnugo.restarts == 1 and len(record.actions) > 10 and record.actions[-2:] == [81, 81]


@needs_gnugo
def test_gnugo_refuses_a_superko_move_and_the_game_ends_as_openspiel_scores_it():
    game = pyspiel.load_game("go(board_size=5,komi=7.5)")
    gnugo = make_player("gnugo:1", game)
    gnugo.reset(game, 1, 0)
    state = replay(game, SUPERKO_5X5, gnugo.observe)
    assert state.is_terminal() and state.returns() == [0.0, 0.0]
    assert gnugo.refused == ("W", action_to_vertex(SUPERKO_5X5[-1], 5)) and gnugo.restarts == 0


@needs_gnugo
def test_a_round_robin_of_random_and_gnugo():
    """`run.py tournament --env GO9 --players random gnugo:1 --games 2`, without the process start."""
    from league.tournament import round_robin

    result = round_robin(GO9, ["random", "gnugo:1"], 2, make_player, bootstrap=50, batch_size=32)
    assert result.payoff[1][0] == 1.0 and len(result.games) == 2  # gnugo:1 beats random in both games


# --- failures, with the fake engine ---


def test_a_hung_engine_is_restarted_and_brought_back(fake_engine):
    game = pyspiel.load_game(GO9)
    player = _fake_player(fake_engine(genmove=3, fail="hang"), timeout=0.5)
    record = play_game(game, [RandomPlayer(0), player], seed=0)
    assert player.restarts == 1 and len(record.actions) >= 6


def test_an_engine_that_keeps_dying_gives_one_clear_error(fake_engine):
    game = pyspiel.load_game(GO9)
    player = _fake_player(fake_engine(genmove=1, fail="die", always=1), max_restarts=2)
    with pytest.raises(EngineFailed, match="failed 3 times in one game"):
        play_game(game, [RandomPlayer(0), player], seed=0)


def test_a_refused_game_ending_move_ends_the_game_without_a_loop(fake_engine):
    """The fake engine refuses the last move of a game OpenSpiel ends on a repeated position: recorded,
    no restart; a refused move after which the game goes on is one clear error, no restart either."""
    game = pyspiel.load_game("go(board_size=5,komi=7.5)")
    player = _fake_player(fake_engine(refuse=len(SUPERKO_5X5)))
    player.reset(game, 0, 0)
    state = replay(game, SUPERKO_5X5, player.observe)
    assert state.returns() == [0.0, 0.0] and player.refused == ("W", "E1") and player.restarts == 0
    player = _fake_player(fake_engine(refuse=3))
    player.reset(game, 0, 0)
    with pytest.raises(EngineFailed, match="rules differ"):
        replay(game, SUPERKO_5X5, player.observe)
    assert player.restarts == 0


def test_engine_answers_and_refusals(fake_engine):
    engine = GTPEngine(fake_engine(refuse=1), timeout=5)
    assert engine.send("name") == "fake"
    with pytest.raises(GTPRefused, match="illegal move"):
        engine.send("play B A1")
    assert engine.send("play B A2") == ""
    engine.close()
    assert not engine.running


# --- the server ---


def _exchange(server: GTPServer, lines: list[str]) -> list[str]:
    return [answer for answer in map(server.handle, lines) if answer is not None]


def test_the_server_answers_a_scripted_exchange():
    server = GTPServer("random", GO9, make_player, seed=0)
    answers = _exchange(server, [
        "protocol_version", "7 name", "known_command genmove", "known_command frobnicate",
        "boardsize 9", "komi 7.5", "clear_board", "# a comment", "", "play b E5", "play b D4", "play w E5",
        "genmove w", "final_score", "undo", "genmove w", "showboard", "frobnicate", "boardsize 7",
        "genmove b", "play w pass", "play b I1", "quit",
    ])
    assert answers[:7] == ["= 2\n\n", "=7 palaestra random\n\n", "= true\n\n", "= false\n\n", "= \n\n",
                           "= \n\n", "= \n\n"]
    assert answers[7] == "= \n\n"  # play b E5
    assert answers[8].startswith("? it is not b's turn") and answers[9] == "? illegal move\n\n"
    white = vertex_to_action(answers[10][2:].strip(), 9)
    assert white is not None and white != 40
    assert answers[11] in ("= W+7.5\n\n", "= B+73.5\n\n")  # a stone each (or white passed), then komi
    assert answers[12] == "= \n\n" and answers[13].startswith("= ")
    assert "ABCDEFGHJ" in answers[14] and answers[15] == "? unknown command\n\n"
    assert answers[16] == "= \n\n" and server.size == 7
    assert vertex_to_action(answers[17][2:].strip(), 7) is not None
    assert answers[18] == "= \n\n"  # white passes on the 7x7 board
    assert answers[19].startswith("? ") and answers[20] == "= \n\n" and server.done


def test_run_py_gtp_speaks_on_stdin_and_stdout():
    script = "protocol_version\nboardsize 9\nclear_board\nplay black C3\ngenmove white\nfinal_score\nquit\n"
    done = subprocess.run([sys.executable, "run.py", "gtp", "random", "--env", GO9], cwd=ROOT, input=script,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answers = done.stdout.split("\n\n")
    assert answers[0] == "= 2" and answers[3] == "= " and vertex_to_action(answers[4][2:], 9) is not None
    bad = subprocess.run([sys.executable, "run.py", "gtp", "gnugo:1", "--env", "tic_tac_toe"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "plays Go" in bad.stderr


@needs_gnugo
def test_the_server_plays_gnugo_through_two_gtp_pipes():
    """A small gogui-twogtp: `run.py gtp random` as Black, GNU Go as White, each told the other's moves;
    the game ends as OpenSpiel ends it, and both engines name the same winner."""
    game = pyspiel.load_game(GO9)
    engines = [GTPEngine([sys.executable, str(ROOT / "run.py"), "gtp", "random", "--env", GO9], timeout=30),
               GTPEngine(gnugo_argv(1, 0), timeout=30)]
    for engine in engines:
        for command in ("boardsize 9", "komi 7.5", "clear_board"):
            engine.send(command)
    state = game.new_initial_state()
    while not state.is_terminal():
        mover = state.current_player()
        vertex = engines[mover].send(f"genmove {'BW'[mover]}")
        state.apply_action(vertex_to_action(vertex, 9))
        try:
            engines[1 - mover].send(f"play {'BW'[mover]} {vertex}")
        except GTPRefused:
            assert state.is_terminal()  # a repeated position: OpenSpiel's draw
    ours, theirs = (engine.send("final_score") for engine in engines)
    assert ours == format_score(area_score(state))
    if state.returns()[0] != 0:
        assert ours[0] == theirs[0] == ("B" if state.returns()[0] > 0 else "W")
    for engine in engines:
        engine.close()


def test_the_server_tells_a_gtp_player_every_move(fake_engine):
    """A GTP player behind the server follows the game: its engine gets every move, in order."""
    server = GTPServer("random", GO9, make_player)
    server.player = _fake_player(fake_engine())
    _exchange(server, ["clear_board", "play b A1", "genmove w", "play b B1"])
    assert server.player.moves == [0, 81, 1]
    stream = io.StringIO("genmove w\nquit\nname\n")
    out = io.StringIO()
    server.serve(stream, out)
    assert out.getvalue() == "= pass\n\n= \n\n"
