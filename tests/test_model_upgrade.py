"""The models under models/ keep loading and playing as they did.

The AlphaZero constants were recorded from the committed models with the code of before network specs (the
old `PolicyValueNet` class, commit 07bcc3d): 30 positions from seeded random play per game (each an action
list from the start), the network's greedy action (argmax of the masked priors) and its value there, and
the PUCT player's move at 16 simulations and at the checkpoint's saved `eval_simulations` (`puct_saved`).
Each model loads through `run.py eval`'s path (`agents.players.make_player` with the checkpoint's path),
so the upgrade on load (no "net" in these files: the old weights renamed) must give the same network.
"""

import numpy as np
import pytest

import envs
from agents.players import make_player
from envs.turn_based import RandomPlayer, play_game

TTT = dict(
    game="tic_tac_toe",
    path="models/alphazero_ttt_32x2.pt",
    positions=[
        [5, 4, 1, 2, 0, 3], [4, 7, 8], [2, 0, 4, 5, 8, 3], [0, 2, 3, 4, 8, 7], [8, 7, 3, 6, 5],
        [7, 0, 6, 3, 4], [4, 5, 2], [5, 6, 8, 3, 4, 7], [2, 1, 8, 3, 4], [7, 8, 2], [8, 2, 1, 6, 7], [1],
        [2, 8, 7, 0], [7, 6, 5, 0, 8, 4, 1], [7], [6, 5, 7, 1, 2, 0, 3], [5, 7, 3, 6], [7, 0, 2, 4, 5],
        [3, 1, 7, 8, 2, 4, 0], [3, 2, 8, 4], [2, 3, 5, 8, 0, 1, 6], [7, 3], [3, 6, 1, 8, 0, 4], [],
        [2, 7, 3], [1, 7, 0, 3], [4, 5, 1, 3, 0, 6], [], [7, 1, 8, 5, 4], [0, 5, 4, 2, 6, 7, 1],
    ],
    greedy=[6, 0, 6, 6, 4, 2, 6, 0, 6, 4, 4, 4, 4, 2, 4, 8, 4, 8, 6, 6, 4, 4, 2, 4, 4, 2, 2, 4, 0, 8],
    values=[
        0.0786479, -0.6490809, 0.4283033, 0.4532501, -0.7323641, -0.7319320, -0.5924581, 0.7329284,
        -0.7584710, -0.1838777, 0.5302401, -0.1140720, 0.7182209, 0.7346398, -0.1137591, -0.8469100,
        0.8800107, 0.6671672, -0.1504308, 0.2359995, -0.3070879, 0.7544933, 0.6359155, 0.3662869,
        0.0718157, 0.9006119, 0.8969147, 0.3662869, -0.4954173, 0.6181386,
    ],
    puct_sims16=[6, 0, 6, 6, 4, 2, 6, 0, 0, 4, 4, 4, 4, 2, 4, 8, 4, 8, 6, 6, 4, 4, 2, 4, 4, 2, 2, 4, 0, 8],
    puct_saved=[6, 0, 6, 6, 4, 8, 6, 0, 6, 4, 4, 4, 4, 2, 4, 8, 4, 8, 6, 6, 4, 4, 2, 4, 4, 2, 2, 4, 6, 8],
)
C4 = dict(
    game="connect_four",
    path="models/alphazero_c4_32x4.pt",
    positions=[
        [4, 3, 1, 2, 0, 0, 0, 1, 5, 4, 6, 3, 4, 6, 5, 4, 3, 3, 6, 1], [3, 5, 6, 0, 1, 5, 6, 1, 2, 6, 2],
        [1, 0, 2, 2, 5, 3, 0, 2, 4, 5, 5, 6, 1, 6, 0, 3, 1, 1, 4, 2],
        [0, 1, 1, 1, 5, 6, 4, 0, 0, 2, 3, 4, 3, 1, 1, 4, 5, 0, 0, 3], [6, 6, 3, 6, 6, 6, 0, 3, 4, 1, 2, 4],
        [5, 0, 5, 3, 3, 4, 2, 6, 0, 1, 2, 3, 2, 0, 0, 0], [3, 3, 2, 6, 2, 4, 2, 3, 6, 1, 4],
        [4, 4, 6, 4, 5, 5, 1, 0, 2, 1, 6, 6, 0, 3, 5, 0, 5, 0, 3, 5, 2, 2, 1],
        [2, 1, 6, 1, 2, 4, 5, 4, 6, 0, 2, 4, 3, 2, 2, 0, 0], [6, 6, 2, 0, 4, 4, 5, 4, 5, 6],
        [6, 1, 1, 5, 5, 3, 1, 5, 3, 1, 0, 2, 4, 2, 5, 0, 2, 3, 6], [0, 5, 3],
        [1, 6, 6, 0, 1, 1, 1, 4, 2, 3, 1, 6, 4, 4, 0],
        [6, 5, 5, 0, 5, 6, 1, 1, 0, 5, 6, 4, 4, 5, 0, 5, 6, 0, 6, 6, 1, 2], [5, 4, 2],
        [4, 4, 5, 1, 2, 1, 0, 3, 4, 6, 1, 6, 5, 3, 2, 4, 3, 1, 6, 1],
        [3, 5, 3, 5, 0, 3, 2, 0, 4, 3, 0, 2, 6], [5, 0, 1, 3, 3, 5, 2, 0, 1, 3, 2, 6, 2, 4],
        [2, 1, 5, 6, 1, 2, 0, 6, 6, 4, 3, 3, 4, 5, 4, 5, 3, 2, 0, 5],
        [2, 2, 6, 2, 1, 6, 0, 3, 2, 0, 5, 6, 5, 2], [1, 1, 3, 6, 0, 1, 3, 1], [5, 2, 4, 3, 4, 2, 0],
        [2, 4, 1, 6, 0, 1, 4, 0], [], [2, 5, 2, 5, 4, 0, 3, 2, 3], [1, 5, 0, 1, 1, 3, 2, 1, 0, 4, 1, 1],
        [3, 3, 1, 2, 0, 2, 4, 5, 5, 3, 3, 6, 4, 4, 1, 6, 3, 0, 1, 6, 3], [],
        [5, 1, 6, 5, 5, 5, 0, 1, 0, 5, 2, 2, 6, 1, 6, 2], [0, 4, 3, 1, 3, 4, 1, 4, 0, 6, 0, 2],
    ],
    greedy=[5, 2, 4, 4, 5, 2, 2, 1, 4, 3, 3, 2, 3, 3, 3, 2, 1, 2, 2, 6, 2, 4, 3, 3, 3, 3, 5, 3, 6, 4],
    values=[
        -0.2641267, 0.3777756, 0.5283558, -0.7296714, 0.9438549, 0.9858014, -0.2632927, 0.6991561,
        0.1342593, 0.9347999, -0.4715542, -0.0785555, -0.2239965, -0.1112977, 0.5353721, 0.9548014,
        0.9272428, 0.9439649, 0.0351086, -0.3375896, 0.9846449, 0.1717198, 0.3080865, 0.0903535,
        -0.6659603, -0.4126703, -0.1848137, 0.0903535, -0.8108007, 0.8805909,
    ],
    puct_sims16=[5, 2, 4, 4, 5, 2, 2, 2, 4, 3, 4, 3, 4, 3, 4, 2, 1, 2, 2, 6, 2, 4, 3, 3, 3, 4, 5, 3, 6, 4],
    puct_saved=[5, 2, 2, 4, 5, 2, 2, 4, 4, 3, 4, 3, 5, 3, 4, 2, 1, 2, 2, 1, 2, 4, 3, 3, 1, 4, 5, 3, 6, 4],
)


