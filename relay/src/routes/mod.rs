//! The HTTP surface: which path goes to which handler, which routes need the API key, body
//! limits, and the JSON 404/405 fallbacks.

mod chat;
mod health;
mod memory;
mod proxy;

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
        .route("/api/memory", get(memory::list).post(memory::store))
        .route("/api/memory/search", post(memory::search))
        .route("/api/memory/recall", get(memory::recall))
        .route("/api/memory/stats", get(memory::stats))
        .route(
            "/api/memory/{id}",
            get(memory::get_one).delete(memory::delete_one),
        )
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
