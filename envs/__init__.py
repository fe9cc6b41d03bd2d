"""Making environments: gymnasium ids, OpenSpiel game strings, and `module:factory` plug-ins.

`make(spec)` is the one door in. It returns a `gymnasium.Env` (single-agent, step-based), a
`pyspiel.Game` (turn-based, with a forward model; `is_game`) or, from a plug-in, a PettingZoo AEC or
Parallel env (multi-agent, no forward model; `is_pettingzoo`, played and trained on through
`envs/pettingzoo.py`).
"""

from __future__ import annotations

import importlib
from typing import Any

from envs.errors import UsageError, closest

# The toolkit's own games: a name here is loaded from our module before OpenSpiel's registry is asked.
# A value is the module that registers the game, or (module, registered name) when the registered name
# differs (ours cannot take a name OpenSpiel's C++ already holds; its game then gets another name here).
OWN_GAMES: dict[str, str | tuple[str, str]] = {
    "backgammon": ("envs.backgammon.game", "palaestra_backgammon"),
    "openspiel_backgammon": ("pyspiel", "backgammon"),
}


# The toolkit's own PettingZoo / gymnasium envs: a spec's name (before "(" or ":") -> its factory.
# `skirmish(size=12)` passes its parameters; `skirmish-vs:rush` passes the bot's name.
OWN_ENVS: dict[str, str] = {
    "skirmish": "envs.games.skirmish:make_env",
    "skirmish-vs": "envs.games.skirmish:make_vs_bot",
}


def _make_own_env(spec: str) -> Any:
    """An OWN_ENVS env from its spec: `name`, `name(key=value,...)` or `name:ARG`."""
    base = spec.split("(", 1)[0].split(":", 1)[0]
    module_name, _, attribute = OWN_ENVS[base].partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    if ":" in spec[len(base) :][:1]:
        return factory(spec[len(base) + 1 :])
    kwargs: dict[str, Any] = {}
    inside = spec[len(base) :].strip()
    if inside:
        if not (inside.startswith("(") and inside.endswith(")")):
            raise UsageError(f"cannot read the parameters of {spec!r}; e.g. {base}(size=12)")
        for part in filter(None, (p.strip() for p in inside[1:-1].split(","))):
            key, sep, value = part.partition("=")
            if not sep or not value.strip().lstrip("-").isdigit():
                raise UsageError(f"{spec!r}: parameter {part!r} is not key=integer")
            kwargs[key.strip()] = int(value)
    try:
        return factory(**kwargs)
    except TypeError as error:
        raise UsageError(f"{spec!r}: {error}") from None


def is_game(env: Any) -> bool:
    """True for a turn-based OpenSpiel game, False for a gymnasium env."""
    import pyspiel

    return isinstance(env, pyspiel.Game)


def is_pettingzoo(env: Any) -> bool:
    """True for a PettingZoo AEC or Parallel env (from a plug-in)."""
    import sys

    if "pettingzoo" not in sys.modules:  # nothing made one yet: no need to import it to say no
        return False
    from envs.pettingzoo import is_pettingzoo as check

    return check(env)


def is_multiplayer(env: Any) -> bool:
    """True for an env with seats to fill (an OpenSpiel game or a PettingZoo env), False for a gym env."""
    return is_game(env) or is_pettingzoo(env)


def num_seats(env: Any) -> int:
    """How many players a game or PettingZoo env seats."""
    return len(env.possible_agents) if is_pettingzoo(env) else env.num_players()


def learner_env(env: Any, opponent: Any, seed: int) -> Any:
    """A game or PettingZoo env as a single-agent gymnasium env for a step-based learner: the learner in one
    seat (alternating between episodes), `opponent` in the others (`OpponentEnv`, `AECOpponentEnv`)."""
    if is_pettingzoo(env):
        from envs.pettingzoo import AECOpponentEnv

        return AECOpponentEnv(env, opponent, seed=seed)
    from envs.turn_based import OpponentEnv

    return OpponentEnv(env, opponent, seed=seed)


def refuse_position_actions(env: Any, algorithm: str) -> None:
    """UsageError for a game whose actions are not moves with a fixed meaning: in our backgammon
    (`--env backgammon`) action i is "the i-th legal resulting position", so one action id means a
    different move in every position and a policy or Q head over action ids learns nothing. OpenSpiel's
    backgammon (`--env openspiel_backgammon`) numbers its moves the same way everywhere."""
    own_backgammon = OWN_GAMES["backgammon"][1]
    if is_game(env) and env.get_type().short_name == own_backgammon:
        raise UsageError(
            f"{algorithm} needs actions that mean the same move in every position; --env backgammon's "
            "action i is the i-th legal resulting position (for td-lambda and search): "
            "use --env openspiel_backgammon, whose actions are moves"
        )


