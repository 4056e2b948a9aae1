# Sourced by scripts/setup.sh and scripts/test-pythons.sh: find_python 3.X prints the path of an interpreter of
# that version — python3.X on PATH if it runs (a pyenv shim may exist and refuse outside a pyenv version), else
# the newest pyenv-installed 3.X.* — or fails.
find_python() {
  local exe="python$1" dir
  if command -v "$exe" >/dev/null && "$exe" -c 'import sys' 2>/dev/null; then
    command -v "$exe"
    return 0
  fi
  for dir in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".* 2>/dev/null | sort -V -r); do
    if [ -x "$dir/bin/$exe" ]; then
      echo "$dir/bin/$exe"
      return 0
    fi
  done
  return 1
}
