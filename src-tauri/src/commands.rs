//! The Tauri commands the UI invokes (`window.__TAURI__.core.invoke`). Thin on purpose: each
//! one hands over to [`crate::service`], where the logic lives and is tested.

use tauri::State;
use weir_api::ApiError;

use crate::service::{self, SampleJob, StudioRun, Workspace};

/// The job the editor opens with.
#[tauri::command]
pub fn sample_job() -> SampleJob {
    service::sample_job()
}

/// Runs the editor's script to completion and returns what the result panes show.
#[tauri::command]
pub async fn run_job(sql: String, workspace: State<'_, Workspace>) -> Result<StudioRun, ApiError> {
    service::run_job(sql, workspace.inner().clone()).await
}
