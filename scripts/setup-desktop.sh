#!/usr/bin/env bash
# Installs what the desktop studio needs: Debian packages for Tauri 2 / WebKitGTK, the
# end-to-end test's Xvfb, WebKitWebDriver, ImageMagick and tesseract; the wasm32 target,
# wasm-bindgen-cli (matching Cargo.lock) and tauri-driver. Idempotent; ~1 s when all present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

log() { echo "setup-desktop: $*" >&2; }

packages=(
  # Tauri 2 on Linux
  build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev libsoup-3.0-dev
  libjavascriptcoregtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev
  # the end-to-end test: a display, the WebDriver for WebKitGTK, screenshots, OCR, a font
  xvfb webkit2gtk-driver imagemagick tesseract-ocr tesseract-ocr-eng fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# wasm32 target + wasm-bindgen-cli of the locked version
"$root/scripts/build-ui.sh" --tools

if ! command -v tauri-driver >/dev/null 2>&1; then
  log "installing tauri-driver (~35 s)"
  env -u CARGO_TARGET_DIR cargo install tauri-driver --locked
fi
log "desktop prerequisites present"
