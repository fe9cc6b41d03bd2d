"""Does a refactoring change what a run learns? One training command, run in two checkouts, weights compared.

    python bench/same_weights.py --base ../base -- train alphazero --env tic_tac_toe --workers 0 --seed 3

runs `python run.py ARGS --run-dir ...` in the checkout at `--base` (another commit: `git worktree add
../base COMMIT`) and in this one, one after the other, then compares every tensor of the two final
checkpoints' `model` with `torch.equal`. Prints a line per checkout and the verdict; `--json` writes
`{"command", "base", "base_commit", "ours_commit", "tensors", "identical", "max_abs_difference"}`.
Exit status 0 when the weights are bit-identical, 1 when they differ.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commit_of(checkout: Path) -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True,
                         text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=checkout,
                           capture_output=True, text=True).stdout.strip()
    return out.stdout.strip() + ("+changes" if dirty else "")


def train_in(checkout: Path, args: list[str], run_dir: Path) -> float:
    """Run the training command in `checkout`; returns its wall time."""
    start = time.perf_counter()
    command = [sys.executable, str(checkout / "run.py"), *args, "--run-dir", str(run_dir), "--no-progress"]
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{checkout}: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    import torch  # here, not at the top: bench/same_speed.py imports `commit_of` alone

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the other checkout (the commit before)")
    parser.add_argument("--json", type=Path, help="write the comparison here")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then run.py's arguments (train ...)")
    options = parser.parse_args()
    args = options.args[1:] if options.args[:1] == ["--"] else options.args
    with tempfile.TemporaryDirectory() as folder:
        models = {}
        for label, checkout in (("base", options.base.resolve()), ("ours", ROOT)):
            run_dir = Path(folder) / label
            seconds = train_in(checkout, args, run_dir)
            models[label] = torch.load(run_dir / "ckpt" / "latest.pt", weights_only=True)["model"]
            print(f"{label}: {commit_of(checkout)} in {seconds:.1f} s")
    base, ours = models["base"], models["ours"]
    same_keys = base.keys() == ours.keys()
    identical = same_keys and all(torch.equal(base[k], ours[k]) for k in base)
    difference = max((float((base[k].float() - ours[k].float()).abs().max()) for k in base if k in ours),
                     default=float("nan"))
    print(f"run.py {' '.join(args)}")
    print(f"{len(base)} tensors: {'bit-identical' if identical else f'DIFFER (max |diff| {difference:.3g})'}")
    if options.json:
        options.json.write_text(json.dumps({
            "command": ["run.py", *args], "base": str(options.base), "base_commit": commit_of(options.base),
            "ours_commit": commit_of(ROOT), "tensors": len(base), "identical": identical,
            "max_abs_difference": difference,
        }, indent=2))
    sys.exit(0 if identical else 1)


if __name__ == "__main__":
    main()
