"""AlphaZero: a tiny self-play + learn loop, the loss falls, checkpoints round-trip, resume, legal moves."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyspiel
import pytest
import torch

import envs
from agents import alphazero
from agents.buffers import PolicyValueBuffer
from agents.checkpoint import load_checkpoint
from agents.nets.policy_value import PolicyValueNet, policy_value_spec, transformer_spec
from agents.nets.resnet import ResNetTower
from agents.players import load_checkpoint_player, make_player
from agents.schedules import cosine_schedule
from agents.training import resume_config
from envs.errors import UsageError
from envs.symmetries import symmetries_for
from envs.turn_based import RandomPlayer, play_game
from search.network_evaluator import NetworkEvaluator

TINY = dict(
    env="tic_tac_toe",
    channels=8,
    blocks=1,
    hidden=16,
    simulations=8,
    games_in_parallel=16,
    min_replay=64,
    batch_size=32,
    eval_every=0,
    eval_games=2,
    eval_mcts_simulations=10,
    eval_simulations=8,
    checkpoint_every=10_000,
    device="cpu",
)
TRANSFORMER = dict(net="transformer", transformer_dim=16, transformer_layers=1, transformer_heads=2)


def train(tmp_path, name: str, **overrides) -> dict:
    config = alphazero.Config(run_dir=str(tmp_path / name), progress=False, **{**TINY, **overrides})
    config, checkpoint = resume_config(config, alphazero.SHAPE_FIELDS)
    return alphazero.train(config, envs.make(config.env), checkpoint)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> dict:
    return train(tmp_path_factory.mktemp("az"), "run", steps=480)


def test_nets_shapes():
    tower = ResNetTower(5, 8, 2)
    assert tower(torch.zeros(3, 5, 6, 7)).shape == (3, 8, 6, 7)
    for spec in (policy_value_spec((5, 6, 7), 8, 1, 16), transformer_spec(16, 1, 2, 16)):
        spatial = PolicyValueNet(spec, (5, 6, 7), 7)
        logits, values = spatial(torch.rand(3, 5, 6, 7))
        assert logits.shape == (3, 7) and values.shape == (3,) and values.abs().max() <= 1
    flat = PolicyValueNet(policy_value_spec((12,), 8, 2, 16), (12,), 4)
    logits, values = flat(torch.zeros(3, 12))
    assert logits.shape == (3, 4) and values.shape == (3,)


def test_evaluator_priors_are_masked_and_normalised():
    game = pyspiel.load_game("tic_tac_toe")
    net = alphazero.make_network(game, alphazero.Config(**TINY))
    evaluator = NetworkEvaluator(net, game)
    state = game.new_initial_state()
    state.apply_action(4)
    priors, values = evaluator.evaluate([game.new_initial_state(), state])
    assert priors.shape == (2, 9) and values.shape == (2,)
    assert priors[1, 4] == 0 and np.allclose(priors.sum(1), 1, atol=1e-5)


def test_selfplay_and_learning_write_a_loadable_checkpoint(tiny_run):
    checkpoint = load_checkpoint(tiny_run["checkpoint"])
    assert checkpoint["algorithm"] == "alphazero" and checkpoint["step"] == 480
    assert tiny_run["games"] > 0 and checkpoint["train_steps"] > 0
    assert (Path(tiny_run["checkpoint"]).parent / "replay_buffer.npz").exists()
    player = load_checkpoint_player(tiny_run["checkpoint"], envs.make("tic_tac_toe"))
    assert player.config.simulations == 8


def test_loss_falls_on_a_fixed_batch():
    torch.manual_seed(0)
    game = pyspiel.load_game("tic_tac_toe")
    net = alphazero.make_network(game, alphazero.Config(**TINY))
    rng = np.random.default_rng(0)
    obs = rng.integers(0, 2, size=(32, *net.obs_shape)).astype(np.float32)
    policies = rng.dirichlet(np.ones(9), size=32).astype(np.float32)
    values = rng.choice([-1.0, 0.0, 1.0], size=32).astype(np.float32)
    batch = {
        "obs": torch.from_numpy(obs),
        "policies": torch.from_numpy(policies),
        "values": torch.from_numpy(values),
    }
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-2)
    first = float(alphazero.alphazero_loss(net, batch)[0].detach())
    for _ in range(100):
        loss = alphazero.alphazero_loss(net, batch)[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < 0.7 * first


def test_save_load_round_trip_gives_the_same_policy(tiny_run):
    env = envs.make("tic_tac_toe")
    checkpoint = load_checkpoint(tiny_run["checkpoint"])
    player = load_checkpoint_player(tiny_run["checkpoint"], env)
    again = load_checkpoint_player(tiny_run["checkpoint"], env)
    for key, value in checkpoint["model"].items():
        assert torch.equal(value, player.evaluator.network.state_dict()[key])
    state = env.new_initial_state()
    states = [state.clone()]
    for action in (4, 0, 8):
        state.apply_action(action)
        states.append(state.clone())
    a, b = player.evaluator.evaluate(states), again.evaluator.evaluate(states)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    for s in states:
        player.reset(env, s.current_player(), 0)
        again.reset(env, s.current_player(), 0)
        assert player.act(s) == again.act(s)


def test_player_options_and_legal_moves(tiny_run):
    env = envs.make("tic_tac_toe")
    player = make_player(tiny_run["checkpoint"] + ",sims=4", env)
    assert player.config.simulations == 4
    rng = np.random.default_rng(1)
    for game_index in range(6):
        state = env.new_initial_state()
        player.reset(env, game_index % 2, game_index)
        while not state.is_terminal():
            if state.current_player() == game_index % 2:
                action = player.act(state.clone())
                assert action in state.legal_actions()
            else:
                action = int(rng.choice(state.legal_actions()))
            state.apply_action(action)


def test_resume_restores_network_optimizer_buffer_and_counters(tmp_path):
    first = train(tmp_path, "r", steps=320)
    saved = load_checkpoint(first["checkpoint"])
    with np.load(tmp_path / "r" / "ckpt" / "replay_buffer.npz") as data:
        saved_positions = len(data["values"])
    second = train(tmp_path, "again", steps=640, resume=str(tmp_path / "r"))
    resumed = load_checkpoint(second["checkpoint"])
    assert resumed["step"] == 640 and resumed["train_steps"] > saved["train_steps"]
    assert second["games"] > first["games"]
    with np.load(tmp_path / "r" / "ckpt" / "replay_buffer.npz") as data:
        assert len(data["values"]) > 1.5 * saved_positions  # the saved positions were kept, new ones added


def test_transformer_trains_plays_through_make_player_and_eval_and_resumes(tmp_path, capsys):
    import run

    first = train(tmp_path, "t", steps=320, **TRANSFORMER)
    checkpoint = load_checkpoint(first["checkpoint"])
    assert checkpoint["net"]["encoder"]["kind"] == "transformer" and checkpoint["train_steps"] > 0
    assert checkpoint["net"]["encoder"]["d_model"] == 16 and checkpoint["net"]["encoder"]["positions"]
    snapshot = load_checkpoint(tmp_path / "t" / "snapshots" / "step_320.pt")  # the final evaluation's
    assert snapshot["net"] == checkpoint["net"]
    env = envs.make("tic_tac_toe")
    player = make_player(first["checkpoint"] + ",sims=4", env)
    assert isinstance(player.evaluator.network.encoder.encoder.positions, torch.nn.Embedding)
    record = play_game(env, [player, RandomPlayer(0)], seed=0)
    assert sorted(record.returns) in ([-1.0, 1.0], [0.0, 0.0])
    assert run.main(["eval", first["checkpoint"] + ",sims=4", "--episodes", "2", "--json"]) == 0
    assert '"games": 2' in capsys.readouterr().out
    # resumed without the transformer flags: the run's own network (the saved config), and more steps
    second = train(tmp_path, "t2", steps=480, resume=str(tmp_path / "t"))
    resumed = load_checkpoint(second["checkpoint"])
    assert resumed["net"] == checkpoint["net"] and resumed["train_steps"] > checkpoint["train_steps"]
    with pytest.raises(UsageError, match="transformer-dim cannot change"):
        train(tmp_path, "t3", steps=640, resume=str(tmp_path / "t"), transformer_dim=8)


def test_transformer_needs_a_board_and_fitting_sizes():
    with pytest.raises(UsageError, match="flat observation"):
        alphazero.network_spec(pyspiel.load_game("kuhn_poker"), alphazero.Config(net="transformer"))
    with pytest.raises(UsageError, match="divide"):
        config = alphazero.Config(**{**TRANSFORMER, "transformer_heads": 3})
        alphazero.network_spec(pyspiel.load_game("tic_tac_toe"), config)


def test_a_run_from_before_specs_resumes_with_its_weights_renamed(tmp_path):
    first = train(tmp_path, "old", steps=320)
    path = Path(first["checkpoint"])
    checkpoint = torch.load(path, weights_only=True)
    new = checkpoint["model"]
    old_names = {  # the names of the network before specs (agents/nets/resnet.py's PolicyValueNet)
        k.replace("encoder.tower.", "trunk.").replace("_head.layers.", "_head."): v for k, v in new.items()
    }
    del checkpoint["net"]
    torch.save({**checkpoint, "model": old_names}, path)
    player = load_checkpoint_player(str(path), envs.make("tic_tac_toe"))
    assert all(torch.equal(v, player.evaluator.network.state_dict()[k]) for k, v in new.items())
    second = train(tmp_path, "again", steps=480, resume=str(tmp_path / "old"))
    resumed = load_checkpoint(second["checkpoint"])
    assert resumed["net"]["encoder"]["kind"] == "resnet"
    assert resumed["train_steps"] > checkpoint["train_steps"]


def test_refuses_a_game_that_is_not_sequential():
    with pytest.raises(Exception, match="simultaneous moves"):
        alphazero.check_game(pyspiel.load_game("matrix_rps"))


def test_training_is_deterministic_for_a_seed(tmp_path):
    runs = [train(tmp_path, name, steps=320, seed=seed) for name, seed in (("a", 3), ("b", 3), ("c", 4))]
    models = [load_checkpoint(r["checkpoint"])["model"] for r in runs]
    assert all(torch.equal(models[0][k], models[1][k]) for k in models[0])
    assert not all(torch.equal(models[0][k], models[2][k]) for k in models[0])


def test_actor_processes_feed_the_learner_on_a_plugged_in_game(tmp_path):
    import multiprocessing

    # A module:factory Python game with a flat observation: the actors load it again by its spec.
    game = "docs.examples.countdown:make_game"
    result = train(tmp_path, "w", env=game, steps=600, workers=1, min_replay=32)
    checkpoint = load_checkpoint(result["checkpoint"])
    assert result["games"] > 0 and checkpoint["train_steps"] > 0 and checkpoint["step"] >= 600
    assert not [p for p in multiprocessing.active_children() if p.is_alive()]


def test_buffer_samples_each_example_through_a_symmetry_of_the_game():
    game = pyspiel.load_game("connect_four")
    shape = envs.encoding.encoder_for(game).shape
    buffer = PolicyValueBuffer(4, shape, 7, symmetries_for(game, shape))
    obs = np.zeros((1, *shape), dtype=np.float32)
    obs[0, 0, 0, 0] = 1.0  # a stone in the bottom-left corner
    policy = np.array([[0.7, 0.3, 0, 0, 0, 0, 0]], dtype=np.float32)
    buffer.add(obs, policy, np.array([1.0], dtype=np.float32))
    sample = buffer.sample(200, np.random.default_rng(0))
    mirrored = sample["obs"][:, 0, 0, 6] == 1.0
    assert 40 < mirrored.sum() < 160  # both the position and its mirror image come out
    assert np.allclose(sample["policies"][mirrored], policy[0, ::-1])
    assert np.allclose(sample["policies"][~mirrored], policy[0])
    assert (sample["obs"][~mirrored, 0, 0, 0] == 1.0).all() and (sample["values"] == 1.0).all()
    assert buffer.obs[0, 0, 0, 0] == 1.0  # the stored example is untouched


def test_learning_rate_follows_a_cosine_over_the_steps():
    assert cosine_schedule(1e-3, 1e-4, 1000, 0) == pytest.approx(1e-3)
    assert cosine_schedule(1e-3, 1e-4, 1000, 500) == pytest.approx(5.5e-4)
    assert cosine_schedule(1e-3, 1e-4, 1000, 1000) == pytest.approx(1e-4)
    assert cosine_schedule(1e-3, 1e-4, 1000, 5000) == pytest.approx(1e-4)


def test_default_sizes_follow_the_observation():
    sizes = {
        name: alphazero.default_sizes(pyspiel.load_game(name))
        for name in ("tic_tac_toe", "connect_four", "go(board_size=9)", "kuhn_poker")
    }
    assert (
        sizes["tic_tac_toe"]["channels"]
        < sizes["connect_four"]["channels"]
        < sizes["go(board_size=9)"]["channels"]
    )
    assert alphazero.make_network(pyspiel.load_game("kuhn_poker"), alphazero.Config()).spatial is False


def test_evaluations_rate_snapshots_and_survive_resume(tmp_path):
    import json

    first = train(tmp_path, "e", steps=320, eval_every=160)
    elo = json.loads((tmp_path / "e" / "elo.json").read_text())
    names = [row["name"] for row in elo["snapshots"]]
    assert names == ["mcts:10", "step_160", "step_320"]
    assert all((tmp_path / "e" / "snapshots" / f"{n}.pt").exists() for n in names[1:])
    train(tmp_path, "e2", steps=480, eval_every=160, resume=str(tmp_path / "e"))
    again = json.loads((tmp_path / "e" / "elo.json").read_text())
    assert [row["name"] for row in again["snapshots"]][: len(names)] == names
    assert again["snapshots"][-1]["step"] == 480 and first["elo"] is not None


def test_value_targets_mix_outcome_and_search_value(tmp_path):
    train(tmp_path, "z", steps=320, q_weight=0.0)
    train(tmp_path, "q", steps=320, q_weight=0.5)
    with np.load(tmp_path / "z" / "ckpt" / "replay_buffer.npz") as data:
        assert set(np.unique(data["values"])) <= {-1.0, 0.0, 1.0}
    with np.load(tmp_path / "q" / "ckpt" / "replay_buffer.npz") as data:
        values = data["values"]
        assert np.abs(values).max() <= 1.0 and len(np.unique(values)) > 10


def test_an_actor_that_keeps_dying_stops_the_run_with_its_checkpoint_saved(tmp_path, monkeypatch):
    # A plug-in game whose factory exits in any child process: every (re)started actor dies at start.
    (tmp_path / "dies_in_actors.py").write_text(
        "import multiprocessing, os\n"
        "from docs.examples.countdown import make_game as countdown\n"
        "def make_game():\n"
        "    if multiprocessing.parent_process() is not None:\n"
        "        os._exit(3)\n"
        "    return countdown()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from agents.training import TrainingStopped

    with pytest.raises(TrainingStopped, match="restarted actors 1 times.*exit code 3"):
        train(tmp_path, "dead", env="dies_in_actors:make_game", steps=600, workers=1, max_restarts=1)
    assert (tmp_path / "dead" / "ckpt" / "latest.pt").exists()


def test_an_actor_killed_mid_run_is_restarted_and_the_run_completes(tmp_path, monkeypatch):
    # The first actor process to make the game kills itself a second later, in the middle of its games.
    marker = tmp_path / "killed-once"
    (tmp_path / "dies_once.py").write_text(
        "import multiprocessing, os, signal, threading\n"
        "from docs.examples.countdown import make_game as countdown\n"
        "def make_game():\n"
        f"    if multiprocessing.parent_process() is not None and not os.path.exists({str(marker)!r}):\n"
        f"        open({str(marker)!r}, 'w').close()\n"
        "        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGKILL)).start()\n"
        "    return countdown()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = train(tmp_path, "survives", env="dies_once:make_game", steps=3000, workers=1, min_replay=32)
    assert marker.exists() and result["actor_restarts"] == 1 and result["games"] > 0
    assert load_checkpoint(result["checkpoint"])["step"] >= 3000


def test_random_openings_start_games_from_varied_positions():
    game = pyspiel.load_game("tic_tac_toe")
    config = alphazero.Config(**{**TINY, "random_opening_moves": 3})
    network = alphazero.make_network(game, config)
    selfplay = alphazero.SelfPlay(
        game, NetworkEvaluator(network, game), config, np.random.default_rng(0)
    )
    lengths = {len(state.history()) for state in selfplay.states}
    assert lengths == {0, 1, 2, 3}


@pytest.mark.parametrize("name", ["chess", "backgammon", "go(board_size=9)"])
def test_noise_and_sampled_moves_default_from_random_games_not_the_action_count(name):
    """alpha = 10 / the mean number of legal moves (the paper's 0.3 for chess and 0.03 for 19x19 Go follow
    that rule), temperature moves = a quarter of a random game's length; not 10 / num_distinct_actions
    (chess 0.002) and a quarter of max_game_length (backgammon 375)."""
    game = pyspiel.load_game(name)
    config = alphazero.Config(env=name, games_in_parallel=1, channels=8, blocks=1, hidden=8)
    network = alphazero.make_network(game, config)
    selfplay = alphazero.SelfPlay(game, NetworkEvaluator(network, game), config, np.random.default_rng(0))
    assert 0.2 < selfplay.search.config.dirichlet_alpha < 0.6
    assert 10 <= selfplay.temperature_moves <= 90
    resolved = alphazero.with_game_defaults(config, game)
    assert resolved.dirichlet_alpha == selfplay.search.config.dirichlet_alpha
    given = alphazero.with_game_defaults(replace(config, dirichlet_alpha=0.5, temperature_moves=7), game)
    assert (given.dirichlet_alpha, given.temperature_moves) == (0.5, 7)


@pytest.mark.slow  # 75-140 s; the fast suite keeps AlphaZero's plumbing and the committed models' play
def test_tic_tac_toe_stops_losing_to_random(tmp_path):
    """A learning test, not plumbing: 16,000 self-play moves with the defaults (about 75 s on one core)
    and the greedy player no longer loses to random over 100 games, seats alternating."""
    from agents.evaluation import evaluate_player

    config = alphazero.Config(
        env="tic_tac_toe", steps=16_000, eval_every=0, eval_games=2, eval_mcts_simulations=10,
        run_dir=str(tmp_path / "learn"), progress=False, device="cpu", seed=0,
    )
    game = envs.make("tic_tac_toe")
    summary = alphazero.train(config, game)
    player = load_checkpoint_player(summary["checkpoint"], game)
    result = evaluate_player(player, game, 100, opponent="random", seed=0)
    assert result["loss_rate"] == 0.0, result
    assert result["win_rate"] > 0.7, result
