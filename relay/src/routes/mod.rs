//! The HTTP surface: which path goes to which handler, which routes need the API key, body
//! limits, and the JSON 404/405 fallbacks.

mod chat;
mod completions;
mod config;
mod health;
mod memory;
mod models;
mod proxy;
mod sessions;
mod skills;

use crate::auth::require_api_key;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::{middleware, Router};

/// Largest JSON body the relay's own routes accept.
pub const API_BODY_LIMIT: usize = 1024 * 1024;
/// Largest chat request (messages may carry base64 images).
pub const CHAT_BODY_LIMIT: usize = 10 * 1024 * 1024;
/// Largest body forwarded through `/v1/*` (Hermes itself refuses more than 10 MB).
pub const PROXY_BODY_LIMIT: usize = 10 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let chat = Router::new()
        .route("/api/sessions/new/chat/stream", post(chat::stream_new))
        .route(
            "/api/sessions/{session_id}/chat/stream",
            post(chat::stream_existing),
        )
        .route("/api/sessions/new/chat", post(sessions::chat_new))
        .route("/api/sessions/{session_id}/chat", post(sessions::chat))
        .route("/api/chat/completions/stream", post(completions::stream))
        .layer(DefaultBodyLimit::max(CHAT_BODY_LIMIT));
    let protected = Router::new()
        .route("/api/sessions", get(sessions::list).post(sessions::create))
        .route("/api/sessions/search", get(sessions::search))
        .route(
            "/api/sessions/{session_id}",
            get(sessions::get)
                .patch(sessions::patch)
                .delete(sessions::delete),
        )
        .route(
            "/api/sessions/{session_id}/messages",
            get(sessions::messages),
        )
        .route("/api/sessions/{session_id}/fork", post(sessions::fork))
        .route("/api/skills", get(skills::list))
        .route("/api/skills/categories", get(skills::categories))
        .route("/api/skills/{*id}", get(skills::detail))
        .route(
            "/api/config",
            get(config::get).patch(config::patch).post(config::set_key),
        )
        .route("/api/available-models", get(models::list))
        .route("/api/memory", get(memory::list).post(memory::store))
        .route("/api/memory/search", post(memory::search))
        .route("/api/memory/recall", get(memory::recall))
        .route("/api/memory/stats", get(memory::stats))
        .route(
            "/api/memory/{id}",
            get(memory::get_one).delete(memory::delete_one),
        )
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .merge(chat)
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
        .layer(middleware::from_fn(json_rejections))
        .with_state(state)
}

/// Extractor rejections (bad query strings, body limits, wrong content types) come from axum as
/// plain text; answer them in the JSON error shape with the same status. Passthrough (`/v1/*`)
/// responses are the gateway's and stay untouched.
async fn json_rejections(
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let proxied = req.uri().path().starts_with("/v1/");
    let resp = next.run(req).await;
    if proxied {
        return resp;
    }
    let plain = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    let status = resp.status();
    if !plain || !matches!(status.as_u16(), 400 | 413 | 415 | 422) {
        return resp;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge.into_response();
    }
    let text = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut out = ApiError::Invalid(text).into_response();
    *out.status_mut() = status;
    out
}
