"""TD-Gammon: the TD(lambda) rule against the formula, the backgammon game wrapper, pubeval as a player,
the checkpoint round trip and a short self-play run that learns to beat random."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import envs
from agents import td_lambda as T
from envs.backgammon import engine as E
from envs.backgammon.pubeval import pubeval_move
from envs.encoding import encode
from envs.turn_based import RandomPlayer, play_game

# ------------------------------------------------------------------ the TD(lambda) rule


@pytest.mark.parametrize("outputs", [1, 4])
def test_traces_match_the_td_lambda_formula_on_a_tiny_case(outputs):
    """w <- w + alpha (Y_{t+1} - Y_t) sum_{k<=t} lambda^(t-k) grad_w Y_k, with Y from player 0's side
    (player 1's positions turned round) and the game's outcome as the last target, computed literally
    with torch autograd: each gradient at the weights of its own time, the sum written out in full."""
    alpha, lam = 0.5, 0.6
    net = T.ValueNet(hidden=3, outputs=outputs, init_scale=0.8, rng=np.random.default_rng(1), inputs=4)
    start = {name: w.copy() for name, w in net.params.items()}
    xs = np.array([[1, 0, 0.5, 0], [0, 1, 1, 0], [1, 1, 0, 1.5]], np.float32)
    players = [0, 1, 0]
    target = T.outcome_target(2, winner=1, outputs=outputs)

    learner = T.TDLambda(net, alpha, lam)
    learner.begin_game()
    for x, player in zip(xs, players, strict=True):
        h, v = net.forward(x[None])
        learner.observe(x, h[0], v[0], player)
    learner.end_game(target)

    w = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in start.items()}
    swap = [2, 3, 0, 1]

    def y_of(x: np.ndarray, player: int) -> torch.Tensor:
        h = torch.sigmoid(torch.tensor(x, dtype=torch.float64) @ w["W1"] + w["b1"])
        v = torch.sigmoid(h @ w["W2"] + w["b2"])
        if player == 0:
            return v
        return 1.0 - v if outputs == 1 else v[swap]

    grads: list[dict[str, torch.Tensor]] = []  # grads[k][name]: d Y_k / d w, one row per output
    ys: list[torch.Tensor] = []
    for x, player in zip(xs, players, strict=True):
        y = y_of(x, player)
        rows = [torch.autograd.grad(y[k], list(w.values()), retain_graph=True) for k in range(outputs)]
        grads.append({name: torch.stack([row[i] for row in rows], -1) for i, name in enumerate(w)})
        if ys:
            t = len(ys) - 1
            delta = (y.detach() - ys[-1]).numpy()
            with torch.no_grad():
                for name in w:
                    total = sum(lam ** (t - k) * grads[k][name] for k in range(t + 1))
                    w[name] += alpha * total @ torch.tensor(delta, dtype=torch.float64)
        ys.append(y.detach())
    t = len(ys) - 1
    delta = torch.tensor(target, dtype=torch.float64) - ys[-1]
    with torch.no_grad():
        for name in w:
            w[name] += alpha * sum(lam ** (t - k) * grads[k][name] for k in range(t + 1)) @ delta

    for name in w:
        np.testing.assert_allclose(net.params[name], w[name].detach().numpy(), rtol=1e-4, atol=1e-5)
        assert not np.allclose(net.params[name], start[name])


def test_one_step_trace_by_hand():
    """A single hidden unit and input, numbers worked by hand: after two positions of player 0 the trace is
    g2 + lambda g1 and the weight change is alpha (Y2 - Y1) g1."""
    net = T.ValueNet(hidden=1, outputs=1, init_scale=0.0, inputs=1)
    net.params["W1"][:] = 1.0
    net.params["W2"][:] = 2.0  # b1 = b2 = 0
    learner = T.TDLambda(net, alpha=0.1, td_lambda=0.5)
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    x1, x2 = 0.0, 1.0
    h1, h2 = sig(x1), sig(x2)
    y1, y2 = sig(2 * h1), sig(2 * h2)
    # d y / d W2 = y (1 - y) h
    g1_w2, g2_w2 = y1 * (1 - y1) * h1, y2 * (1 - y2) * h2
    for x in (x1, x2):
        h, v = net.forward(np.array([[x]], np.float32))
        learner.observe(np.array([x], np.float32), h[0], v[0], 0)
    assert learner.previous[0] == pytest.approx(y2, rel=1e-6)
    w2_trace = learner.traces[-2, 0]  # W2 is the last weight but b2
    assert w2_trace == pytest.approx(g2_w2 + 0.5 * g1_w2, rel=1e-5)
    assert net.params["W2"][0, 0] == pytest.approx(2.0 + 0.1 * (y2 - y1) * g1_w2, rel=1e-6)


# ------------------------------------------------------------------ the game wrapper


def test_backgammon_name_loads_our_engine_and_openspiel_keeps_its_own():
    game = envs.make("backgammon")
    assert game.get_type().short_name == "palaestra_backgammon"
    assert envs.make("openspiel_backgammon").get_type().short_name == "backgammon"
    assert "openspiel_backgammon" in envs.game_names()
    import pyspiel

    assert pyspiel.load_game("palaestra_backgammon").num_distinct_actions() == game.num_distinct_actions()
    assert envs.identity(game) == envs.identity(envs.make("backgammon"))


def test_wrapper_plays_full_games_and_its_actions_are_the_engines_positions():
    game = envs.make("backgammon")
    seen = {"decisions": 0, "chance": 0}

    def check(state, action):
        if state.is_chance_node():
            seen["chance"] += 1
            assert sum(p for _, p in state.chance_outcomes()) == pytest.approx(1.0)
            return
        seen["decisions"] += 1
        mover = state.current_player()
        board = state.board_for(mover)
        positions = E.legal_positions(board, state.dice)
        assert state.legal_actions() == list(range(len(positions)))
        assert np.array_equal(state.legal_positions(), positions)
        if seen["decisions"] < 40:  # notation is slow: check the first decisions
            moves = [state.action_to_string(mover, a) for a in state.legal_actions()]
            assert len(set(moves)) == len(moves)
            assert state.parse_action(moves[action]) == action
        child = state.child(action)
        if not child.is_terminal():
            assert np.array_equal(child.board_for(mover), positions[action])

    from agents.pubeval_player import PubevalPlayer

    results = []
    for seed, players in enumerate([[RandomPlayer(), RandomPlayer()], [PubevalPlayer(game), RandomPlayer()]]):
        record = play_game(game, players, seed=seed, on_move=check)
        assert sum(record.returns) == 0 and abs(record.returns[0]) in (1, 2, 3)
        results.append(record.returns)
    assert seen["decisions"] > 20 and seen["chance"] > 20
    state = game.new_initial_state()
    assert state.is_chance_node() and len(state.chance_outcomes()) == 30
    assert "opening roll" in str(state) and "24" in str(state)


def test_encoding_is_symmetric_between_the_players():
    game = envs.make("backgammon")
    rng = np.random.default_rng(4)
    state = game.new_initial_state()
    checked = 0
    while not state.is_terminal() and checked < 40:
        if state.is_chance_node():
            outcomes = [a for a, _ in state.chance_outcomes()]
            state.apply_action(int(rng.choice(outcomes)))
            continue
        mine, theirs = encode(state, 0), encode(state, 1)
        assert np.array_equal(mine[:98], theirs[98:196]) and np.array_equal(mine[98:196], theirs[:98])
        assert np.array_equal(mine[196:198], theirs[197:195:-1])
        assert mine[198:].tolist() == [1.0, 0.0] and theirs[198:].tolist() == [0.0, 1.0]
        mover = state.current_player()
        assert encode(state, mover)[196] == 1.0  # the viewer is to move
        expected = E.tesauro_features(state.board_for(mover), 0)
        assert np.array_equal(encode(state, mover)[:198], expected)
        state.apply_action(int(rng.choice(state.legal_actions())))
        checked += 1


def test_pubeval_player_picks_pubevals_move():
    from agents.players import make_player

    game = envs.make("backgammon")
    player = make_player("pubeval", game)
    state = game.new_initial_state()
    state.apply_action(6 * 2 + 0)  # opening 3-1: player 0 moves
    chosen = state.legal_positions()[player.act(state)]
    assert np.array_equal(chosen, pubeval_move(state.board, state.dice))
    assert state.action_to_string(0, player.act(state)) == "8/5 6/5"  # the standard 3-1 point-making play


# ------------------------------------------------------------------ checkpoints and learning


def test_checkpoint_round_trip_and_resume(tmp_path):
    from agents.checkpoint import load_checkpoint
    from agents.players import make_player
    from agents.training import resume_config

    game = envs.make("backgammon")
    config = T.Config(
        steps=600,
        seed=3,
        run_dir=str(tmp_path / "run"),
        progress=False,
        eval_every=5,
        eval_games=4,
        final_eval_games=4,
        checkpoint_every=300,
    )
    summary = T.train(config, game)
    assert summary["steps"] >= 600 and summary["eval_games"] == 4
    path = tmp_path / "run" / "ckpt" / "latest.pt"
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["algorithm"] == "td-lambda" and checkpoint["env"] == envs.identity(game)
    assert set(checkpoint["model"]) == {"W1", "b1", "W2", "b2"}

    net = T.net_from_model(load_checkpoint(path)["model"])
    player = make_player(str(path), game)
    again = make_player(f"{path},ply=2,prune=3", game)
    assert (player.ply, again.ply, again.prune) == (1, 2, 3)
    rng = np.random.default_rng(0)
    state = game.new_initial_state()
    while not state.is_terminal():
        if state.is_chance_node():
            state.apply_action(int(rng.choice([a for a, _ in state.chance_outcomes()])))
            continue
        best = int(np.argmax(T.value_positions(net, state.legal_positions())[3]))
        assert player.act(state) == best
        assert again.act(state) in state.legal_actions()
        state.apply_action(best)

    resumed, saved = resume_config(
        T.Config(resume=str(tmp_path / "run"), steps=1200, progress=False), T.SHAPE_FIELDS
    )
    assert resumed.seed == 3 and resumed.eval_games == 4
    summary = T.train(resumed, game, saved)
    assert summary["steps"] >= 1200 and summary["episodes"] > checkpoint["episodes"]
    with pytest.raises(Exception, match="--hidden"):
        resume_config(T.Config(resume=str(tmp_path / "run"), hidden=20), T.SHAPE_FIELDS)


@pytest.mark.parametrize("outputs", [1, 4])
def test_compiled_self_play_matches_the_numpy_loop(outputs):
    """The compiled training loop plays the same games as the plain numpy one (engine positions,
    value_positions, TDLambda) from the same dice, and leaves the same weights and TD errors."""
    from agents.td_gammon_kernel import CompiledSelfPlay

    compiled_net = T.ValueNet(40, outputs, 0.1, np.random.default_rng(3))
    numpy_net = T.ValueNet(40, outputs, 0.1, np.random.default_rng(3))
    reference = T.TDLambda(numpy_net, 0.1, 0.7)
    self_play = CompiledSelfPlay(compiled_net, alpha=0.1, td_lambda=0.7)
    moved = False
    for seed in range(4):
        start = compiled_net.theta.copy()
        assert self_play.play(np.random.default_rng(seed)) == T.reference_self_play_game(
            numpy_net, reference, np.random.default_rng(seed))
        moved = moved or not np.allclose(compiled_net.theta, start)
        np.testing.assert_allclose(compiled_net.theta, numpy_net.theta, atol=2e-6)
        assert self_play.squared_error == pytest.approx(reference.squared_error, rel=1e-4)
    assert moved
    # Without alpha the compiled loop only plays: the weights stay as they are.
    before = compiled_net.theta.copy()
    CompiledSelfPlay(compiled_net).play(np.random.default_rng(9))
    assert np.array_equal(compiled_net.theta, before)


def test_short_self_play_run_beats_random():
    """800 self-play games from scratch (alpha 0.3 to be quick): > 80% against random, in the arena."""
    from agents.evaluation import evaluate_player
    from agents.td_gammon_kernel import CompiledSelfPlay

    game = envs.make("backgammon")
    rng = np.random.default_rng(0)
    net = T.ValueNet(40, 1, 0.1, rng)
    player = T.TDGammonPlayer(net, game)
    before = evaluate_player(player, game, 100, opponent="random", seed=2)["win_rate"]
    self_play = CompiledSelfPlay(net, alpha=0.3, td_lambda=0.7)
    for _ in range(800):
        self_play.play(rng)
    after = evaluate_player(player, game, 200, opponent="random", seed=2)
    assert after["win_rate"] > 0.8 > before
    assert after["points_per_game"] > 1.0  # it wins many gammons against random


def test_learning_rate_schedules_run_from_alpha_to_final_alpha():
    """constant keeps alpha; linear and cosine start at alpha, pass the midpoint at half the steps and end
    (and stay) at final_alpha."""
    config = T.Config(steps=1000, alpha=0.1, final_alpha=0.02)
    assert T.learning_rate(config, 900) == 0.1
    for schedule in ("linear", "cosine"):
        c = T.Config(steps=1000, alpha=0.1, final_alpha=0.02, alpha_schedule=schedule)
        assert T.learning_rate(c, 0) == pytest.approx(0.1)
        assert T.learning_rate(c, 500) == pytest.approx(0.06)
        assert T.learning_rate(c, 1000) == pytest.approx(0.02) == T.learning_rate(c, 5000)
    cosine = T.Config(steps=1000, alpha=0.1, final_alpha=0.02, alpha_schedule="cosine")
    linear = T.Config(steps=1000, alpha=0.1, final_alpha=0.02, alpha_schedule="linear")
    assert T.learning_rate(cosine, 200) > T.learning_rate(linear, 200)  # cosine stays high longer


def _two_ply_candidate_by_candidate(net: T.ValueNet, positions: np.ndarray, prune: int) -> int:
    """2-ply written out plainly: each searched candidate's 21 rolls, the opponent's best reply to each,
    one net call per roll."""
    _, _, _, equity = T.value_positions(net, positions)
    order = np.argsort(-equity, kind="stable")[:prune]
    values = []
    for i in order:
        if positions[i, 0, E.OFF] == E.NUM_CHECKERS:
            values.append(float(equity[i]))
            continue
        expected = 0.0
        for a, b, p in T._ROLLS:
            replies = E.legal_positions(E.flip(positions[i]), (a, b))
            expected -= p * float(T.value_positions(net, replies)[3].max())
        values.append(expected)
    return int(order[int(np.argmax(values))])


def test_batched_two_ply_chooses_as_the_plain_search_and_compiled_replies_equal_the_engines():
    """choose_2ply (all second-ply positions in one net call) picks the move of the plain search on
    positions from self-play, a bear-off race included; the compiled reply lists hold the engine's sets."""
    from agents.td_gammon_kernel import CompiledReplies

    rng = np.random.default_rng(4)
    net = T.ValueNet(12, 4, 0.5, rng)
    race = np.zeros((2, 26), np.int8)
    race[0, [0, 1, 3]], race[0, E.OFF], race[1, [2, 20]], race[1, E.OFF] = [1, 2, 1], 11, [3, 2], 10
    board, cases = E.initial_board(), [E.legal_positions(race, (6, 5))]
    while len(cases) < 5:
        positions = E.legal_positions(board, rng.integers(1, 7, 2))
        cases.append(positions)
        board = E.flip(positions[rng.integers(len(positions))])
    compiled = CompiledReplies(capacity=16)  # small, so that it grows
    for positions in cases:
        assert T.choose_2ply(net, positions, 4) == _two_ply_candidate_by_candidate(net, positions, 4)
        assert T.choose_2ply(net, positions, 4, compiled) == T.choose_2ply(net, positions, 4)
        boards = E.flip(positions[:3])
        (plain, plain_bounds), (fast, fast_bounds) = T.reply_positions(boards), compiled(boards)
        assert np.array_equal(plain_bounds, fast_bounds)
        for s, e in zip(plain_bounds[:-1], plain_bounds[1:], strict=True):
            assert sorted(map(bytes, plain[s:e])) == sorted(map(bytes, fast[s:e]))


def test_compiled_pubeval_match_chooses_as_the_players():
    """bench/td_gammon_pubeval_match.py's choosers pick the positions that the net's 1-ply choice and
    pubeval's pick among the engine's positions, on positions of random games (races and bear-offs
    included), wherever the best is unique."""
    from agents.pubeval_player import pubeval_index
    from bench.td_gammon_pubeval_match import net_choice, pubeval_choice
    from envs.backgammon.kernels import Workspace, legal_into
    from envs.backgammon.pubeval import _score_table

    rng = np.random.default_rng(5)
    net = T.ValueNet(10, 4, 0.5, rng)
    tables = np.stack([_score_table(True), _score_table(False)])
    workspace, compared = Workspace(), 0
    for _ in range(3):
        board = E.initial_board()
        while True:
            dice = rng.integers(1, 7, 2)
            positions = E.legal_positions(board, dice)
            flat = board.reshape(-1).copy()
            n = legal_into(flat, dice[0], dice[1], *workspace.arrays())
            fast = workspace.positions[:n].reshape(n, 2, 26)
            equity = T.value_positions(net, positions)[3]
            if np.sum(equity == equity.max()) == 1:
                chosen = fast[net_choice(net.theta, 10, 4, workspace.positions, n)]
                assert np.array_equal(chosen, positions[int(np.argmax(equity))])
                compared += 1
            pubeval = positions[pubeval_index(board, positions)]
            assert np.array_equal(fast[pubeval_choice(flat, workspace.positions, n, tables)], pubeval)
            if (positions[:, 0, E.OFF] == E.NUM_CHECKERS).any():
                break
            board = E.flip(positions[rng.integers(len(positions))])
    assert compared > 100
