"""Learning agents: one module per algorithm, plus what they share (buffers, schedules, nets, checkpoints)."""

# Algorithm id on the command line -> (module, one-line description). Modules are imported lazily.
ALGORITHMS: dict[str, tuple[str, str]] = {
    "q": ("agents.tabular_q", "tabular Q-learning, epsilon-greedy with decay; gym envs and self-play games"),
    "dqn": ("agents.dqn", "deep Q-network: replay, target net, double-DQN option, masks for games"),
    "reinforce": ("agents.reinforce", "REINFORCE policy gradient with an optional learned baseline"),
    "td-lambda": ("agents.td_lambda", "TD-Gammon: a TD(lambda) value net by self-play, 1-ply/2-ply moves"),
    "alphazero": (
        "agents.alphazero",
        "AlphaZero: one policy-value net (ResNet or transformer), batched PUCT self-play",
    ),
    "alphago": (
        "agents.alphago",
        "AlphaGo: SL policy on expert games, fast rollout policy, RL policy, value net; MCTS mixing them",
    ),
    "alphastar": (
        "agents.alphastar",
        "AlphaStar's actor-critic: LSTM, V-trace, UPGO, TD(lambda), KL to a reference; self-play",
    ),
}
