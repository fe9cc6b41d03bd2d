"""Playing matches: N games between players with seats alternating, every game's moves and result kept.

The arena knows players only through `reset(game, player_id, seed)` and `act(state)`, and imports
nothing from `agents/`. In one process, players may be live objects, zero-argument factories or names;
in K worker processes (`workers=K`) they must be names, built in each worker by the `make_player`
function the caller passes (`agents.players.make_player`; a function travels by its module and name).

Every game is played from its own seed (`seed + game index`) and every player is reset with a seed
derived from it before the game, so a match gives the same games whatever the number of workers.
With `batch_size` B > 1, B games at a time advance together (league/batched.py): a player with
`act_batch` is called once per step for all its games; each game keeps its own random streams, so the
games equal the one-game path's up to the floating-point sums of batched network calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.turn_based import Player, play_game, random_opening
from league.batched import batches, play_batch

MakePlayer = Callable[..., Player]
"""`make_player(name, game, seed) -> Player`, e.g. `agents.players.make_player`."""


@dataclass
class MatchResult:
    """The games of a two-player match from the first player's view: win/draw/loss counts and each game."""

    wins: int = 0
    draws: int = 0
    losses: int = 0
    points: float = 0.0
    games: list[dict[str, Any]] = field(default_factory=list)

    @property
    def played(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        """Wins plus half the draws, over the games."""
        return (self.wins + 0.5 * self.draws) / max(self.played, 1)

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """95% interval of the score (Wilson score interval)."""
        n = max(self.played, 1)
        p = self.score
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def summary(self) -> dict[str, Any]:
        n = max(self.played, 1)
        low, high = self.interval()
        return {
            "games": self.played,
            "win_rate": self.wins / n,
            "draw_rate": self.draws / n,
            "loss_rate": self.losses / n,
            "score": self.score,
            "score_low": low,
            "score_high": high,
            "points_per_game": self.points / n,
            "distinct_games": len({tuple(game["actions"]) for game in self.games}),
        }

    def add(self, game: dict[str, Any]) -> None:
        """Count one game record (see `play_games`) from the first player's view."""
        ours, theirs = game["returns"][game["seat_of_first"]], game["returns"][1 - game["seat_of_first"]]
        self.points += ours
        if ours > theirs:
            self.wins += 1
        elif ours < theirs:
            self.losses += 1
        else:
            self.draws += 1
        self.games.append(game)


def score_of_first(game: dict[str, Any]) -> float:
    """1, 0.5 or 0: the first player's result in one game record."""
    ours, theirs = game["returns"][game["seat_of_first"]], game["returns"][1 - game["seat_of_first"]]
    return 1.0 if ours > theirs else (0.0 if ours < theirs else 0.5)


@dataclass(frozen=True)
class GameJob:
    """One game to play: the players in seat order (names) and the game's seed."""

    seats: tuple[str, ...]
    seed: int
    seat_of_first: int = 0
    tag: Any = None
    """The caller's label (e.g. a pair of player indices), returned in the record."""
    opening: tuple[int, ...] = ()
    """Actions the game starts from (`envs.turn_based.random_opening`), recorded with the rest."""


def match_jobs(names: Sequence[str], games: int, seed: int, tag: Any = None,
               openings: Sequence[Sequence[int]] | None = None) -> list[GameJob]:
    """The jobs of a two-player match: the first player takes seat 0 in even games, seat 1 in odd ones;
    with `openings`, games 2k and 2k + 1 (the same players, seats swapped) start from `openings[k]`."""
    first, second = names
    seats = [(first, second), (second, first)]
    return [GameJob(seats[i % 2], seed + i, i % 2, tag, tuple(openings[i // 2]) if openings else ())
            for i in range(games)]


def match_openings(game: Any, games: int, moves: int, seed: int) -> list[list[int]] | None:
    """One random opening of `moves` moves (`random_opening`) per pair of a `games`-game match, drawn from
    `seed`; None when `moves` is 0 (every game starts from the initial state)."""
    if moves <= 0:
        return None
    loaded = load_game(game) if isinstance(game, str) else game
    from envs import is_game

    if not is_game(loaded):
        raise ValueError("random openings need an OpenSpiel game (a PettingZoo env has no model)")
    rng = np.random.default_rng([seed, 104_729])
    return [random_opening(loaded, moves, rng) for _ in range((games + 1) // 2)]


def _record(job: GameJob, actions: list[int], returns: list[float]) -> dict[str, Any]:
    return {
        "players": list(job.seats),
        "seat_of_first": job.seat_of_first,
        "actions": actions,
        "returns": returns,
        "seed": job.seed,
        "tag": job.tag,
        **({"opening_actions": len(job.opening)} if job.opening else {}),
    }


class _GameRunner:
    """Plays jobs of one env; builds each (name, seat) player once and resets it before every game."""

    def __init__(self, game: Any, make_player: MakePlayer | None, build_seed: int) -> None:
        self.game = game
        self.make_player = make_player
        self.build_seed = build_seed
        self.players: dict[tuple[str, int], Player] = {}
        self.table_players: dict[tuple[str, int, int], Player] = {}  # (name, seat, table) of a batch

    def player(self, name: str, seat: int) -> Player:
        if (name, seat) not in self.players:
            if self.make_player is None:
                raise ValueError("players given by name need make_player (agents.players.make_player)")
            self.players[(name, seat)] = self.make_player(name, self.game, seed=self.build_seed + seat)
        return self.players[(name, seat)]

    def table_player(self, name: str, seat: int, table: int) -> Player:
        """The player of `name` at one seat of table `table` of a batch: one object for all tables if it
        batches, else one object per (table, seat), each built as the one-game path builds its own."""
        shared = self.player(name, seat)
        if batches(shared):
            return self.player(name, 0)  # one object for all its seats: one call per step
        if table == 0:
            return shared
        key = (name, seat, table)
        if key not in self.table_players:
            if self.make_player is None:
                raise ValueError(f"player {name!r} does not batch: name it, or play with batch_size 1")
            self.table_players[key] = self.make_player(name, self.game, seed=self.build_seed + seat)
        return self.table_players[key]

    def play_batched(self, jobs: Sequence[GameJob], batch_size: int) -> list[dict[str, Any]]:
        """The jobs `batch_size` at a time through `play_batch` (one by one on a PettingZoo env)."""
        from envs import is_game

        if batch_size <= 1 or not is_game(self.game):
            return [self.play(job) for job in jobs]
        out = []
        for start in range(0, len(jobs), batch_size):
            chunk = jobs[start : start + batch_size]
            tables = [[self.table_player(name, seat, t) for seat, name in enumerate(job.seats)]
                      for t, job in enumerate(chunk)]
            records = play_batch(self.game, tables, [job.seed for job in chunk],
                                 [job.opening for job in chunk])
            out += [_record(job, r.actions, r.returns) for job, r in zip(chunk, records, strict=True)]
        return out

    def play(self, job: GameJob) -> dict[str, Any]:
        seats = [self.player(name, seat) for seat, name in enumerate(job.seats)]
        from envs import is_pettingzoo

        if is_pettingzoo(self.game):  # players act on observations (envs/pettingzoo.py)
            from envs.pettingzoo import play_aec_game

            record = play_aec_game(self.game, seats, seed=job.seed)
        else:
            record = play_game(self.game, seats, seed=job.seed, opening=job.opening)
        return _record(job, record.actions, record.returns)


_worker_runners: dict[tuple, _GameRunner] = {}  # in a worker process: one runner per (env, maker, seed)


def _play_in_worker(task: tuple[str, MakePlayer, int, list[GameJob], int]) -> list[dict[str, Any]]:
    """Runs in a worker: make the env from its spec (once), then play the jobs."""
    spec, make_player, build_seed, jobs, batch_size = task
    key = (spec, make_player.__module__, make_player.__qualname__, build_seed)
    if key not in _worker_runners:
        _worker_runners[key] = _GameRunner(load_game(spec), make_player, build_seed)
    return _worker_runners[key].play_batched(jobs, batch_size)


def load_game(spec: str) -> Any:
    """The game named by an env spec (see `envs.make`): an OpenSpiel game or a PettingZoo env."""
    import envs

    game = envs.make(spec)
    if not envs.is_multiplayer(game):
        raise ValueError(f"{spec!r} is not a turn-based game or a PettingZoo env")
    return game


def game_spec(game: Any) -> str:
    """A spec a worker can make `game` from: the spec itself, or a pyspiel.Game's own string."""
    return game if isinstance(game, str) else str(game)


def play_games(
    game: Any,
    jobs: Sequence[GameJob],
    make_player: MakePlayer | None = None,
    workers: int = 1,
    pool: Any = None,
    build_seed: int = 0,
    batch_size: int = 1,
    backend: str = "local",
) -> list[dict[str, Any]]:
    """Play every job; records in the order of `jobs`, whatever the number of workers or the backend.

    `game` is an env spec (needed in workers) or a pyspiel.Game. With `pool` (a `league.workers.WorkerPool`)
    or `workers > 1`, or on `backend="ray"`, the jobs run as tasks of league/actors.py's `run_tasks`, a
    chunk of games each; else here, one after the other, or `batch_size` at a time together
    (`_GameRunner.play_batched`; in tasks too).
    Each record: {"players" (names, seat order), "seat_of_first", "actions", "returns", "seed", "tag"}.
    """
    if backend != "ray" and pool is None and workers <= 1:
        runner = _GameRunner(load_game(game) if isinstance(game, str) else game, make_player, build_seed)
        return runner.play_batched(jobs, batch_size)
    if make_player is None:
        raise ValueError("games in worker processes need player names and make_player")
    from league.actors import run_tasks

    width = pool.workers if pool is not None else max(workers, 1)
    chunk = max(1, math.ceil(len(jobs) / (width * 8)))
    if batch_size > 1:  # a chunk is at least a batch, as long as every worker gets one
        chunk = max(chunk, min(batch_size, math.ceil(len(jobs) / width)))
    spec = game_spec(game)
    tasks = [(spec, make_player, build_seed, list(jobs[i : i + chunk]), batch_size)
             for i in range(0, len(jobs), chunk)]
    done = run_tasks(backend, _play_in_worker, tasks, workers, pool)
    return [record for records in done for record in records]


def play_match(
    game: Any,
    players: Sequence[Player | Callable[[], Player] | str],
    games: int = 100,
    seed: int = 0,
    workers: int = 1,
    *,
    make_player: MakePlayer | None = None,
    pool: Any = None,
    batch_size: int = 1,
    backend: str = "local",
    opening_moves: int = 0,
) -> MatchResult:
    """Play `games` games of a two-player game; player 0 takes seat 0 in even games and seat 1 in odd ones.

    `players` are two player objects, zero-argument factories, or names (built by `make_player`). With
    `workers > 1` (or a `pool`), games run in worker processes and `players` must be names and `game` an
    env spec (a pyspiel.Game is sent as its string). Results are from player 0's view; game i uses seed
    `seed + i`, so the games are the same for any number of workers. With `batch_size` > 1, that many
    games advance together (see the module's docstring); a player object that does not batch plays one
    game at a time (the whole match then does). With `opening_moves` N > 0, each seat-swapped pair of games
    starts from its own opening of N uniformly random moves (`match_openings`), so that players that
    always choose the same move still play different games.
    """
    if len(players) != 2:
        raise ValueError("a match has two players")
    names = [p if isinstance(p, str) else None for p in players]
    if (workers > 1 or pool is not None) and None in names:
        raise ValueError("a match in worker processes needs player names, not player objects")
    if None in names:  # live objects (or factories) here: label them for the records and build them now
        loaded = load_game(game) if isinstance(game, str) else game
        runner = _GameRunner(loaded, make_player, seed)
        labels = ["first", "second"]
        for k, p in enumerate(players):
            if isinstance(p, str):
                p = runner.player(p, k)
            elif callable(p) and not hasattr(p, "act"):
                p = p()
            runner.players.update({(labels[k], 0): p, (labels[k], 1): p})
        together = batch_size if all(batches(p) for p in runner.players.values()) else 1
        openings = match_openings(loaded, games, opening_moves, seed)
        records = runner.play_batched(match_jobs(labels, games, seed, openings=openings), together)
    else:
        openings = match_openings(game, games, opening_moves, seed)
        jobs = match_jobs(names, games, seed, openings=openings)  # type: ignore[arg-type]
        records = play_games(game, jobs, make_player, workers, pool, build_seed=seed, batch_size=batch_size,
                             backend=backend)
    result = MatchResult()
    for record in records:
        result.add(record)
    return result
