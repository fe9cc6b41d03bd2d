"""Players from names: the one place a command line's player name becomes an object with `act`.

A name is `NAME[:ARG][,key=value...]`, resolved in this order: a built-in (`random`, `human`, ...), else an
existing file (a checkpoint, which plays with its saved settings unless overridden), else a plug-in
`module:factory` whose `factory(game)` returns an object with `act(state)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envs.errors import UsageError, closest


def _random(arg: str | None, options: dict[str, str], env: Any, seed: int) -> Any:
    from envs import is_pettingzoo

    if is_pettingzoo(env):
        from envs.pettingzoo import RandomObservationPlayer

        return RandomObservationPlayer(seed)
    from envs.turn_based import RandomPlayer

    return RandomPlayer(seed)


def _human(arg: str | None, options: dict[str, str], env: Any, seed: int) -> Any:
    from envs import is_pettingzoo

    if is_pettingzoo(env):
        from league.human import HumanAgentPlayer

        return HumanAgentPlayer()
    from league.human import HumanPlayer

    return HumanPlayer()


def _pubeval(arg: str | None, options: dict[str, str], env: Any, seed: int) -> Any:
    from agents.pubeval_player import make_pubeval

    return make_pubeval(arg, options, env, seed)


def _number(name: str, text: str | None, kind: type, default: float | None = None) -> float | None:
    """A player's numeric argument or option, or a UsageError naming it."""
    if text is None or text == "":
        if default is None:
            raise UsageError(f"player {name!r} needs a number, e.g. {name}:100")
        return default
    try:
        value = kind(text)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise UsageError(f"player {name!r}: {text!r} is not {expected}") from None
    if value <= 0:
        raise UsageError(f"player {name!r}: {text!r} must be positive")
    return value


def _check_options(name: str, options: dict[str, str], known: tuple[str, ...]) -> None:
    for key in options:
        if key not in known:
            raise UsageError(f"player {name!r}: unknown option {key!r}{closest(key, known)}; options: "
                             + ", ".join(known))


def _needs_turns(name: str, env: Any) -> None:
    """A search player needs a turn-taking OpenSpiel game (a forward model, one mover at a time)."""
    from envs import is_game
    from envs.turn_based import require_sequential

    if not is_game(env):
        raise UsageError(f"player {name!r} searches with a forward model: it needs an OpenSpiel game")
    require_sequential(env, f"player {name!r}")


def _mcts(arg: str | None, options: dict[str, str], env: Any, seed: int) -> Any:
    from search.mcts import MCTSPlayer

    _check_options("mcts", options, ("uct_c", "time"))
    _needs_turns("mcts", env)
    return MCTSPlayer(
        simulations=int(_number("mcts", arg, int, 1000)),
        uct_c=float(_number("mcts", options.get("uct_c"), float, 2.0)),
        time_limit=_number("mcts", options.get("time"), float) if "time" in options else None,
        seed=seed,
    )


def _alphabeta(arg: str | None, options: dict[str, str], env: Any, seed: int) -> Any:
    from search.alphabeta import AlphaBetaPlayer

    _check_options("alphabeta", options, ("time",))
    _needs_turns("alphabeta", env)
    return AlphaBetaPlayer(
        depth=int(_number("alphabeta", arg, int, 4)),
        time_limit=_number("alphabeta", options.get("time"), float) if "time" in options else None,
        seed=seed,
    )


def _restart_options(name: str, options: dict[str, str]) -> dict[str, Any]:
    """A GTP player's `timeout=S` (seconds a command may take) and `restarts=N` (per game)."""
    restarts = options.get("restarts", "3")
    if not restarts.isdigit():
        raise UsageError(f"player {name!r}: restarts={restarts!r} is not a whole number")
    timeout = float(_number(name, options.get("timeout"), float, 30.0))
    return {"timeout": timeout, "max_restarts": int(restarts)}


