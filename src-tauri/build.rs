//! Build script of the desktop shell: runs tauri-build against the repository's top-level
//! `tauri.conf.json` (generating the app context, with the UI from `ui/dist` embedded), and
//! adds an rpath to the prebuilt libduckdb as `engine/core/build.rs` does.

use std::path::Path;

/// Shown when the app is built before `scripts/build-ui.sh` has built the UI.
const PLACEHOLDER: &str = "<!doctype html><meta charset=\"utf-8\"><title>Weir Studio</title>\
<p style=\"font-family:sans-serif;margin:3em\">The studio UI is not built: run \
<code>scripts/build-ui.sh</code>, then rebuild <code>weir-studio</code>.</p>\n";

fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    if let Ok(dir) = std::env::var("DUCKDB_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }

    // tauri-codegen refuses to build when frontendDist is missing; `cargo clippy` and
    // `cargo test` may run before the UI build, so leave a page saying what to do.
    let dist = Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        let written = std::fs::create_dir_all(dist)
            .and_then(|()| std::fs::write(dist.join("index.html"), PLACEHOLDER));
        if let Err(e) = written {
            println!("cargo:warning=could not write a placeholder ui/dist/index.html: {e}");
        }
    }

    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .codegen(tauri_build::CodegenContext::new());
    if let Err(e) = tauri_build::try_build(attributes) {
        println!("cargo:warning=tauri-build failed: {e:#}");
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
