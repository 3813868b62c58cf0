#!/usr/bin/env bash
# THE conformance command: installs Flink 1.20.3 (scripts/flink.sh), builds weir, then runs
# every case in conformance/cases (or the ones named) in real Flink and in Weir, rewrites the
# golden files (flink.jsonl) and prints the PASS/FAIL table. See docs/CONFORMANCE.md.
#   scripts/conformance.sh [--no-flink] [CASE ...]
# --no-flink compares Weir with the checked-in golden files only (no Java, no venv).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}"

python=""
for arg in "$@"; do
  [ "$arg" = "--no-flink" ] && python="$(command -v python3)"
done
if [ -z "$python" ]; then
  python="$(bash scripts/flink.sh)"
fi
cargo build --quiet -p weir --bin weir
exec "$python" scripts/conformance.py --weir "$CARGO_TARGET_DIR/debug/weir" "$@"
