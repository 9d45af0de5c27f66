#!/usr/bin/env bash
# Everything bench needs on a fresh machine: the engine (when none answers), a virtual
# environment with bench and its tools. Idempotent; safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
  scripts/bootstrap-engine.sh
  # The analysis tests build FROM scratch images with a static busybox in them.
  if [ ! -x /bin/busybox ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null
  fi
  # dockerd decompresses pulled layers with unpigz when it is on its PATH (else Go's gzip);
  # /usr/bin is on the PATH bootstrap-engine.sh starts it with, and on bench's (the cold engine's).
  if ! command -v unpigz >/dev/null && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pigz >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pigz >/dev/null; }
  fi
  # Alpine stand-ins are cut from a real Alpine VM disk: qemu-img converts it, debugfs copies it out.
  if ! command -v qemu-img >/dev/null || ! command -v debugfs >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-utils e2fsprogs >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-utils e2fsprogs >/dev/null; }
  fi
elif ! docker info >/dev/null 2>&1; then
  echo "setup: no Docker engine answers; run: sudo scripts/bootstrap-engine.sh" >&2
  exit 1
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.bench-installed
# constraints.txt pins what the committed charts were drawn with (matplotlib's SVG output
# changes between versions): a regenerated report is then byte for byte the committed one.
if [ "${1:-}" = "--refreeze" ]; then
  { sed -n '1,3p' constraints.txt; .venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e\|^bench'; } > constraints.new
  mv constraints.new constraints.txt
  echo "setup: constraints.txt refrozen from .venv"
  exit 0
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'
  touch "$stamp"
fi
.venv/bin/python -m bench doctor
