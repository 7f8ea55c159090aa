"""Benchmarks for the optimizer: baselines to compare against, and the runner (python -m benchmarks.optimizer)."""
