"""Did a refactoring change the search's speed? Two checkouts' search benchmarks, rounds alternating.

    python bench/same_speed.py --base ../base [--ours .] [--rounds 3]

runs `bench/mcts_speed.py` (UCT, tic-tac-toe and connect four) and `bench/batched_puct.py` (batched
PUCT on connect four) in the checkout at `--base` and in this one (or `--ours`), alternating checkouts
round by round so that load on a shared machine hits both alike, and prints the median simulations per
CPU second of each, ours / base, and the same for the OpenSpiel peers measured inside each run: the
peers' code is the same in both checkouts, so their ratio shows how much the machine's noise alone
moves a ratio. Writes bench/out/same_speed.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.same_weights import commit_of  # noqa: E402

BENCHES: dict[str, tuple[list[str], Callable[[dict], dict[str, float]]]] = {
    "mcts_speed": (
        ["--games", "tic_tac_toe", "connect_four", "--repeats", "3"],
        lambda report: {
            f"{r['game']} {bot}": r["bots"][bot]["sims_per_cpu_second"]
            for r in report["results"]
            for bot in ("ours", "openspiel_python", "openspiel_cpp")
        },
    ),
    "batched_puct": (
        ["--repeats", "1"],
        lambda report: {
            "batched ours": report["ours_batched"]["sims_per_cpu_second"],
            "batched openspiel_python": report["openspiel_python"]["sims_per_cpu_second"],
        },
    ),
}


def run_bench(checkout: Path, name: str, args: list[str], out: Path) -> dict:
    command = [sys.executable, str(checkout / "bench" / f"{name}.py"), *args, "--out", str(out)]
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{checkout}: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the other checkout (the commit before)")
    parser.add_argument("--ours", type=Path, default=ROOT, help="the checkout to compare (default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "same_speed.json")
    options = parser.parse_args()
    checkouts = {"base": options.base.resolve(), "ours": options.ours.resolve()}
    samples: dict[str, dict[str, list[float]]] = {"base": {}, "ours": {}}
    with tempfile.TemporaryDirectory() as folder:
        for round_index in range(options.rounds):
            order = ("base", "ours") if round_index % 2 == 0 else ("ours", "base")
            for label in order:
                for name, (args, extract) in BENCHES.items():
                    report = run_bench(checkouts[label], name, args, Path(folder) / f"{label}_{name}.json")
                    for key, value in extract(report).items():
                        samples[label].setdefault(key, []).append(value)
            print(f"round {round_index + 1} of {options.rounds} done", flush=True)
    print(f"\nsimulations per CPU second, median of {options.rounds} rounds; base {commit_of(options.base)}, "
          f"ours {commit_of(options.ours)}")
    print(f"{'':<34}{'base':>10}{'ours':>10}{'ours/base':>11}")
    rows = []
    for key in samples["base"]:
        base, ours = statistics.median(samples["base"][key]), statistics.median(samples["ours"][key])
        rows.append({"measure": key, "base": base, "ours": ours, "ratio": ours / base,
                     "base_samples": samples["base"][key], "ours_samples": samples["ours"][key]})
        print(f"{key:<34}{base:>10.0f}{ours:>10.0f}{ours / base:>10.3f}x")
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({
        "benchmark": "same_speed", "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "base": str(options.base), "base_commit": commit_of(options.base),
        "ours_commit": commit_of(options.ours),
        "rounds": options.rounds, "rows": rows,
    }, indent=2))
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
