"""Tests run from the checkout: the repository root goes first on sys.path (see README)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

# The tests' networks are tiny: one thread is fastest, and on a shared 2-core machine more threads
# oversubscribe the cores (a search making one network call per simulation slowed down a hundredfold).
torch.set_num_threads(1)
