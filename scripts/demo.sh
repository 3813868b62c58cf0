#!/usr/bin/env bash
# THE demo command: set-up, then `weir demo`, which runs MATIH's session-analytics job
# (sample-jobs/matih/session-analytics.sql) on the embedded engine over the sample events,
# writes its windows to DuckDB and draws a chart of them, all under out/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}"

bash scripts/setup.sh
cargo run --quiet --bin weir -- demo

echo
echo "Outputs in $root/out:"
for f in out/*; do
  [ -e "$f" ] && echo "  $f ($(du -h "$f" | cut -f1))"
done
cat <<TEXT

Look at them:
  the chart:  out/session-analytics.png (or .svg)
  the table:  $CARGO_TARGET_DIR/debug/weir query --db out/matih.duckdb \\
                "SELECT * FROM matih_analytics.session_analytics ORDER BY window_start, tenant_id"
TEXT