def utility_scale(game: Any) -> float:
    """The largest absolute return of a game: dividing by it puts returns (and values) in [-1, 1]."""
    return max(abs(game.max_utility()), abs(game.min_utility()), 1e-12)


def gym_ids() -> list[str]:
    import gymnasium

    return sorted(gymnasium.envs.registry.keys())


def game_names() -> list[str]:
    import open_spiel.python.games  # noqa: F401  (registers OpenSpiel's Python games)
    import pyspiel

    return sorted(set(pyspiel.registered_names()) | set(OWN_GAMES))


def make(spec: str, **gym_kwargs: Any) -> Any:
    """Build the env or game named by `spec`; an unknown spec raises UsageError naming the closest ones."""
    spec = spec.strip()
    if not spec:
        raise UsageError("empty environment spec")
    base = spec.split("(", 1)[0]
    if base.split(":", 1)[0] in OWN_ENVS:
        return _make_own_env(spec)
    if base in OWN_GAMES:
        entry = OWN_GAMES[base]
        module, registered = entry if isinstance(entry, tuple) else (entry, base)
        importlib.import_module(module)
        spec, base = registered + spec[len(base) :], registered
    if ":" in spec and "(" not in base:
        return _make_plugin(spec, **gym_kwargs)
    import gymnasium

    if spec in gymnasium.envs.registry:
        return gymnasium.make(spec, **gym_kwargs)
    import open_spiel.python.games  # noqa: F401
    import pyspiel

    if base in pyspiel.registered_names():
        try:
            return pyspiel.load_game(spec)
        except pyspiel.SpielError as error:
            raise UsageError(f"cannot load game {spec!r}: {str(error).strip().splitlines()[-1]}") from None
    names = gym_ids() + game_names() + list(OWN_ENVS)
    raise UsageError(
        f"unknown environment {spec!r}{closest(base, names)}; `python run.py list` shows them all"
    )


def _make_plugin(spec: str, **gym_kwargs: Any) -> Any:
    import gymnasium
    import pyspiel

    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(f"cannot import plug-in module {module_name!r}: {error}") from None
    factory = getattr(module, attribute, None)
    if factory is None:
        if spec in gymnasium.envs.registry:  # gymnasium's own `module:EnvId` form
            return gymnasium.make(spec, **gym_kwargs)
        raise UsageError(f"plug-in module {module_name!r} has no attribute {attribute!r}")
    made = factory() if callable(factory) else factory
    if isinstance(made, (gymnasium.Env, pyspiel.Game)) or is_pettingzoo(made):
        return made
    raise UsageError(
        f"plug-in {spec!r} returned {type(made).__name__}, not a gymnasium.Env, a pyspiel.Game or a "
        "PettingZoo AEC or Parallel env"
    )


def identity(env: Any) -> dict[str, Any]:
    """What a checkpoint records to recognise its env: name, parameters, observation shape, action count."""
    if is_game(env):
        from envs.encoding import Encoder

        return {
            "kind": "game",
            "name": env.get_type().short_name,
            "parameters": str(sorted(env.get_parameters().items())),
            "obs_shape": list(Encoder(env).shape),
            "num_actions": env.num_distinct_actions(),
        }
    if is_pettingzoo(env):
        from envs.pettingzoo import env_name, num_actions, observation_shapes

        return {
            "kind": "pettingzoo",
            "name": env_name(env),
            "parameters": "[]",
            "agents": [str(a) for a in env.possible_agents],
            "obs_shape": observation_shapes(env),
            "num_actions": num_actions(env),
        }
    from envs.spaces import flat_size

    return {
        "kind": "gym",
        "name": env.spec.id if env.spec is not None else type(env.unwrapped).__name__,
        "parameters": str(sorted((env.spec.kwargs if env.spec is not None else {}).items())),
        "obs_shape": [flat_size(env.observation_space)],
        "num_actions": int(env.action_space.n) if hasattr(env.action_space, "n") else -1,
    }


def describe(env_id: dict[str, Any]) -> str:
    """A short human name for an identity, for error messages."""
    return f"{env_id['name']}" + ("" if env_id["parameters"] in ("[]", "") else f" {env_id['parameters']}")
