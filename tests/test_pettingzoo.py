"""PettingZoo both ways: PettingZoo envs through envs.make, the arena, the players and the learners; OpenSpiel
games as PettingZoo envs (PettingZoo's own API tests)."""

import json
import warnings

import gymnasium
import numpy as np
import pytest
from pettingzoo import AECEnv
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.utils import AgentSelector

import envs
from envs.errors import UsageError
from envs.pettingzoo import (
    AECOpponentEnv,
    RandomObservationPlayer,
    play_aec_game,
    split_observation,
    to_pettingzoo,
)

TICTACTOE = "envs.pettingzoo_classic:tictactoe"


class DelayedReward(AECEnv):
    """Two agents, two rounds; in each round "first" picks 0 or 1, then "second" does, and only then
    "first" is rewarded with its own pick (second gets 10 times its pick): first's reward arrives after
    the opponent's move. The mask lives in `info` (as Shimmy's envs put it)."""

    metadata = {"name": "delayed_reward_v0"}

    def __init__(self):
        super().__init__()
        self.possible_agents = ["first", "second"]
        self._space = gymnasium.spaces.Box(0, 2, (1,), np.float32)
        self._actions = gymnasium.spaces.Discrete(2)

    def observation_space(self, agent):
        return self._space

    def action_space(self, agent):
        return self._actions

    def observe(self, agent):
        return np.array([self.round], dtype=np.float32)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.round, self.pick = 0, 0
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {"action_mask": np.ones(2, dtype=np.int8)} for a in self.agents}
        self._selector = AgentSelector(self.agents)
        self.agent_selection = self._selector.reset()

    def step(self, action):
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self.rewards = dict.fromkeys(self.agents, 0.0)
        if agent == "first":
            self.pick = int(action)
        else:
            self.rewards = {"first": float(self.pick), "second": 10.0 * int(action)}
            self.round += 1
            if self.round == 2:
                self.terminations = dict.fromkeys(self.agents, True)
        self._accumulate_rewards()
        self.agent_selection = self._selector.next()


class Picks:
    """A player that plays a fixed list of actions (one per turn), recording what it observed."""

    def __init__(self, actions):
        self.actions, self.seen = list(actions), []

    def reset(self, env, player_id, seed):
        self.turn = 0

    def observe(self, observation, action):
        self.seen.append((observation, action))

    def act(self, observation, info=None):
        self.turn += 1
        return self.actions[self.turn - 1]


def first_legal(env):
    """A plug-in player factory (module:factory) that has only act(observation, info)."""

    class FirstLegal:
        def act(self, observation, info=None):
            return int(np.flatnonzero(split_observation(observation, info)[1])[0])

    return FirstLegal()


def shimmy_tic_tac_toe():
    """A plug-in factory: OpenSpiel's tic_tac_toe as a PettingZoo env (through Shimmy)."""
    return to_pettingzoo("tic_tac_toe")


def test_make_accepts_a_pettingzoo_plugin_and_identity_records_it():
    env = envs.make(TICTACTOE)
    assert envs.is_pettingzoo(env) and envs.is_multiplayer(env) and not envs.is_game(env)
    assert envs.identity(env) == {"kind": "pettingzoo", "name": "tictactoe_v3", "parameters": "[]",
                                  "agents": ["player_1", "player_2"],
                                  "obs_shape": {"player_1": [3, 3, 2], "player_2": [3, 3, 2]},
                                  "num_actions": 9}
    assert envs.num_seats(env) == 2
    assert not envs.is_pettingzoo(envs.make("tic_tac_toe"))


def test_a_reward_after_the_opponents_move_is_credited_to_the_learners_last_action():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # agent names and render(): style advice
        api_test(DelayedReward(), num_cycles=20)  # the hand-written env is a proper AEC env
    learner_first = AECOpponentEnv(DelayedReward(), Picks([0, 0]), seat=0)
    obs, info = learner_first.reset(seed=0)
    assert info["seat"] == 0 and info["action_mask"].tolist() == [True, True]
    _, reward, terminated, truncated, info = learner_first.step(1)  # rewarded 1 once second has moved
    assert (reward, terminated, truncated) == (1.0, False, False)
    _, reward, terminated, _, info = learner_first.step(0)
    assert (reward, terminated) == (0.0, True)
    assert info["returns"] == [1.0, 0.0]

    learner_second = AECOpponentEnv(DelayedReward(), Picks([1, 1]), seat=1)
    learner_second.reset(seed=0)
    _, reward, terminated, _, _ = learner_second.step(1)
    assert (reward, terminated) == (10.0, False)
    _, reward, terminated, _, info = learner_second.step(0)
    assert (reward, terminated, info["returns"]) == (0.0, True, [2.0, 10.0])

    record = play_aec_game(DelayedReward(), [Picks([1, 0]), Picks([1, 1])], seed=0)
    assert record.actions == [1, 1, 0, 1] and record.returns == [1.0, 20.0]


