"""Skirmish in the terminal: the map as text (a player's fogged view or the truth), and a human player.

`draw(game, player)`: one character per cell: `#` wall, `$` resource, `.` open ground, a blank for a cell
the player does not see now; units as rules.KIND_LETTERS, upper case for player 0 and lower case for
player 1 (in a player's view, its own units and the enemies it sees). `play_in_terminal` is `run.py play
--env skirmish`: the human types commands (`help` lists them), `view 0`/`view 1`/`view truth` switches
what is drawn.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from envs.games.skirmish.rules import (
    F_ALIVE,
    F_KIND,
    F_OWNER,
    F_POS,
    GROUP_NAMES,
    KIND_LETTERS,
    KIND_NAMES,
    MAX_OWN,
    ORDER_NAMES,
    P_RESOURCES,
    P_UNITS,
    TYPE_NAMES,
)


def draw(game: Any, player: int | None) -> str:
    """The map as text from `player`'s view (None: the truth), with a status line per player shown."""
    size = game.size
    grid = []
    if player is None:
        visible = np.ones(size * size, dtype=bool)
    else:
        visible = game.observe(player)["planes"][14].astype(bool)
    for c in range(size * size):
        if not visible[c]:
            grid.append(" ")
        elif game.walls[c]:
            grid.append("#")
        elif game.amounts[c] > 0:
            grid.append("$")
        else:
            grid.append(".")
    for i in np.flatnonzero(game.units[:, F_ALIVE]):
        owner, pos = int(game.units[i, F_OWNER]), int(game.units[i, F_POS])
        if player is not None and owner != player and not visible[pos]:
            continue
        letter = KIND_LETTERS[game.units[i, F_KIND]]
        grid[pos] = letter if owner == 0 else letter.lower()
    header = "   " + "".join(str(x % 10) for x in range(size))
    rows = [header] + [f"{y:2d} " + "".join(grid[y * size : (y + 1) * size]) for y in range(size)]
    shown = range(2) if player is None else [player]
    who = "truth" if player is None else f"player {player}'s view"
    status = [f"player {p} resources {game.players[p, P_RESOURCES]} units {game.players[p, P_UNITS]}"
              for p in shown]
    rows.append(f"step {game.step_count}, {who}: " + "; ".join(status))
    return "\n".join(rows)


HELP = """commands (one per step; Enter alone passes):
  units                      list your units (slot: kind x,y hp order)
  move SLOT|GROUP X Y        walk there          attack SLOT|GROUP X Y   attack-move there
  gather SLOT|GROUP X Y      gather that patch   stop SLOT|GROUP
  build_barracks SLOT X Y    build_base SLOT X Y
  train_worker SLOT          train_light|train_heavy|train_ranged SLOT (a base or a barracks)
  view 0|1|truth             what the map shows  quit
groups: army, idle_army, idle_workers"""


def parse_command(text: str, observation: dict[str, np.ndarray], size: int) -> tuple[int, int, int] | str:
    """(type, unit, target) from a typed command, or a one-line reason it is not one."""
    words = text.split()
    if not words:
        return 0, 0, 0
    if words[0] not in TYPE_NAMES:
        return f"unknown command {words[0]!r}; type help"
    t = TYPE_NAMES.index(words[0])
    if t == 0:
        return 0, 0, 0
    if len(words) < 2:
        return f"{words[0]} needs a unit slot or a group"
    if words[1] in GROUP_NAMES:
        u = MAX_OWN + GROUP_NAMES.index(words[1])
    elif words[1].isdigit() and int(words[1]) < MAX_OWN:
        u = int(words[1])
    else:
        return f"{words[1]!r} is not a unit slot (0-{MAX_OWN - 1}) or a group ({', '.join(GROUP_NAMES)})"
    c = 0
    if len(words) >= 4:
        if not (words[2].isdigit() and words[3].isdigit()) or max(int(words[2]), int(words[3])) >= size:
            return f"the target must be two numbers 0-{size - 1} (x y)"
        c = int(words[3]) * size + int(words[2])
    if not observation["type_mask"][t]:
        return f"{words[0]} is not possible now"
    if not observation["unit_mask"][t, u]:
        return f"unit {words[1]} cannot {words[0]} now"
    if not observation["target_mask"][t].reshape(-1)[c]:
        return f"{words[0]} cannot target that cell" if len(words) >= 4 else f"{words[0]} needs a target x y"
    return t, u, c


