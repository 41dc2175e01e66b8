"""Reproducible speed and memory benchmarks of footgrid against peer baselines (issue 7)."""
