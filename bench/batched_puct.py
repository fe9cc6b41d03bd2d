"""Batched PUCT: simulations per second over 256 connect-four games, one network call per simulation step.

Three searches with one fixed torch network as the evaluator (an MLP on our `encode(state, player)`,
5x6x7 = 210 inputs -> 128 -> 128 -> 7 policy logits and a tanh value: 44,552 parameters, float32,
random weights from seed 0, one torch thread, `torch.inference_mode()`):

1. ours, batched: `search.puct.BatchedPUCT` over 256 games at once (different positions: 0-11 random
   moves from the start), one leaf per tree per step, so each simulation step calls the network once
   with up to 256 states;
2. ours, one game at a time: the best of `BatchedPUCT` on a single game with 1 leaf per call and with
   8 leaves per call (virtual loss); the one-game `PUCTPlayer` is the first of these;
3. OpenSpiel's Python `MCTSBot` (PUCT selection, `SearchNode.puct_value`, solver off, no noise) with the
   same network behind OpenSpiel's `mcts.Evaluator` interface, one state per call, with an LRU cache as
   OpenSpiel's own AlphaZero evaluator has (its `prior` and `evaluate` of one state cost one forward pass).

c_puct 1.25 and the same number of simulations per search (default 100) in all three. Speed is
simulations per CPU second of this process (the machine is shared; CPU time is what load disturbs
least), wall time beside it; the three run in turn in each round and the medians over rounds are
reported. Prints the table with the ratios and writes bench/out/batched_puct.json.

    .venv/bin/python bench/batched_puct.py [--games 256] [--simulations 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyspiel
import torch
from open_spiel.python.algorithms import mcts as os_mcts
from open_spiel.python.observation import make_observation
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from envs.encoding import Encoder  # noqa: E402
from search.puct import BatchedPUCT, PUCTConfig  # noqa: E402

C_PUCT = 1.25
HIDDEN = 128


class BenchPolicyValueMLP(nn.Module):
    """The fixed small network: an MLP trunk, a policy head and a tanh value head."""

    def __init__(self, in_size: int, num_actions: int, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Linear(in_size, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.policy = nn.Linear(hidden, num_actions)
        self.value = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x.flatten(1))
        return self.policy(h), torch.tanh(self.value(h)).squeeze(1)


class NetEvaluator:
    """Our evaluator contract: a batch of states -> (masked priors [B, A], values [B] for the mover).

    The input is `envs.encoding.Encoder`'s (the observation planes plus one plane per player marking the
    mover). A batch is filled at once: each state's observation is copied in with one `set_from`, then
    the player planes and the legal-action mask are set with one numpy call each; a few states go
    through `Encoder` one by one, which costs less for them.
    """

    def __init__(self, game: pyspiel.Game, net: BenchPolicyValueMLP) -> None:
        self.encoder = Encoder(game)
        self.observation = make_observation(game)
        self.raw_size = int(np.prod(game.observation_tensor_shape()))
        self.plane = int(np.prod(self.encoder.shape[1:]))
        self.net = net
        self.num_actions = game.num_distinct_actions()
        self.calls = 0

    def encode(self, states) -> tuple[np.ndarray, np.ndarray]:
        n, size, plane = len(states), self.raw_size, self.plane
        if n <= 4:  # a few states (one-at-a-time search): the per-state path has less overhead
            x = np.stack([self.encoder(state, state.current_player()) for state in states])
            mask = np.zeros((n, self.num_actions), dtype=bool)
            for b, state in enumerate(states):
                mask[b, state.legal_actions()] = True
            return x, mask
        x = np.zeros((n, int(np.prod(self.encoder.shape))), dtype=np.float32)
        players = np.empty(n, dtype=np.int64)
        legal: list[int] = []
        observation, tensor = self.observation, self.observation.tensor
        for b, state in enumerate(states):
            player = state.current_player()
            players[b] = player
            observation.set_from(state, player)
            x[b, :size] = tensor
            base = b * self.num_actions
            legal += [base + a for a in state.legal_actions()]
        rows = np.repeat(np.arange(n), plane)
        cols = (size + players[:, None] * plane + np.arange(plane)[None, :]).ravel()
        x[rows, cols] = 1.0
        mask = np.zeros(n * self.num_actions, dtype=bool)
        mask[legal] = True
        return x.reshape(n, *self.encoder.shape), mask.reshape(n, self.num_actions)

    def evaluate(self, states) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        x, mask = self.encode(states)
        with torch.inference_mode():
            logits, values = self.net(torch.from_numpy(x))
            logits = logits.masked_fill(~torch.from_numpy(mask), torch.finfo(logits.dtype).min)
            priors = torch.softmax(logits, dim=1)
        return priors.numpy(), values.numpy()


class OpenSpielNetEvaluator(os_mcts.Evaluator):
    """The same network behind OpenSpiel's Python `mcts.Evaluator`: one state per call, LRU-cached."""

    def __init__(self, evaluator: NetEvaluator, cache_size: int = 1 << 16) -> None:
        self.inner = evaluator
        self.cache: OrderedDict[tuple, tuple[np.ndarray, float]] = OrderedDict()
        self.cache_size = cache_size

    def _inference(self, state) -> tuple[np.ndarray, float]:
        key = (state.current_player(), str(state))
        hit = self.cache.get(key)
        if hit is not None:
            self.cache.move_to_end(key)
            return hit
        priors, values = self.inner.evaluate([state])
        hit = (priors[0], float(values[0]))
        self.cache[key] = hit
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return hit

    def evaluate(self, state) -> np.ndarray:
        player = state.current_player()
        value = self._inference(state)[1]
        returns = np.array([-value, -value])
        returns[player] = value
        return returns

    def prior(self, state) -> list[tuple[int, float]]:
        priors = self._inference(state)[0]
        return [(a, float(priors[a])) for a in state.legal_actions()]


