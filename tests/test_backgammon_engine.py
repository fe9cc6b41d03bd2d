"""The backgammon engine against OpenSpiel's rules, hand-made rule cases, scoring, notation, the 198-input
encoding and pubeval (reference scores computed by a literal transcription of Tesauro's description)."""

from __future__ import annotations

import numpy as np
import pytest

from envs.backgammon import engine as E
from envs.backgammon import kernels as K
from envs.backgammon.pubeval import WEIGHTS_PATH, pubeval_inputs, pubeval_move, pubeval_scores


def board_from(mover: dict[int, int], opponent: dict[int, int]) -> np.ndarray:
    """A board from {point: count} per player, each in its own numbering (25 = bar); the rest is off."""
    b = np.zeros((2, 26), dtype=np.int8)
    for row, counts in enumerate((mover, opponent)):
        for point, n in counts.items():
            b[row, point - 1] = n
        b[row, E.OFF] = 15 - b[row, :25].sum()
    return b


def as_set(positions: np.ndarray) -> set[bytes]:
    return {p.astype(np.int8).tobytes() for p in positions}


# ------------------------------------------------------------------ OpenSpiel cross-check

OS_BAR = 100  # OpenSpiel's kBarPos
OS_PASS_DIGIT = 25


def openspiel_board(state, player: int) -> np.ndarray:
    """OpenSpiel's position as our board with `player` in row 0. OpenSpiel's X (0) moves 0 -> 23 and bears
    off past 23, O (1) moves 23 -> 0: our column for X's position pos is 23 - pos, for O's it is pos."""
    b = np.zeros((2, 26), dtype=np.int8)
    for row, who in ((0, player), (1, 1 - player)):
        for pos in range(24):
            b[row, 23 - pos if who == 0 else pos] = state.board(who, pos)
        b[row, E.BAR] = state.board(who, OS_BAR)
        b[row, E.OFF] = 15 - b[row, :25].sum()
    return b


