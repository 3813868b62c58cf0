#!/usr/bin/env bash
# THE demo command: set-up, then `weir demo`, which creates the seed platforms' topics in the
# embedded log (out/log), starts MATIH's session, agent and LLM-operations jobs and AppHub's
# tumbling-window job (sample-jobs/) on the embedded engine, seeds events into the topics while
# they run, drains them, and draws the dashboards' charts from the DuckDB tables, all under
# out/. Arguments go to `weir demo` (e.g. --events 100000, --brokers 127.0.0.1:19092).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}"

bash scripts/setup.sh
cargo run --quiet --bin weir -- demo "$@"

echo
echo "Outputs in $root/out:"
for f in out/*; do
  [ -e "$f" ] && echo "  $f ($(du -h "$f" | cut -f1))"
done
cat <<TEXT

Look at them:
  the charts: out/session-analytics.png, out/agent-performance.png, out/llm-operations.png (and .svg)
  the table:  $CARGO_TARGET_DIR/debug/weir query --db out/matih.duckdb \\
                "SELECT * FROM matih_analytics.session_analytics ORDER BY window_start, tenant_id"
TEXT
