"""The reference runtimes (floors): plain loops over the node operations, timed beside the runtimes to show what
the operations cost without an executor. They have no Runtime class: never chosen with -r, never gated. The
registry (rmprof/runtimes/__init__.py) exports them; the round protocol reads them from here, below it."""

from __future__ import annotations

PYTHON_FUSED = "python-fused"  # plain Python, timed in the bench worker (rmprof/bench/fused.py)
RUST_FUSED = "rust-fused"  # plain Rust, timed in rust-bin's own process (rmprof/bench/rust_fused.py)
# name -> what it is, as the report says it beside the name
REFERENCE_RUNTIMES: dict[str, str] = {PYTHON_FUSED: "plain Python loop", RUST_FUSED: "plain Rust loop"}
