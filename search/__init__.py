"""Search: alpha-beta and expectiminimax (`search.alphabeta`), MCTS with UCT and batched PUCT
(`search.mcts`), and evaluators without a network (`search.evaluators`)."""
