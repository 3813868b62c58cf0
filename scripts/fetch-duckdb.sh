#!/usr/bin/env bash
# Unpacks the prebuilt libduckdb 1.5.6 (from the npm registry's @duckdb/node-bindings package)
# into .deps/duckdb-1.5.6, where .cargo/config.toml points DUCKDB_LIB_DIR. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.deps/duckdb-1.5.6"
[ -f "$dest/libduckdb.so" ] && exit 0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@duckdb/node-bindings-linux-x64@1.5.6-r.1" >/dev/null && tar xzf ./*.tgz)
mkdir -p "$dest"
lib="$(find "$work/package" -name 'libduckdb.so' | head -n1)"
[ -n "$lib" ] || { echo "libduckdb.so not found in the npm package" >&2; exit 1; }
cp "$lib" "$dest/libduckdb.so.tmp" && mv "$dest/libduckdb.so.tmp" "$dest/libduckdb.so"
echo "libduckdb 1.5.6 ready in $dest"