def _gnugo(arg: str | None, options: dict[str, str], env: Any, seed: int) -> Any:
    from agents.gtp import GTPPlayer, gnugo_argv, go_parameters

    _check_options("gnugo", options, ("path", "timeout", "restarts"))
    go_parameters(env, "player 'gnugo'")
    level = 10 if arg in (None, "") else arg
    if not str(level).isdigit() or not 0 <= int(level) <= 10:
        raise UsageError(f"player 'gnugo': level {arg!r} is not 0-10, e.g. gnugo:1")
    argv = gnugo_argv(int(level), seed, options.get("path"))
    return GTPPlayer(argv, f"gnugo:{int(level)}", **_restart_options("gnugo", options))


def _gtp(arg: str | None, options: dict[str, str], env: Any, seed: int) -> Any:
    import shlex
    import shutil

    from agents.gtp import GTPPlayer, go_parameters

    _check_options("gtp", options, ("timeout", "restarts"))
    go_parameters(env, "player 'gtp'")
    try:
        argv = shlex.split(arg or "")
    except ValueError as error:
        raise UsageError(f"player 'gtp:{arg}': {error}") from None
    if not argv:
        raise UsageError("player 'gtp' needs the engine's command, e.g. 'gtp:gnugo --mode gtp --level 3'")
    if shutil.which(argv[0]) is None:
        raise UsageError(f"player 'gtp': no program {argv[0]!r} (not a file, not on PATH)")
    return GTPPlayer(argv, f"gtp:{argv[0]}", **_restart_options("gtp", options))


def _solver(arg: str | None, options: dict[str, str], env: Any, seed: int) -> Any:
    from search.connect_four_solver import SolverPlayer, check_connect_four

    _check_options("solver", options, ())
    check_connect_four(env, "player 'solver'")
    return SolverPlayer(seed)


def _league(arg: str | None, options: dict[str, str], env: Any, seed: int) -> Any:
    from agents.alphastar import league_player

    if not arg:
        raise UsageError("player 'league' needs a run folder: league:RUN[,mixture=nash|main]")
    return league_player(arg, options, env, seed)


def _skirmish_bot(arg: str | None, options: dict[str, str], env: Any, seed: int) -> Any:
    from envs.games.skirmish.bots import BOTS, make_bot

    _check_options("skirmish-bot", options, ())
    if type(getattr(env, "unwrapped", env)).__name__ != "SkirmishEnv":
        raise UsageError("player 'skirmish-bot' plays skirmish only (--env skirmish)")
    if not arg:
        raise UsageError(f"player 'skirmish-bot' needs a bot, skirmish-bot:NAME: {', '.join(BOTS)}")
    return make_bot(arg, seed)


# Built-in player name -> (factory(arg, options, env, seed), one-line description). Later issues add to it.
BUILTIN_PLAYERS: dict[str, tuple[Callable[..., Any], str]] = {
    "league": (_league, "league:RUN[,mixture=nash|main]: an alphastar --league run's meta-Nash mixture"),
    "random": (_random, "uniform over the legal moves"),
    "human": (_human, "you, at the terminal"),
    "mcts": (_mcts, "mcts:SIMS[,uct_c=2][,time=S]: UCT, one C++ random rollout per leaf (default 1000)"),
    "alphabeta": (_alphabeta, "alphabeta:DEPTH[,time=S]: alpha-beta, iterative deepening (default 4)"),
    "pubeval": (_pubeval, "Tesauro's public linear backgammon evaluator (backgammon only)"),
    "solver": (_solver, "a perfect connect-four player: fastest win, slowest loss (connect_four only)"),
    "gnugo": (_gnugo, "gnugo:LEVEL[,path=P][,timeout=S][,restarts=N]: GNU Go, level 0-10 (default 10), over "
                      "GTP (go only)"),
    "skirmish-bot": (_skirmish_bot, "skirmish-bot:NAME: a scripted skirmish player (rush, economy, counter, "
                                    "turtle, random) acting on its own fogged view"),
    "gtp": (_gtp, "gtp:COMMAND[,timeout=S][,restarts=N]: any GTP engine, COMMAND split as a shell does "
                  "(quote a comma: gtp:'eng --cfg \"a,b\"')"),
}


