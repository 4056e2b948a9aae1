#!/usr/bin/env bash
# Set up what rmprof's main job needs on a fresh Debian machine: system tools (as root), a virtualenv in .venv
# with rmprof and its Rust extension built by maturin, and the standalone binary rmprof-runtime.
#
#   ./scripts/setup.sh                  that (about 1 minute from scratch on 2 vCPUs, once crates are downloaded)
#   ./scripts/setup.sh --rustpython     also the RustPython runtimes rustpython and rustpython-inproc (the
#                                       RustPython VM: about 8 more minutes from scratch, seconds once built)
#   ./scripts/setup.sh --no-rustpython  removes the RustPython runtimes (their compiled crates stay cached)
#   PYTHON=python3.12 ./scripts/setup.sh  the venv and the extensions for that interpreter (3.11, 3.12, 3.13;
#                                       default: the venv's own, else python3); VENV=.venv-3.12 builds another
#                                       venv beside .venv (scripts/test.sh does so for every other interpreter)
#
# Once built, later runs of ./scripts/setup.sh rebuild the RustPython runtimes too (seconds), so that they never
# run stale Rust code. The test command (./scripts/setup.sh --rustpython && ./scripts/test.sh) builds them.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

rustpython=auto
for arg in "$@"; do
  case "$arg" in
    --rustpython) rustpython=yes ;;
    --no-rustpython) rustpython=remove ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) printf 'setup: unknown argument %s (try --help)\n' "$arg" >&2; exit 2 ;;
  esac
done
VENV="${VENV:-.venv}"
# The interpreter: PYTHON when set (a venv made by another one is made again), else the venv's own, else python3.
if [ -n "${PYTHON:-}" ] || [ ! -x "$VENV/bin/python" ]; then
  PYTHON="${PYTHON:-python3}"
  # PYTHON=python3.12 where only a pyenv shim answers to that name: pyenv's 3.12 itself.
  if [[ "$PYTHON" =~ ^python(3\.[0-9]+)$ ]] && ! "$PYTHON" -c 'import sys' 2>/dev/null; then
    # shellcheck source=scripts/find-python.sh
    source scripts/find-python.sh
    PYTHON=$(find_python "${BASH_REMATCH[1]}") || PYTHON="python${BASH_REMATCH[1]}"
  fi
  if ! version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); then
    printf 'setup: error: %s does not run here (install it, or name another with PYTHON=...)\n' "$PYTHON" >&2
    exit 2
  fi
  case "$version" in
    3.11 | 3.12 | 3.13) ;;
    *) printf 'setup: error: %s is Python %s; rmprof supports 3.11, 3.12 and 3.13\n' "$PYTHON" "$version" >&2; exit 2 ;;
  esac
  if [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$version" ]; then
    log "$VENV is another Python's: making it again with $PYTHON ($version)"
    rm -rf "$VENV"
  fi
fi
# What this interpreter imports extensions as (.cpython-312-x86_64-linux-gnu.so): copies built for other
# interpreters (other venvs of this checkout) are left alone, they never load here.
ext_suffix() { "$VENV/bin/python" -I -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))'; }

# RustPython runtimes installed by an earlier ./scripts/setup.sh --rustpython: kept current. (The extensions
# are named for the Python they are built for, _native_rustpython.cpython-311-x86_64-linux-gnu.so say; before,
# _native_rustpython.abi3.so.)
RUSTPYTHON_FILES=("$VENV/bin/rmprof-runtime-rustpython" rmprof/_native_rustpython.abi3.so)
if [ -x "$VENV/bin/python" ]; then RUSTPYTHON_FILES+=("rmprof/_native_rustpython$(ext_suffix)"); fi
if [ "$rustpython" = auto ]; then
  rustpython=no
  for f in "${RUSTPYTHON_FILES[@]}"; do
    if [ -e "$f" ]; then rustpython=yes; fi
  done
  if [ "$rustpython" = yes ]; then
    log "the RustPython runtimes are built here: rebuilding them too (--no-rustpython removes them)"
  fi
