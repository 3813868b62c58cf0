//! weir-studio: Weir's desktop studio, a Tauri 2 shell around the Leptos UI in `ui/`.
//! Configuration comes from the repository's top-level `tauri.conf.json` (see build.rs).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod commands;
mod service;

fn main() {
    prefer_shared_memory_rendering_without_gpu();
    let result = tauri::Builder::default()
        .manage(service::Workspace::sample())
        .invoke_handler(tauri::generate_handler![
            commands::sample_job,
            commands::run_job
        ])
        .run(context());
    if let Err(e) = result {
        eprintln!("weir-studio: {e}");
        std::process::exit(1);
    }
}

/// The app context that build.rs generated (tauri-build's codegen). Its code unwraps values
/// that tauri-build validated when it generated them.
#[allow(clippy::unwrap_used, clippy::expect_used)]
fn context() -> tauri::Context {
    tauri::tauri_build_context!()
}

/// WebKitGTK's DMA-BUF renderer, on a machine with no GPU (no `/dev/dri`: VMs, Xvfb in CI),
/// shows new frames seconds late or not at all; its older renderer paints at once. The user
/// can still choose by setting `WEBKIT_DISABLE_DMABUF_RENDERER` themselves.
fn prefer_shared_memory_rendering_without_gpu() {
    if cfg!(target_os = "linux")
        && std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none()
        && !std::path::Path::new("/dev/dri").exists()
    {
        // Still single-threaded here: nothing else reads the environment yet.
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
}
