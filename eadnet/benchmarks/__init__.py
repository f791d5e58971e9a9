"""Benchmarks as library functions returning numbers; the ``eadnet bench`` command prints them."""