fi

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

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
# maturin's build hook runs the `maturin` executable it finds on PATH: the one in the venv.
export PATH="$PWD/$VENV/bin:$PATH"
log "installing rmprof for $("$VENV/bin/python" -V) (building the Rust extension with maturin)"
"$VENV/bin/python" -m pip install -q --upgrade pip "maturin>=1.7,<2"
"$VENV/bin/python" -m pip install -q --no-build-isolation ".[profilers,test]"

# The same extension in the source tree too, so that `python -m rmprof` and pytest run from the checkout
# (where ./rmprof shadows the installed package) use the Rust runtime as well. It is git-ignored. Copies of an
# earlier abi3 build goes first: it would be imported instead. Other Pythons' copies stay (they never load here).
native=$("$VENV/bin/python" -I -c 'import rmprof._native as n; print(n.__file__)')
suffix=$(ext_suffix)
rm -f rmprof/_native.abi3.so "rmprof/_native$suffix"
install -m 644 "$native" rmprof/

log "building the standalone binary rmprof-runtime"
cargo build -q --release --manifest-path rust_runtime/Cargo.toml --bin rmprof-runtime
install -m 755 "$CARGO_TARGET_DIR/release/rmprof-runtime" "$VENV/bin/rmprof-runtime"

# The RustPython runtimes (PythonNode code in the RustPython VM): opt-in with --rustpython, a heavier build than
# everything above (about 8 minutes from scratch on 2 vCPUs, seconds once cached in $CARGO_TARGET_DIR). Without
# them the two runtimes are reported unavailable, with this command as the fix; nothing else needs them.
if [ "$rustpython" = yes ]; then
  log "building rmprof-runtime-rustpython (the RustPython VM; several minutes the first time)"
  cargo build -q --release --manifest-path rust_runtime/Cargo.toml --features rustpython --bin rmprof-runtime-rustpython
  install -m 755 "$CARGO_TARGET_DIR/release/rmprof-runtime-rustpython" "$VENV/bin/rmprof-runtime-rustpython"
  # The in-process runtime `rustpython-inproc`: the extension again, PythonNode code in the VM, as its own
  # module rmprof._native_rustpython (cargo builds it directly: maturin builds one module per project).
  log "building rmprof._native_rustpython (the executor in-process with the RustPython VM; minutes the first time)"
  PYO3_PYTHON="$PWD/$VENV/bin/python" PYO3_BUILD_EXTENSION_MODULE=1 \
    cargo build -q --release --manifest-path rust_runtime/Cargo.toml --lib --features python,rustpython
  site=$(dirname "$native")
  rm -f "$site"/_native_rustpython.*so rmprof/_native_rustpython.abi3.so "rmprof/_native_rustpython$suffix"
  install -m 644 "$CARGO_TARGET_DIR/release/librmprof_runtime.so" "$site/_native_rustpython$suffix"
  install -m 644 "$CARGO_TARGET_DIR/release/librmprof_runtime.so" "rmprof/_native_rustpython$suffix"
else
  # Not built here (or removed with --no-rustpython): no copy from an earlier build stays behind, stale.
  rm -f "${RUSTPYTHON_FILES[@]}" "$(dirname "$native")"/_native_rustpython.*so
  # The binary in the cargo target directory (where rmprof also looks) goes only on request: other clones
  # may share that directory. Its compiled crates stay, so a later --rustpython takes seconds.
  if [ "$rustpython" = remove ]; then rm -f "$CARGO_TARGET_DIR/release/rmprof-runtime-rustpython"; fi
  log "RustPython runtimes not built (rustpython, rustpython-inproc); ./scripts/setup.sh --rustpython builds them"
fi
log "done: $VENV/bin/rmprof is ready ($("$VENV/bin/python" -V))"
