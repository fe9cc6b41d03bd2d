"""Expert games and positions (agents/expert_data.py, agents/expert_positions.py): SGF and JSON-lines round
trips, duplicates under symmetry, the held-out split without leaks, symmetry augmentation, `run.py data`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyspiel
import pytest

from agents.expert_data import ExpertGame, JSONLinesWriter, SGFWriter, read_games, writer_for
from agents.expert_positions import (
    _inverse,
    augment,
    build_dataset,
    dedup_games,
    game_positions,
    position_keys,
)
from agents.gtp import find_gnugo
from envs.encoding import encoder_for
from envs.errors import UsageError
from envs.symmetries import symmetries_for

ROOT = Path(__file__).resolve().parent.parent
GO9 = "go(board_size=9,komi=7.5)"


def _random_game(game: pyspiel.Game, seed: int, moves: int = 40, opening: int = 2) -> ExpertGame:
    rng = np.random.default_rng(seed)
    state, actions = game.new_initial_state(), []
    while not state.is_terminal() and len(actions) < moves:
        legal = state.legal_actions()
        action = int(legal[rng.integers(len(legal))])
        actions.append(action)
        state.apply_action(action)
    returns = state.returns() if state.is_terminal() else [1.0, -1.0]
    return ExpertGame(actions, list(returns), opening, ["x", "x"], seed)


def test_sgf_round_trip(tmp_path: Path) -> None:
    game = pyspiel.load_game(GO9)
    assert isinstance(writer_for(game), SGFWriter)
    record = _random_game(game, 0, moves=60, opening=3)
    record.actions[10] = 81  # a pass in the middle (legal: the game goes on)
    state = game.new_initial_state()
    for a in record.actions:
        assert a in state.legal_actions()
        state.apply_action(a)
    SGFWriter().write(game, record, tmp_path, 7)
    (back,) = read_games(game, tmp_path)
    assert back.actions == record.actions and back.opening == 3 and back.seed == 0
    assert back.returns == record.returns and back.players == ["x", "x"]
    assert (tmp_path / "games" / "000007.sgf").read_text().startswith("(;FF[4]")


def test_a_users_sgf_reads_without_opening_and_with_implied_passes(tmp_path: Path) -> None:
    game = pyspiel.load_game(GO9)
    text = "(;GM[1]SZ[9]KM[7.5]RE[W+2.5];B[ee];W[cc];B[gg];B[tt];W[];B[aa];W[ab])"
    (tmp_path / "mine.sgf").write_text(text)
    (tmp_path / "big.sgf").write_text("(;GM[1]SZ[19];B[pd])")  # another size: skipped
    (record,) = read_games(game, tmp_path)
    # SGF letters are column, then row from the top; OpenSpiel's rows count from the bottom. B[gg] then
    # B[tt] (a pass): White passed between them.
    assert record.actions == [40, 6 * 9 + 2, 2 * 9 + 6, 81, 81, 81, 8 * 9, 7 * 9]
    assert record.opening == 0 and record.returns == [-1.0, 1.0]


def test_json_lines_round_trip_and_bad_line(tmp_path: Path) -> None:
    game = pyspiel.load_game("connect_four")
    assert isinstance(writer_for(game), JSONLinesWriter)
    records = [_random_game(game, s, opening=1) for s in range(3)]
    for k, r in enumerate(records):
        JSONLinesWriter().write(game, r, tmp_path, k)
    back = read_games(game, tmp_path)
    assert [b.actions for b in back] == [r.actions for r in records]
    assert [b.returns for b in back] == [r.returns for r in records]
    line = json.loads((tmp_path / "games.jsonl").read_text().splitlines()[0])
    assert set(line) == {"env", "actions", "returns", "opening", "players", "seed"}
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "games.jsonl").write_text('{"returns": [1, -1]}\n')
    with pytest.raises(UsageError, match="not a game record"):
        read_games(game, tmp_path / "bad")


def test_duplicates_under_symmetry_are_removed() -> None:
    game = pyspiel.load_game(GO9)
    symmetries = symmetries_for(game, encoder_for(game).shape)
    record = _random_game(game, 1)
    turned = ExpertGame([int(a) for a in _inverse(symmetries[4])[record.actions]], record.returns)
    other = _random_game(game, 2)
    unique = dedup_games([record, turned, other, record], symmetries)
    assert unique == [record, other]


def test_symmetry_augmentation_maps_positions_and_moves() -> None:
    """A game and its image under each symmetry are both legal games: the augmented positions of the one
    are the positions of the other, move for move, mask for mask."""
    game = pyspiel.load_game(GO9)
    symmetries = symmetries_for(game, encoder_for(game).shape)
    record = _random_game(game, 3, moves=30, opening=0)
    original = game_positions(game, [record])
    for k, sym in enumerate(symmetries):
        image = ExpertGame([int(a) for a in _inverse(sym)[record.actions]], record.returns)
        expected = game_positions(game, [image])
        chosen = np.full(len(original), k)
        obs, actions, masks = augment(original.obs, original.action, original.mask, symmetries, None, chosen)
        assert np.array_equal(obs, expected.obs), sym.name
        assert np.array_equal(actions, expected.action), sym.name
        assert np.array_equal(masks, expected.mask), sym.name
    keys = position_keys(original.obs, symmetries)
    assert len(set(keys.tolist())) == len(keys)  # distinct positions of one game: distinct keys


def test_held_out_split_by_game_without_leaks(tmp_path: Path) -> None:
    game = pyspiel.load_game(GO9)
    symmetries = symmetries_for(game, encoder_for(game).shape)
    shared = _random_game(game, 4, moves=12).actions  # every game opens with these 12 moves (or an image)
    for k in range(10):
        tail = _random_game(game, 100 + k, moves=40)
        state = game.new_initial_state()
        moves = [int(a) for a in _inverse(symmetries[k % 8])[shared]]
        for a in moves:
            state.apply_action(a)
        rng = np.random.default_rng(k)
        while len(moves) < 40 and not state.is_terminal():
            legal = state.legal_actions()
            moves.append(int(legal[rng.integers(len(legal))]))
            state.apply_action(moves[-1])
        tail.actions, tail.opening = moves, 0
        SGFWriter().write(game, tail, tmp_path, k)
    SGFWriter().write(game, tail, tmp_path, 10)  # a duplicate
    dataset = build_dataset(game, tmp_path, held_out=0.2, seed=0)
    stats = dataset.stats
    assert stats["games_read"] == 11 and stats["duplicate_games"] == 1
    assert stats["train_games"] == 8 and stats["held_out_games"] == 2
    assert {id(g) for g in dataset.train_games}.isdisjoint({id(g) for g in dataset.held_games})
    removed = stats["held_out_positions_before_leak_removal"] - stats["held_out_positions"]
    assert removed >= 2 * 12  # the shared opening's positions (under some symmetry) are all in training
    train_keys = set(position_keys(dataset.train.obs, symmetries).tolist())
    assert train_keys.isdisjoint(position_keys(dataset.held.obs, symmetries).tolist())


def _run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """`run.py ARGS` in this process: (exit status, stdout, stderr)."""
    import run

    status = run.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_run_data_connect_four_with_a_search_expert(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "c4"
    status, text, _ = _run(capsys, "data", "--env", "connect_four", "--expert", "mcts:20", "--games", "6",
                           "--out", str(out))
    assert status == 0 and json.loads(text.splitlines()[-1])["games"] == 6
    _, text, _ = _run(capsys, "data", "--env", "connect_four", "--expert", "mcts:20", "--games", "2",
                      "--out", str(out))
    assert json.loads(text.splitlines()[-1])["last_run"]["first_game"] == 6  # continued
    seeds = [json.loads(line)["seed"] for line in (out / "games.jsonl").read_text().splitlines()]
    assert seeds == list(range(8))
    _, text, _ = _run(capsys, "data", "--env", "connect_four", "--data", str(out))
    stats = json.loads(text.splitlines()[-1])
    assert stats["games_read"] == 8 and stats["train_positions"] > 0
    status, _, err = _run(capsys, "data", "--env", "connect_four", "--expert", "nobody", "--out", str(out))
    assert status == 2 and err.count("\n") == 1 and "unknown player" in err


def _has_gnugo() -> bool:
    try:
        find_gnugo()
    except UsageError:
        return False
    return True


@pytest.mark.skipif(not _has_gnugo(), reason="GNU Go is not installed (apt-get install -y gnugo)")
def test_gnugo_games_as_sgf(tmp_path: Path) -> None:
    from agents.expert_data import generate

    manifest = generate(GO9, ["gnugo:1"], 2, tmp_path, seed=5, opening_moves=3)
    assert manifest["games"] == 2 and manifest["runs"][0]["games_by_expert"] == {"gnugo:1": 2}
    game = pyspiel.load_game(GO9)
    records = read_games(game, tmp_path)
    assert [r.seed for r in records] == [5, 6] and records[0].actions != records[1].actions
    for record in records:
        state = game.new_initial_state()
        for a in record.actions:
            state.apply_action(a)
        assert state.is_terminal() and record.returns == list(state.returns())
        assert 0 <= record.opening <= 3
