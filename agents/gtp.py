"""GTP engines as players: a Go Text Protocol client, OpenSpiel's Go moves as GTP vertices, and the player
behind `gnugo:LEVEL` and `gtp:COMMAND`.

An engine is a subprocess that answers one command at a time within a timeout (`GTPEngine`). A
`GTPPlayer` keeps the engine's board equal to the game's: it sends `play` for every move it has not yet
sent (the opponent's and its own; `observe` and `act` both catch up from `state.history()`), answers
`act` with `genmove`, and when the engine hangs or dies it starts a new one, sets the board up again and
replays the game's moves, so a tournament never loses a game to it (at most `max_restarts` times a game,
then one clear error). A move the engine refuses that OpenSpiel applied and that ended the game (a
repeated position: OpenSpiel scores it as a draw, GNU Go's positional superko answers `?`) is recorded in
`refused` and the game ends as OpenSpiel scores it; a refusal of a move after which the game goes on means
the engine plays other rules, and is one clear error, never a restart and replay that would loop.

OpenSpiel's Go: action = row * size + column from the bottom-left, pass = size * size, Black (player 0)
first, strictly alternating; GTP letters skip I (`A1` is action 0, `J9` is 80 on 9x9).
"""

from __future__ import annotations

import collections
import queue
import shutil
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from envs.errors import UsageError

COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
"""GTP's column letters (no I); boards up to 25x25."""

GNUGO_PATHS = ("/usr/games/gnugo",)
"""Where Debian's gnugo package puts the binary (not on PATH); `gnugo` on PATH is tried after it."""

GNUGO_RULES = ("--mode", "gtp", "--chinese-rules", "--capture-all-dead", "--positional-superko",
               "--never-resign")
"""GNU Go's flags under which its `final_score` equals OpenSpiel's Tromp-Taylor result (komi 7.5);
`--never-resign` because OpenSpiel's Go has no resignation: the game is played out and scored."""

T = TypeVar("T")


class GTPError(RuntimeError):
    """The engine failed: it died, did not answer in time, or answered something that is not GTP."""


class GTPRefused(Exception):
    """The engine answered a command with `? message` (an illegal move, an unacceptable size)."""


class EngineFailed(UsageError):
    """An engine that kept failing in one game, or that cannot follow OpenSpiel's rules: one line, exit 2."""


def action_to_vertex(action: int, size: int) -> str:
    """OpenSpiel Go action -> GTP vertex: 0 -> 'A1', size * size -> 'pass'."""
    if action == size * size:
        return "pass"
    if not 0 <= action < size * size:
        raise ValueError(f"action {action} is not a move on a {size}x{size} board")
    row, column = divmod(action, size)
    return f"{COLUMNS[column]}{row + 1}"


def vertex_to_action(vertex: str, size: int) -> int | None:
    """GTP vertex -> OpenSpiel Go action ('pass' -> size * size); None for 'resign'. ValueError if it is
    not a vertex of the board."""
    text = vertex.strip().upper()
    if text == "PASS":
        return size * size
    if text == "RESIGN":
        return None
    column, row = COLUMNS.find(text[:1]), text[1:]
    if column < 0 or column >= size or not row.isdigit() or not 1 <= int(row) <= size:
        raise ValueError(f"{vertex!r} is not a vertex of a {size}x{size} board")
    return (int(row) - 1) * size + column


def go_parameters(game: Any, who: str) -> tuple[int, float]:
    """(board size, komi) of an OpenSpiel `go` game, or a UsageError saying `who` (e.g. "player 'gnugo'")
    plays only Go."""
    from envs import is_game

    name = game.get_type().short_name if is_game(game) else type(game).__name__
    if name != "go":
        raise UsageError(f"{who} plays Go: it needs an OpenSpiel go game, e.g. 'go(board_size=9,komi=7.5)', "
                         f"not {name!r}")
    if game.get_parameters().get("handicap", 0):
        raise UsageError(f"{who}: handicap games are not supported (handicap=0)")
    parameters = game.get_parameters()
    return int(parameters["board_size"]), float(parameters["komi"])


