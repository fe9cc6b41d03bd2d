"""Search: alpha-beta and expectiminimax (`search.alphabeta`), UCT with random rollouts (`search.mcts`),
batched PUCT with an evaluator (`search.puct`, its plain twin `search.puct_reference`), the tree the two
MCTS share (`search.tree`), and evaluators without a network (`search.evaluators`)."""
