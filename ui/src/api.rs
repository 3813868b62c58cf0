//! The UI's client of the desktop shell: calls its Tauri commands through
//! `window.__TAURI__.core.invoke` and (de)serializes with the `weir-api` types.

use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::prelude::*;
use weir_api::ApiError;

#[wasm_bindgen]
extern "C" {
    /// Tauri's IPC entry point (present because `app.withGlobalTauri` is on).
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], catch)]
    async fn invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

pub use weir_api::{SampleJob, StudioRun};

#[derive(Serialize)]
struct RunArgs<'a> {
    sql: &'a str,
}

/// The job the studio opens with.
pub async fn sample_job() -> Result<SampleJob, ApiError> {
    call("sample_job", &()).await
}

/// Runs `sql` to completion in the shell's engine.
pub async fn run_job(sql: &str) -> Result<StudioRun, ApiError> {
    call("run_job", &RunArgs { sql }).await
}

async fn call<A: Serialize, T: DeserializeOwned>(cmd: &str, args: &A) -> Result<T, ApiError> {
    let args = serde_wasm_bindgen::to_value(args)
        .map_err(|e| ui_error("ui.encode", format!("could not encode the arguments: {e}")))?;
    match invoke(cmd, args).await {
        Ok(value) => serde_wasm_bindgen::from_value(value)
            .map_err(|e| ui_error("ui.decode", format!("unexpected answer to `{cmd}`: {e}"))),
        // The shell rejects with a serialized ApiError; anything else is an IPC failure
        // (e.g. the page is open outside the desktop shell).
        Err(value) => Err(serde_wasm_bindgen::from_value::<ApiError>(value.clone())
            .unwrap_or_else(|_| ui_error("ipc", describe(&value)))),
    }
}

fn ui_error(code: &str, message: String) -> ApiError {
    ApiError {
        code: code.into(),
        message,
        span: None,
    }
}

fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    match js_sys::Reflect::get(value, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
    {
        Some(m) => format!("the desktop shell is not reachable: {m}"),
        None => format!("the desktop shell is not reachable: {value:?}"),
    }
}
