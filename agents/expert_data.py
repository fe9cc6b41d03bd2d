"""Expert games: played by an expert against itself (`run.py data`), written as SGF (Go) or JSON lines
(any other game), read back from a folder of such files (a user's own SGF games too).

Each game opens with up to `opening_moves` uniformly random moves (a different number per game, drawn
from the game's seed) so that games differ even where the expert repeats its openings; those moves are
recorded but are not labels (`ExpertGame.opening`). The expert plays both seats; with several experts
(`--expert gnugo:1 gnugo:3 gnugo:5`) the games cycle through them. A folder that already holds games is
continued: game i always gets seed `seed + i`.

Formats (a game picks its own writer: a `expert_data_writer` attribute on the game object, else
`WRITERS[short_name]`, else JSON lines; `register_writer` adds one):
- **SGF** (`go`), one file per game, `games/NNNNNN.sgf`, written and read through sgfmill: `SZ`, `KM`,
  `RU[Chinese]`, `PB`/`PW` (the expert), `RE` (`B+3.5`), the moves as `B[..]`/`W[..]` nodes (`B[]` a
  pass), and the number of random opening moves in the root's `GC[opening N]`. A user's SGF without `GC`
  has no opening: every move is a label. Games with setup stones (handicap) are skipped.
- **JSON lines** (every other game), `games.jsonl`, one object a line:
  `{"env": "connect_four()", "actions": [3, 3, 4, ...], "returns": [1.0, -1.0], "opening": 2,
  "players": ["mcts:200", "mcts:200"], "seed": 17}`; `actions` are OpenSpiel actions in order (chance
  outcomes included), `opening` the number of leading moves that are not labels.

Positions for learning are in `agents/expert_positions.py` (duplicates, the held-out split by game,
symmetry hashes).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from envs.errors import UsageError


@dataclass
class ExpertGame:
    """One game: its actions in order, each player's return, how many leading moves were random."""

    actions: list[int]
    returns: list[float]
    opening: int = 0
    players: list[str] = field(default_factory=list)
    seed: int = -1
    source: str = ""
    """the file it was read from (empty for a game just played)"""


class GameWriter(Protocol):
    """Writes games of one kind of game into a data folder, and reads its files back."""

    suffix: str
    """the file suffix it reads (`.sgf`, `.jsonl`)"""

    def write(self, game: Any, record: ExpertGame, out: Path, index: int) -> None: ...

    def read(self, game: Any, path: Path) -> list[ExpertGame]: ...


# ---------------------------------------------------------------------------------------------- SGF (Go)


def _go_size(game: Any) -> int:
    return int(game.get_parameters().get("board_size", 19))


def _result_text(returns: Sequence[float]) -> str:
    """OpenSpiel's returns as SGF's RE: the winner only (Tromp-Taylor's margin is not in the returns)."""
    if not returns or returns[0] == returns[1]:
        return "0"
    return "B+" if returns[0] > returns[1] else "W+"


