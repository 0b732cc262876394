//! `GET /api/available-models?provider=`: Workspace's model picker. Content comes from
//! `services::available_models` (config.yaml + the gateway's `/v1/models`, best effort).

use crate::error::ApiError;
use crate::services::available_models::{available_models, AvailableModels};
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ModelsQuery {
    provider: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ModelsQuery>, QueryRejection>,
) -> Result<Json<AvailableModels>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    if q.provider
        .as_deref()
        .is_some_and(|p| p.len() > 100 || p.chars().any(char::is_control))
    {
        return Err(ApiError::Invalid(
            "provider is not a valid provider id".into(),
        ));
    }
    Ok(Json(available_models(&state, q.provider).await?))
}
