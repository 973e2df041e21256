"""Benchmark suite: workload generators and whole-process runs (see docs/performance.md)."""
