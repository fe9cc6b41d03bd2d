"""The AlphaStar league: who plays whom, and when a learning player is frozen into the league.

It follows DeepMind's published pseudocode (`multiagent.py`, AlphaStar, Vinyals et al. 2019) rule for
rule, with players named by strings and every random choice drawn from one seeded generator, so a saved
league resumes the same matchmaking:

- `Payoff`: win rate = (wins + draws / 2) / games (0.5 with no games); before a result between home and
  away is added, the [home, away] and [away, home] statistics are decayed by 0.99.
- `pfsp(win_rates, weighting)`: prioritised fictitious self-play, `squared` (1-x)^2, `variance` x(1-x),
  `linear` 1-x, `linear_capped` min(0.5, 1-x); uniform when the weights sum below 1e-10.
- Main agents: with probability 0.5, squared PFSP over all frozen players; with 0.15, the verification
  branch (main-exploiter snapshots we beat less than 0.3 of the time, by squared PFSP; else our
  opponent's snapshots after `remove_monotonic_suffix`, if the lowest win rate is below 0.7; else fall
  through); otherwise self-play against a main agent if our win rate against it is above 0.3, else
  variance PFSP over its snapshots.
- Main exploiters: a random main agent if our win rate against it is above 0.1, else variance PFSP over
  its snapshots; reset to their initial weights at every checkpoint.
- League exploiters: linear-capped PFSP over all frozen players; reset with probability 0.25 at every
  checkpoint.
- A learning player is ready to checkpoint once `min_steps` steps have passed since its last one and its
  lowest win rate against the relevant set (main agent: frozen players; main exploiter: main agents;
  league exploiter: frozen players) exceeds 0.7, or once `max_steps` have passed (DeepMind's 2e9 and 4e9;
  here `LeagueConfig` fields sized for small games). The main agents' initial weights enter frozen.

The league holds names, roles, lineage and steps; the weights are the learner's (a frozen player's
snapshot is a checkpoint file the coordinator names in `snapshot`). `state()` / `League.from_state` are
plain data (JSON), the generator's state included. Every matchmaking decision is appended to `log`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAIN, MAIN_EXPLOITER, LEAGUE_EXPLOITER = "main", "main_exploiter", "league_exploiter"
HISTORICAL = "historical"
ROLES = (MAIN, MAIN_EXPLOITER, LEAGUE_EXPLOITER)
DECAY = 0.99


@dataclass(frozen=True)
class LeagueConfig:
    """The league's sizes and checkpoint rules (steps are environment steps of that learning player)."""

    main_agents: int = 1
    main_exploiters: int = 1
    league_exploiters: int = 2
    min_steps: int = 100_000
    """steps since a player's last checkpoint before it may checkpoint again (DeepMind: 2e9)"""
    max_steps: int = 200_000
    """steps since its last checkpoint after which a player checkpoints whatever it wins (DeepMind: 4e9)"""


def pfsp(win_rates: Sequence[float] | np.ndarray, weighting: str = "linear") -> np.ndarray:
    """Prioritised fictitious self-play: probabilities over opponents from our win rates against them."""
    x = np.asarray(win_rates, dtype=np.float64)
    weights = {
        "variance": lambda x: x * (1 - x),
        "linear": lambda x: 1 - x,
        "linear_capped": lambda x: np.minimum(0.5, 1 - x),
        "squared": lambda x: (1 - x) ** 2,
    }[weighting](x)
    total = weights.sum()
    if total < 1e-10:
        return np.ones_like(x) / len(x)
    return weights / total


def remove_monotonic_suffix(
    win_rates: Sequence[float], players: Sequence[str]
) -> tuple[list[float], list[str]]:
    """Drop the tail of a lineage's snapshots along which our win rate never rises (the newer, stronger
    versions we are expected to beat less): what remains ends where we last did better against a newer
    one, the snapshots we may have forgotten how to beat."""
    win_rates, players = list(win_rates), list(players)
    for i in range(len(win_rates) - 1, 0, -1):
        if win_rates[i - 1] < win_rates[i]:
            return win_rates[: i + 1], players[: i + 1]
    return [], []


