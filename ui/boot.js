// Starts the wasm UI (wasm-bindgen --target web output, built by scripts/build-ui.sh).
import init from "./weir_ui.js";
init();
