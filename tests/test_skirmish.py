"""Skirmish's rules (gathering, building, combat counters, sight and fog), masks, the PettingZoo API,
bots on their own view, games that end, replays and the commands."""

import copy

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

import envs
from envs.errors import UsageError
from envs.games.skirmish import kernel
from envs.games.skirmish.bots import BOTS, make_bot
from envs.games.skirmish.engine import Game
from envs.games.skirmish.env import (
    SkirmishEnv,
    SkirmishVsBot,
    agent_observation,
    decode_action,
    encode_action,
)
from envs.games.skirmish.replay import record_game, replay_from_record, resimulate
from envs.games.skirmish.rules import (
    A_ATTACK,
    A_BUILD_BARRACKS,
    A_GATHER,
    A_MOVE,
    A_TRAIN_LIGHT,
    ATTACK,
    BARRACKS,
    BASE,
    BUILD,
    BUILD_TIME,
    COST,
    F_ALIVE,
    F_BUILDING,
    F_KIND,
    F_OWNER,
    F_POS,
    GATHER,
    GROUP_ARMY,
    HEAVY,
    IDLE,
    LIGHT,
    MAX_OWN,
    MAX_STEPS,
    MOVE,
    NUM_TYPES,
    NUM_UNIT_CHOICES,
    P_RESOURCES,
    RANGED,
    SIGHT,
    TRAIN,
    WORKER,
)

S = 16
EXPECTED_ORDER = [IDLE, MOVE, ATTACK, GATHER, BUILD, BUILD, TRAIN, TRAIN, TRAIN, TRAIN, IDLE]
"""The order each action type gives (no-op: the unit keeps its own; never checked)."""


def cell(x: int, y: int) -> int:
    return y * S + x


def empty_game(compiled: bool = True) -> Game:
    """A game with only the two bases, far apart (top-left, bottom-right), and 20 resources each."""
    g = Game(S, compiled=compiled)
    g.reset(0)
    g.units[:] = 0
    g.occ[:] = 0
    g.players[:] = 0
    for p, c in ((0, cell(1, 1)), (1, cell(14, 14))):
        kernel.new_unit(g.units, g.players, g.occ, p, BASE, c, 0)
        g.players[p, P_RESOURCES] = 20
    g.sync()
    return g


def add(g: Game, owner: int, kind: int, x: int, y: int) -> int:
    i = kernel.new_unit(g.units, g.players, g.occ, owner, kind, cell(x, y), 0)
    g.sync()
    return i


def slot_of(g: Game, p: int, unit: int) -> int:
    return int(np.flatnonzero(g.slot_ids[p] == unit)[0])


def run(g: Game, steps: int, a0=(0, 0, 0), a1=(0, 0, 0)) -> None:
    g.step(a0, a1)
    for _ in range(steps - 1):
        g.step((0, 0, 0), (0, 0, 0))


def test_gathering_brings_resources_home():
    g = empty_game()
    w = add(g, 0, WORKER, 2, 2)
    patch = cell(5, 1)  # the patch beside player 0's corner
    assert g.amounts[patch] > 0
    before, left = int(g.players[0, P_RESOURCES]), int(g.amounts[patch])
    run(g, 30, (A_GATHER, slot_of(g, 0, w), patch))
    gained = int(g.players[0, P_RESOURCES]) - before
    assert gained >= 4 and gained == left - int(g.amounts[patch]) - int(g.units[w, 7])


def test_building_costs_takes_time_then_trains():
    g = empty_game()
    w = add(g, 0, WORKER, 3, 3)
    before = int(g.players[0, P_RESOURCES])
    run(g, 6, (A_BUILD_BARRACKS, slot_of(g, 0, w), cell(4, 4)))
    b = g.occ[cell(4, 4)] - 1
    assert b >= 0 and g.units[b, F_KIND] == BARRACKS and g.units[b, F_BUILDING] > 0
    assert g.players[0, P_RESOURCES] == before - COST[BARRACKS]
    assert not g.observe(0)["type_mask"][A_TRAIN_LIGHT]  # not finished: cannot train
    run(g, BUILD_TIME[BARRACKS] + 1)
    o = g.observe(0)
    assert g.units[b, F_BUILDING] == 0 and o["type_mask"][A_TRAIN_LIGHT]
    assert o["unit_mask"][A_TRAIN_LIGHT, slot_of(g, 0, b)]
    run(g, BUILD_TIME[LIGHT] + 2, (A_TRAIN_LIGHT, slot_of(g, 0, b), 0))
    kinds = g.units[(g.units[:, F_ALIVE] == 1) & (g.units[:, F_OWNER] == 0), F_KIND]
    assert (kinds == LIGHT).sum() == 1


