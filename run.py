"""palaestra's command line: train, eval, tournament, play, list.

    python run.py                         # the default main job (DEFAULT_JOB below)
    python run.py train ALGO --env SPEC [--steps N] [--time-limit S] [--seed S] [--resume DIR] [options]
    python run.py eval CHECKPOINT [--env SPEC] [--episodes N] [--opponent PLAYER] [--json] [--workers K]
    python run.py tournament --env SPEC --players P1 P2 ... [--games N] [--workers K] [--out DIR] [--seed S]
    python run.py play --env SPEC --players P1 P2 [--seed S] [--delay SECONDS]
    python run.py gtp PLAYER [--env "go(board_size=9,komi=7.5)"] [--seed S]
    python run.py data --env SPEC --expert PLAYER [PLAYER ...] --games N --out DIR [--workers K]
    python run.py data --env SPEC --data DIR      # the positions a folder of games (SGF, JSON lines) gives
    python run.py list

Heavy imports (torch, pyspiel) happen only inside the command that needs them.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import signal
import sys
from dataclasses import dataclass
from typing import Annotated, Literal

import tyro

from envs.errors import UsageError, closest

# The default main job, run by `python run.py` and `make run`: change this one line to change it.
DEFAULT_JOB = ["train", "dqn", "--env", "CartPole-v1"]

COMMANDS = {
    "train": "train an algorithm: train ALGO --env SPEC [options]; train ALGO --help lists its options",
    "eval": "evaluate a checkpoint: eval CHECKPOINT [--env SPEC] [--episodes N] [--opponent PLAYER] [--json]",
    "tournament": "round robin with Elo: tournament --env SPEC --players P1 P2 ... [--games N] [--workers K]",
    "play": "play in the terminal (or watch): play --env SPEC --players human mcts:1000",
    "gtp": "be a GTP engine on stdin/stdout (Sabaki, GoGui): gtp PLAYER [--env 'go(board_size=9,komi=7.5)']",
    "data": "expert games: data --env SPEC --expert gnugo:1 gnugo:5 --games N --out DIR (or --data DIR)",
    "list": "list the algorithms, the built-in players and the environments",
}


def usage() -> str:
    lines = ["usage: python run.py COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<11}{text}" for name, text in COMMANDS.items()]
    lines += ["", "With no command, runs the default job: python run.py " + " ".join(DEFAULT_JOB)]
    return "\n".join(lines)


PETTINGZOO_LEARNERS = ("dqn", "reinforce")
"""The algorithms that train on a PettingZoo env (through envs.pettingzoo.AECOpponentEnv)."""


def command_train(argv: list[str]) -> int:
    from agents import ALGORITHMS

    if not argv or argv[0].startswith("-"):
        if argv and argv[0] in ("-h", "--help"):
            print("usage: python run.py train ALGO [options]\n\nalgorithms:")
            for name, (_, text) in ALGORITHMS.items():
                print(f"  {name:<11}{text}")
            return 0
        raise UsageError(
            "train needs an algorithm: python run.py train ALGO ...; algorithms: " + ", ".join(ALGORITHMS)
        )
    algorithm, rest = argv[0], argv[1:]
    if algorithm not in ALGORITHMS:
        raise UsageError(
            f"unknown algorithm {algorithm!r}{closest(algorithm, ALGORITHMS)}; "
            f"algorithms: {', '.join(ALGORITHMS)}"
        )
    module = importlib.import_module(ALGORITHMS[algorithm][0])
    config = tyro.cli(
        module.Config,
        args=rest,
        prog=f"run.py train {algorithm}",
        description=ALGORITHMS[algorithm][1],
    )
    import envs
    from agents.training import resume_config

    config, checkpoint = resume_config(config, getattr(module, "SHAPE_FIELDS", ()))
    env = envs.make(config.env)
    if envs.is_pettingzoo(env) and algorithm not in PETTINGZOO_LEARNERS:
        raise UsageError(f"{algorithm} does not train on a PettingZoo env (no forward model, no states); "
                         f"{' and '.join(PETTINGZOO_LEARNERS)} do")
    summary = module.train(config, env, checkpoint)
    print_train_summary(algorithm, config, summary, envs.is_multiplayer(env))
    return 0


def print_train_summary(algorithm: str, config: object, summary: dict, game: bool) -> None:
    checkpoint = summary["checkpoint"]
    figures = {k: v for k, v in summary.items() if k not in ("run_dir", "checkpoint")}
    print(
        f"\nfinished ({summary['stopped_by']}): "
        + ", ".join(f"{k}={v}" for k, v in figures.items() if k != "stopped_by")
    )
    print(f"run folder:  {summary['run_dir']}  (config.json, TensorBoard logs, ckpt/)")
    print(f"checkpoint:  {checkpoint}")
    print(f"watch:       tensorboard --logdir {summary['run_dir']}")
    episodes = summary.get("eval_episodes", summary.get("eval_games"))
    print(f"evaluate:    python run.py eval {checkpoint}" + (f" --episodes {episodes}" if episodes else ""))
    if game:
        print(f"play it:     python run.py play --env {config.env} --players human {checkpoint}")
    print(f"continue:    python run.py train {algorithm} --resume {summary['run_dir']} --steps N")


@dataclass(frozen=True)
class EvalArgs:
    """Evaluate a checkpoint: mean return on a gymnasium env, or win/draw/loss rates against an opponent."""

    checkpoint: Annotated[str, tyro.conf.Positional]
    """the checkpoint file, e.g. runs/X/ckpt/latest.pt (with options: runs/X/ckpt/latest.pt,sims=400)"""
    env: str | None = None
    """environment (default: the checkpoint's own)"""
    episodes: int = 100
    """episodes (games, on a turn-based game; seats alternate)"""
    opponent: str = "random"
    """the opponent on a turn-based game: random, a built-in, a checkpoint path or module:factory"""
    seed: int = 0
    """seed: the same seed gives the same result"""
    json: bool = False
    """print one JSON object as the last line of stdout"""
    device: str = "cpu"
    """where the network runs"""
    threads: int = 1
    """torch CPU threads (one is fastest for small networks, as in training)"""
    workers: int = 1
    """on a turn-based game, play the games in this many processes (the players are rebuilt there from their
    names; games are then the same for any number of workers above 1)"""
    opening_moves: int = 0
    """on an OpenSpiel game: each pair of games (seats swapped) starts from its own N uniformly random moves,
    so that players that always choose the same move still play different games (0: from the start)"""
    exploitability: bool = False
    """instead of games: the NashConv of the player's policy, exact, on a small turn-based game (kuhn_poker,
    leduc_poker): the sum of the players' best-response gains (0 at a Nash equilibrium)"""


def command_eval(argv: list[str]) -> int:
    args = tyro.cli(EvalArgs, args=argv, prog="run.py eval")
    if args.episodes < 1 or args.workers < 1 or args.threads < 1 or args.opening_moves < 0:
        raise UsageError("--episodes, --workers and --threads must be at least 1, --opening-moves at least 0")
    import torch

    torch.set_num_threads(args.threads)
    import envs
    from agents.checkpoint import load_checkpoint
    from agents.evaluation import evaluate_player
    from agents.players import make_player

    path = args.checkpoint.split(",")[0]  # `CKPT,sims=400` overrides the checkpoint's play settings
    checkpoint = load_checkpoint(path)
    env = envs.make(args.env or checkpoint["env_spec"])
    player = make_player(args.checkpoint, env, seed=args.seed, device=args.device)  # a bad spec stops here
    if args.exploitability:
        if not envs.is_game(env):
            raise UsageError("--exploitability needs an OpenSpiel game")
        from agents.exploitability import nash_conv

        value = nash_conv(env, player, seed=args.seed)
        print(f"{args.checkpoint} on {envs.describe(envs.identity(env))}: NashConv {value:.4f} "
              f"(exploitability {value / env.num_players():.4f})")
        if args.json:
            print(json.dumps({"nash_conv": value, "exploitability": value / env.num_players()}))
        return 0
    multiplayer = envs.is_multiplayer(env)  # an OpenSpiel game or a PettingZoo env: a match
    if args.opening_moves and not envs.is_game(env):
        raise UsageError("--opening-moves needs an OpenSpiel game (random moves need a forward model)")
    if multiplayer and args.workers > 1:
        from league.arena import play_match

        spec = args.env or checkpoint["env_spec"]
        players = [args.checkpoint, args.opponent]
        match = play_match(spec, players, args.episodes, args.seed, args.workers, make_player=make_player,
                           opening_moves=args.opening_moves)
        result = match.summary()
    else:
        result = evaluate_player(player, env, args.episodes, opponent=args.opponent, seed=args.seed,
                                 opening_moves=args.opening_moves)
    if multiplayer:
        multi_point = envs.is_game(env) and env.max_utility() > 1  # backgammon: 1, 2 or 3 points a game
        points = f", points per game {result['points_per_game']:+.3f}" if multi_point else ""
        print(
            f"{args.checkpoint} vs {args.opponent} on {envs.describe(envs.identity(env))}: "
            f"{result['games']} games, "
            f"win {result['win_rate']:.3f}, draw {result['draw_rate']:.3f}, loss {result['loss_rate']:.3f}, "
            f"score {result['score']:.3f} (95% interval {result['score_low']:.3f}-{result['score_high']:.3f})"
            + points + f", {result['distinct_games']} distinct games"
        )
        keys = ("games", "win_rate", "draw_rate", "loss_rate", "score", "distinct_games")
        out = {k: result[k] for k in keys}
        out["score_interval"] = [result["score_low"], result["score_high"]]
        if multi_point:
            out["points_per_game"] = result["points_per_game"]
    else:
        print(
            f"{args.checkpoint} on {checkpoint['env_spec']}: {args.episodes} episodes, "
            f"mean return {result['mean_return']:.2f} +- {result['std_return']:.2f}"
        )
        out = result
    if args.json:
        print(json.dumps(out))
    return 0


@dataclass(frozen=True)
class TournamentArgs:
    """Round robin between players on a two-player game: Elo with 95% intervals and the payoff matrix."""

    env: str
    """the game, e.g. connect_four or 'go(board_size=9)'"""
    players: list[str]
    """two or more players: random, mcts:400, alphabeta:3, a checkpoint path, module:factory"""
    games: int = 20
    """games per pair, seats split evenly"""
    workers: int = 1
    """worker processes playing the games"""
    out: str | None = None
    """output folder (default runs/tournament__ENV__TIME): results.json, games.jsonl, payoff.png, TB logs"""
    seed: int = 0
    """seed: the same seed gives the same games, whatever the number of workers"""
    bootstrap: int = 1000
    """bootstrap resamples for the Elo intervals"""
    batch_size: int = 32
    """games played together (per worker): a network or PUCT player makes one call per step for all of
    them; each game keeps its own random streams (1: one game at a time)"""
    backend: Literal["local", "ray"] = "local"
    """where the --workers play: processes of this machine, or a Ray cluster (palaestra[ray])"""
    address: str | None = None
    """with --backend ray: the cluster to join (auto, or HOST:PORT); without it Ray starts here"""
    opening_moves: int = 0
    """on an OpenSpiel game: each pair of games (seats swapped) starts from its own N uniformly random moves
    (0: from the start)"""


def command_tournament(argv: list[str]) -> int:
    args = tyro.cli(TournamentArgs, args=argv, prog="run.py tournament")
    if len(args.players) < 2:
        raise UsageError("a tournament needs at least two --players")
    if len(set(args.players)) != len(args.players):
        raise UsageError("--players names a player twice; give each once")
    if "human" in args.players:
        raise UsageError("a tournament has no human seat; use python run.py play")
    if args.games < 1 or args.workers < 1 or args.batch_size < 1 or args.opening_moves < 0:
        raise UsageError("--games, --workers and --batch-size must be at least 1, --opening-moves at least 0")
    import time
    from pathlib import Path

    import envs
    from agents.players import make_player
    from league.elo import format_table
    from league.tournament import round_robin, write_results

    env = envs.make(args.env)
    if not envs.is_multiplayer(env):
        raise UsageError(f"{args.env!r} is a single-agent env; a tournament needs a turn-based game")
    if envs.num_seats(env) != 2:
        raise UsageError(f"{args.env} has {envs.num_seats(env)} players; tournaments are for two players")
    if args.opening_moves and not envs.is_game(env):
        raise UsageError("--opening-moves needs an OpenSpiel game (random moves need a forward model)")
    for k, name in enumerate(args.players):  # bad names fail here, in one line, before any game
        make_player(name, env, seed=args.seed + k)
    out = Path(args.out or f"runs/tournament__{args.env.split('(')[0]}__{time.strftime('%Y%m%d-%H%M%S')}")
    pairs = len(args.players) * (len(args.players) - 1) // 2
    print(f"{args.env}: {len(args.players)} players, {pairs} pairs x {args.games} games, "
          f"{args.workers} worker{'s' if args.workers > 1 else ''}", flush=True)
    if args.backend == "ray":
        from league.actors import check_backend

        check_backend("ray")
        from league.actors_ray import connect

        connect(args.address)
    result = round_robin(args.env, args.players, args.games, make_player, workers=args.workers,
                         seed=args.seed, bootstrap=args.bootstrap, batch_size=args.batch_size,
                         backend=args.backend, opening_moves=args.opening_moves)
    paths = write_results(result, out)
    print(f"\n{format_table(result.ratings, result.payoff)}\n")
    print(f"{len(result.games)} games in {result.seconds:.1f} s")
    print(f"wrote {paths['results']}, {paths['games'].name}, {paths['payoff'].name} and TensorBoard ratings "
          f"(tensorboard --logdir {out})")
    return 0


@dataclass(frozen=True)
class PlayArgs:
    """Play a game in the terminal against any player, or watch two players (`human` is you)."""

    env: str
    """the game, e.g. tic_tac_toe, connect_four"""
    players: list[str]
    """one per seat, in seat order: human, random, mcts:1000, alphabeta:4, a checkpoint path, ..."""
    seed: int = 0
    """seed of the players and of chance"""
    delay: float = 0.5
    """seconds between moves when no human plays"""


def command_play(argv: list[str]) -> int:
    args = tyro.cli(PlayArgs, args=argv, prog="run.py play")
    if args.delay < 0:
        raise UsageError("--delay must be at least 0")
    import envs
    from agents.players import make_player
    from league.human import QuitGame, play_agents_in_terminal, play_in_terminal

    env = envs.make(args.env)
    if not envs.is_multiplayer(env):
        raise UsageError(f"{args.env!r} is a single-agent env; play needs a turn-based game")
    if envs.num_seats(env) != len(args.players):
        raise UsageError(f"{args.env} has {envs.num_seats(env)} players; --players names {len(args.players)}")
    players = [make_player(name, env, seed=args.seed + k) for k, name in enumerate(args.players)]
    play = play_agents_in_terminal if envs.is_pettingzoo(env) else play_in_terminal
    own = getattr(env, "play_in_terminal", None)  # an env with its own terminal view (skirmish)
    try:
        if callable(own):
            own(players, args.players, seed=args.seed, delay=args.delay)
        else:
            play(env, players, args.players, seed=args.seed, delay=args.delay)
    except QuitGame:
        print("\nquit")
    return 0


@dataclass(frozen=True)
class GTPArgs:
    """Speak the Go Text Protocol on stdin/stdout with any player behind it: a GUI (Sabaki, GoGui) or
    gogui-twogtp drives it as an engine."""

    player: Annotated[str, tyro.conf.Positional]
    """the player: a checkpoint path, mcts:200, random, gnugo:1, ..."""
    env: str = "go(board_size=9,komi=7.5)"
    """the game the player starts on (an OpenSpiel go game); boardsize and komi commands rebuild it"""
    seed: int = 0
    """seed of the player (each new game adds to it)"""


def command_gtp(argv: list[str]) -> int:
    args = tyro.cli(GTPArgs, args=argv, prog="run.py gtp")
    from agents.gtp_server import serve_gtp

    return serve_gtp(args.player, args.env, args.seed)


@dataclass(frozen=True)
class DataArgs:
    """Expert games for supervised learning: the expert plays itself, a few random opening moves first (not
    labels); Go games are written as SGF, other games as JSON lines (agents/expert_data.py). With --data,
    reads a folder of games instead and prints the positions they give (duplicates removed, the held-out
    split by game, held-out positions also seen in training removed)."""

    env: str
    """the game, e.g. 'go(board_size=9,komi=7.5)' or connect_four"""
    expert: list[str] = dataclasses.field(default_factory=list)
    """the expert(s), e.g. gnugo:1 gnugo:5 or mcts:200: games cycle through them, each playing itself"""
    games: int = 100
    """games to add to --out"""
    out: str | None = None
    """the data folder: games/NNNNNN.sgf or games.jsonl, and manifest.json; an existing one is continued"""
    data: str | None = None
    """instead of playing: a folder of games (SGF or JSON lines, a user's own) to summarise"""
    workers: int = 1
    """processes playing games"""
    seed: int = 0
    """game i of the folder plays with seed SEED + i"""
    opening_moves: int = 4
    """each game opens with 0..N uniformly random moves (not labels)"""
    held_out: float = 0.1
    """with --data: the fraction of games held out"""


def command_data(argv: list[str]) -> int:
    args = tyro.cli(DataArgs, args=argv, prog="run.py data")
    if args.data is not None:
        import envs
        from agents.expert_positions import build_dataset

        dataset = build_dataset(envs.make(args.env), args.data, held_out=args.held_out, seed=args.seed)
        print(json.dumps(dataset.stats))
        return 0
    if not args.expert or args.out is None:
        raise UsageError("data needs --expert PLAYER and --out DIR (or --data DIR to read games)")
    if args.games < 1 or args.workers < 1 or args.opening_moves < 0:
        raise UsageError("--games and --workers must be at least 1, --opening-moves at least 0")
    import envs
    from agents.expert_data import generate
    from agents.players import make_player

    game = envs.make(args.env)
    own = getattr(game, "write_expert_data", None)
    if callable(own):  # an env that writes its own data (skirmish: observations and actions per player)
        print(json.dumps(own(args.expert, args.games, args.out, seed=args.seed, workers=args.workers)))
        return 0
    for name in args.expert:  # a bad name fails here, in one line, before any game
        make_player(name, game, seed=args.seed)
    manifest = generate(args.env, args.expert, args.games, args.out, seed=args.seed,
                        opening_moves=args.opening_moves, workers=args.workers)
    print(json.dumps({"games": manifest["games"], "last_run": manifest["runs"][-1]}))
    return 0


ENV_KINDS = [
    ("gymnasium id", "a single-agent env by its registered id: CartPole-v1, FrozenLake-v1"),
    ("OpenSpiel game", "a turn-based game with a forward model, parameters in brackets: connect_four, "
                       "'go(board_size=9)'; every tool works on it"),
    ("PettingZoo plug-in", "module:factory returning an AEC or Parallel env: played by players that act on "
                           "observations, trained on by dqn and reinforce; no search (no forward model)"),
    ("module:factory", "your own plug-in, a dotted module path and a factory returning a gymnasium.Env, a "
                       "pyspiel.Game or a PettingZoo env (or gymnasium's module:EnvId)"),
]
"""What `run.py list` says about the kinds of environment and how each is named."""


def command_list(argv: list[str]) -> int:
    from agents import ALGORITHMS
    from agents.players import BUILTIN_PLAYERS
    from envs import game_names, gym_ids

    print("algorithms (python run.py train ALGO --help):")
    for name, (_, text) in ALGORITHMS.items():
        print(f"  {name:<11}{text}")
    print("\nplayers (also: a checkpoint path, or module:factory):")
    for name, (_, text) in BUILTIN_PLAYERS.items():
        print(f"  {name:<11}{text}")
    print("\nkinds of environment (--env SPEC):")
    for kind, text in ENV_KINDS:
        print(f"  {kind:<20}{text}")
    print("\ngymnasium environments:")
    print("  " + " ".join(i for i in gym_ids() if "/" not in i))
    print("\nOpenSpiel games (with parameters: 'go(board_size=9)'):")
    print("  " + " ".join(game_names()))
    print("\nPettingZoo envs (plug-ins):")
    print("  envs.pettingzoo_classic:tictactoe envs.pettingzoo_classic:connect_four")
    print("  skirmish, 'skirmish(size=12)' (our RTS, docs/skirmish.md); skirmish-vs:BOT is it against a bot, "
          "single-agent")
    print("  (the other way: envs.pettingzoo.to_pettingzoo(game) makes an OpenSpiel game a PettingZoo env)")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `run.py list | head` ends quietly
    if not argv:
        argv = DEFAULT_JOB
    command, rest = argv[0], argv[1:]
    handlers = {"train": command_train, "eval": command_eval, "tournament": command_tournament,
                "play": command_play, "list": command_list, "gtp": command_gtp,
                "data": command_data}
    if command in ("-h", "--help", "help"):
        print(usage())
        return 0
    try:
        if command not in handlers:
            raise UsageError(
                f"unknown command {command!r}{closest(command, handlers)}; see python run.py --help"
            )
        return handlers[command](rest)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        from agents.training import TrainingStopped

        if isinstance(error, TrainingStopped):
            print(f"error: {error}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
