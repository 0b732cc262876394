//! The HTTP surface: which path goes to which handler, which routes need the API key, body
//! limits, and the JSON 404/405 fallbacks.

mod chat;
mod config;
mod health;
mod models;
mod proxy;
mod skills;

use crate::auth::require_api_key;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::{middleware, Router};

/// Largest JSON body the relay's own routes accept.
pub const API_BODY_LIMIT: usize = 1024 * 1024;
/// Largest body forwarded through `/v1/*` (Hermes itself refuses more than 10 MB).
pub const PROXY_BODY_LIMIT: usize = 10 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/api/sessions/new/chat/stream", post(chat::stream_new))
        .route(
            "/api/sessions/{session_id}/chat/stream",
            post(chat::stream_existing),
        )
        .route("/api/skills", get(skills::list))
        .route("/api/skills/categories", get(skills::categories))
        .route("/api/skills/{*id}", get(skills::detail))
        .route(
            "/api/config",
            get(config::get).patch(config::patch).post(config::set_key),
        )
        .route("/api/available-models", get(models::list))
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .merge(
            Router::new()
                .route("/v1/{*path}", any(proxy::forward))
                .layer(DefaultBodyLimit::max(PROXY_BODY_LIMIT)),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ));
    Router::new()
        .route("/health", get(health::health))
        .route("/api/gateway-status", get(health::gateway_status))
        .merge(protected)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async {
            (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(serde_json::json!({
                    "error": {"code": "method_not_allowed", "message": "method not allowed on this route"},
                    "detail": "method not allowed on this route",
                })),
            )
        })
        .with_state(state)
}