class SGFWriter:
    """Go games as SGF files through sgfmill (row 0 is the bottom row, as in OpenSpiel and GTP)."""

    suffix = ".sgf"

    def write(self, game: Any, record: ExpertGame, out: Path, index: int) -> None:
        from sgfmill import sgf

        size = _go_size(game)
        sgf_game = sgf.Sgf_game(size=size)
        root = sgf_game.get_root()
        root.set("KM", float(game.get_parameters().get("komi", 7.5)))
        root.set("RU", "Chinese")
        names = record.players or ["?", "?"]
        root.set("PB", names[0])
        root.set("PW", names[-1])
        root.set("RE", _result_text(record.returns))
        root.set("GC", f"opening {record.opening} seed {record.seed}")
        for k, action in enumerate(record.actions):
            node = sgf_game.extend_main_sequence()
            move = None if action == size * size else divmod(int(action), size)
            node.set_move("b" if k % 2 == 0 else "w", move)
        folder = out / "games"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{index:06d}.sgf"
        tmp = path.with_suffix(".sgf.tmp")
        tmp.write_bytes(sgf_game.serialise())
        tmp.replace(path)

    def read(self, game: Any, path: Path) -> list[ExpertGame]:
        from sgfmill import sgf

        try:
            sgf_game = sgf.Sgf_game.from_bytes(path.read_bytes())
        except ValueError as error:
            raise UsageError(f"{path}: not an SGF file ({error})") from None
        size = _go_size(game)
        if sgf_game.get_size() != size:
            return []
        root = sgf_game.get_root()
        if root.has_setup_stones():
            return []
        actions: list[int] = []
        for node in sgf_game.get_main_sequence()[1:]:
            colour, move = node.get_move()
            if colour is None:
                continue
            if (colour == "b") != (len(actions) % 2 == 0):  # two moves of one colour: the other passed
                actions.append(size * size)
            actions.append(size * size if move is None else move[0] * size + move[1])
        opening, seed = 0, -1
        if root.has_property("GC"):
            words = root.get("GC").split()
            if len(words) >= 2 and words[0] == "opening" and words[1].isdigit():
                opening = int(words[1])
            if len(words) >= 4 and words[2] == "seed":
                seed = int(words[3])
        result = root.get("RE") if root.has_property("RE") else ""
        returns = [1.0, -1.0] if result.upper().startswith("B+") else (
            [-1.0, 1.0] if result.upper().startswith("W+") else [0.0, 0.0])
        players = [root.get(p) if root.has_property(p) else "?" for p in ("PB", "PW")]
        return [ExpertGame(actions, returns, opening, players, seed, str(path))]


# ---------------------------------------------------------------------------------------------- JSON lines


class JSONLinesWriter:
    """Any game as one JSON object a line in `games.jsonl` (the module's docstring gives the fields)."""

    suffix = ".jsonl"

    def write(self, game: Any, record: ExpertGame, out: Path, index: int) -> None:
        out.mkdir(parents=True, exist_ok=True)
        line = {"env": str(game), "actions": [int(a) for a in record.actions],
                "returns": [float(r) for r in record.returns], "opening": record.opening,
                "players": record.players, "seed": record.seed}
        with open(out / "games.jsonl", "a") as f:
            f.write(json.dumps(line) + "\n")

    def read(self, game: Any, path: Path) -> list[ExpertGame]:
        games = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                games.append(ExpertGame([int(a) for a in item["actions"]],
                                        [float(r) for r in item.get("returns", [])],
                                        int(item.get("opening", 0)), list(item.get("players", [])),
                                        int(item.get("seed", -1)), f"{path}:{number}"))
            except (ValueError, KeyError, TypeError) as error:
                raise UsageError(f"{path}:{number}: not a game record ({error})") from None
        return games


WRITERS: dict[str, GameWriter] = {"go": SGFWriter()}
"""Writers by the game's short name; every other game gets JSON lines."""


def register_writer(short_name: str, writer: GameWriter) -> None:
    """Make `run.py data` write (and read) games of `short_name` with `writer`."""
    WRITERS[short_name] = writer


def writer_for(game: Any) -> GameWriter:
    """The game's own writer (`game.expert_data_writer`), the registered one, or JSON lines."""
    own = getattr(game, "expert_data_writer", None)
    if own is not None:
        return own
    return WRITERS.get(game.get_type().short_name, JSONLinesWriter())


