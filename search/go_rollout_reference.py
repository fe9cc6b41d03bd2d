"""The readable twin of search/go_rollout_kernel.py: one Go board at a time, in plain Python, the same
rules, features, sampling and random numbers (tests/test_alphago_rollout.py holds the two equal)."""

from __future__ import annotations

import math

import numpy as np

from search.go_rollout_kernel import OFFSETS, PASS_FEATURE

MASK64 = (1 << 64) - 1


class SplitMix64:
    """The kernel's random numbers: splitmix64, uniforms from the top 53 bits."""

    def __init__(self, seed: int) -> None:
        self.state = int(seed) & MASK64

    def uniform(self) -> float:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        return float(z >> 11) * (1.0 / 9007199254740992.0)


class Board:
    """A Go board: `stones[p]` 0 empty, 1 Black, 2 White; `tables` from `board_tables(size)`."""

    def __init__(self, stones: np.ndarray, tables: dict[str, np.ndarray]) -> None:
        self.stones = [int(s) for s in stones]
        self.t = tables

    def group(self, p: int) -> tuple[set[int], set[int]]:
        """The stones of p's group and its liberties."""
        colour, stones, liberties, todo = self.stones[p], {p}, set(), [p]
        while todo:
            q = todo.pop()
            for r in self.t["neighbours"][q]:
                r = int(r)
                if r < 0:
                    continue
                if self.stones[r] == 0:
                    liberties.add(r)
                elif self.stones[r] == colour and r not in stones:
                    stones.add(r)
                    todo.append(r)
        return stones, liberties

    def features(self, p: int, colour: int, last: int, previous: int) -> list[int] | None:
        """The kernel's `candidate`: the SLOTS feature ids of playing p, or None for suicide."""
        other, empties, captured, captured_groups, own_extra = 3 - colour, 0, 0, 0, 0
        own_in_atari = atari = 0
        seen: list[frozenset] = []
        for r in self.t["neighbours"][p]:
            r = int(r)
            if r < 0:
                continue
            if self.stones[r] == 0:
                empties += 1
                continue
            stones, liberties = self.group(r)
            if frozenset(stones) in seen:
                continue
            seen.append(frozenset(stones))
            if self.stones[r] == other:
                if len(liberties) == 1:
                    captured += len(stones)
                    captured_groups += 1
                elif len(liberties) == 2:
                    atari = 1
            else:
                own_extra += len(liberties) - 1
                own_in_atari |= len(liberties) == 1
        liberties_after = empties + own_extra + captured_groups
        if liberties_after == 0:
            return None
        code = 0
        for r in self.t["ring"][p]:
            r = int(r)
            stone = self.stones[r] if r >= 0 else -1
            code = code * 4 + (3 if r < 0 else (0 if stone == 0 else (1 if stone == colour else 2)))

        def near(q: int) -> int:
            if q < 0:
                return 0
            rows, cols = self.t["rows"], self.t["cols"]
            d = max(abs(int(rows[p] - rows[q])), abs(int(cols[p] - cols[q])))
            return d if d <= 2 else 0

        return [int(self.t["patterns"][code]), OFFSETS[1] + min(captured, 3),
                OFFSETS[2] + min(liberties_after, 4) - 1,
                OFFSETS[3] + int(bool(own_in_atari) and liberties_after >= 2), OFFSETS[4] + atari,
                OFFSETS[5] + near(last), OFFSETS[6] + near(previous), OFFSETS[7] + int(self.t["edge"][p])]

    def own_eye(self, p: int, colour: int) -> bool:
        ring = [int(r) for r in self.t["ring"][p]]
        if any(ring[j] >= 0 and self.stones[ring[j]] != colour for j in (1, 3, 4, 6)):
            return False
        diagonals = [ring[j] for j in (0, 2, 5, 7)]
        bad = sum(1 for r in diagonals if r >= 0 and self.stones[r] == 3 - colour)
        return bad == 0 if any(r < 0 for r in diagonals) else bad <= 1

    def play(self, p: int, colour: int) -> int:
        """Place the stone, take the dead neighbours; the ko point or -1."""
        self.stones[p] = colour
        taken: set[int] = set()
        for r in self.t["neighbours"][p]:
            r = int(r)
            if r >= 0 and self.stones[r] == 3 - colour:
                stones, liberties = self.group(r)
                if not liberties:
                    taken |= stones
        for q in taken:
            self.stones[q] = 0
        if len(taken) != 1:
            return -1
        (point,) = taken
        neighbours = [int(r) for r in self.t["neighbours"][p] if r >= 0]
        alone = all(self.stones[r] != colour for r in neighbours)
        one_liberty = [r for r in neighbours if self.stones[r] == 0] == [point]
        return point if alone and one_liberty else -1

    def score(self, komi: float) -> float:
        """Tromp-Taylor area for Black minus White, minus komi."""
        score, seen = -komi, set()
        for p, s in enumerate(self.stones):
            if s:
                score += 1 if s == 1 else -1
            elif p not in seen:
                region, reach, todo = {p}, set(), [p]
                while todo:
                    q = todo.pop()
                    for r in self.t["neighbours"][q]:
                        r = int(r)
                        if r < 0:
                            continue
                        if self.stones[r] == 0 and r not in region:
                            region.add(r)
                            todo.append(r)
                        elif self.stones[r]:
                            reach.add(self.stones[r])
                seen |= region
                if reach == {1}:
                    score += len(region)
                elif reach == {2}:
                    score -= len(region)
        return score


