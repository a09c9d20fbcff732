"""Benchmarks: ``make bench`` (or ``python -m bench [name ...]``) runs every ``bench_*.py`` module."""