def _states(env, positions):
    states = []
    for history in positions:
        state = env.new_initial_state()
        for action in history:
            state.apply_action(action)
        states.append(state)
    return states


@pytest.mark.parametrize("recorded", [TTT, C4], ids=["tic_tac_toe", "connect_four"])
def test_alphazero_models_give_the_recorded_actions_and_values(recorded):
    env = envs.make(recorded["game"])
    states = _states(env, recorded["positions"])
    player = make_player(recorded["path"], env)
    priors, values = player.evaluator.evaluate(states)
    assert [int(np.argmax(p)) for p in priors] == recorded["greedy"]
    np.testing.assert_allclose(values, recorded["values"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("recorded", [TTT, C4], ids=["tic_tac_toe", "connect_four"])
@pytest.mark.parametrize("sims", ["16", "saved"])
def test_alphazero_models_play_the_recorded_puct_moves(recorded, sims):
    env = envs.make(recorded["game"])
    player = make_player(recorded["path"] + ("" if sims == "saved" else f",sims={sims}"), env)
    moves = []
    for state in _states(env, recorded["positions"]):
        player.reset(env, state.current_player(), 0)
        moves.append(int(player.act(state.clone())))
    assert moves == recorded["puct_sims16" if sims == "16" else "puct_saved"]


@pytest.mark.parametrize("path", ["models/td_gammon_198x40.pt", "models/td_gammon_198x40x4.pt"])
def test_td_gammon_models_load_and_play_a_game(path):
    env = envs.make("backgammon")
    record = play_game(env, [make_player(path, env), RandomPlayer(1)], seed=0)
    assert sorted(record.returns) in ([-1.0, 1.0], [-2.0, 2.0], [-3.0, 3.0])
