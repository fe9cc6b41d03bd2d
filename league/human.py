"""A human at the terminal as a player, and the terminal game loop of `run.py play`.

`HumanPlayer` reads a move: its name as the game prints it (`x(1,1)`, `x3`, `Nf3`), the action number,
or the name without its player mark (`(1,1)`, `24/23 24/22`); failing those, a game whose state has
`parse_action(text)` reads the entry in its own notation (backgammon: `13/8 8/5` for `13/5`), and its
ValueError is shown as the one-line answer. `undo` takes back the human's last move
and the replies that followed; `quit` (or the end of input) ends the game. A bad entry is answered with
one line and asked again.

`play_in_terminal(game, players, names, ...)` draws the board (the game's own string form) before the
first move and after every move, and handles `undo` by replaying the history from the start (OpenSpiel's
`undo_action` raises in many games). With no human seated, it pauses `delay` seconds between moves.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO


class QuitGame(Exception):
    """The human typed `quit` (or the input ended)."""


class UndoMove(Exception):
    """The human typed `undo`."""


def _loose(text: str) -> str:
    return re.sub(r"[^a-z0-9/]", "", text.lower())


def move_names(state: Any, player: int | None = None) -> dict[str, int]:
    """The legal moves of `player` (default: the player to move) by name, in action order."""
    player = state.current_player() if player is None else player
    return {state.action_to_string(player, a): a for a in state.legal_actions(player)}


def parse_typed_move(entry: str, names: dict[str, int]) -> int | None:
    """The action an entry names, or None: an exact name, an action number, or a loose form of a name."""
    entry = entry.strip()
    if entry in names:
        return names[entry]
    if entry.lstrip("-").isdigit() and int(entry) in names.values():
        return int(entry)
    loose = _loose(entry)
    if not loose:
        return None
    matches = set()
    for name, action in names.items():
        short = name.split(" - ", 1)[-1]  # backgammon: "52 - 24/22/21"
        forms = {_loose(name), _loose(short), _loose(re.sub(r"^[a-zA-Z](?=\()", "", name))}
        if loose in forms:
            matches.add(action)
    return matches.pop() if len(matches) == 1 else None


def read_entry(prompt: str, stdin: TextIO, stdout: TextIO) -> str:
    """One line typed after `prompt`, stripped; `quit` (`exit`, `q`) or the end of input raises QuitGame."""
    print(prompt, end="", file=stdout, flush=True)
    line = stdin.readline()
    entry = line.strip()
    if not line or entry.lower() in ("quit", "exit", "q"):
        raise QuitGame()
    return entry


class HumanPlayer:
    """Reads a move from the terminal: its name (as the game prints it) or its action number."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None, show_board: bool = True):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.show_board = show_board
        self.can_undo = False
        self.player_id = 0

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        self.player_id = player_id

    def act(self, state: Any) -> int:
        from envs.turn_based import acting_seat

        player = acting_seat(state, self.player_id)
        names = move_names(state, player)
        listing = (", " if any(" " in n for n in names) else " ").join(names)
        if self.show_board:
            print(f"\n{state}", file=self.stdout)
        extra = "undo, quit" if self.can_undo else "quit"
        print(f"legal moves: {listing}   (or: {extra})", file=self.stdout)
        while True:
            entry = read_entry(f"player {player} move> ", self.stdin, self.stdout)
            if entry.lower() == "undo":
                if self.can_undo:
                    raise UndoMove()
                print("nothing to undo yet", file=self.stdout)
                continue
            action = parse_typed_move(entry, names)
            if action is not None:
                return action
            parse_action = getattr(state, "parse_action", None)
            if callable(parse_action):  # the game reads its own notation (backgammon: `13/8 8/5`)
                try:
                    return int(parse_action(entry))
                except ValueError as error:
                    reason = str(error).strip().splitlines() or [f"{entry!r} is not a legal move"]
                    print(reason[0], file=self.stdout)
                    continue
            print(f"{entry!r} is not a legal move; legal: {listing}", file=self.stdout)


