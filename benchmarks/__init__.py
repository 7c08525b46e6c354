"""Benchmarks: ``make bench`` runs :mod:`benchmarks.run` and writes ``benchmarks/results.md``."""
