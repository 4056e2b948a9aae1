#!/usr/bin/env bash
# The CLI, runtimes, profilers and report tests on every other supported Python (3.11, 3.12, 3.13 but the one
# .venv runs), each in its own venv .venv-3.X (git-ignored) built by ./scripts/setup.sh with PYTHON set. Called by
# ./scripts/test.sh. A supported interpreter that is not installed is reported (and not tested), never passed over
# in silence; RMPROF_REQUIRE_PYTHONS=1 makes that an error.
#
# Each interpreter gets its own cargo target directory: PyO3 is compiled for one interpreter, so one shared
# directory would rebuild it and the crate at every switch (and under other checkouts' feet).
set -euo pipefail
cd "$(dirname "$0")/.."

TESTS=(
  tests/test_cli.py tests/test_python_runtime.py tests/test_python_nodes.py tests/test_profilers_python.py
  tests/test_profilers_rust.py tests/test_report_render.py tests/test_analysis.py tests/test_mixed_stacks.py
  tests/test_perf_jitdump.py
)
# The RustPython runtimes are built for .venv only (minutes each): their tests run there, not here.
DESELECT=(-k "not rustpython")

# The interpreter for version $1: python3.X on PATH if it runs (a pyenv shim may exist and refuse), else pyenv's.
# shellcheck source=scripts/find-python.sh
source scripts/find-python.sh

main=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
missing=()
for version in 3.11 3.12 3.13; do
  if [ "$version" = "$main" ]; then continue; fi
  if ! python=$(find_python "$version"); then
    echo "test: python$version is not installed here: the suite did not run on it" >&2
    missing+=("$version")
    continue
  fi
  start=$SECONDS
  VENV=".venv-$version" PYTHON="$python" CARGO_TARGET_DIR="$HOME/.cache/rmprof/cargo-target-$version" \
    ./scripts/setup.sh 2>&1 | sed "s/^/[$version] /" >&2
  built=$SECONDS
  # Without CI=...: in CI a missing runtime fails a test, and the RustPython ones are missing here by design (the
  # run on .venv already failed if they were missing there); they are skipped, each with its reason.
  env -u CI ".venv-$version/bin/python" -m pytest -q -p no:cacheprovider "${DESELECT[@]}" "${TESTS[@]}"
  echo "test: python$version ($python): setup $((built - start)) s, tests $((SECONDS - built)) s" >&2
done
if [ "${#missing[@]}" -gt 0 ] && [ "${RMPROF_REQUIRE_PYTHONS:-0}" = 1 ]; then
  echo "test: RMPROF_REQUIRE_PYTHONS=1 and Python ${missing[*]} not installed" >&2
  exit 1
fi
