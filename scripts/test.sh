#!/usr/bin/env bash
# THE test command, for developers and CI alike (.ci/run calls it): set-up, the UI build,
# formatting, lints, then every test of the default workspace members (the wasm UI crate is
# built by scripts/build-ui.sh instead). Builds go to a target directory outside the clone
# (CARGO_TARGET_DIR, default ~/.cache/weir/target) so they survive fresh checkouts.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}"

started=$SECONDS
step() {
  local name="$1"
  shift
  local t0=$SECONDS
  echo "test.sh: == $name" >&2
  "$@"
  echo "test.sh: == $name: ok ($((SECONDS - t0)) s)" >&2
}

step "set-up" bash scripts/setup.sh
# Real systems the connector tests use, on 127.0.0.1: a Kafka-protocol broker (nisshi, built
# once into ~/.cache/weir/tools, about 25 minutes the first time) and PostgreSQL.
step "Kafka broker (scripts/kafka.sh start)" bash scripts/kafka.sh start
# WEIR_TEST_KAFKA (the shared broker) and WEIR_TEST_NISSHI (its binary, for private brokers).
while IFS= read -r kv; do export "$kv"; done < <(bash scripts/kafka.sh env)
# PostgreSQL with logical decoding on 127.0.0.1:54329, for the postgres-cdc tests.
step "PostgreSQL (scripts/postgres.sh start)" bash scripts/postgres.sh start
export "$(bash scripts/postgres.sh env)"
if [ -f scripts/build-ui.sh ]; then
  step "UI build" bash scripts/build-ui.sh
fi
step "cargo fmt --all --check" cargo fmt --all --check
step "cargo clippy --all-targets -- -D warnings" cargo clippy --all-targets -- -D warnings
# The UI crate is wasm32 and not a default member: lint it for its real target, and run its
# unit tests on the host.
step "cargo clippy -p weir-ui (wasm32)" cargo clippy -p weir-ui --target wasm32-unknown-unknown -- -D warnings
step "cargo test" cargo test
step "cargo test -p weir-ui" cargo test -p weir-ui
echo "test.sh: all passed in $((SECONDS - started)) s (target dir: $CARGO_TARGET_DIR)" >&2
