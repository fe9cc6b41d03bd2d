"""GPU checks in one short run: the CUDA path of training, batched inference, mixed precision.

Meant for a machine with a CUDA GPU (it prints what it can on a CPU-only one):
1. DQN and REINFORCE train a few thousand steps with --device cuda (the run's checkpoint reloads on the CPU);
2. forward throughput of an MLP and a small conv net at batch sizes 1..4096, fp32 and bf16 autocast,
   on the GPU beside the CPU;
3. a bf16-autocast training step of the Q-network loss stays finite and close to fp32;
4. batched PUCT over 256 connect_four games with the network evaluating leaves on the GPU;
5. AlphaZero trains on connect_four with --device cuda (512 games in parallel, bf16 autocast) and its
   checkpoint plays on the CPU;
6. every network part from a spec (mlp, resnet, resnet planes with conv heads, transformer over entities
   and over board cells, a combine encoder with the pointer head, each with a feed-forward and an LSTM
   core where it fits) runs forward and backward in fp32 and in bf16 autocast: finite, the bf16 outputs
   close to fp32's, and the seconds of one step; and the new learners' CUDA paths train a few steps
   (REINFORCE --net lstm and transformer, DQN --net resnet, AlphaZero --net transformer);
7. the batched match runner: two AlphaZero checkpoints at 50 simulations, 256 connect-four games together,
   their evaluators on the GPU;
8. AlphaStar's LSTM actor-critic learns a short Kuhn-poker league on the GPU (its exact NashConv after).

    python bench/gpu_check.py [--out bench/out/gpu_check.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import envs  # noqa: E402
from agents import dqn, reinforce  # noqa: E402
from agents.checkpoint import load_checkpoint  # noqa: E402
from agents.nets.mlp import MLP  # noqa: E402
from envs.encoding import encoder_for, legal_mask  # noqa: E402


class SmallConvNet(nn.Module):
    """Three 3x3 conv layers of 64 channels and policy/value heads, over connect four's planes."""

    def __init__(self, shape: tuple[int, ...], actions: int):
        super().__init__()
        channels, height, width = shape
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, 64, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.policy = nn.Linear(64 * height * width, actions)
        self.value = nn.Linear(64 * height * width, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.policy(h), torch.tanh(self.value(h)).squeeze(1)


def timed(fn, repeats: int) -> float:
    """Median seconds of one call, after warm-up, synchronising the GPU."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def check_training(device: str) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        runs = (
            ("dqn", dqn, {"learning_starts": 500}),
            ("reinforce", reinforce, {}),
            ("reinforce_lstm", reinforce, {"net": "lstm", "env": "docs.examples.masked_cartpole:make_env"}),
            ("reinforce_transformer", reinforce,
             {"net": "transformer", "env": "docs.examples.masked_cartpole:make_env"}),
            ("dqn_resnet", dqn, {"net": "resnet", "env": "connect_four", "learning_starts": 500}),
        )
        for name, module, extra in runs:
            config = module.Config(
                **{"env": "CartPole-v1", **extra},
                steps=5000,
                device=device,
                progress=False,
                run_dir=f"{folder}/{name}",
                eval_episodes=3,
            )
            start = time.perf_counter()
            summary = module.train(config, envs.make(config.env))
            checkpoint = load_checkpoint(summary["checkpoint"])
            on_cpu = all(t.device.type == "cpu" for t in checkpoint["model"].values())
            out[name] = {
                "device": device,
                "steps": summary["steps"],
                "seconds": round(time.perf_counter() - start, 1),
                "eval_return": summary.get("eval_return"),
                "checkpoint_loads_on_cpu": on_cpu,
            }
            print(f"train {name} on {device}: {out[name]}", flush=True)
    return out


def check_inference(devices: list[str]) -> list[dict]:
    game = envs.make("connect_four")
    shape, actions = encoder_for(game).shape, game.num_distinct_actions()
    rows = []
    for net_name, make in (
        ("mlp256x2", lambda: MLP(int(np.prod(shape)), (256, 256), actions)),
        ("conv64x3", lambda: SmallConvNet(shape, actions)),
    ):
        for device in devices:
            net = make().to(device).eval()
            for batch in (1, 64, 512, 4096) if device == "cuda" else (1, 64, 512):
                x = torch.randn(batch, *shape, device=device)
                for precision in ("fp32", "bf16"):
                    if precision == "bf16" and device == "cpu":
                        continue

                    def forward(net=net, x=x, device=device, precision=precision) -> None:
                        with (
                            torch.inference_mode(),
                            torch.autocast(device, torch.bfloat16, enabled=precision == "bf16"),
                        ):
                            net(x)

                    seconds = timed(forward, 20 if batch < 4096 else 10)
                    rows.append(
                        {
                            "net": net_name,
                            "device": device,
                            "batch": batch,
                            "precision": precision,
                            "positions_per_s": round(batch / seconds),
                        }
                    )
                    print(
                        f"forward {net_name:9} {device:4} batch {batch:5} {precision}: "
                        f"{batch / seconds:12.0f} positions/s",
                        flush=True,
                    )
    return rows


def check_mixed_precision(device: str) -> dict:
    torch.manual_seed(0)
    net = MLP(4, (256, 256), 2).to(device)
    target = MLP(4, (256, 256), 2).to(device)
    batch = {
        "obs": torch.randn(256, 4, device=device),
        "actions": torch.randint(0, 2, (256,), device=device),
        "rewards": torch.ones(256, device=device),
        "next_obs": torch.randn(256, 4, device=device),
        "discounts": torch.full((256,), 0.99, device=device),
        "next_masks": torch.ones(256, 2, dtype=torch.bool, device=device),
    }
    full = float(dqn.td_loss(net, target, batch, True).detach())
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    losses = []
    for _ in range(200):
        with torch.autocast(device, torch.bfloat16):
            loss = dqn.td_loss(net, target, batch, True)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    out = {
        "fp32_loss_at_start": full,
        "bf16_loss_at_start": losses[0],
        "bf16_loss_after_200": losses[-1],
        "finite": bool(np.all(np.isfinite(losses))),
    }
    print(f"mixed precision: {out}", flush=True)
    return out


def check_batched_puct(device: str, games: int = 256, simulations: int = 50) -> dict:
    from search.puct import BatchedPUCT, PUCTConfig

    game = envs.make("connect_four")
    encoder, actions = encoder_for(game), game.num_distinct_actions()
    net = SmallConvNet(encoder.shape, actions).to(device).eval()
    calls = {"n": 0, "states": 0}

    def evaluate(states: list) -> tuple[np.ndarray, np.ndarray]:
        calls["n"] += 1
        calls["states"] += len(states)
        x = np.stack([encoder(s, s.current_player()) for s in states])
        masks = np.stack([legal_mask(s, actions) for s in states])
        with torch.inference_mode(), torch.autocast(device, torch.bfloat16, enabled=device == "cuda"):
            logits, values = net(torch.from_numpy(x).to(device))
        logits = logits.float().cpu().numpy()
        logits = np.where(masks, logits, -np.inf)
        priors = np.exp(logits - logits.max(1, keepdims=True))
        return priors / priors.sum(1, keepdims=True), values.float().cpu().numpy()

    search = BatchedPUCT(game, evaluate, PUCTConfig(simulations=simulations))
    states = [game.new_initial_state() for _ in range(games)]
    start = time.perf_counter()
    search.search(states)
    seconds = time.perf_counter() - start
    out = {
        "device": device,
        "games": games,
        "simulations_per_move": simulations,
        "simulations_per_s": round(games * simulations / seconds),
        "evaluator_calls": calls["n"],
        "states_evaluated": calls["states"],
    }
    print(f"batched PUCT: {out}", flush=True)
    return out


def check_alphazero(device: str, games: int = 512, env: str = "connect_four", net: str = "resnet") -> dict:
    """AlphaZero trains with `games` games in parallel on the device; its checkpoint plays on the CPU."""
    from agents import alphazero

    with tempfile.TemporaryDirectory() as folder:
        config = alphazero.Config(
            env=env,
            net=net,
            steps=games * 30,
            games_in_parallel=games,
            simulations=32,
            min_replay=games * 4,
            eval_games=2,
            eval_mcts_simulations=20,
            eval_simulations=16,
            eval_snapshots=0,
            device=device,
            progress=False,
            run_dir=f"{folder}/az",
        )
        start = time.perf_counter()
        summary = alphazero.train(config, envs.make(config.env))
        seconds = time.perf_counter() - start
        checkpoint = load_checkpoint(summary["checkpoint"])
        player = alphazero.load_player(checkpoint, envs.make(env), device="cpu")
        state = envs.make(env).new_initial_state()
        out = {
            "env": env,
            "net": net,
            "device": device,
            "games_in_parallel": games,
            "moves": summary["steps"],
            "train_steps": summary["train_steps"],
            "seconds": round(seconds, 1),
            "moves_per_s": round(summary["steps"] / seconds, 1),
            "checkpoint_plays_on_cpu": player.act(state) in state.legal_actions(),
        }
    print(f"alphazero {net} on {env}: {out}", flush=True)
    return out


def check_network_parts(device: str, batch: int = 256, steps: int = 64) -> list[dict]:
    """Each spec's forward and backward in fp32 and bf16 autocast: finite, bf16 close to fp32, timed."""
    from agents.nets.spec import build_network

    n, f = 16, 8
    mlp = {"kind": "mlp", "hidden_sizes": [128], "out_size": 128}
    resnet = {"kind": "resnet", "channels": 32, "blocks": 2, "out_size": 128}
    transformer = {"kind": "transformer", "d_model": 64, "num_layers": 2, "positions": True}
    combine = {"kind": "combine", "parts": {"scalars": mlp, "units": {**transformer, "positions": False},
                                            "board": resnet}}
    cases = [
        ("mlp", {"encoder": mlp}, (32,)),
        ("resnet", {"encoder": resnet}, (5, 6, 7)),
        ("resnet_planes_conv_heads", {"encoder": {**resnet, "out_size": 0},
                                      "heads": {"policy": {"conv": 2}, "value": {"conv": 1, "hidden": 64}}},
         (5, 6, 7)),
        ("transformer_entities", {"encoder": transformer}, (n, f)),
        ("transformer_cells", {"encoder": transformer}, (5, 6, 7)),
        ("combine_pointer", {"encoder": combine, "heads": {"policy": {}, "value": {}, "pointer": {}}},
         {"scalars": (32,), "units": (n, f), "board": (5, 6, 7)}),
    ]
    results = []
    for name, spec, shape in cases:
        for core in ("feedforward", "lstm"):
            if core == "lstm" and name == "resnet_planes_conv_heads":
                continue
            torch.manual_seed(0)
            net = build_network({**spec, "core": {"kind": core}}, shape, 7).to(device)
            lead = (steps, batch // 8) if core == "lstm" else (batch,)
            shapes = shape if isinstance(shape, dict) else {"obs": shape}
            obs = {k: torch.randn(*lead, *v, device=device) for k, v in shapes.items()}
            mask = torch.rand(*lead, n, device=device) < 0.7
            kwargs = {}
            if name == "combine_pointer":
                kwargs = {"entity_mask": {"units": mask}, "pointer_mask": mask}
            elif name == "transformer_entities":
                kwargs = {"entity_mask": mask}
            obs = obs if isinstance(shape, dict) else obs["obs"]
            runs = {}
            for precision in ("fp32", "bf16"):
                logits, finite = part_step(net, obs, kwargs, device, precision == "bf16")
                args = (net, obs, kwargs, device, precision == "bf16")
                seconds = timed(lambda args=args: part_step(*args), 5)
                runs[precision] = (logits, finite, seconds)
            fp32, bf16 = runs["fp32"][0], runs["bf16"][0]
            error = float((fp32 - bf16).abs().max() / fp32.abs().max().clamp(min=1e-6))
            row = {
                "net": name, "core": core, "device": device, "batch": list(lead),
                "finite": bool(torch.isfinite(bf16).all()) and runs["fp32"][1] and runs["bf16"][1],
                "bf16_relative_error": round(error, 4),
                "fp32_step_ms": round(1000 * runs["fp32"][2], 2),
                "bf16_step_ms": round(1000 * runs["bf16"][2], 2),
            }
            results.append(row)
            print(f"network parts: {row}", flush=True)
    return results


def part_step(net: nn.Module, obs, kwargs: dict, device: str, bf16: bool) -> tuple[torch.Tensor, bool]:
    """One forward and backward of a spec network: its logits, and whether every gradient is finite."""
    net.zero_grad(set_to_none=True)
    with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
        out = net(obs, **kwargs)
        loss = out.policy_logits.float().logsumexp(-1).mean() + out.value.float().pow(2).mean()
        if out.pointer_logits is not None:
            loss = loss + out.pointer_logits.float().logsumexp(-1).mean()
    loss.backward()
    finite = all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    return out.policy_logits.detach().float(), bool(finite)


def check_alphastar(device: str, games: int = 256, steps: int = 40_000) -> dict:
    """AlphaStar's LSTM actor-critic learns on the device (the actors act on the CPU): a short league run on
    Kuhn poker; its checkpoint's exact NashConv on the CPU."""
    from agents import alphastar

    with tempfile.TemporaryDirectory() as folder:
        config = alphastar.Config(env="kuhn_poker", steps=steps, games_in_parallel=games, league=True,
                                  league_min_steps=2_000, league_max_steps=6_000, device=device,
                                  progress=False, run_dir=f"{folder}/as")
        start = time.perf_counter()
        summary = alphastar.train(config, envs.make(config.env))
        return {"device": device, "steps": steps, "games_in_parallel": games,
                "seconds": round(time.perf_counter() - start, 1), "updates": summary["updates"],
                "nash_conv": summary.get("nash_conv"), "mixture_nash_conv": summary.get("mixture_nash_conv")}


def check_batched_matches(device: str, games: int = 256) -> dict:
    """The batched match runner with two PUCT players whose evaluator runs on the device."""
    from agents.players import make_player
    from league.arena import play_match

    game = envs.make("connect_four")
    names = [str(ROOT / "models" / "alphazero_c4_32x4.pt") + ",sims=50",
             str(ROOT / "models" / "alphazero_c4_32x4_4min.pt") + ",sims=50"]
    players = [make_player(name, game, device=device) for name in names]
    start = time.perf_counter()
    result = play_match(game, players, games=games, seed=0, batch_size=games)
    seconds = time.perf_counter() - start
    return {"device": device, "games": games, "games_per_second": games / seconds, "score": result.score}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "gpu_check.json"))
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    report = {
        "torch": torch.__version__,
        "cuda": cuda,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
    }
    print(report, flush=True)
    device = "cuda" if cuda else "cpu"
    torch.set_num_threads(1)
    report["training"] = check_training(device)
    report["inference"] = check_inference(["cpu", "cuda"] if cuda else ["cpu"])
    report["mixed_precision"] = check_mixed_precision(device)
    report["batched_puct"] = [check_batched_puct(d) for d in (["cpu", "cuda"] if cuda else ["cpu"])]
    report["alphazero"] = check_alphazero(device, games=512 if cuda else 64)
    report["network_parts"] = check_network_parts(device) if cuda else check_network_parts(device, 32, 8)
    report["alphazero_transformer"] = check_alphazero(device, games=64, env="tic_tac_toe", net="transformer")
    report["batched_matches"] = check_batched_matches(device, games=256 if cuda else 16)
    report["alphastar"] = check_alphastar(device, games=256 if cuda else 32, steps=40_000 if cuda else 4_000)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
