#!/usr/bin/env bash
# Installs real Apache Flink 1.20.3 from PyPI (apache-flink + apache-flink-libraries, ~720 MB)
# into a venv under ${WEIR_CACHE:-~/.cache/weir}/flink-1.20.3 and checks Java. Idempotent:
# quick when the venv is there. Prints the venv's python path on standard output.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

log() { echo "flink.sh: $*" >&2; }

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

version=1.20.3
cache="${WEIR_CACHE:-$HOME/.cache/weir}"
venv="$cache/flink-$version"
python="$venv/bin/python"

# Java 11 or newer runs Flink 1.20; Debian's headless JRE 17 when none is there.
java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n 1
}
if ! command -v java >/dev/null 2>&1; then
  log "java not found: installing Debian's openjdk-17-jre-headless"
  ensure_debian_packages openjdk-17-jre-headless
fi
major="$(java_major)"
if [ -z "$major" ] || [ "$major" -lt 11 ]; then
  log "Flink $version needs Java 11 or newer; found: $(java -version 2>&1 | head -n 1)"
  exit 1
fi

# The venv is complete once the marker is written (after both packages imported fine).
marker="$venv/.weir-flink-$version"
if [ -f "$marker" ] && [ -x "$python" ]; then
  echo "$python"
  exit 0
fi

# PyFlink 1.20 supports Python 3.8 to 3.11.
pick_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3.10 python3.9 python3.8 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(0 if (3, 8) <= sys.version_info[:2] <= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
if ! base="$(pick_python)"; then
  log "PyFlink $version needs Python 3.8 to 3.11 (set PYTHON=...); none found"
  exit 1
fi
if ! "$base" -c 'import venv, ensurepip' 2>/dev/null; then
  log "$base has no venv/ensurepip: installing Debian's python3-venv"
  ensure_debian_packages python3-venv
fi

t0=$SECONDS
log "installing apache-flink==$version into $venv with $base ($("$base" --version 2>&1))"
rm -rf "$venv"
mkdir -p "$cache"
"$base" -m venv "$venv"
"$python" -m pip install --quiet "apache-flink==$version" "apache-flink-libraries==$version" >&2
"$python" -c "import pyflink, os; assert os.path.isdir(os.path.join(os.path.dirname(pyflink.__file__), 'lib'))"
touch "$marker"
log "installed in $((SECONDS - t0)) s"
echo "$python"
