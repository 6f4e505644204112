"""`make bench`: paypipe's benchmarks, each against a baseline measured in the same session.

Run with `python -m tests.bench` after `make up`; see docs/loadgen.md for what each figure means.
Benchmarks measure; they never assert speed (the targets are compared and reported, not tested).
"""
