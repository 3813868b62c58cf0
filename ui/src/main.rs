//! weir-ui: the studio's web UI, a Leptos CSR app compiled to wasm32 and shown by the Tauri
//! shell (src-tauri). It talks to the shell only through the commands in [`api`].
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod api;
mod components;
mod pages;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(pages::studio::StudioPage);
}