def fight(mine: int, theirs: int, n: int = 4) -> tuple[int, int]:
    """n units of each kind on open ground attack-move onto the other side's first unit, every 4 steps,
    for 80 steps; the survivors of each side."""
    g = empty_game()
    for k in range(n):  # in the bottom-left quadrant, far from both bases
        add(g, 0, mine, 1 + k, 11)
        add(g, 1, theirs, 1 + k, 14)

    def army(p):
        return np.flatnonzero((g.units[:, F_ALIVE] == 1) & (g.units[:, F_OWNER] == p)
                              & (g.units[:, F_KIND] != BASE))

    for step in range(80):
        orders = []
        for p in range(2):
            enemy = army(1 - p)
            if step % 4 or not len(enemy) or not len(army(p)):
                orders.append((0, 0, 0))
            else:
                orders.append((A_ATTACK, MAX_OWN + GROUP_ARMY, int(g.units[enemy[0], F_POS])))
        g.step(*orders)
    return len(army(0)), len(army(1))


@pytest.mark.parametrize("winner,loser", [(LIGHT, RANGED), (RANGED, HEAVY), (HEAVY, LIGHT)])
def test_combat_counters_form_a_cycle(winner, loser):
    ours, theirs = fight(winner, loser)
    assert ours > 0 and theirs == 0
    ours, theirs = fight(loser, winner)  # the other way round: the same kind wins
    assert ours == 0 and theirs > 0


def visible_enemies(g: Game, p: int) -> list[tuple[int, int]]:
    o = agent_observation(g, p)
    e = o["entities"][: int(o["entity_mask"].sum())]
    return [(int(r[2]), int(r[3])) for r in e if r[0] == 1]