def area_score(state: Any) -> float:
    """Black's Tromp-Taylor area minus White's minus komi on `state`'s board: stones, plus empty regions
    that reach stones of one colour only. Positive: Black leads (OpenSpiel's result at the game's end)."""
    game = state.get_game()
    size, komi = go_parameters(game, "area_score")
    planes = np.asarray(state.observation_tensor(0), dtype=np.float32).reshape(-1, size, size)
    board = np.where(planes[0] > 0, 1, np.where(planes[1] > 0, 2, 0))  # 1 black, 2 white, 0 empty
    score = float((board == 1).sum() - (board == 2).sum())
    seen = np.zeros_like(board, dtype=bool)
    for start in zip(*np.nonzero(board == 0), strict=True):
        if seen[start]:
            continue
        region, borders, stack = 0, set(), [start]
        seen[start] = True
        while stack:
            r, c = stack.pop()
            region += 1
            for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= nr < size and 0 <= nc < size:
                    if board[nr, nc]:
                        borders.add(int(board[nr, nc]))
                    elif not seen[nr, nc]:
                        seen[nr, nc] = True
                        stack.append((nr, nc))
        if borders == {1}:
            score += region
        elif borders == {2}:
            score -= region
    return score - komi


def format_score(score: float) -> str:
    """GTP's `final_score` text: 'B+2.5', 'W+7.5', or '0'."""
    if score == 0:
        return "0"
    return f"{'B' if score > 0 else 'W'}+{abs(score):g}"


def _stop(process: subprocess.Popen) -> None:
    """End an engine process: `quit` and EOF first, then kill it if it lingers."""
    if process.poll() is not None:
        return
    try:
        process.stdin.write("quit\n")
        process.stdin.close()
        process.wait(timeout=1.0)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()


def _pump(stream: Any, lines: queue.Queue | collections.deque) -> None:
    """Reader thread: every line of `stream` into `lines`, then None (for a queue) at end of file."""
    for line in stream:
        if isinstance(lines, queue.Queue):
            lines.put(line)
        else:
            lines.append(line.rstrip())
    if isinstance(lines, queue.Queue):
        lines.put(None)


