"""Learners with a policy or Q head over action ids refuse our backgammon, whose action i is the i-th legal
resulting position, in one line (exit 2), and name OpenSpiel's move-based backgammon instead."""

import pytest

from envs.errors import UsageError
from tests.test_cli import assert_usage_error, run_cli


@pytest.mark.parametrize("algorithm", ["dqn", "reinforce", "alphazero"])
def test_policy_and_q_learners_refuse_position_actions(tmp_path, algorithm):
    run_dir = tmp_path / algorithm
    result = run_cli("train", algorithm, "--env", "backgammon", "--steps", "50", "--run-dir", str(run_dir))
    assert_usage_error(result, algorithm, "--env backgammon", "openspiel_backgammon")
    assert not run_dir.exists()  # refused before the run folder is made


def test_the_named_alternative_is_a_game_the_learners_take():
    import envs

    game = envs.make("openspiel_backgammon")
    envs.refuse_position_actions(game, "dqn")  # no error: its actions are moves
    assert "openspiel_backgammon" in envs.game_names()
    with pytest.raises(UsageError, match="openspiel_backgammon"):
        envs.refuse_position_actions(envs.make("backgammon"), "dqn")
