//! Chat stream routes: parse and validate the request, pick the session id, hand the turn to
//! `services::chat_turn`, and answer with an SSE response.

use crate::error::ApiError;
use crate::services::chat_turn::{self, ChatTurn};
use crate::state::AppState;
use crate::upstream::chat::TurnRequest;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize)]
struct ChatBody {
    message: Option<serde_json::Value>,
    model: Option<String>,
    system_message: Option<String>,
    session_id: Option<String>,
}

/// Largest user message accepted (bytes).
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

fn parse(body: &Bytes) -> Result<(TurnRequest, Option<String>), ApiError> {
    let b: ChatBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::Invalid(format!("body must be a JSON object: {e}")))?;
    let message = match b.message {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s,
        Some(serde_json::Value::String(_)) => {
            return Err(ApiError::Invalid("message must not be empty".into()))
        }
        Some(_) => return Err(ApiError::Invalid("message must be a string".into())),
        None => return Err(ApiError::Invalid("message is required".into())),
    };
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::Invalid(format!(
            "message is larger than {MAX_MESSAGE_BYTES} bytes"
        )));
    }
    let model = b.model.filter(|m| !m.trim().is_empty());
    if let Some(m) = &model {
        if m.len() > 200 || m.chars().any(char::is_control) {
            return Err(ApiError::Invalid("model is not a valid model name".into()));
        }
    }
    if let Some(s) = &b.session_id {
        validate_session_id(s)?;
    }
    Ok((
        TurnRequest {
            message,
            model,
            system_message: b.system_message.filter(|s| !s.is_empty()),
        },
        b.session_id,
    ))
}

/// Same rule as the module: 1..=128 chars of `[A-Za-z0-9_.:-]`.
pub fn validate_session_id(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::Invalid(
            "session id must be 1-128 characters of letters, digits, _ - . :".into(),
        ))
    }
}

/// A fresh session id in Hermes's own shape: `optx_<unix seconds>_<8 hex>`.
pub fn new_session_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("optx_{secs}_{:08x}", rand::random::<u32>())
}

fn sse_response(body: chat_turn::SseBody, session_id: &str) -> Response {
    let mut resp = Response::new(Body::from_stream(body));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if let Ok(v) = HeaderValue::from_str(session_id) {
        h.insert("x-hermes-session-id", v);
    }
    resp
}

/// `POST /api/sessions/new/chat/stream`: a new session (or `session_id` from the body).
pub async fn stream_new(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let (request, wanted) = parse(&body)?;
    let session_id = wanted.unwrap_or_else(new_session_id);
    let turn = ChatTurn {
        session_id: session_id.clone(),
        created: true,
        request,
    };
    Ok(sse_response(chat_turn::spawn(state, turn), &session_id))
}

/// `POST /api/sessions/{id}/chat/stream`: a turn in an existing (or caller-named) session.
pub async fn stream_existing(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    validate_session_id(&session_id)?;
    let (request, _) = parse(&body)?;
    let turn = ChatTurn {
        session_id: session_id.clone(),
        created: false,
        request,
    };
    Ok(sse_response(chat_turn::spawn(state, turn), &session_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_validated() {
        assert!(parse(&Bytes::from_static(b"{}")).is_err());
        assert!(parse(&Bytes::from_static(b"not json")).is_err());
        assert!(parse(&Bytes::from_static(b"{\"message\":\"  \"}")).is_err());
        assert!(parse(&Bytes::from_static(b"{\"message\":5}")).is_err());
        assert!(parse(&Bytes::from_static(
            b"{\"message\":\"hi\",\"session_id\":\"a/b\"}"
        ))
        .is_err());
        let (r, s) = parse(&Bytes::from_static(
            b"{\"message\":\"hi\",\"model\":\"m1\"}",
        ))
        .unwrap();
        assert_eq!(r.message, "hi");
        assert_eq!(r.model.as_deref(), Some("m1"));
        assert!(s.is_none());
    }

    #[test]
    fn new_ids_are_valid_session_ids() {
        let id = new_session_id();
        assert!(id.starts_with("optx_"));
        assert!(validate_session_id(&id).is_ok());
        assert_ne!(new_session_id(), new_session_id());
    }
}
