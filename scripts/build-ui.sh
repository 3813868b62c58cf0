#!/usr/bin/env bash
# Builds the studio UI (ui/, a Leptos CSR app) into ui/dist/: index.html, boot.js, style.css,
# the icon and the `wasm-bindgen --target web` output. No trunk: cargo + the wasm-bindgen CLI
# whose version equals the wasm-bindgen in Cargo.lock. Idempotent; quick when nothing changed.
#   scripts/build-ui.sh            build (debug profile; WEIR_UI_PROFILE=release for release)
#   scripts/build-ui.sh --tools    only make sure the wasm32 target and wasm-bindgen are present
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

log() { echo "build-ui: $*" >&2; }

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# The wasm-bindgen version pinned by Cargo.lock (the CLI must match it exactly).
locked_wasm_bindgen() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_bindgen() {
  local want have=""
  want="$(locked_wasm_bindgen)"
  [ -n "$want" ] || { log "no wasm-bindgen in Cargo.lock"; exit 1; }
  if command -v wasm-bindgen >/dev/null 2>&1; then
    have="$(wasm-bindgen --version | awk '{print $2}')"
  fi
  if [ "$have" != "$want" ]; then
    log "installing wasm-bindgen-cli $want (found: ${have:-none}; takes ~2.5 min)"
    # Its own temporary target dir: do not hold the workspace's build lock for minutes.
    env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$want" --force
  fi
}

ensure_wasm_target
ensure_wasm_bindgen
[ "${1:-}" = "--tools" ] && exit 0

profile="${WEIR_UI_PROFILE:-debug}"
case "$profile" in
  debug) cargo_profile=() ;;
  release) cargo_profile=(--release) ;;
  *) log "WEIR_UI_PROFILE must be debug or release, not '$profile'"; exit 2 ;;
esac

target_dir="${CARGO_TARGET_DIR:-}"
if [ -z "$target_dir" ]; then
  target_dir="$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
fi

cargo build -p weir-ui --target wasm32-unknown-unknown "${cargo_profile[@]}"
wasm="$target_dir/wasm32-unknown-unknown/$profile/weir-ui.wasm"
[ -f "$wasm" ] || { log "expected $wasm after the build"; exit 1; }

dist="$root/ui/dist"
mkdir -p "$dist"
# Re-run wasm-bindgen only when the wasm (or the profile) changed.
stamp="$dist/.built-from"
if [ ! -f "$dist/weir_ui_bg.wasm" ] || [ "$wasm" -nt "$dist/weir_ui_bg.wasm" ] \
  || [ "$(cat "$stamp" 2>/dev/null)" != "$wasm" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  wasm-bindgen --target web --no-typescript --out-dir "$tmp" --out-name weir_ui "$wasm"
  rm -rf "$dist/snippets"
  if [ -d "$tmp/snippets" ]; then mv "$tmp/snippets" "$dist/"; fi
  mv -f "$tmp"/weir_ui.js "$tmp"/weir_ui_bg.wasm "$dist"/
  echo "$wasm" >"$stamp"
  log "wasm-bindgen wrote ui/dist/weir_ui.js and weir_ui_bg.wasm"
fi
for f in ui/index.html ui/boot.js ui/style.css assets/icons/icon.png; do
  cmp -s "$f" "$dist/$(basename "$f")" || cp "$f" "$dist/"
done
log "ui/dist is up to date ($profile)"