def read_games(game: Any, folder: str | Path) -> list[ExpertGame]:
    """Every game in the files under `folder` (recursively) that the game's writer or JSON lines reads,
    in file-name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"--data {str(folder)!r} is not a folder")
    readers: dict[str, GameWriter] = {".jsonl": JSONLinesWriter()}
    own = writer_for(game)
    readers[own.suffix] = own
    games = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in readers and p.is_file()):
        games += readers[path.suffix].read(game, path)
    return games


# ---------------------------------------------------------------------------------------------- generation


class _Opening:
    """The expert behind `moves` uniformly random opening moves that never end the game."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.moves = 0
        self.rng = np.random.default_rng(0)

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.inner.reset(game, player_id, seed)

    def observe(self, state: Any, action: int | None) -> None:
        if hasattr(self.inner, "observe"):
            self.inner.observe(state, action)

    def act(self, state: Any) -> int:
        if state.move_number() < self.moves:
            legal = state.legal_actions()
            going_on = [a for a in legal if not state.child(a).is_terminal()] or legal
            return int(going_on[self.rng.integers(len(going_on))])
        return int(self.inner.act(state))


_worker_players: dict[tuple[str, str, int], Any] = {}  # (env, expert, seat) -> the expert, per process


def play_expert_game(spec: str, expert: str, seed: int, opening_moves: int) -> ExpertGame:
    """One game of `expert` against itself (seat players built once per process and reset per game)."""
    from agents.players import make_player
    from envs.turn_based import play_game
    from league.arena import load_game

    game = load_game(spec)
    seats = []
    for seat in range(game.num_players()):
        key = (spec, expert, seat)
        if key not in _worker_players:
            _worker_players[key] = _Opening(make_player(expert, game, seed=seed + seat))
        seats.append(_worker_players[key])
    opening = int(np.random.default_rng([seed, 1]).integers(opening_moves + 1)) if opening_moves > 0 else 0
    for player in seats:
        player.moves = opening
    record = play_game(game, seats, seed=seed)
    return ExpertGame(record.actions, record.returns, opening, [expert] * len(seats), seed)


def _play_task(task: tuple[str, str, int, int]) -> ExpertGame:
    return play_expert_game(*task)


def count_games(game: Any, out: Path) -> int:
    """Games already in the folder `out` (so that a new run continues the numbering and the seeds)."""
    return len(read_games(game, out)) if out.is_dir() else 0


def generate(spec: str, experts: Sequence[str], games: int, out: str | Path, seed: int = 0,
             opening_moves: int = 4, workers: int = 1) -> dict[str, Any]:
    """Play `games` expert games (after those already in `out`), writing each as it finishes; returns and
    writes `out/manifest.json` (experts, games by expert, positions, seconds)."""
    import envs
    from league.workers import WorkerPool

    game = envs.make(spec)
    if not envs.is_game(game) or game.num_players() != 2:
        raise UsageError(f"run.py data needs a two-player OpenSpiel game; {spec!r} is not one")
    out = Path(out)
    writer = writer_for(game)
    first = count_games(game, out)
    tasks = [(spec, experts[(first + i) % len(experts)], seed + first + i, opening_moves)
             for i in range(games)]
    start = time.time()
    by_expert: dict[str, int] = {}
    results: Iterator[ExpertGame]
    pool = WorkerPool(workers) if workers > 1 else None
    try:
        if pool is None:
            results = (_play_task(t) for t in tasks)
        else:
            futures = [pool.submit(_play_task, t) for t in tasks]
            results = (f.result() for f in futures)
        for i, record in enumerate(results):
            writer.write(game, record, out, first + i)
            by_expert[record.players[0]] = by_expert.get(record.players[0], 0) + 1
            if (i + 1) % 50 == 0 or i + 1 == games:
                print(f"{first + i + 1} games ({time.time() - start:.0f} s)", flush=True)
    finally:  # also when stopped (Ctrl-C): the manifest says what was written
        if pool is not None:
            pool.close()
        manifest_path = out / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"runs": []}
        manifest["env"] = str(game)
        written = sum(by_expert.values())
        manifest["runs"].append({"experts": list(experts), "games_by_expert": by_expert, "first_game": first,
                                 "seed": seed, "opening_moves": opening_moves,
                                 "seconds": round(time.time() - start, 1)})
        manifest["games"] = first + written
        out.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(json.dumps(manifest, indent=1))
    return manifest
