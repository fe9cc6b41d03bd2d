"""A human at the terminal as a player: the board is shown, legal moves are listed by name."""

from __future__ import annotations

import sys
from typing import Any, TextIO


class QuitGame(Exception):
    """The human typed `quit`."""


class HumanPlayer:
    """Reads a move from the terminal: its name (as the game prints it) or its action number."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.player_id = player_id

    def act(self, state: Any) -> int:
        player = state.current_player()
        names = {state.action_to_string(player, a): a for a in state.legal_actions()}
        print(f"\n{state}\nlegal moves: {' '.join(names)}", file=self.stdout)
        while True:
            print(f"player {player} move> ", end="", file=self.stdout, flush=True)
            line = self.stdin.readline()
            if not line or line.strip() == "quit":
                raise QuitGame()
            entry = line.strip()
            if entry in names:
                return names[entry]
            if entry.lstrip("-").isdigit() and int(entry) in names.values():
                return int(entry)
            print(f"{entry!r} is not a legal move; legal: {' '.join(names)}", file=self.stdout)
