#!/usr/bin/env bash
# The whole test suite: Rust formatting, lints and unit tests (with and without the RustPython VM), Python lint,
# then pytest, which runs the RustPython runtimes too, then the CLI, runtime, profiler and report tests on the other
# supported Pythons (scripts/test-pythons.sh). After ./scripts/setup.sh --rustpython (the README's test command is
# `./scripts/setup.sh --rustpython && ./scripts/test.sh`); arguments go to pytest (and skip the other Pythons).
#
#   ./scripts/test.sh --fast [PYTEST ARGS]   the edit-test loop (README: Tests): ruff and pytest without the Rust
#                                           steps, the other Pythons, `slow` tests or `heavy` ones (real profiler and
#                                           multi-bench runs), hypothesis at $RMPROF_HYPOTHESIS_EXAMPLES (default 10)
#                                           examples per property; the full suite stays the CI command.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rmprof/cargo-target}"

if [ "${1:-}" = "--fast" ]; then
  shift
  export RMPROF_HYPOTHESIS_EXAMPLES="${RMPROF_HYPOTHESIS_EXAMPLES:-10}"
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
  exec .venv/bin/python -m pytest -q -m "not slow and not heavy" "$@"
fi

# pytest skips what a missing runtime cannot run; the suite as a whole must not skip the RustPython runtimes.
if ! .venv/bin/python - <<'PY'
import sys

from rmprof.runtimes import get_runtime

missing = [(n, get_runtime(n).unavailable_reason()) for n in ("rustpython", "rustpython-inproc")]
missing = [(n, why) for n, why in missing if why]
for name, why in missing:
    print(f"test: runtime {name} is not available: {why}", file=sys.stderr)
sys.exit(1 if missing else 0)
PY
then
  echo "test: build the RustPython runtimes first: ./scripts/setup.sh --rustpython" >&2
  exit 2
fi

cargo fmt --manifest-path rust_runtime/Cargo.toml --check
cargo clippy -q --release --manifest-path rust_runtime/Cargo.toml --all-targets -- -D warnings
cargo clippy -q --release --manifest-path rust_runtime/Cargo.toml --all-targets --features rustpython -- -D warnings
cargo test -q --release --manifest-path rust_runtime/Cargo.toml
cargo test -q --release --manifest-path rust_runtime/Cargo.toml --features rustpython --lib rustpython
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
# The same CLI, runtime, profiler and report tests on the other supported Pythons (README: supported Pythons).
if [ $# -eq 0 ]; then ./scripts/test-pythons.sh; fi