def unit_lines(observation: dict[str, np.ndarray]) -> str:
    e, n = observation["entities"], int(observation["entity_mask"].sum())
    lines = [f"  {k:2d}: {KIND_NAMES[e[k, 1]]:8s} {e[k, 2]},{e[k, 3]} hp {e[k, 4]} {ORDER_NAMES[e[k, 5]]}"
             for k in range(n) if e[k, 0] == 0]
    return "\n".join(lines)


class SkirmishHuman:
    """A person at the terminal as a Skirmish player: reads one typed command per step."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None):
        self.stdin, self.stdout = stdin or sys.stdin, stdout or sys.stdout
        self.view: int | None = 0
        self.seat = 0

    def reset(self, env: Any, player_id: int, seed: int) -> None:
        self.seat = player_id
        self.view = player_id

    def act(self, observation: dict[str, np.ndarray], info: dict | None = None) -> int:
        from envs.games.skirmish.env import encode_action
        from league.human import QuitGame

        size = int(observation["planes"].shape[-1])
        while True:
            print(f"player {self.seat}> ", end="", file=self.stdout, flush=True)
            line = self.stdin.readline()
            if not line or line.strip() == "quit":
                raise QuitGame()
            words = line.split()
            if words and words[0] == "help":
                print(HELP, file=self.stdout)
            elif words and words[0] == "units":
                print(unit_lines(observation), file=self.stdout)
            elif words and words[0] == "view":
                self.view = None if words[1:] == ["truth"] else (int(words[1]) if words[1:] in (["0"], ["1"])
                                                                 else self.view)
                return -1  # redraw and ask again (the loop does not step on -1)
            else:
                parsed = parse_command(line, observation, size)
                if isinstance(parsed, str):
                    print(parsed, file=self.stdout)
                    continue
                return encode_action(*parsed, size)


def play_in_terminal(env: Any, players: Sequence[Any], names: Sequence[str], seed: int = 0,
                     delay: float = 0.0, stdout: TextIO | None = None) -> list[float]:
    """One game at the terminal; `human` players become `SkirmishHuman`. Returns each player's return."""
    from league.human import HumanAgentPlayer

    out = stdout or sys.stdout
    seats = [SkirmishHuman(stdout=out) if isinstance(p, HumanAgentPlayer) else p for p in players]
    humans = [p for p in seats if isinstance(p, SkirmishHuman)]
    obs, infos = env.reset(seed=seed)
    for k, p in enumerate(seats):
        p.reset(env, k, seed + 7919 * (k + 1))
    print("skirmish: " + ", ".join(f"player {k} = {n}" for k, n in enumerate(names)) +
          ("; type help for the commands" if humans else ""), file=out)
    while env.agents:
        view = humans[0].view if humans else None
        print(draw(env.game, view), file=out, flush=True)
        actions = {}
        for k, agent in enumerate(env.possible_agents):
            a = seats[k].act(obs[agent], {"seat": k})
            while a == -1:
                print(draw(env.game, seats[k].view), file=out, flush=True)
                a = seats[k].act(obs[agent], {"seat": k})
            actions[agent] = a
        obs, rewards, *_ = env.step(actions)
        if delay > 0 and not humans:
            time.sleep(delay)
    print(draw(env.game, None), file=out)
    w = env.game.winner
    print("game over: " + ("a draw" if w == 2 else f"player {w} ({names[w]}) wins"), file=out)
    return env.game.returns()