def dice_used(action: int) -> int:
    """Checker moves in an OpenSpiel action: two base-26 digits (+676 for low die first), 25 = pass."""
    a = action % 676
    return int(a % 26 != OS_PASS_DIGIT) + int(a // 26 != OS_PASS_DIGIT)


def openspiel_results(state, player: int) -> set[bytes]:
    """Distinct positions OpenSpiel allows for the roll; a double is two decisions of two moves each.

    OpenSpiel applies the use-as-many-dice-as-possible rule within each half of a double only, so a first
    half that leaves the second half short would pass; the rules count all four dice, so keep only the
    sequences that use the most dice (it never changed a set in our samples, but the rule says so).
    """
    used: dict[bytes, int] = {}
    for a in set(state.legal_actions()):
        child = state.child(a)
        if not child.is_terminal() and child.current_player() == player:
            for a2 in set(child.legal_actions()):
                key = openspiel_board(child.child(a2), player).tobytes()
                used[key] = max(used.get(key, 0), dice_used(a) + dice_used(a2))
        else:
            key = openspiel_board(child, player).tobytes()
            used[key] = max(used.get(key, 0), dice_used(a))
    most = max(used.values())
    return {k for k, n in used.items() if n == most}


def test_engine_matches_openspiel_on_random_positions():
    """The engine and the compiled generator give OpenSpiel's set of resulting positions, each once."""
    pyspiel = pytest.importorskip("pyspiel")
    game = pyspiel.load_game("backgammon")
    rng = np.random.default_rng(2024)
    workspace = K.Workspace()
    checked = on_bar = bearing_off = doubles = 0
    while checked < 1200:
        state = game.new_initial_state()
        while not state.is_terminal() and checked < 1200:
            if state.is_chance_node():
                outcomes = [o for o, _ in state.chance_outcomes()]
                state.apply_action(int(rng.choice(outcomes)))
                continue
            player = state.current_player()
            obs = state.observation_tensor(player)
            dice = (int(obs[-2]), int(obs[-1]))
            board = openspiel_board(state, player)
            ours = E.legal_positions(board, dice)
            assert as_set(ours) == openspiel_results(state, player), (board.tolist(), dice)
            assert len(ours) == len(as_set(ours))  # distinct
            compiled = K.legal_positions_unordered(board, dice, workspace)  # the training loop's generator
            assert len(compiled) == len(ours) and as_set(compiled) == as_set(ours), (board.tolist(), dice)
            for position in ours:
                E.validate_board(position)
            checked += 1
            on_bar += board[0, E.BAR] > 0
            bearing_off += board[0, 6:25].sum() == 0
            doubles += dice[0] == dice[1]
            state.apply_action(int(rng.choice(state.legal_actions())))
            if not state.is_terminal() and state.current_player() == player:  # second half of a double
                state.apply_action(int(rng.choice(state.legal_actions())))
    # The sample exercises the special rules, not just the opening.
    assert on_bar > 96 and bearing_off > 48 and doubles > 96  # each kind of position is well covered


def scattered_board(rng: np.random.Generator) -> np.ndarray:
    """A random legal board with the checkers spread thin (many blots, many plays), sometimes on the bar
    or all home, unlike the positions of real games."""
    b = np.zeros((2, 26), np.int8)
    home_only = rng.random() < 0.25
    for _ in range(15):
        b[0, rng.integers(0, 6 if home_only else 25)] += 1
    free = [c for c in range(24) if b[0, c] == 0]
    for _ in range(int(rng.integers(5, 16))):
        b[1, 23 - int(rng.choice(free))] += 1
    b[1, E.OFF] = 15 - b[1].sum()
    if home_only:
        moved_off = int(rng.integers(0, 10))
        for c in np.flatnonzero(b[0, :6])[:moved_off]:
            b[0, E.OFF] += b[0, c]
            b[0, c] = 0
    return b


def test_compiled_generator_matches_the_engine_on_scattered_boards():
    """On thin, spread-out boards (the most plays; every double's plays found once without a duplicate
    check), the compiled generator gives the engine's positions for all 21 rolls, each once."""
    rng = np.random.default_rng(7)
    workspace = K.Workspace()
    most = 0
    for _ in range(150):
        board = scattered_board(rng)
        E.validate_board(board)
        for d1 in range(1, 7):
            for d2 in range(d1, 7):
                ours = E.legal_positions(board, (d1, d2))
                compiled = K.legal_positions_unordered(board, (d2, d1), workspace)
                case = (board.tolist(), d1, d2)
                assert len(compiled) == len(ours) and as_set(compiled) == as_set(ours), case
                most = max(most, len(ours))
    assert most > 500  # some rolls have hundreds of plays


# ------------------------------------------------------------------ rules on hand-made positions


def test_opening_move_counts():
    start = E.initial_board()
    assert len(E.legal_positions(start, (3, 1))) == 16
    assert len(E.legal_positions(start, (1, 3))) == 16
    assert len(E.legal_positions(start, (6, 5))) == 7  # 24/13 is one position whichever die goes first


def test_only_one_die_playable_must_be_the_larger():
    # One checker on 24; the opponent holds our 13-point: 24/18 or 24/19, but not both dice.
    board = board_from({24: 1}, {12: 2})
    (result,) = E.legal_positions(board, (6, 5))
    assert result[0, 17] == 1  # 24/18: the 6
    # Block the 6 as well (our 18-point = the opponent's 7): only the 5 can be played.
    board = board_from({24: 1}, {12: 2, 7: 2})
    (result,) = E.legal_positions(board, (5, 6))
    assert result[0, 18] == 1


def test_no_move_returns_the_board():
    board = board_from({25: 1, 6: 14}, {3: 2, 4: 2, 24: 11})
    positions = E.legal_positions(board, (3, 4))  # enters on our 22 or 21: the opponent holds its 3 and 4
    assert len(positions) == 1 and np.array_equal(positions[0], board)
    assert E.legal_moves(board, (3, 4))[1] == ["pass"]


def test_bearing_off_with_a_larger_die_only_from_the_highest_point():
    board = board_from({6: 1, 2: 1}, {1: 15})
    results = as_set(E.legal_positions(board, (5, 4)))
    assert results == as_set(np.stack([board_from({1: 1}, {1: 15}), board_from({2: 1}, {1: 15})]))
    board = board_from({3: 2, 1: 1}, {1: 15})
    (result,) = E.legal_positions(board, (6, 5))
    assert result[0, 0] == 1 and result[0, E.OFF] == 14


def test_doubles_play_four_and_as_many_as_possible():
    board = board_from({24: 2, 13: 5}, {})
    positions = E.legal_positions(board, (6, 6))
    pips = positions[:, 0, :25] @ np.arange(1, 26)
    assert (pips == 24 * 2 + 13 * 5 - 24).all()
    # Our 18-point is held (the opponent's 7): the back checkers cannot move and 13/7/1 is all that can
    # be played (bearing off needs every checker home): two of the four dice.
    board = board_from({24: 2, 13: 1}, {7: 2})
    positions = E.legal_positions(board, (6, 6))
    assert as_set(positions) == as_set(board_from({24: 2, 1: 1}, {7: 2})[None])


def test_hits_send_the_blot_to_the_bar():
    board = board_from({13: 1}, {20: 1, 1: 14})  # the opponent's 20 is our 5
    after = E.legal_positions(board, (4, 4))
    hit = [p for p in after if p[1, E.BAR] == 1]
    assert hit and all(p[1, 19] == 0 for p in hit)


# ------------------------------------------------------------------ scoring and contact


@pytest.mark.parametrize(
    ("loser", "points"),
    [
        ({6: 10}, 1),  # has borne off 5: a single game
        ({6: 15}, 2),  # nothing off: gammon
        ({6: 14, 20: 1}, 3),  # a checker in the winner's home board (the loser's 20): backgammon
        ({6: 14, 25: 1}, 3),  # on the bar: backgammon
        ({18: 15}, 2),  # the loser's 18 is the winner's 7: outside its home board
    ],
)
def test_scoring(loser, points):
    won = board_from({}, loser)
    assert E.game_result(won) == points
    assert E.game_result(E.flip(won)) == -points
    assert E.game_result(E.initial_board()) == 0


def test_validate_board():
    E.validate_board(E.initial_board())
    with pytest.raises(ValueError):
        E.validate_board(board_from({24: 1}, {1: 2}))  # both on the mover's 24-point
    with pytest.raises(ValueError):
        E.validate_board(np.zeros((2, 26)))
    with pytest.raises(ValueError):
        E.validate_board(np.zeros((2, 24)))
    assert E.pip_counts(E.initial_board()) == (167, 167)


def test_contact_and_race():
    assert E.has_contact(E.initial_board())
    race = board_from({6: 10, 11: 5}, {6: 10, 13: 5})  # its 13 is our 12: our rearmost (11) is past it
    assert E.is_race(race) and E.is_race(E.flip(race))
    contact = board_from({6: 10, 14: 5}, {6: 10, 13: 5})  # our 14 behind its checkers on our 12
    assert not E.is_race(contact)
    assert not E.is_race(board_from({6: 14, 25: 1}, {6: 15}))
    batch = np.stack([race, contact, E.initial_board()])
    assert E.has_contact(batch).tolist() == [False, True, True]


# ------------------------------------------------------------------ notation


def test_notation_round_trip_on_random_play():
    rng = np.random.default_rng(7)
    board = E.initial_board()
    for _ in range(120):
        dice = E.roll_dice(rng)
        positions, moves = E.legal_moves(board, dice)
        assert np.array_equal(positions, E.legal_positions(board, dice))
        assert len(set(moves)) == len(moves)
        for position, text in zip(positions, moves, strict=True):
            assert np.array_equal(E.parse_move(board, dice, text), position), text
        board = positions[rng.integers(len(positions))]
        if E.game_result(board):
            board = E.initial_board()
        else:
            board = E.flip(board)


def test_notation_examples_and_errors():
    start = E.initial_board()
    moves = E.legal_moves(start, (6, 5))[1]
    assert "24/13" in moves and "13/8 13/7" in moves
    assert "8/5 6/5" in E.legal_moves(start, (3, 1))[1]
    same = E.parse_move(start, (6, 5), "24/18 18/13")
    assert np.array_equal(same, E.parse_move(start, (5, 6), "24/13"))
    assert np.array_equal(
        E.parse_move(start, (1, 1), "8/7(2) 6/5(2)"), E.parse_move(start, (1, 1), "8/7 8/7 6/5 6/5")
    )
    for bad in ("24/17 13/11", "7/1 6/5", "13/11", "hello", "24/18 18/12"):
        with pytest.raises(ValueError):
            E.parse_move(start, (6, 5) if bad != "13/11" else (2, 1), bad)
    # From the bar, hitting; bearing off.
    board = board_from({25: 1, 6: 14}, {4: 1, 24: 14})  # the opponent's 4 is our 21
    assert "bar/21* 6/3" in E.legal_moves(board, (4, 3))[1]
    assert E.parse_move(board, (4, 3), "bar/21* 6/3")[1, E.BAR] == 1
    home = board_from({2: 2}, {1: 15})
    assert E.legal_moves(home, (6, 5))[1] == ["2/off(2)"]


def test_ambiguous_hit_must_be_named():
    # 24/13 with 6-5 can pass our 18 (an opposing blot: hit) or our 19 (empty).
    board = board_from({24: 1, 6: 14}, {7: 1, 2: 14})
    quiet = E.parse_move(board, (6, 5), "24/13")
    assert quiet[1, E.BAR] == 0
    hit = E.parse_move(board, (6, 5), "24/18*/13")
    assert hit[1, E.BAR] == 1 and hit[0, 12] == 1


# ------------------------------------------------------------------ Tesauro's 198 inputs


def test_tesauro_features_symmetric_between_players():
    rng = np.random.default_rng(3)
    boards = [E.initial_board()]
    board = boards[0]
    for _ in range(60):
        positions = E.legal_positions(board, E.roll_dice(rng))
        board = E.flip(positions[rng.integers(len(positions))])
        boards.append(board)
    boards = np.stack(boards)
    side = rng.integers(0, 2, size=len(boards))
    x = E.tesauro_features(boards, side)
    mirrored = E.tesauro_features(E.flip(boards), 1 - side)
    assert x.shape == (len(boards), E.NUM_FEATURES) and x.dtype == np.float32
    assert np.array_equal(mirrored, np.concatenate([x[:, 98:196], x[:, :98], x[:, [197, 196]]], axis=1))
    assert np.array_equal(E.tesauro_features(boards[5], int(side[5])), x[5])


def test_tesauro_features_values():
    x = E.tesauro_features(board_from({6: 5, 1: 1, 25: 2}, {24: 4}), 1)
    assert x[5 * 4 : 5 * 4 + 4].tolist() == [1, 1, 1, 1.0]  # 5 on the 6-point: (5 - 3) / 2
    assert x[0:4].tolist() == [1, 0, 0, 0]
    assert x[96] == 1.0 and x[97] == pytest.approx(7 / 15)  # bar 2 / 2; 7 off
    assert x[98 + 23 * 4 : 98 + 24 * 4].tolist() == [1, 1, 1, 0.5]
    assert x[194] == 0 and x[195] == pytest.approx(11 / 15)
    assert x[196:].tolist() == [0, 1]


# ------------------------------------------------------------------ pubeval


def read_weights() -> dict[str, list[float]]:
    words = [line.split() for line in WEIGHTS_PATH.read_text().splitlines() if not line.startswith("#")]
    return {w[0]: [float(v) for v in w[1:]] for w in words if w}


def pubeval_reference(race: bool, pos: list[int]) -> float:
    """Tesauro's pubeval transcribed literally from its description, on its own pos[0..27] board:
    pos[1..24] the mover's points (+ mover, - opponent), pos[25] the mover's bar, pos[0] the opponent's
    bar (negative), pos[26] the mover's borne-off, pos[27] the opponent's (negative)."""
    if pos[26] == 15:
        return 99999999.0
    x = [0.0] * 122
    for j in range(1, 25):
        n = pos[25 - j]
        k = 5 * (j - 1)
        if n == -1:
            x[k] = 1.0
        if n == 1:
            x[k + 1] = 1.0
        if n >= 2:
            x[k + 2] = 1.0
        if n == 3:
            x[k + 3] = 1.0
        if n >= 4:
            x[k + 4] = (n - 3) / 2.0
    x[120] = -pos[0] / 2.0
    x[121] = pos[26] / 15.0
    w = read_weights()["race" if race else "contact"]
    return sum(wi * xi for wi, xi in zip(w, x, strict=True))


def board_from_pubeval(pos: list[int]) -> np.ndarray:
    b = np.zeros((2, 26), dtype=np.int8)
    for p in range(1, 25):
        b[0, p - 1] = max(pos[p], 0)
        b[1, 24 - p] = max(-pos[p], 0)  # the mover's point p is the opponent's 25 - p
    b[0, E.BAR], b[1, E.BAR] = pos[25], -pos[0]
    b[0, E.OFF], b[1, E.OFF] = pos[26], -pos[27]
    return b


# (pos, race, score): scores computed once by `pubeval_reference` and checked by hand where noted.
PUBEVAL_FIXTURES = [
    (
        [0, -2, 0, 0, 0, 0, 5, 0, 3, 0, 0, 0, -5, 5, 0, 0, 0, -3, 0, -5, 0, 0, 0, 0, 2, 0, 0, 0],
        False,
        6.84055,
    ),
    (
        [0, -1, 0, 0, 0, -1, 5, 0, 3, 0, 0, 1, -1, 3, 0, 0, 0, -7, 0, -4, 0, -1, 0, 0, 3, 0, 0, 0],
        False,
        4.93507,
    ),
    (
        [0, -1, 0, 0, 0, -1, 5, 0, 3, 0, 0, 1, -1, 3, 0, 0, 0, -7, 0, -4, 0, -1, 0, 0, 3, 0, 0, 0],
        True,
        11.94694,
    ),
    (
        [-2, 0, -2, -1, 2, 0, 2, 1, 6, 0, 0, 1, -1, 1, 1, -1, 0, -3, -1, -3, 1, 0, -1, 0, 0, 0, 0, 0],
        False,
        11.569595,
    ),
    (
        [0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0, -1, 0, 0, 0, 0, -1, 0, 0, -2, 0, -8, -2, 0, 5, 0],
        True,
        -49.2558166667,
    ),
    # By hand: 2 on the 1-point (block 24: x[117] = 1) and 13 off (x[121] = 13/15):
    # race[117] + 13/15 * race[121] = -7.26713 + 13/15 * 3.42040.
    (
        [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -15, 0, 0, 13, 0],
        True,
        -4.3027833333,
    ),
]


@pytest.mark.parametrize(("pos", "race", "score"), PUBEVAL_FIXTURES)
def test_pubeval_reproduces_reference_scores(pos, race, score):
    assert pubeval_reference(race, pos) == pytest.approx(score, abs=1e-6)
    board = board_from_pubeval(pos)
    assert float(pubeval_scores(board, race)) == pytest.approx(score, abs=1e-6)


def test_pubeval_batch_and_winning_move():
    boards = np.stack([board_from_pubeval(p) for p, _, _ in PUBEVAL_FIXTURES])
    assert pubeval_inputs(boards).shape == (len(boards), 122)
    expected = [pubeval_reference(False, p) for p, _, _ in PUBEVAL_FIXTURES]
    assert np.allclose(pubeval_scores(boards, False), expected)
    # With the last two checkers on the 1- and 2-points, pubeval bears both off.
    board = board_from({1: 1, 2: 1}, {1: 15})
    assert pubeval_move(board, (2, 1))[0, E.OFF] == 15
    # pubeval's choice is among the legal positions and is the best-scored one.
    start = E.initial_board()
    choice = pubeval_move(start, (3, 1))
    positions = E.legal_positions(start, (3, 1))
    scores = [pubeval_reference(False, _pubeval_pos(p)) for p in positions]
    assert np.array_equal(choice, positions[int(np.argmax(scores))])
    assert E.legal_moves(start, (3, 1))[1][int(np.argmax(scores))] == "8/5 6/5"


def _pubeval_pos(board: np.ndarray) -> list[int]:
    pos = [0] * 28
    for p in range(1, 25):
        pos[p] = int(board[0, p - 1]) - int(board[1, 24 - p])
    pos[25], pos[0] = int(board[0, E.BAR]), -int(board[1, E.BAR])
    pos[26], pos[27] = int(board[0, E.OFF]), -int(board[1, E.OFF])
    return pos


def test_pubeval_beats_random():
    rng = np.random.default_rng(11)
    wins = 0
    for game in range(20):
        board, pubeval_side = E.initial_board(), game % 2
        side, dice = E.opening_roll(rng)
        while True:
            if side == pubeval_side:
                board = pubeval_move(board, dice)
            else:
                positions = E.legal_positions(board, dice)
                board = positions[rng.integers(len(positions))]
            if E.game_result(board):
                wins += side == pubeval_side
                break
            board, side, dice = E.flip(board), 1 - side, E.roll_dice(rng)
    assert wins >= 19
