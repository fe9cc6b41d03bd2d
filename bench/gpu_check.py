"""GPU checks in one short run: the CUDA path of training, batched inference, mixed precision.

Meant for a machine with a CUDA GPU (it prints what it can on a CPU-only one):
1. DQN and REINFORCE train a few thousand steps with --device cuda (the run's checkpoint reloads on the CPU);
2. forward throughput of an MLP and a small conv net at batch sizes 1..4096, fp32 and bf16 autocast,
   on the GPU beside the CPU;
3. a bf16-autocast training step of the Q-network loss stays finite and close to fp32;
4. batched PUCT over 256 connect_four games with the network evaluating leaves on the GPU;
5. AlphaZero trains on connect_four with --device cuda (512 games in parallel, bf16 autocast) and its
   checkpoint plays on the CPU.

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
        for name, module, extra in (("dqn", dqn, {"learning_starts": 500}), ("reinforce", reinforce, {})):
            config = module.Config(
                env="CartPole-v1",
                steps=5000,
                device=device,
                progress=False,
                run_dir=f"{folder}/{name}",
                eval_episodes=3,
                **extra,
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


def check_alphazero(device: str, games: int = 512) -> dict:
    from agents import alphazero

    with tempfile.TemporaryDirectory() as folder:
        config = alphazero.Config(
            env="connect_four",
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
        player = alphazero.load_player(checkpoint, envs.make("connect_four"), device="cpu")
        state = envs.make("connect_four").new_initial_state()
        out = {
            "device": device,
            "games_in_parallel": games,
            "moves": summary["steps"],
            "train_steps": summary["train_steps"],
            "seconds": round(seconds, 1),
            "moves_per_s": round(summary["steps"] / seconds, 1),
            "checkpoint_plays_on_cpu": player.act(state) in state.legal_actions(),
        }
    print(f"alphazero: {out}", flush=True)
    return out


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
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