class GTPEngine:
    """One GTP engine process: `send(command) -> answer`, each answer awaited at most `timeout` seconds.

    A reader thread turns the engine's stdout into lines, so a hung engine costs one timeout, not a hung
    caller; the last lines of its stderr are kept for the error message when it dies.
    """

    def __init__(self, argv: Sequence[str], timeout: float = 30.0, label: str | None = None):
        self.argv = list(argv)
        self.timeout = timeout
        self.label = label or Path(self.argv[0]).name
        self.process: subprocess.Popen | None = None
        self._lines: queue.Queue = queue.Queue()
        self._stderr: collections.deque = collections.deque(maxlen=5)
        self._finalizer: Any = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.close()
        try:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True, bufsize=1, errors="replace")
        except OSError as error:
            command = " ".join(self.argv)
            raise UsageError(f"cannot start GTP engine {self.label!r} ({command}): {error}") from None
        self._lines, self._stderr = queue.Queue(), collections.deque(maxlen=5)
        for stream, sink in ((self.process.stdout, self._lines), (self.process.stderr, self._stderr)):
            threading.Thread(target=_pump, args=(stream, sink), daemon=True).start()
        self._finalizer = weakref.finalize(self, _stop, self.process)

    def close(self) -> None:
        """Ask the engine to quit (kill it if it lingers)."""
        if self._finalizer is not None:
            self._finalizer()  # _stop(process), once
            self._finalizer = None
        self.process = None

    def kill(self) -> None:
        """End a failed engine at once (a hung one would not answer `quit`)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.close()

    def send(self, command: str, timeout: float | None = None) -> str:
        """The engine's answer to `command` (without '= '); GTPRefused for '? ...', GTPError if it died,
        timed out or answered something else."""
        if not self.running:
            self.start()
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        except (OSError, ValueError):
            raise GTPError(f"{self.label} died before {command!r}{self._last_words()}") from None
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        answer: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise GTPError(f"{self.label} gave no answer to {command!r} within "
                               f"{self.timeout if timeout is None else timeout:g} s") from None
            if line is None:
                self.process.wait()
                raise GTPError(f"{self.label} exited (status {self.process.returncode}) during {command!r}"
                               + self._last_words())
            line = line.rstrip("\r\n")
            if line.strip():
                answer.append(line)
            elif answer:
                break
        status, text = answer[0][:1], "\n".join([answer[0][1:]] + answer[1:]).strip()
        if status not in ("=", "?"):
            raise GTPError(f"{self.label} answered {command!r} with {answer[0]!r}, not GTP")
        if status == "?":
            raise GTPRefused(text)
        return text

    def _last_words(self) -> str:
        time.sleep(0.05)  # let the stderr thread catch up with a dying engine
        return f"; its stderr: {' | '.join(self._stderr)}" if self._stderr else ""


class GTPPlayer:
    """A GTP engine as a player of OpenSpiel's `go`: follows the game, answers `act` with `genmove`.

    Each game starts from `boardsize`, `komi` and `clear_board` read from the pyspiel game (checked with
    `query_boardsize` and `get_komi` where the engine has them) and `set_random_seed SEED` where it has
    that (GNU Go: the same as `--seed SEED`). `restarts` counts this game's restarts; `resigned` is set
    when the engine resigned (OpenSpiel has no resignation: it then passes until the game ends, scored by
    OpenSpiel); `refused` holds (colour, vertex) of a game-ending move the engine refused.
    """

    def __init__(self, argv: Sequence[str], name: str, timeout: float = 30.0, max_restarts: int = 3):
        self.name = name
        self.engine = GTPEngine(argv, timeout, label=name)
        self.max_restarts = max_restarts
        self.size, self.komi, self.seed = 19, 7.5, 0
        self.moves: list[int] = []  # the actions the engine's board holds, in order
        self.restarts = 0
        self.resigned = False
        self.refused: tuple[str, str] | None = None
        self._fresh = True  # the engine's board is not yet set up for this game
        self._knows: dict[str, bool] = {}

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.size, self.komi = go_parameters(game, f"player {self.name!r}")
        self.seed = int(seed) % 2**31
        self.moves, self.restarts, self.resigned, self.refused = [], 0, False, None
        self._fresh = True
        self._retrying(lambda: None)

    def observe(self, state: Any, action: int | None) -> None:
        self._follow(state)

    def act(self, state: Any) -> int:
        self._follow(state)
        passing = self.size * self.size
        if self.resigned:
            return passing
        colour = "B" if state.current_player() == 0 else "W"
        answer = self._retrying(lambda: self._ask(f"genmove {colour}"))
        try:
            action = vertex_to_action(answer.split()[0] if answer else "", self.size)
        except ValueError:
            raise EngineFailed(f"{self.name} answered genmove {colour} with {answer!r}, not a vertex") \
                from None
        if action is None:
            self.resigned = True
            return passing  # the engine's board lacks this pass: `_follow` sends it as `play` next time
        if action not in state.legal_actions():
            raise EngineFailed(f"{self.name} played {colour} {answer}, which OpenSpiel's go does not allow")
        self.moves.append(action)
        return action

    def final_score(self, state: Any) -> str:
        """The engine's `final_score` on `state`'s board (e.g. 'B+8.5')."""
        self._follow(state)
        return self._retrying(lambda: self._ask("final_score"))

    def close(self) -> None:
        self.engine.close()

    # --- keeping the engine's board equal to the game's ---

    def _follow(self, state: Any) -> None:
        """Send the moves of `state.history()` the engine has not had; a history that is not a continuation
        of what was sent (a new game without reset, an undo) is set up again from an empty board."""
        if self.refused is not None:
            return  # the game ended on the refused move
        history = [int(a) for a in state.history()]
        if history[: len(self.moves)] != self.moves:
            self.moves, self._fresh = [], True
        for k in range(len(self.moves), len(history)):
            action = history[k]
            colour, vertex = "BW"[k % 2], action_to_vertex(action, self.size)
            try:
                self._retrying(lambda c=colour, v=vertex: self._ask(f"play {c} {v}", refusable=True))
            except GTPRefused as refusal:
                if k == len(history) - 1 and state.is_terminal():
                    self.refused = (colour, vertex)
                    return
                move = f"play {colour} {vertex}"
                raise EngineFailed(f"{self.name} refused {move} ({refusal}), a move OpenSpiel's go allows "
                                   "and goes on from: the engine's rules differ") from None
            self.moves.append(action)

    def _retrying(self, step: Callable[[], T]) -> T:
        """`step()` on an engine whose board is the game's; a failed engine is replaced and brought back to
        the game's position, up to `max_restarts` times a game."""
        while True:
            try:
                if self._fresh or not self.engine.running:
                    self._set_up()
                return step()
            except GTPError as error:
                self.engine.kill()
                self._fresh = True
                self.restarts += 1
                if self.restarts > self.max_restarts:
                    raise EngineFailed(f"{self.name} failed {self.restarts} times in one game, giving up: "
                                       f"{error}") from None

    def _set_up(self) -> None:
        """Board size, komi, an empty board, the seed, then every move the engine held before."""
        if not self.engine.running:
            self.engine.start()
            self._knows = {}
        try:
            self.engine.send(f"boardsize {self.size}")
        except GTPRefused as refusal:
            size = f"{self.size}x{self.size}"
            raise UsageError(f"{self.name} does not play on a {size} board ({refusal})") from None
        self._ask(f"komi {self.komi:g}")
        self._ask("clear_board")
        if self._has("set_random_seed"):
            self._ask(f"set_random_seed {self.seed}")
        if self._has("query_boardsize") and self._ask("query_boardsize") != str(self.size):
            raise UsageError(f"{self.name} set its board to {self._ask('query_boardsize')}, not {self.size}")
        if self._has("get_komi") and float(self._ask("get_komi")) != self.komi:
            raise UsageError(f"{self.name} set its komi to {self._ask('get_komi')}, not {self.komi:g}")
        for k, action in enumerate(self.moves):
            self._ask(f"play {'BW'[k % 2]} {action_to_vertex(action, self.size)}")
        self._fresh = False

    def _has(self, command: str) -> bool:
        if command not in self._knows:
            self._knows[command] = self._ask(f"known_command {command}") == "true"
        return self._knows[command]

    def _ask(self, command: str, refusable: bool = False) -> str:
        """The engine's answer; a refusal is an error unless the caller handles it (`refusable`)."""
        try:
            return self.engine.send(command)
        except GTPRefused as refusal:
            if refusable:
                raise
            raise EngineFailed(f"{self.name} refused {command!r}: {refusal}") from None


def find_gnugo(path: str | None = None) -> str:
    """The GNU Go binary: `path`, else /usr/games/gnugo, else `gnugo` on PATH; a UsageError if none."""
    if path is not None:
        if not Path(path).is_file():
            raise UsageError(f"gnugo: no file at path={path!r}")
        return path
    for candidate in GNUGO_PATHS:
        if Path(candidate).is_file():
            return candidate
    found = shutil.which("gnugo")
    if found is None:
        raise UsageError("GNU Go is not installed (looked for /usr/games/gnugo and gnugo on PATH); "
                         "install it: apt-get install -y gnugo")
    return found


def gnugo_argv(level: int, seed: int, path: str | None = None) -> list[str]:
    """The command line of GNU Go at `level` (0-10) under OpenSpiel's rules, seeded."""
    return [find_gnugo(path), *GNUGO_RULES, "--level", str(level), "--seed", str(int(seed) % 2**31)]
