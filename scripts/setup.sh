#!/usr/bin/env bash
# Set up everything rmprof needs on a fresh Debian machine: system tools (as root), a virtualenv in .venv
# with rmprof and its Rust extension built by maturin, and the standalone binaries rmprof-runtime and
# rmprof-runtime-rustpython.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# Debian packages: valgrind and perf for the Rust binary's profiles, chromium for the browser tests.
APT_PACKAGES=(valgrind linux-perf chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "warning: missing Debian packages ${missing[*]} (install them as root); their profilers will be gaps"
  fi
fi

# One cargo target directory outside the clone, so that rebuilds in a fresh clone reuse compiled crates.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rmprof/cargo-target}"
mkdir -p "$CARGO_TARGET_DIR"

if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
# maturin's build hook runs the `maturin` executable it finds on PATH: the one in .venv.
export PATH="$PWD/.venv/bin:$PATH"
log "installing rmprof (building the Rust extension with maturin)"
.venv/bin/python -m pip install -q --upgrade pip "maturin>=1.7,<2"
.venv/bin/python -m pip install -q --no-build-isolation ".[profilers,test]"

# The same extension in the source tree too, so that `python -m rmprof` and pytest run from the checkout
# (where ./rmprof shadows the installed package) use the Rust runtime as well. It is git-ignored.
native=$(.venv/bin/python -I -c 'import rmprof._native as n; print(n.__file__)')
install -m 644 "$native" rmprof/

log "building the standalone binary rmprof-runtime"
cargo build -q --release --manifest-path rust_runtime/Cargo.toml --bin rmprof-runtime
install -m 755 "$CARGO_TARGET_DIR/release/rmprof-runtime" .venv/bin/rmprof-runtime

# The runtime `rustpython` (PythonNode code in the RustPython VM): a separate, heavier build (a few minutes
# from scratch, seconds once cached in $CARGO_TARGET_DIR). RMPROF_SKIP_RUSTPYTHON=1 skips it; the runtime is
# then reported unavailable and everything else works.
if [ "${RMPROF_SKIP_RUSTPYTHON:-0}" != 1 ]; then
  log "building rmprof-runtime-rustpython (the RustPython VM; slow the first time)"
  cargo build -q --release --manifest-path rust_runtime/Cargo.toml --features rustpython --bin rmprof-runtime-rustpython
  install -m 755 "$CARGO_TARGET_DIR/release/rmprof-runtime-rustpython" .venv/bin/rmprof-runtime-rustpython
  # The in-process runtime `rustpython-inproc`: the extension again, PythonNode code in the VM, as its own
  # module rmprof._native_rustpython (cargo builds it directly: maturin builds one module per project).
  log "building rmprof._native_rustpython (the executor in-process with the RustPython VM)"
  PYO3_PYTHON="$PWD/.venv/bin/python" PYO3_BUILD_EXTENSION_MODULE=1 \
    cargo build -q --release --manifest-path rust_runtime/Cargo.toml --lib --features python,rustpython
  site=$(dirname "$native")
  install -m 644 "$CARGO_TARGET_DIR/release/librmprof_runtime.so" "$site/_native_rustpython.abi3.so"
  install -m 644 "$CARGO_TARGET_DIR/release/librmprof_runtime.so" rmprof/_native_rustpython.abi3.so
fi
log "done: .venv/bin/rmprof is ready"
