"""Benchmarks: each ``bench_*.py`` module prints its figures beside a baseline from the same run."""