def test_fog_an_unseen_enemy_is_absent_and_what_was_seen_goes_when_the_scout_leaves():
    g = empty_game()
    enemy = add(g, 1, HEAVY, 8, 11)
    assert (8, 11) not in visible_enemies(g, 0)
    o = agent_observation(g, 0)
    assert o["planes"][8 + HEAVY, 11, 8] == 0 and o["planes"][14, 11, 8] == 0  # no enemy plane, not visible
    scout = add(g, 0, LIGHT, 8 - SIGHT[LIGHT], 9)  # 3 columns away: in sight
    assert (8, 11) in visible_enemies(g, 0)
    assert agent_observation(g, 0)["planes"][8 + HEAVY, 11, 8] == 1
    g.units[enemy, 5] = 0  # the heavy stays idle; the scout walks away to the top-left
    run(g, 12, (A_MOVE, slot_of(g, 0, scout), cell(3, 3)))
    assert g.units[enemy, F_ALIVE] == 1
    assert (8, 11) not in visible_enemies(g, 0)  # no memory of what was seen
    assert agent_observation(g, 0)["planes"][8 + HEAVY].sum() == 0
    truth = g.truth()["units"]
    assert (8, 11) in [(int(c) % S, int(c) // S) for c in truth[:, F_POS][truth[:, F_OWNER] == 1]]


def random_structured(o, rng, legal: bool):
    """A legal action drawn from the masks, or an arbitrary (type, unit, target) the masks forbid."""
    if legal:
        t = int(rng.choice(np.flatnonzero(o["type_mask"])))
        u = int(rng.choice(np.flatnonzero(o["unit_mask"][t])))
        return t, u, int(rng.choice(np.flatnonzero(o["target_mask"][t])))
    while True:
        a = (int(rng.integers(NUM_TYPES)), int(rng.integers(NUM_UNIT_CHOICES)), int(rng.integers(S * S)))
        if not (o["type_mask"][a[0]] and o["unit_mask"][a[0], a[1]] and o["target_mask"][a[0], a[2]]):
            return a


def test_masked_actions_change_orders_and_illegal_ones_are_no_ops():
    rng = np.random.default_rng(0)
    g = Game(S, compiled=True)
    g.reset(3)
    bots = [make_bot("economy", 0), make_bot("rush", 1)]
    for p, b in enumerate(bots):
        b.reset(None, p, p)
    for _ in range(150):
        if g.done:
            break
        bot_actions = [decode_action(bots[p].act(agent_observation(g, p), {}), S) for p in range(2)]
        illegal = random_structured(g.observe(0), rng, legal=False)
        twin = copy.deepcopy(g)
        g.step(illegal, bot_actions[1])
        twin.step((0, 0, 0), bot_actions[1])
        assert np.array_equal(g.units, twin.units) and np.array_equal(g.players, twin.players)
        o = g.observe(0)
        t, u, c = random_structured(o, rng, legal=True)
        units, players = g.units.copy(), g.players.copy()
        kernel.apply_action(units, players, 0, np.array([t, u, c]), o["type_mask"], o["unit_mask"],
                            o["target_mask"], g.slot_ids[0])
        if t != 0 and u < MAX_OWN:  # the unit the slot names is ours and takes the order
            unit = g.slot_ids[0, u]
            assert g.units[unit, F_ALIVE] == 1 and g.units[unit, F_OWNER] == 0
            assert units[unit, 5] == EXPECTED_ORDER[t]
            if EXPECTED_ORDER[t] in (MOVE, ATTACK, GATHER, BUILD):
                assert units[unit, 6] == c
        if t in (A_TRAIN_LIGHT,):
            assert players[0, P_RESOURCES] == g.players[0, P_RESOURCES] - COST[LIGHT] >= 0


def test_the_pettingzoo_parallel_api():
    parallel_api_test(SkirmishEnv(12), num_cycles=300)


def test_envs_make_and_sizes():
    assert envs.make("skirmish").size == 16
    assert envs.make("skirmish(size=12)").size == 12
    assert envs.is_pettingzoo(envs.make("skirmish"))
    with pytest.raises(UsageError):
        envs.make("skirmish(size=20)")
    with pytest.raises(UsageError):
        envs.make("skirmish(colour=2)")
    with pytest.raises(UsageError):
        envs.make("skirmish-vs:nobody")


class Tripwire(dict):
    """A full state that fails the test when anyone reads it."""

    def __getitem__(self, key):
        raise AssertionError(f"a bot read the full state ({key!r})")

    def get(self, key, default=None):
        raise AssertionError(f"a bot read the full state ({key!r})")


@pytest.mark.parametrize("name", sorted(BOTS))
def test_bots_act_on_their_own_view_only_and_games_end(name):
    env = SkirmishEnv(S)
    players = [make_bot(name, 0), make_bot("counter" if name != "counter" else "rush", 1)]
    obs, _ = env.reset(seed=5)
    for k, p in enumerate(players):
        p.reset(env, k, k)
    steps = 0
    while env.agents:
        actions = {}
        for k, agent in enumerate(env.possible_agents):
            info = {"state": Tripwire(), "seat": k}
            actions[agent] = players[k].act(obs[agent], info)
            t, u, c = decode_action(actions[agent], S)
            o = obs[agent]
            assert o["type_mask"][t] and o["unit_mask"][t, u] and o["target_mask"][t, c], "illegal"
        obs, *_ = env.step(actions)
        steps += 1
    assert steps <= MAX_STEPS and env.game.winner in (0, 1, 2)


def test_random_games_always_end():
    env = SkirmishEnv(S)
    rng = np.random.default_rng(1)
    for seed in range(2):
        env.reset(seed=seed)
        steps = 0
        while env.agents:
            env.step({a: env.action_space(a).sample() if rng.random() < 0.5 else 0 for a in env.agents})
            steps += 1
        assert steps == MAX_STEPS or env.game.winner in (0, 1)


def test_a_replay_resimulates_to_the_same_final_state():
    env = SkirmishEnv(S)
    replay = record_game(env, [make_bot("rush", 0), make_bot("economy", 1)], seed=11)
    final = env.game.truth()
    again = resimulate(replay).truth()
    assert all(np.array_equal(final[k], again[k]) for k in final)
    assert resimulate(replay).winner == replay.winner


def test_a_tournament_game_record_replays():
    from agents.players import make_player
    from league.arena import play_match

    env = envs.make("skirmish")
    result = play_match(env, ["skirmish-bot:rush", "skirmish-bot:turtle"], games=2, make_player=make_player)
    for record in result.games:
        game = resimulate(replay_from_record(record))
        assert game.done and game.returns() == record["returns"]


def test_the_single_agent_env_against_a_bot():
    env = SkirmishVsBot("rush", size=12, seed=0)
    x, info = env.reset(seed=0)
    assert x.shape == env.observation_space.shape and info["action_mask"].any()
    rng = np.random.default_rng(0)
    for _ in range(40):
        action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        x, reward, done, truncated, info = env.step(action)
        assert np.isfinite(x).all()
        if done:
            break
    assert env.action_space.n == NUM_TYPES * 16


def test_encode_decode_round_trip():
    for t, u, c in [(0, 0, 0), (10, NUM_UNIT_CHOICES - 1, S * S - 1), (3, 7, 100)]:
        assert decode_action(encode_action(t, u, c, S), S) == (t, u, c)
    assert decode_action(-5, S) == (0, 0, 0) and decode_action(10**9, S) == (0, 0, 0)


def test_the_commands(tmp_path, capsys):
    import run

    assert run.main(["data", "--env", "skirmish(size=12)", "--expert", "skirmish-bot:rush", "--games", "1",
                     "--out", str(tmp_path / "d")]) == 0
    data = np.load(tmp_path / "d" / "games" / "000000.npz")
    assert data["p0_action"].shape[0] == data["p0_planes"].shape[0] > 0
    assert run.main(["data", "--env", "skirmish", "--expert", "random", "--out", str(tmp_path / "e")]) == 2
    assert run.main(["tournament", "--env", "skirmish", "--players", "skirmish-bot:rush",
                     "skirmish-bot:nobody", "--games", "2"]) == 2
    assert "nobody" in capsys.readouterr().err