def positions(game: pyspiel.Game, count: int, seed: int) -> list[pyspiel.State]:
    """`count` positions, each 0-11 uniform random moves from the start (not terminal)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        state = game.new_initial_state()
        for _ in range(int(rng.integers(12))):
            state.apply_action(int(rng.choice(state.legal_actions())))
            if state.is_terminal():
                break
        if not state.is_terminal():
            out.append(state)
    return out


def timed(fn) -> tuple[float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - t0


def search_batched(game, evaluator, states, simulations: int, seed: int) -> dict:
    """One BatchedPUCT search over all `states` at once (fresh trees, one leaf per tree per step)."""
    config = PUCTConfig(simulations=simulations, leaves_per_step=1, dirichlet_epsilon=0.0, c_puct=C_PUCT,
                        reuse_tree=False)
    search = BatchedPUCT(game, evaluator, config, seed=seed)
    cpu, wall = timed(lambda: search.search(states, add_noise=False))
    stats = search.last_stats
    assert stats.simulations == simulations * len(states)
    assert stats.evaluator_calls == simulations + 1  # the roots, then one call per simulation step
    return {"sims": stats.simulations, "cpu": cpu, "wall": wall, "evaluator_calls": stats.evaluator_calls}


def search_one_game(game, evaluator, states, simulations: int, leaves: int) -> dict:
    """BatchedPUCT on one game at a time (`leaves` leaves per evaluator call), one search per position."""
    config = PUCTConfig(simulations=simulations, leaves_per_step=leaves, dirichlet_epsilon=0.0,
                        c_puct=C_PUCT, reuse_tree=False)
    cpu = wall = 0.0
    for k, state in enumerate(states):
        search = BatchedPUCT(game, evaluator, config, seed=k)
        c, w = timed(lambda search=search, state=state: search.search([state], add_noise=False))
        cpu, wall = cpu + c, wall + w
    return {"sims": simulations * len(states), "cpu": cpu, "wall": wall}


def search_openspiel(game, evaluator, states, simulations: int) -> dict:
    """OpenSpiel's Python MCTSBot with PUCT selection and the network evaluator, one search per position."""
    cpu = wall = 0.0
    for k, state in enumerate(states):
        os_evaluator = OpenSpielNetEvaluator(evaluator)  # a fresh cache per search, as a fresh tree
        bot = os_mcts.MCTSBot(game, C_PUCT, simulations, os_evaluator, solve=False,
                              random_state=np.random.RandomState(k),
                              child_selection_fn=os_mcts.SearchNode.puct_value)
        c, w = timed(lambda bot=bot, state=state: bot.mcts_search(state))
        cpu, wall = cpu + c, wall + w
    return {"sims": simulations * len(states), "cpu": cpu, "wall": wall}


