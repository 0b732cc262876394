//! `POST /api/chat/completions/stream`: validates an OpenAI chat-completions body and streams it
//! through `services::completions_stream`.

use super::chat::validate_session_id;
use crate::error::ApiError;
use crate::services::completions_stream::{self, CompletionsStream};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use serde_json::{json, Value};

pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::Invalid(format!("body must be a JSON object: {e}")))?;
    let Some(obj) = v.as_object_mut() else {
        return Err(ApiError::Invalid("body must be a JSON object".into()));
    };
    match obj.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => {}
        _ => {
            return Err(ApiError::Invalid(
                "messages must be a non-empty array".into(),
            ))
        }
    }
    let session_id = match headers
        .get("x-hermes-session-id")
        .and_then(|h| h.to_str().ok())
    {
        Some(s) => Some(s.to_string()),
        None => obj
            .remove("session_id")
            .and_then(|s| s.as_str().map(str::to_string)),
    };
    if let Some(s) = &session_id {
        validate_session_id(s)?;
    }
    obj.insert("stream".into(), json!(true));
    obj.entry("model").or_insert(json!("hermes-agent"));
    let permit = state
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::TooManyStreams)?;
    let req = CompletionsStream {
        body: v,
        session_id,
        permit,
    };
    let mut resp = Response::new(Body::from_stream(completions_stream::spawn(state, req)));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}
