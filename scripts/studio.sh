#!/usr/bin/env bash
# Opens the desktop studio (Tauri window with the Leptos UI): set-up, the UI build, then the
# app. The editor opens with MATIH's session-analytics job; Run (or Ctrl+Enter) runs it on the
# embedded engine and shows the rows it wrote to DuckDB and their chart.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}"

bash scripts/setup.sh
bash scripts/build-ui.sh
exec cargo run --quiet -p weir-studio
