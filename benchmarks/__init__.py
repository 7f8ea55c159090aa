"""Benchmarks: the optimizer against baselines, a round's snapshot and publication at full
size, the site under load, and the security scan (see README.md)."""
