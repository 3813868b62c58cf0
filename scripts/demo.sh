#!/usr/bin/env bash
# THE demo command: set-up, then `weir demo`, which creates the seed platforms' topics in the
# embedded log (out/log), starts the sample jobs on the embedded engine (MATIH's four: the
# state-transition CDC job reading the project's own PostgreSQL, session, agent and
# LLM-operations; AppHub's tumbling window; the orders projection; Livepeer's quality gate),
# seeds events into the topics (and the transitions into PostgreSQL) while they run, drains
# them, and draws the dashboards' charts from the DuckDB tables, all under out/. Arguments go
# to `weir demo` (e.g. --events 100000, --brokers 127.0.0.1:19092).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}"

bash scripts/setup.sh
# MATIH's CDC job reads PostgreSQL's write-ahead log: the project's private server (installed
# and started by scripts/postgres.sh). Without one the demo runs the other jobs.
pg_args=()
if bash scripts/postgres.sh start >/dev/null; then
  pg_args=(--postgres "$(bash scripts/postgres.sh env | sed 's/^WEIR_TEST_PG=//')")
else
  echo "demo.sh: PostgreSQL did not start; the CDC job is left out" >&2
fi
cargo run --quiet --bin weir -- demo "${pg_args[@]}" "$@"

echo
echo "Outputs in $root/out:"
for f in out/*; do
  [ -e "$f" ] && echo "  $f ($(du -h "$f" | cut -f1))"
done
cat <<TEXT

Look at them:
  the charts: out/session-analytics.png, out/agent-performance.png, out/llm-operations.png (and .svg)
  the tables: $CARGO_TARGET_DIR/debug/weir query --db out/matih.duckdb \\
                "SELECT * FROM matih_analytics.session_analytics ORDER BY window_start, tenant_id"
              (also out/orders.duckdb: order_current_state; out/livepeer.duckdb: streaming_events_typed)
  the topics: $CARGO_TARGET_DIR/debug/weir log consume --dir out/log events.dlq.streaming_events.v1
TEXT
