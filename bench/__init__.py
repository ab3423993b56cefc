"""Benchmarks: the adapter beside raw temporalio on the same server (BENCHMARKS.md)."""