def play_in_terminal(
    game: Any,
    players: Sequence[Any],
    names: Sequence[str],
    seed: int = 0,
    delay: float = 0.0,
    stdout: TextIO | None = None,
) -> list[float]:
    """Play one game at the terminal, seat i = `players[i]`; returns the returns. Raises QuitGame on quit."""
    import numpy as np

    from envs.turn_based import inform, joint_action, observers, perfect_information, replay, sample_chance

    out = stdout or sys.stdout
    rng = np.random.default_rng(seed)
    humans = [isinstance(p, HumanPlayer) for p in players]
    watchers, perfect = observers(players), perfect_information(game)

    def reset_players() -> None:
        for seat, player in enumerate(players):
            player.reset(game, seat, seed + 7919 * (seat + 1))
            if humans[seat]:
                player.show_board = False

    reset_players()
    history: list[int] = []
    movers: list[int] = []  # who made each move in `history` (-1: chance, -2: part of a joint action)
    state = game.new_initial_state()
    print(f"{game}: " + ", ".join(f"player {k} = {n}" for k, n in enumerate(names)), file=out)
    print(f"\n{state}", file=out)
    while not state.is_terminal():
        if state.is_simultaneous_node():  # everyone chooses, then the joint action is applied (no undo)
            for seat, player in enumerate(players):
                if humans[seat]:
                    player.can_undo = False
            joint = joint_action(state, players)
            for seat, action in enumerate(joint):
                print(f"player {seat} ({names[seat]}) plays {state.action_to_string(seat, action)}", file=out)
            state.apply_actions(joint)
            inform(watchers, state, None, False)
            history += joint
            movers += [-2] * len(joint)
            print(f"\n{state}", file=out)
            continue
        if state.is_chance_node():
            action, mover = sample_chance(state, rng), -1
            print(f"chance: {state.action_to_string(action)}", file=out)
        else:
            mover = state.current_player()
            player = players[mover]
            if humans[mover]:
                player.can_undo = mover in movers
                try:
                    action = int(player.act(state.clone()))
                except UndoMove:
                    cut = len(movers) - 1 - movers[::-1].index(mover)  # the human's last move
                    del history[cut:], movers[cut:]
                    reset_players()  # then they follow the game again, from its start
                    state = replay(game, history, lambda s, a: inform(watchers, s, a, perfect))
                    print(f"took back player {mover}'s last move and the replies after it", file=out)
                    print(f"\n{state}", file=out)
                    continue
            else:
                if delay > 0 and not any(humans):
                    time.sleep(delay)
                action = int(player.act(state.clone()))
            if action not in state.legal_actions():
                raise ValueError(f"player {mover} ({names[mover]}) chose illegal action {action}")
            print(f"player {mover} ({names[mover]}) plays {state.action_to_string(mover, action)}", file=out)
        state.apply_action(action)
        inform(watchers, state, action, perfect)
        history.append(action)
        movers.append(mover)
        print(f"\n{state}", file=out)
    returns = [float(r) for r in state.returns()]
    print(f"game over: {verdict(returns, names)}; returns {returns}", file=out)
    return returns


def verdict(returns: Sequence[float], names: Sequence[str]) -> str:
    """'draw', or who won ('player 0 (human) wins'), from the players' returns."""
    best = max(returns)
    winners = [k for k, r in enumerate(returns) if r == best]
    if len(winners) == len(returns):
        return "draw"
    return " and ".join(f"player {k} ({names[k]})" for k in winners) + " wins"


def observation_text(observation: Any) -> str:
    """A PettingZoo observation for the terminal: a board of planes (H, W, C) as a grid of the plane set at
    each cell ('.' for none, 1 for the mover's own plane in classic envs), anything else as numbers."""
    import numpy as np

    board = np.asarray(observation)
    if board.ndim == 3 and board.shape[-1] <= 9:
        cells = np.where(board.any(-1), board.argmax(-1) + 1, 0)
        return "\n".join(" ".join("." if c == 0 else str(c) for c in row) for row in cells)
    return np.array2string(board, precision=2, suppress_small=True)


class HumanAgentPlayer:
    """A human as a PettingZoo agent: types a legal action id, or its name where the env names its actions
    (an OpenSpiel game converted by Shimmy); `quit` ends the game. No undo (the env has no forward model)."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.env: Any = None
        self.player_id = 0

    def reset(self, env: Any, player_id: int, seed: int) -> None:
        self.env, self.player_id = env, player_id

    def act(self, observation: Any, info: dict | None = None) -> int:
        import numpy as np

        from envs.pettingzoo import num_actions, split_observation

        board, mask = split_observation(observation, info)
        legal = [int(a) for a in (np.flatnonzero(mask) if mask is not None else range(num_actions(self.env)))]
        state = getattr(getattr(self.env, "unwrapped", self.env), "game_state", None)  # Shimmy's OpenSpiel
        if state is not None:
            names = {state.action_to_string(self.player_id, a): a for a in legal}
            print(f"\n{state}", file=self.stdout)
        else:
            names = {str(a): a for a in legal}
            print(f"\n{observation_text(board)}", file=self.stdout)
        print(f"legal actions: {' '.join(names)}   (or: quit)", file=self.stdout)
        while True:
            entry = read_entry(f"player {self.player_id} action> ", self.stdin, self.stdout)
            action = parse_typed_move(entry, names)
            if action is not None:
                return action
            print(f"{entry!r} is not a legal action; legal: {' '.join(names)}", file=self.stdout)


def play_agents_in_terminal(env: Any, players: Sequence[Any], names: Sequence[str], seed: int = 0,
                            delay: float = 0.0, stdout: TextIO | None = None) -> list[float]:
    """Play one game of a PettingZoo env at the terminal, `players[i]` as its i-th agent; prints every
    action and the result; returns each agent's cumulative reward. Raises QuitGame on quit."""
    from envs.pettingzoo import env_name, play_aec_game

    out = stdout or sys.stdout
    agents = list(env.possible_agents)
    humans = any(isinstance(p, HumanAgentPlayer) for p in players)
    print(f"{env_name(env)}: " + ", ".join(f"player {k} = {n} ({a})" for k, (n, a) in
                                           enumerate(zip(names, agents, strict=True))), file=out)

    def on_move(aec: Any, agent: str, action: int) -> None:
        seat = agents.index(agent)
        if delay > 0 and not humans:
            time.sleep(delay)
        print(f"player {seat} ({names[seat]}) plays {action}", file=out)

    returns = play_aec_game(env, players, seed, on_move=on_move).returns
    print(f"game over: {verdict(returns, names)}; returns {returns}", file=out)
    return returns
