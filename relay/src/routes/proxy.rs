//! `/v1/*` passthrough to the gateway: method, path, query and body forwarded; the response
//! streamed back byte for byte as it arrives (SSE included), with its own encoding headers.
//! The relay's own API key never goes upstream: the configured Hermes bearer replaces it.

use crate::auth::bearer;
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName};
use axum::response::Response;
use futures::TryStreamExt;

/// Headers that describe one hop, not the message, plus ones we set ourselves.
fn skip_request_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host"
            | "content-length"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "upgrade"
            | "origin"
            | "cookie"
            | "authorization"
    )
}

fn skip_response_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "content-length"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "trailer"
            | "upgrade"
    )
}

/// The `Authorization` to send upstream: our Hermes bearer if configured; otherwise the client's
/// own, unless it is the relay's API key.
fn upstream_auth(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(b) = state.upstream.bearer() {
        return Some(format!("Bearer {b}"));
    }
    let client = bearer(headers)?;
    match state.config.api_key.as_deref() {
        Some(k) if k == client => None,
        _ => Some(format!("Bearer {client}")),
    }
}

pub async fn forward(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    let mut rb = state.upstream.raw(parts.method.clone(), &path_and_query);
    for (name, value) in parts.headers.iter() {
        if !skip_request_header(name) {
            rb = rb.header(name, value);
        }
    }
    if let Some(auth) = upstream_auth(&state, &parts.headers) {
        rb = rb.header(header::AUTHORIZATION, auth);
    }
    let body = axum::body::to_bytes(body, crate::routes::PROXY_BODY_LIMIT)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let upstream = rb.body(body).send().await.map_err(|e| {
        if e.is_timeout() {
            ApiError::UpstreamTimeout
        } else {
            ApiError::Upstream("upstream unreachable".to_string())
        }
    })?;
    let mut resp = Response::builder().status(upstream.status());
    for (name, value) in upstream.headers().iter() {
        if !skip_response_header(name) {
            resp = resp.header(name, value);
        }
    }
    let stream = upstream.bytes_stream().map_err(std::io::Error::other);
    resp.body(Body::from_stream(stream))
        .map_err(|e| ApiError::Internal(e.to_string()))
}