def test_a_match_on_tictactoe_v3_alternates_seats_and_observers_see_only_their_own_view():
    env = envs.make(TICTACTOE)
    watcher = Picks([])
    watcher.act = RandomObservationPlayer(1).act
    record = play_aec_game(env, [watcher, RandomObservationPlayer(2)], seed=3)
    assert sorted(record.returns) in ([-1.0, 1.0], [0.0, 0.0])
    assert len(set(record.actions)) == len(record.actions)  # a cell is played once
    assert len(watcher.seen) == len(record.actions)
    for k, (observation, action) in enumerate(watcher.seen):  # its own view: plane 0 holds its own marks
        assert action is None
        assert observation["observation"].sum(axis=(0, 1)).tolist() == [k // 2 + 1, (k + 1) // 2]

    from agents.evaluation import evaluate_player
    from agents.players import make_player

    result = evaluate_player(make_player(f"{__name__}:first_legal", env), env, episodes=6, opponent="random")
    assert result["games"] == 6 and result["win_rate"] + result["draw_rate"] + result["loss_rate"] == 1.0
    with pytest.raises(UsageError, match="forward model"):
        make_player("mcts:10", env)
    with pytest.raises(UsageError, match="forward model"):
        make_player("models/alphazero_ttt_32x2.pt", env)


def test_a_parallel_env_plays_as_a_simultaneous_game():
    import pyspiel

    game = pyspiel.load_game("matrix_rps")
    for seed in range(5):
        players = [RandomObservationPlayer(seed), RandomObservationPlayer(9)]
        record = play_aec_game(to_pettingzoo(game), players, seed=seed)
        state = game.new_initial_state()
        state.apply_actions(record.actions)
        assert record.returns == state.returns()


def test_openspiel_games_pass_pettingzoo_api_tests():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "observation space is -inf..inf": OpenSpiel tensors are unbounded
        for spec in ("tic_tac_toe", "kuhn_poker", "backgammon"):  # backgammon: our own game
            api_test(to_pettingzoo(spec), num_cycles=200)
        for spec in ("goofspiel(num_cards=4,imp_info=True)", "matrix_rps"):
            parallel_api_test(to_pettingzoo(spec), num_cycles=200)
    import pyspiel

    for seed in range(6):  # the returns of a converted game are the game's (Shimmy's own counted some twice)
        record = play_aec_game(to_pettingzoo("tic_tac_toe"), [RandomObservationPlayer(seed)] * 2, seed=seed)
        state = pyspiel.load_game("tic_tac_toe").new_initial_state()
        for action in record.actions:
            state.apply_action(action)
        assert state.is_terminal() and record.returns == state.returns()
    three = to_pettingzoo("kuhn_poker(players=3)")  # parameters survive Shimmy's reset
    three.reset(seed=0)
    assert three.num_agents == 3 and three.game_state.get_game().num_players() == 3
    goofspiel = to_pettingzoo("goofspiel(num_cards=4,imp_info=True)")
    observations, _ = goofspiel.reset(seed=0)
    assert observations["player_0"]["action_mask"].tolist() == [1, 1, 1, 1]


def test_dqn_self_play_on_a_pettingzoo_env_trains_saves_and_plays_through_the_commands(tmp_path, capsys):
    import run
    from agents import dqn
    from agents.players import make_player

    env = envs.make(TICTACTOE)
    config = dqn.Config(env=TICTACTOE, steps=1500, learning_starts=200, opponent="self", eval_episodes=4,
                        run_dir=str(tmp_path / "dqn"), progress=False, hidden_sizes=(32,),
                        self_play_epsilon=0.5)
    summary = dqn.train(config, env)
    checkpoint = summary["checkpoint"]
    player = make_player(checkpoint, env)
    assert play_aec_game(env, [player, RandomObservationPlayer(0)], seed=0).returns[0] in (-1.0, 0.0, 1.0)
    assert run.main(["eval", checkpoint, "--episodes", "10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["games"] == 10
    shimmy_spec = f"{__name__}:shimmy_tic_tac_toe"  # its mask is in info, its observation a plain array
    shimmy_env = envs.make(shimmy_spec)
    with pytest.raises(UsageError, match="checkpoint is for tictactoe_v3"):
        make_player(checkpoint, shimmy_env)
    from agents import reinforce

    config = reinforce.Config(env=shimmy_spec, steps=300, opponent="random", eval_episodes=2,
                              run_dir=str(tmp_path / "rf"), progress=False)
    summary = reinforce.train(config, shimmy_env)
    rf_player = make_player(summary["checkpoint"], shimmy_env)
    record = play_aec_game(shimmy_env, [rf_player, RandomObservationPlayer(0)], seed=1)
    assert sorted(record.returns) in ([-1.0, 1.0], [0.0, 0.0])


def test_a_human_plays_a_pettingzoo_env_at_the_terminal():
    import io

    from league.human import HumanAgentPlayer, QuitGame, play_agents_in_terminal

    env, out = envs.make(TICTACTOE), io.StringIO()
    human = HumanAgentPlayer(stdin=io.StringIO("9\n4\nquit\n"), stdout=out)
    with pytest.raises(QuitGame):
        play_agents_in_terminal(env, [human, RandomObservationPlayer(0)], ["human", "random"], stdout=out)
    text = out.getvalue()
    assert "'9' is not a legal action" in text and "player 0 (human) plays 4" in text
    assert text.count("player 1 (random) plays") == 1