def summarise(rounds: list[dict]) -> dict:
    """Median rates over the rounds, with every round's figures."""
    return {
        "sims_per_cpu_second": statistics.median(r["sims"] / r["cpu"] for r in rounds),
        "sims_per_wall_second": statistics.median(r["sims"] / r["wall"] for r in rounds),
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=256)
    parser.add_argument("--simulations", type=int, default=100, help="per search, in all three")
    parser.add_argument("--single-positions", type=int, default=16, help="positions searched one at a time")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; each runs the three searches in turn")
    parser.add_argument("--seed", type=int, default=0)
    default_out = Path(__file__).resolve().parent / "out" / "batched_puct.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    game = pyspiel.load_game("connect_four")
    encoder = Encoder(game)
    net = BenchPolicyValueMLP(int(np.prod(encoder.shape)), game.num_distinct_actions()).eval()
    parameters = sum(p.numel() for p in net.parameters())
    evaluator = NetEvaluator(game, net)
    states = positions(game, args.games, args.seed)
    single = states[: args.single_positions]

    print(f"connect_four, network {int(np.prod(encoder.shape))}-{HIDDEN}-{HIDDEN}-(7 policy, 1 value), "
          f"{parameters} parameters, 1 torch thread, c_puct {C_PUCT}, {args.simulations} simulations per "
          f"search; {args.repeats} rounds, medians", flush=True)
    search_batched(game, evaluator, states[:16], 4, 0)  # warm-up
    search_openspiel(game, evaluator, single[:1], 4)
    rounds: dict[str, list[dict]] = {"batched": [], "one_game_leaves_1": [], "one_game_leaves_8": [],
                                     "openspiel_python": []}
    for r in range(args.repeats):  # the searches in turn, so that load on a shared machine hits them alike
        rounds["batched"].append(search_batched(game, evaluator, states, args.simulations, r))
        for k in (1, 8):
            one_game = search_one_game(game, evaluator, single, args.simulations, k)
            rounds[f"one_game_leaves_{k}"].append(one_game)
        rounds["openspiel_python"].append(search_openspiel(game, evaluator, single, args.simulations))
        print(f"round {r + 1}: " + ", ".join(f"{name} {rs[-1]['sims'] / rs[-1]['cpu']:.0f}"
                                             for name, rs in rounds.items()) + " sims/CPU-s", flush=True)
    results = {name: summarise(rs) for name, rs in rounds.items()}
    batched, openspiel = results["batched"], results["openspiel_python"]
    one_game_keys = ("one_game_leaves_1", "one_game_leaves_8")
    best_key = max(one_game_keys, key=lambda k: results[k]["sims_per_cpu_second"])
    best_single = results[best_key]
    ours = batched["sims_per_cpu_second"]
    ratios = {"batched_vs_openspiel_python": ours / openspiel["sims_per_cpu_second"],
              "batched_vs_our_one_game": ours / best_single["sims_per_cpu_second"],
              "our_one_game_vs_openspiel_python":
                  best_single["sims_per_cpu_second"] / openspiel["sims_per_cpu_second"]}
    print()
    print(f"{'search':<44}{'sims/CPU-s':>12}{'sims/wall-s':>13}")
    rows = [(f"ours batched, {args.games} games, 1 call per step", batched),
            (f"ours one game at a time ({best_key[9:].replace('_', ' ')}/call)", best_single),
            ("OpenSpiel Python MCTSBot, same network", openspiel)]
    for label, r in rows:
        print(f"{label:<44}{r['sims_per_cpu_second']:>12.0f}{r['sims_per_wall_second']:>13.0f}")
    print(f"batched / OpenSpiel Python: {ratios['batched_vs_openspiel_python']:.1f}x (target >= 10x); "
          f"batched / our one game: {ratios['batched_vs_our_one_game']:.1f}x; evaluator calls per search: "
          f"{batched['rounds'][0]['evaluator_calls']} (1 for the roots + {args.simulations} steps)")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "batched_puct",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "network": {"layers": [int(np.prod(encoder.shape)), HIDDEN, HIDDEN, "7+1"], "parameters": parameters},
        "settings": {"c_puct": C_PUCT, "torch_threads": 1, "seed": args.seed},
        "simulations_per_search": args.simulations,
        "games": args.games,
        "single_positions": args.single_positions,
        "ours_batched": batched,
        "ours_one_game": {k: results[k] for k in one_game_keys},
        "openspiel_python": openspiel,
        "ratios": ratios,
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
