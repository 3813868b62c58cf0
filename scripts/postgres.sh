#!/usr/bin/env bash
# A private PostgreSQL for Weir's CDC tests and demos: Debian's postgresql (installed when
# missing), one cluster under ${WEIR_CACHE:-~/.cache/weir}/postgres with wal_level = logical,
# listening only on 127.0.0.1:${WEIR_PG_PORT:-54329}. Idempotent and quick when running.
#
#   scripts/postgres.sh start    install, create and start the cluster (default); prints `env`
#   scripts/postgres.sh stop     stop it
#   scripts/postgres.sh status   say whether it runs (exit 1 when not)
#   scripts/postgres.sh env      print WEIR_TEST_PG=<libpq key=value connection>, what the
#                                tests read: export "$(scripts/postgres.sh env)"
#
# The superuser is `weir` with password `weir` (scram-sha-256 over TCP; the cluster listens on
# the loopback address only); tests use the database `weir_test`. The MATIH sample job takes
# the same server: DATABASE_USER=weir DATABASE_PASSWORD=weir (PG_HOST and PG_PORT default to
# it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

log() { echo "postgres.sh: $*" >&2; }

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

port="${WEIR_PG_PORT:-54329}"
user=weir
password=weir
database=weir_test
cache="${WEIR_CACHE:-$HOME/.cache/weir}"

# The newest installed server's binaries (Debian keeps them out of PATH).
pg_bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

# PostgreSQL refuses to run as root: when root, the server runs as the `postgres` system user
# (created by the Debian package), and its files must be reachable by that user.
if [ "$(id -u)" -eq 0 ]; then
  run_as=postgres
else
  run_as=""
fi
as_server() {
  if [ -n "$run_as" ]; then runuser -u "$run_as" -- "$@"; else "$@"; fi
}

# Where the cluster lives: under the cache, unless the server's user cannot reach it (root's
# home is private), then under /var/tmp.
data_root() {
  if [ -n "${WEIR_PG_DIR:-}" ]; then
    echo "$WEIR_PG_DIR"
  elif [ -z "$run_as" ] || runuser -u "$run_as" -- test -x "$cache" 2>/dev/null; then
    echo "$cache/postgres"
  else
    echo "/var/tmp/weir-postgres"
  fi
}

env_lines() {
  echo "WEIR_TEST_PG=host=127.0.0.1 port=$port user=$user password=$password dbname=$database"
}

dir="$(data_root)"
data="$dir/data"

running() {
  local bin
  bin="$(pg_bindir)" || return 1
  [ -f "$data/PG_VERSION" ] && as_server "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start() {
  if ! pg_bindir >/dev/null; then
    ensure_debian_packages postgresql
  fi
  local bin
  bin="$(pg_bindir)" || { log "no PostgreSQL server binaries under /usr/lib/postgresql"; exit 1; }
  if running; then
    return 0
  fi
  mkdir -p "$dir"
  [ -n "$run_as" ] && chown "$run_as" "$dir"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating a cluster in $data ($("$bin/postgres" --version))"
    local pwfile
    pwfile="$(mktemp)"
    echo "$password" >"$pwfile"
    [ -n "$run_as" ] && chown "$run_as" "$pwfile"
    as_server "$bin/initdb" -D "$data" -U "$user" --pwfile="$pwfile" \
      --auth-host=scram-sha-256 --auth-local=peer --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    # Logical decoding for CDC; only the loopback address; the socket in the data directory.
    as_server tee -a "$data/postgresql.conf" >/dev/null <<EOF

# Weir (scripts/postgres.sh)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
wal_level = logical
max_replication_slots = 64
max_wal_senders = 16
# A disposable test cluster: no fsync (commits still flush WAL, which logical decoding reads).
fsync = off
EOF
  fi
  as_server "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
  # The test database; psql over the socket as the server's own OS user is not possible when
  # that user differs from `weir`, so use TCP with the password.
  local exists
  exists="$(PGPASSWORD="$password" psql -h 127.0.0.1 -p "$port" -U "$user" -d postgres -Atqc \
    "SELECT 1 FROM pg_database WHERE datname = '$database'")"
  if [ "$exists" != "1" ]; then
    PGPASSWORD="$password" psql -h 127.0.0.1 -p "$port" -U "$user" -d postgres -qc \
      "CREATE DATABASE $database" >/dev/null
  fi
  log "running on 127.0.0.1:$port (data: $data)"
}

case "${1:-start}" in
  start)
    start
    env_lines
    ;;
  stop)
    if running; then
      as_server "$(pg_bindir)/pg_ctl" -D "$data" -w stop >/dev/null
      log "stopped"
    fi
    ;;
  status)
    if running; then
      log "running on 127.0.0.1:$port (data: $data)"
    else
      log "not running"
      exit 1
    fi
    ;;
  env)
    env_lines
    ;;
  *)
    log "usage: $0 [start|stop|status|env]"
    exit 2
    ;;
esac
