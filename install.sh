#!/usr/bin/env bash
# Installs the app into .venv beside this file and provisions the models; idempotent.
#   ./install.sh          install (a second run changes nothing)
#   ./install.sh --run    install, then start the app
#   ./install.sh --dev    also install the test tools (pytest, pytest-qt, hypothesis, ruff)
# Models are downloaded from the sources pinned in models/models.json, or copied from the folder in
# $REID_MODELS_DIR (or --models-from DIR); every file is checked against its sha256.
set -euo pipefail
cd "$(dirname "$0")"

RUN=0; DEV=0; MODELS_FROM="${REID_MODELS_DIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --run) RUN=1 ;;
    --dev) DEV=1 ;;
    --models-from) MODELS_FROM="$2"; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

fail() { echo "install.sh: $*" >&2; exit 1; }

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for c in python3 python; do command -v "$c" >/dev/null 2>&1 && { PY="$c"; break; }; done
fi
[ -n "$PY" ] || fail "Python 3.10 or newer is needed; install it from python.org and run again."
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || fail "Python 3.10 or newer is needed; $PY is $("$PY" -V 2>&1)."

if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtual environment in .venv ..."
  "$PY" -m venv .venv || fail "could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)."
fi
VPY=.venv/bin/python

REQ=requirements.txt; [ "$DEV" = 1 ] && REQ=requirements-dev.txt
# Reinstall only when the requirement files or pyproject.toml changed since the last successful install.
STAMP=".venv/.installed-$(basename "$REQ" .txt)"
SUM=$(cat requirements.txt "$REQ" pyproject.toml | "$VPY" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SUM" ]; then
  echo "Packages are up to date."
else
  echo "Installing packages from $REQ (the first time takes a few minutes: PyTorch is large) ..."
  "$VPY" -m pip install --disable-pip-version-check -q --upgrade pip || fail "could not upgrade pip"
  "$VPY" -m pip install --disable-pip-version-check -r "$REQ" || fail "package installation failed (see above)."
  # The project itself, editable: Algorithm and GUI import from anywhere, and edits apply without reinstalling.
  "$VPY" -m pip install --disable-pip-version-check -q -e . --no-deps || fail "could not install the project (see above)."
  echo "$SUM" > "$STAMP"
fi

echo "Checking models ..."
if [ -n "$MODELS_FROM" ]; then
  "$VPY" -m Algorithm models fetch --from "$MODELS_FROM" || fail "models could not be provisioned (see above)."
else
  "$VPY" -m Algorithm models fetch || fail "models could not be provisioned (see above)."
fi
if [ "$(uname -s)" = Linux ]; then
  # Qt's window on X11 needs system libraries a minimal install may lack: name the apt packages (not fatal: the
  # command line works without them)
  "$VPY" -m GUI.qt_platform --check || echo "install.sh: install the packages above before starting the app." >&2
fi
echo "Installed. Start the app with: .venv/bin/python GUI/main.py"

if [ "$RUN" = 1 ]; then
  exec "$VPY" GUI/main.py
fi
