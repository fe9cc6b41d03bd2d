"""One generic check over several registered games and envs: the API, masks, a full random game."""

import numpy as np
import pytest

import envs
from envs.encoding import Encoder, encode, legal_mask
from envs.errors import UsageError
from envs.spaces import flat_size, flatten_observation
from envs.turn_based import OpponentEnv, RandomPlayer, play_game, sample_chance

GAMES = ["tic_tac_toe", "connect_four", "kuhn_poker", "backgammon", "go(board_size=5)", "hex(board_size=5)"]
GYM_ENVS = ["CartPole-v1", "FrozenLake-v1", "Taxi-v4", "CliffWalking-v1"]


@pytest.mark.parametrize("spec", GAMES)
def test_game_api_masks_and_a_full_random_game(spec):
    game = envs.make(spec)
    assert envs.is_game(game)
    encoder = Encoder(game)
    rng = np.random.default_rng(0)
    state = game.new_initial_state()
    moves = 0
    while not state.is_terminal():
        if state.is_chance_node():
            outcomes, probs = zip(*state.chance_outcomes(), strict=True)
            state.apply_action(outcomes[rng.choice(len(outcomes), p=np.array(probs) / sum(probs))])
            continue
        player = state.current_player()
        obs = encoder(state, player)
        assert obs.shape == encoder.shape and obs.dtype == np.float32
        assert np.array_equal(obs, encode(state, player))
        mask = legal_mask(state, game.num_distinct_actions())
        assert mask.sum() == len(state.legal_actions()) > 0
        state.apply_action(int(rng.choice(np.flatnonzero(mask))))
        moves += 1
    assert moves > 0
    assert len(state.returns()) == game.num_players()


def test_encoding_says_whose_view_it_is():
    game = envs.make("tic_tac_toe")
    state = game.new_initial_state()
    assert not np.array_equal(encode(state, 0), encode(state, 1))


@pytest.mark.parametrize("spec", ["tic_tac_toe", "connect_four"])
def test_play_game_between_random_players(spec):
    game = envs.make(spec)
    record = play_game(game, [RandomPlayer(), RandomPlayer()], seed=3)
    again = play_game(game, [RandomPlayer(), RandomPlayer()], seed=3)
    assert record.actions == again.actions
    assert sorted(record.returns) in ([-1.0, 1.0], [0.0, 0.0])


def test_opponent_env_alternates_seats_and_masks():
    env = OpponentEnv(envs.make("tic_tac_toe"), seed=1)
    seats = []
    for _ in range(4):
        obs, info = env.reset()
        seats.append(info["seat"])
        done = False
        while not done:
            mask = info["action_mask"]
            obs, reward, done, _, info = env.step(int(np.flatnonzero(mask)[0]))
        assert reward in (-1.0, 0.0, 1.0)
    assert seats == [0, 1, 0, 1]
    with pytest.raises(ValueError):
        env.reset()
        env.step(env.state.legal_actions()[0])
        env.step(env.state.history()[0])  # an occupied square


@pytest.mark.parametrize("spec", GYM_ENVS)
def test_gym_envs_flatten_observations(spec):
    env = envs.make(spec)
    assert not envs.is_game(env)
    obs, _ = env.reset(seed=0)
    vector = flatten_observation(env.observation_space, obs)
    assert vector.shape == (flat_size(env.observation_space),)
    if hasattr(env.observation_space, "n"):
        assert vector.sum() == 1.0


@pytest.mark.parametrize("spec", ["tic_tak_toe", "CartPol-v1", "nosuch.module:factory", ""])
def test_unknown_specs_fail_with_one_clear_line(spec):
    with pytest.raises(UsageError) as error:
        envs.make(spec)
    assert "\n" not in str(error.value)


def test_identity_names_game_and_parameters():
    small = envs.identity(envs.make("go(board_size=5)"))
    large = envs.identity(envs.make("go(board_size=7)"))
    assert small["name"] == large["name"] == "go" and small != large


class _Chance:
    """A stand-in chance node: sample_chance reads chance_outcomes() only."""

    def __init__(self, outcomes):
        self.outcomes = outcomes

    def chance_outcomes(self):
        return self.outcomes


@pytest.mark.parametrize("spec", ["backgammon", "openspiel_backgammon", "kuhn_poker", "leduc_poker", "pig"])
def test_sample_chance_draws_what_numpy_choice_draws(spec):
    """The cached-cdf fast path against the call it replaces, rng.choice(n, p=p / sum(p)): the same outcome
    at every draw and the generator left in the same state, on every chance node of a game's random play
    and on hand-made distributions (zeros, unnormalised weights, a single outcome)."""
    game = envs.make(spec)
    nodes, rng = [], np.random.default_rng(0)
    for _ in range(5):
        state = game.new_initial_state()
        while not state.is_terminal():
            if state.is_chance_node():
                nodes.append(state.chance_outcomes())
                state.apply_action(sample_chance(state, rng))
            else:
                legal = state.legal_actions()
                state.apply_action(legal[rng.integers(len(legal))])
    nodes += [[(3, 0.0), (5, 0.25), (6, 0.0), (9, 0.75), (10, 0.0)], [(0, 2.0), (1, 1.0), (2, 7.0)],
              [(4, 1.0)], [(a, 1.0 / 7) for a in range(7)], [(a, float(a) ** 3) for a in range(40)]]
    fast, slow = np.random.default_rng(123), np.random.default_rng(123)
    for k in range(20_000):
        outcomes = nodes[k % len(nodes)]
        actions, probabilities = zip(*outcomes, strict=True)
        expected = actions[slow.choice(len(actions), p=np.asarray(probabilities) / np.sum(probabilities))]
        assert sample_chance(_Chance(outcomes), fast) == expected
    assert fast.bit_generator.state == slow.bit_generator.state


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_sample_chance_refuses_what_numpy_refuses():
    with pytest.raises(ValueError):
        sample_chance(_Chance([(0, 0.5), (1, -0.5), (2, 1.0)]), np.random.default_rng(0))
    with pytest.raises(ValueError):
        sample_chance(_Chance([(0, 0.0), (1, 0.0)]), np.random.default_rng(0))  # 0 / 0: NaN