class Payoff:
    """Decayed win/draw/loss statistics between named players."""

    def __init__(self) -> None:
        self.players: list[str] = []
        self.stats: dict[tuple[str, str], list[float]] = {}  # (home, away) -> [games, wins, draws, losses]

    def add_player(self, name: str) -> None:
        if name in self.players:
            raise ValueError(f"player {name!r} is already in the league")
        self.players.append(name)

    def win_rate(self, home: str, away: str) -> float:
        games, wins, draws, _ = self.stats.get((home, away), (0.0, 0.0, 0.0, 0.0))
        return 0.5 if games == 0 else (wins + 0.5 * draws) / games

    def win_rates(self, home: str, away: Sequence[str]) -> np.ndarray:
        return np.array([self.win_rate(home, a) for a in away], dtype=np.float64)

    def update(self, home: str, away: str, result: str) -> None:
        """Add one game's `result` ("win", "draw" or "loss", home's view), decaying both entries first."""
        if result not in ("win", "draw", "loss"):
            raise ValueError(f"result {result!r} is not win, draw or loss")
        for key in ((home, away), (away, home)):
            self.stats[key] = [value * DECAY for value in self.stats.get(key, [0.0, 0.0, 0.0, 0.0])]
        ours, theirs = self.stats[(home, away)], self.stats[(away, home)]
        ours[0] += 1
        theirs[0] += 1
        if result == "win":
            ours[1] += 1
            theirs[3] += 1
        elif result == "draw":
            ours[2] += 1
            theirs[2] += 1
        else:
            ours[3] += 1
            theirs[1] += 1


@dataclass
class LeaguePlayer:
    """A player of the league: a learning one (a role) or a frozen snapshot (HISTORICAL, with its parent)."""

    name: str
    role: str
    parent: str | None = None
    steps: int = 0
    """a learning player's environment steps so far (for a snapshot: its parent's when it was taken)"""
    checkpoint_step: int = 0
    snapshot: str | None = None
    """a frozen player's checkpoint file (the coordinator's to write and name)"""


@dataclass(frozen=True)
class Match:
    """One matchmaking decision: `home` plays `away`, chosen through `branch`. `selfplay` is DeepMind's
    second return value negated: True only for a main agent's self-play against a main agent."""

    home: str
    away: str
    branch: str
    selfplay: bool = False


@dataclass(frozen=True)
class Checkpoint:
    """A learning player frozen into the league: the new frozen player's name, and whether the learner
    must reset that player's weights to its initial ones."""

    player: str
    frozen: str
    reset: bool