def features_reference(stones: np.ndarray, colour: int, last: int, previous: int,
                       tables: dict[str, np.ndarray]) -> np.ndarray:
    """The kernel's `features_batch` for one board: [N + 1, SLOTS]."""
    board, n = Board(stones, tables), len(stones)
    out = np.full((n + 1, len(OFFSETS)), -1, np.int64)
    for p in range(n):
        if board.stones[p] == 0:
            feats = board.features(p, colour, last, previous)
            if feats is not None:
                out[p] = feats
    out[n, 0] = PASS_FEATURE
    return out


def rollout_reference(stones: np.ndarray, colour: int, last: int, previous: int, passed: int, move: int,
                      banned: np.ndarray, seed: int, weights: np.ndarray, max_moves: int, komi: float,
                      tables: dict[str, np.ndarray]) -> tuple[float, int]:
    """The kernel's `rollouts` for one board: (outcome for the player to move at the start, moves)."""
    board, rng, start, ko, first, played = Board(stones, tables), SplitMix64(seed), colour, -1, True, 0
    while move < max_moves:
        moves = []
        for p in range(len(board.stones)):
            if board.stones[p] or p == ko or (first and banned[p]) or board.own_eye(p, colour):
                continue
            feats = board.features(p, colour, last, previous)
            if feats is not None:
                z = 0.0
                for f in feats:
                    z += float(weights[f])
                moves.append((p, z))
        first, move, played = False, move + 1, played + 1
        if not moves:
            if passed:
                break
            passed, previous, last, colour, ko = 1, last, -1, 3 - colour, -1
            continue
        top = max(z for _, z in moves)
        chances, total = [math.exp(z - top) for _, z in moves], 0.0
        for chance in chances:  # in order, as the kernel adds them (not sum(): compensated since 3.12)
            total += chance
        u = rng.uniform() * total
        choice, running = len(moves) - 1, 0.0
        for i, chance in enumerate(chances):
            running += chance
            if u < running:
                choice = i
                break
        p = moves[choice][0]
        ko = board.play(p, colour)
        passed, previous, last, colour = 0, last, p, 3 - colour
    score = board.score(komi)
    black = 1.0 if score > 0 else (-1.0 if score < 0 else 0.0)
    return (black if start == 1 else -black), played
