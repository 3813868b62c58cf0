#!/usr/bin/env bash
# Makes a Debian 12 machine ready to build and test Weir: Debian packages the build needs, the
# prebuilt libduckdb (scripts/fetch-duckdb.sh), then the desktop studio's prerequisites
# (scripts/setup-desktop.sh). Idempotent; a few seconds when everything is present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

log() { echo "setup: $*" >&2; }

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# Debian packages: a C toolchain and headers for crates with native parts; npm fetches the
# prebuilt DuckDB from the npm registry.
# cmake, libcurl and zlib build the bundled librdkafka (the Kafka connector).
packages=(build-essential pkg-config cmake libssl-dev libcurl4-openssl-dev zlib1g-dev)
command -v npm >/dev/null 2>&1 || packages+=(npm)
ensure_debian_packages "${packages[@]}"

# The Rust toolchain comes from rustup (https://rustup.rs); the repository needs rustfmt and
# clippy too, for scripts/test.sh.
if ! command -v cargo >/dev/null 2>&1; then
  log "cargo not found: install Rust with rustup (https://rustup.rs), then run this again"
  exit 1
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    log "adding the $component component"
    rustup component add "$component"
  fi
done

# libduckdb 1.5.6, prebuilt, into .deps/ (building DuckDB from source takes about an hour).
bash scripts/fetch-duckdb.sh

# The desktop studio: Tauri's system libraries, the wasm32 target, wasm-bindgen, test tools.
if [ -f scripts/setup-desktop.sh ]; then
  bash scripts/setup-desktop.sh
fi
log "ready"
