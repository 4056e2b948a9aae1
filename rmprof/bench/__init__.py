"""Benchmark harness: interleaved timing of runtimes and the statistics used to report them."""
