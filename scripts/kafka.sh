#!/usr/bin/env bash
# A real Kafka-protocol broker for tests and `weir demo --brokers`: nisshi 0.8.1 from
# crates.io (Apache Kafka and Redpanda cannot be installed here; shared/REAL-SYSTEMS.md).
#
#   scripts/kafka.sh install   build it once into ${WEIR_CACHE:-~/.cache/weir}/tools (~25 min
#                              the first time, with the machine's nightly Rust: nisshi needs
#                              rustc >= 1.96); instant when present
#   scripts/kafka.sh start     install, then start a broker on 127.0.0.1:${WEIR_KAFKA_PORT:-19092}
#                              with durable (sqlite) storage; a no-op when it already answers
#   scripts/kafka.sh stop | status | env
#
# `env` prints WEIR_TEST_KAFKA=127.0.0.1:PORT (the shared broker) and WEIR_TEST_NISSHI=PATH
# (the binary, for tests that start a private broker to restart or to require
# authentication), one per line: `export $(bash scripts/kafka.sh env)`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "kafka.sh: $*" >&2; }

version=0.8.1
cache="${WEIR_CACHE:-$HOME/.cache/weir}"
prefix="$cache/tools/nisshi-$version"
bin="$prefix/bin/nisshi"
port="${WEIR_KAFKA_PORT:-19092}"
state="$cache/kafka-$port"
pidfile="$state/nisshi.pid"

install() {
  [ -x "$bin" ] && return 0
  local toolchain=""
  if rustc --version | awk '{split($2, v, "."); exit !(v[1] > 1 || v[2] >= 96)}'; then
    toolchain=""
  elif rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain="+nightly"
  else
    log "nisshi needs rustc >= 1.96: found $(rustc --version) and no nightly toolchain"
    exit 1
  fi
  log "building nisshi $version from crates.io (about 25 minutes, once)"
  # shellcheck disable=SC2086
  cargo $toolchain install nisshi --version "$version" --locked --no-default-features \
    --features dynostore,libsql --root "$prefix" --quiet
}

answers() {
  # A TCP connect to the listener.
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

start() {
  install
  if answers; then
    return 0
  fi
  mkdir -p "$state"
  log "starting nisshi on 127.0.0.1:$port (data in $state)"
  (
    cd "$state"
    nohup "$bin" broker \
      --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "sqlite://nisshi.db" \
      >"$state/nisshi.log" 2>&1 &
    echo $! >"$pidfile"
  )
  for _ in $(seq 1 100); do
    answers && return 0
    sleep 0.1
  done
  log "nisshi did not start; its log:"
  tail -n 20 "$state/nisshi.log" >&2
  exit 1
}

stop() {
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if answers; then echo "running on 127.0.0.1:$port"; else echo "not running"; exit 1; fi ;;
  env)
    echo "WEIR_TEST_KAFKA=127.0.0.1:$port"
    echo "WEIR_TEST_NISSHI=$bin"
    ;;
  *) log "usage: $0 install|start|stop|status|env"; exit 2 ;;
esac