@dataclass
class League:
    """Learning players and their frozen snapshots, the payoff between them, and the matchmaking rules."""

    config: LeagueConfig = field(default_factory=LeagueConfig)
    seed: int = 0
    players: dict[str, LeaguePlayer] = field(default_factory=dict)
    payoff: Payoff = field(default_factory=Payoff)
    log: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        if not self.players:
            self._populate()

    def _populate(self) -> None:
        counts = {MAIN: self.config.main_agents, MAIN_EXPLOITER: self.config.main_exploiters,
                  LEAGUE_EXPLOITER: self.config.league_exploiters}
        if counts[MAIN] < 1:
            raise ValueError("a league needs at least one main agent")
        for role in ROLES:
            for k in range(counts[role]):
                self._add(LeaguePlayer(f"{role}_{k}", role))
                if role == MAIN:  # the main agent's initial weights enter frozen
                    self._freeze(self.players[f"{role}_{k}"])

    def _add(self, player: LeaguePlayer) -> None:
        self.players[player.name] = player
        self.payoff.add_player(player.name)

    def _freeze(self, player: LeaguePlayer) -> str:
        name = f"{player.name}_v{len(self.frozen([player.name]))}"
        self._add(LeaguePlayer(name, HISTORICAL, parent=player.name, steps=player.steps))
        return name

    # -- who is who
    def learning(self, role: str | None = None) -> list[str]:
        """Names of the learning players (of one role), in order."""
        return [p.name for p in self.players.values() if p.role != HISTORICAL and role in (None, p.role)]

    def frozen(self, parents: Sequence[str] | None = None) -> list[str]:
        """Names of the frozen players (of the given parents), oldest first."""
        return [p.name for p in self.players.values()
                if p.role == HISTORICAL and (parents is None or p.parent in parents)]

    def _choose(self, names: list[str], win_rates: np.ndarray, weighting: str) -> str:
        return names[int(self.rng.choice(len(names), p=pfsp(win_rates, weighting)))]

    # -- matchmaking
    def get_match(self, name: str) -> Match:
        """The next opponent of learning player `name`, by its role's rules; logged."""
        role = self.players[name].role
        if role == MAIN:
            match = self._main_match(name)
        elif role == MAIN_EXPLOITER:
            match = self._main_exploiter_match(name)
        elif role == LEAGUE_EXPLOITER:
            frozen = self.frozen()
            match = Match(name, self._choose(frozen, self.payoff.win_rates(name, frozen), "linear_capped"),
                          "league_exploiter_pfsp")
        else:
            raise ValueError(f"{name!r} is frozen: frozen players do not ask for matches")
        self.log.append({"home": match.home, "away": match.away, "branch": match.branch,
                         "selfplay": match.selfplay})
        return match

    def _main_match(self, name: str) -> Match:
        coin = float(self.rng.random())
        if coin < 0.5:  # make sure it can beat the league
            frozen = self.frozen()
            return Match(name, self._choose(frozen, self.payoff.win_rates(name, frozen), "squared"), "pfsp")
        mains = self.learning(MAIN)
        opponent = mains[int(self.rng.integers(len(mains)))]
        if coin < 0.5 + 0.15:
            match = self._verification(name, opponent)
            if match is not None:
                return match
        return self._selfplay(name, opponent)

    def _verification(self, name: str, opponent: str) -> Match | None:
        exploiters = self.frozen(self.learning(MAIN_EXPLOITER))  # check exploitation
        win_rates = self.payoff.win_rates(name, exploiters)
        if len(win_rates) and win_rates.min() < 0.3:
            return Match(name, self._choose(exploiters, win_rates, "squared"), "verification_exploiters")
        lineage = self.frozen([opponent])  # check forgetting
        win_rates, lineage = remove_monotonic_suffix(self.payoff.win_rates(name, lineage), lineage)
        if len(win_rates) and min(win_rates) < 0.7:
            return Match(name, self._choose(lineage, np.asarray(win_rates), "squared"),
                         "verification_forgetting")
        return None

    def _selfplay(self, name: str, opponent: str) -> Match:
        if self.payoff.win_rate(name, opponent) > 0.3:
            return Match(name, opponent, "selfplay", selfplay=True)
        lineage = self.frozen([opponent])  # the opponent is too strong: one of its snapshots as curriculum
        return Match(name, self._choose(lineage, self.payoff.win_rates(name, lineage), "variance"),
                     "selfplay_curriculum")

    def _main_exploiter_match(self, name: str) -> Match:
        mains = self.learning(MAIN)
        opponent = mains[int(self.rng.integers(len(mains)))]
        if self.payoff.win_rate(name, opponent) > 0.1:
            return Match(name, opponent, "exploit_main")
        lineage = self.frozen([opponent])
        return Match(name, self._choose(lineage, self.payoff.win_rates(name, lineage), "variance"),
                     "exploit_main_snapshots")

    # -- results and checkpoints
    def update(self, home: str, away: str, result: str) -> None:
        """One finished game between `home` and `away`, `result` from home's view."""
        self.payoff.update(home, away, result)

    def add_steps(self, name: str, steps: int) -> None:
        self.players[name].steps += int(steps)

    def ready_to_checkpoint(self, name: str) -> bool:
        player = self.players[name]
        passed = player.steps - player.checkpoint_step
        if passed < self.config.min_steps:
            return False
        against = self.learning(MAIN) if player.role == MAIN_EXPLOITER else self.frozen()
        win_rates = self.payoff.win_rates(name, against)
        return bool(win_rates.min() > 0.7) or passed > self.config.max_steps

    def checkpoint(self, name: str) -> Checkpoint:
        """Freeze learning player `name` into the league; says whether its weights are to be reset."""
        player = self.players[name]
        if player.role == HISTORICAL:
            raise ValueError(f"{name!r} is frozen already")
        reset = player.role == MAIN_EXPLOITER or (
            player.role == LEAGUE_EXPLOITER and float(self.rng.random()) < 0.25)
        frozen = self._freeze(player)
        player.checkpoint_step = player.steps
        self.log.append({"checkpoint": name, "frozen": frozen, "reset": reset})
        return Checkpoint(name, frozen, reset)

    # -- saving and resuming
    def state(self) -> dict[str, Any]:
        """Everything needed to resume, as plain data."""
        return {
            "config": vars(self.config),
            "seed": self.seed,
            "players": [vars(p) for p in self.players.values()],
            "payoff": {"players": self.payoff.players,
                       "stats": [[h, a, *values] for (h, a), values in self.payoff.stats.items()]},
            "log": self.log,
            "rng": self.rng.bit_generator.state,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> League:
        payoff = Payoff()
        payoff.players = list(state["payoff"]["players"])
        payoff.stats = {(h, a): list(values) for h, a, *values in state["payoff"]["stats"]}
        league = cls(
            LeagueConfig(**state["config"]),
            state["seed"],
            {p["name"]: LeaguePlayer(**p) for p in state["players"]},
            payoff,
            list(state["log"]),
        )
        league.rng.bit_generator.state = state["rng"]
        return league
