#!/usr/bin/env bash
# The whole test suite: Rust formatting, lints and unit tests, Python lint, then pytest (after setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rmprof/cargo-target}"

cargo fmt --manifest-path rust_runtime/Cargo.toml --check
cargo clippy -q --release --manifest-path rust_runtime/Cargo.toml --all-targets -- -D warnings
cargo clippy -q --release --manifest-path rust_runtime/Cargo.toml --all-targets --features rustpython -- -D warnings
cargo test -q --release --manifest-path rust_runtime/Cargo.toml
cargo test -q --release --manifest-path rust_runtime/Cargo.toml --features rustpython --lib rustpython
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
