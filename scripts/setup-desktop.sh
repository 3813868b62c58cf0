#!/usr/bin/env bash
# Installs what the desktop studio needs: Debian packages for Tauri 2 / WebKitGTK, the
# end-to-end test's Xvfb, WebKitWebDriver, ImageMagick and tesseract; the wasm32 target,
# wasm-bindgen-cli (matching Cargo.lock) and tauri-driver. Idempotent; ~1 s when all present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

log() { echo "setup-desktop: $*" >&2; }
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

packages=(
  # Tauri 2 on Linux
  build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev libsoup-3.0-dev
  libjavascriptcoregtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev
  # the end-to-end test: a display, the WebDriver for WebKitGTK, screenshots, OCR, a font
  xvfb webkit2gtk-driver imagemagick tesseract-ocr tesseract-ocr-eng fonts-dejavu-core
)

ensure_debian_packages "${packages[@]}"

# wasm32 target + wasm-bindgen-cli of the locked version
"$root/scripts/build-ui.sh" --tools

if ! command -v tauri-driver >/dev/null 2>&1; then
  log "installing tauri-driver (~35 s)"
  env -u CARGO_TARGET_DIR cargo install tauri-driver --locked
fi
log "desktop prerequisites present"
