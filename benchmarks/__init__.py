"""Benchmarks: each module's `main(argv) -> int` prints its numbers beside a baseline measured
in the same run; `tumble bench` (and `make bench`) runs them all."""
