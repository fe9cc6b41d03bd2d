"""Any player of the kit as a GTP engine (`run.py gtp PLAYER`), for Sabaki, GoGui or gogui-twogtp.

The server keeps an OpenSpiel `go` state in step with the controller's commands and tells the player
every move (`observe`), as the arena does. The player is reset for the colour it is first asked to
`genmove` in a game (and again, replaying the game to it, if it is later asked for the other colour), so
one engine can play either side. `boardsize` and `komi` rebuild the game (and the player, which may
refuse: a checkpoint plays only its own board). OpenSpiel's Go alternates strictly, so `play` out of turn
is refused; a game OpenSpiel has ended (two passes, its move limit, a repeated position) takes no more
moves and `genmove` answers `pass`. `final_score` is the Tromp-Taylor area score, OpenSpiel's result.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

from agents.gtp import action_to_vertex, area_score, format_score, go_parameters, vertex_to_action
from envs.errors import UsageError

COMMANDS = ("protocol_version", "name", "version", "known_command", "list_commands", "boardsize", "komi",
            "clear_board", "play", "genmove", "undo", "final_score", "showboard", "quit")


class GTPServer:
    """Answers GTP commands for the player `player_name` (built by `make_player(name, game, seed)`)."""

    def __init__(self, player_name: str, spec: str, make_player: Callable[..., Any], seed: int = 0):
        import envs

        self.player_name, self.make_player, self.seed = player_name, make_player, seed
        self.game = envs.make(spec)
        self.size, self.komi = go_parameters(self.game, "run.py gtp")
        self.player = make_player(player_name, self.game, seed=seed)
        self.games = 0
        self.state = self.game.new_initial_state()
        self.seat: int | None = None  # the seat the player was reset for in this game (None: not yet)
        self.done = False

    def handle(self, line: str) -> str | None:
        """The full answer ('=id text\\n\\n' or '?id text\\n\\n') to one line, or None for an empty line."""
        line = "".join(c for c in line.split("#")[0] if c == "\t" or c >= " ").strip()
        if not line:
            return None
        words = line.split()
        ident = words.pop(0) if words[0].isdigit() else ""
        if not words:
            return f"?{ident} no command\n\n"
        command, args = words[0].lower(), words[1:]
        handler = getattr(self, f"_{command}", None) if command in COMMANDS else None
        if handler is None:
            return f"?{ident} unknown command\n\n"
        try:
            return f"={ident} {handler(args)}\n\n"
        except (UsageError, ValueError) as error:
            return f"?{ident} {error}\n\n"

    def serve(self, stdin: TextIO, stdout: TextIO) -> None:
        """Read commands until `quit` or end of input, answering each at once."""
        for line in stdin:
            answer = self.handle(line)
            if answer is not None:
                stdout.write(answer)
                stdout.flush()
            if self.done:
                return

    # --- the commands: each returns the answer's text, or raises ValueError with the refusal's ---

    def _protocol_version(self, args: list[str]) -> str:
        return "2"

    def _name(self, args: list[str]) -> str:
        return f"palaestra {self.player_name}"

    def _version(self, args: list[str]) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("palaestra")
        except PackageNotFoundError:
            return "0"

    def _known_command(self, args: list[str]) -> str:
        return "true" if args and args[0].lower() in COMMANDS else "false"

    def _list_commands(self, args: list[str]) -> str:
        return "\n".join(COMMANDS)

    def _quit(self, args: list[str]) -> str:
        self.done = True
        return ""

    def _boardsize(self, args: list[str]) -> str:
        if len(args) != 1 or not args[0].isdigit():
            raise ValueError("boardsize needs a number")
        self._rebuild(int(args[0]), self.komi, "unacceptable size")
        self._clear_board([])
        return ""

    def _komi(self, args: list[str]) -> str:
        try:
            komi = float(args[0])
        except (IndexError, ValueError):
            raise ValueError("komi needs a number") from None
        self._rebuild(self.size, komi, "unacceptable komi")
        return ""

    def _clear_board(self, args: list[str]) -> str:
        self.state, self.seat = self.game.new_initial_state(), None
        self.games += 1
        return ""

    def _play(self, args: list[str]) -> str:
        if len(args) != 2:
            raise ValueError("play needs a colour and a vertex")
        action = vertex_to_action(args[1], self.size)
        self._check_turn(args[0])
        if action is None or action not in self.state.legal_actions():
            raise ValueError("illegal move")
        self._apply(action)
        return ""

    def _genmove(self, args: list[str]) -> str:
        if len(args) != 1:
            raise ValueError("genmove needs a colour")
        if self.state.is_terminal():
            return "pass"  # OpenSpiel has ended the game
        seat = self._check_turn(args[0])
        if self.seat != seat:
            self._reset_player(seat)
        action = int(self.player.act(self.state.clone()))
        if action not in self.state.legal_actions():
            raise ValueError(f"the player chose illegal action {action}")
        self._apply(action)
        return action_to_vertex(action, self.size)

    def _undo(self, args: list[str]) -> str:
        history = self.state.history()
        if not history:
            raise ValueError("cannot undo")
        from envs.turn_based import replay

        self.state, self.seat = replay(self.game, history[:-1]), None  # the player is told again when asked
        return ""

    def _final_score(self, args: list[str]) -> str:
        return format_score(area_score(self.state))

    def _showboard(self, args: list[str]) -> str:
        return "\n" + str(self.state).strip("\n")

    # --- keeping the game and the player in step ---

    def _check_turn(self, colour: str) -> int:
        seat = {"b": 0, "black": 0, "w": 1, "white": 1}.get(colour.lower())
        if seat is None:
            raise ValueError(f"invalid colour {colour!r}")
        if self.state.is_terminal():
            raise ValueError("the game is over")
        if seat != self.state.current_player():
            raise ValueError(f"it is not {colour}'s turn (OpenSpiel's go alternates)")
        return seat

    def _apply(self, action: int) -> None:
        self.state.apply_action(action)
        if self.seat is not None:
            observe = getattr(self.player, "observe", None)
            if callable(observe):
                observe(self.state, action)

    def _reset_player(self, seat: int) -> None:
        """Reset the player for `seat` and tell it the game so far, move by move."""
        from envs.turn_based import replay

        self.player.reset(self.game, seat, self.seed + 7919 * (self.games + 1) + seat)
        observe = getattr(self.player, "observe", None)
        replay(self.game, self.state.history(), observe if callable(observe) else None)
        self.seat = seat

    def _rebuild(self, size: int, komi: float, refusal: str) -> None:
        """The game with this size and komi, and the player built for it; a new board size clears the
        board (GTP's `boardsize`), a new komi keeps it."""
        import pyspiel

        from envs.turn_based import replay

        if (size, komi) == (self.size, self.komi):
            return
        parameters = {k: v for k, v in self.game.get_parameters().items() if k != "max_game_length"}
        parameters.update(board_size=size, komi=komi)
        try:
            game = pyspiel.load_game("go", parameters)
            game.new_initial_state()  # OpenSpiel checks the board size here
            player = self.make_player(self.player_name, game, seed=self.seed)
        except (pyspiel.SpielError, UsageError) as error:
            raise ValueError(f"{refusal} ({error})") from None
        close = getattr(self.player, "close", None)
        if callable(close):
            close()
        history = self.state.history() if size == self.size else []  # `komi` keeps the board
        self.game, self.player, self.size, self.komi = game, player, size, komi
        self.state, self.seat = replay(game, history), None


def serve_gtp(player_name: str, spec: str, seed: int = 0) -> int:
    """`run.py gtp`: speak GTP on stdin/stdout for `player_name` until `quit`."""
    from agents.players import make_player

    server = GTPServer(player_name, spec, make_player, seed)
    server.serve(sys.stdin, sys.stdout)
    return 0
