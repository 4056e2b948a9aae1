"""Analysis of measurements: time categories, bottlenecks, the plan's hypotheses (profiler-agnostic)."""
