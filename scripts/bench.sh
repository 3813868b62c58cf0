#!/usr/bin/env bash
# `weir bench`, built in release mode: generates a deterministic data set (MATIH's three
# event shapes) and compares Weir with DuckDB, and with real Flink 1.20.3 under --flink.
# Arguments go to `weir bench` (e.g. --events 5000000 --flink). See docs/BENCHMARKS.md.
# The first release build of DataFusion takes 10-15 min on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}"

bash scripts/setup.sh
cargo build --release --bin weir
exec "$CARGO_TARGET_DIR/release/weir" bench "$@"
