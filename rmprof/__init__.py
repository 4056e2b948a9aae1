"""rmprof: run one data pipeline on several runtimes under profilers and report bottlenecks and speedups."""

__version__ = "0.1.0"
