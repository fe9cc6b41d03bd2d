"""The one exception for a user's mistake: run.py prints its message as one line and exits with status 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UsageError(Exception):
    """A mistake in what the user asked for (unknown name, bad value, unreadable file)."""


def closest(name: str, choices: Iterable[str], n: int = 3) -> str:
    """' (did you mean: a, b?)' naming the closest matches, or '' when nothing is close."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    matches += [c for c in lowered if name.lower() in c and c not in matches][: n - len(matches)]
    return f" (did you mean: {', '.join(lowered[m] for m in matches)}?)" if matches else ""