class _WithReset:
    """Gives a plug-in player that has only `act` a do-nothing `reset` (and passes `observe` on)."""

    def __init__(self, inner: Any):
        self.inner = inner

    def reset(self, game: Any, player_id: int, seed: int) -> None:
        pass

    def observe(self, state: Any, action: int | None) -> None:
        observe = getattr(self.inner, "observe", None)
        if callable(observe):
            observe(state, action)

    def act(self, *inputs: Any) -> int:
        """The inner player's `act`: `act(state)` on a game, `act(observation, info)` on a PettingZoo env."""
        return self.inner.act(*inputs)


def _split_commas(name: str) -> list[str]:
    """`name` split at its commas, except those inside quotes (a `gtp:` command's argument may hold one)."""
    parts, start, quote = [], 0, ""
    for k, char in enumerate(name):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ",":
            parts.append(name[start:k])
            start = k + 1
    return [*parts, name[start:]]


def parse_player_name(name: str) -> tuple[str, str | None, dict[str, str]]:
    """'mcts:400,uct_c=2' -> ('mcts', '400', {'uct_c': '2'}); a path keeps its own ':' and '/'."""
    head, *option_parts = _split_commas(name)
    options = {}
    for part in option_parts:
        key, sep, value = part.partition("=")
        if not sep:
            raise UsageError(f"player option {part!r} in {name!r} is not key=value")
        options[key.strip()] = value.strip()
    base, sep, arg = head.partition(":")
    return base, (arg if sep else None), options


def make_player(name: str, env: Any, seed: int = 0, device: str = "cpu") -> Any:
    """Build the player named `name` for `env` (a pyspiel.Game or a gymnasium.Env)."""
    base, arg, options = parse_player_name(name)
    if base in BUILTIN_PLAYERS:
        return BUILTIN_PLAYERS[base][0](arg, options, env, seed)
    head = name.split(",")[0]
    if Path(head).is_file():
        return load_checkpoint_player(head, env, device=device, options=options)
    if ":" in head and "/" not in head:
        module_name, _, attribute = head.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise UsageError(f"player {name!r}: cannot import module {module_name!r} ({error})") from None
        factory = getattr(module, attribute, None)
        if not callable(factory):
            raise UsageError(f"player {name!r}: module {module_name!r} has no callable {attribute!r}")
        player = factory(env)
        if not hasattr(player, "act"):
            raise UsageError(f"player {name!r}: the factory returned an object without act(state)")
        return player if hasattr(player, "reset") else _WithReset(player)
    if head.endswith(".pt") or "/" in head:
        raise UsageError(f"checkpoint {head!r} does not exist")
    raise UsageError(
        f"unknown player {name!r}{closest(base, BUILTIN_PLAYERS)}; players are "
        f"{', '.join(BUILTIN_PLAYERS)}, a checkpoint path, or module:factory"
    )


SEARCH_ALGORITHMS = ("alphazero", "alphago", "td-lambda")
"""Algorithms whose players search (PUCT, 1-ply/2-ply look-ahead): they need a forward model."""


def load_checkpoint_player(
    path: str, env: Any, device: str = "cpu", options: dict[str, str] | None = None
) -> Any:
    """The player a checkpoint describes, checked against `env`."""
    from agents import ALGORITHMS
    from agents.checkpoint import check_env, load_checkpoint
    from envs import is_pettingzoo

    checkpoint = load_checkpoint(path)
    algorithm = checkpoint.get("algorithm")
    if algorithm in SEARCH_ALGORITHMS and is_pettingzoo(env):
        raise UsageError(f"a {algorithm} checkpoint searches with a forward model: it needs an OpenSpiel "
                         "game, not a PettingZoo env")
    check_env(checkpoint, env)
    if algorithm not in ALGORITHMS:
        raise UsageError(f"checkpoint {path!r} is from unknown algorithm {algorithm!r}")
    module = importlib.import_module(ALGORITHMS[algorithm][0])
    try:
        return module.load_player(checkpoint, env, device=device, **(options or {}))
    except KeyError as error:
        missing = error.args[0]
        raise UsageError(f"checkpoint {path!r} lacks {missing!r}, which a {algorithm} player needs") from None
