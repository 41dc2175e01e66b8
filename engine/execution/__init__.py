"""Executing a config: the plan, its blocks and their tasks, and the scheduler that runs them."""
