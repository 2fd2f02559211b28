"""Shared helpers for the benchmarks: a sandbox and a unidir server as child processes."""
