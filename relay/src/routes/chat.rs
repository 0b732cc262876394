//! Chat stream routes: parse and validate the request, pick the session id, hand the turn to
//! `services::chat_turn`, and answer with an SSE response.

use crate::error::ApiError;
use crate::services::chat_turn::{self, ChatTurn};
use crate::services::sse_pump::SseBody;
use crate::state::AppState;
use crate::stream::turn_encoder::Vocab;
use crate::upstream::chat::TurnRequest;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize)]
struct ChatBody {
    message: Option<serde_json::Value>,
    model: Option<String>,
    system_message: Option<String>,
    session_id: Option<String>,
    attachments: Option<Vec<serde_json::Value>>,
}

/// `?events=optx|hermes|both`.
#[derive(Deserialize)]
pub struct StreamQuery {
    events: Option<String>,
}

/// Most images one message may carry.
const MAX_ATTACHMENTS: usize = 8;

/// An attachment → an image URL: `{contentType|mimeType|type, content|data|base64}` becomes a
/// `data:` URL; `{url}` / `{image_url}` is used as is. Anything but an image is refused.
fn image_url(a: &serde_json::Value) -> Result<String, ApiError> {
    let s = |k: &str| a.get(k).and_then(serde_json::Value::as_str);
    if let Some(url) = s("url").or_else(|| s("image_url")) {
        if url.starts_with("https://")
            || url.starts_with("http://")
            || url.starts_with("data:image/")
        {
            return Ok(url.to_string());
        }
        return Err(ApiError::Invalid(
            "attachment url must be http(s) or a data:image URL".into(),
        ));
    }
    let mime = s("contentType")
        .or_else(|| s("mimeType"))
        .or_else(|| s("type"))
        .unwrap_or("");
    if !mime.starts_with("image/") {
        return Err(ApiError::Invalid(format!(
            "only image attachments are supported (got '{mime}')"
        )));
    }
    let data = s("content")
        .or_else(|| s("data"))
        .or_else(|| s("base64"))
        .ok_or_else(|| ApiError::Invalid("attachment has no content".into()))?;
    if data.starts_with("data:") {
        return Ok(data.to_string());
    }
    let b64ok = !data.is_empty()
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r'));
    if !b64ok {
        return Err(ApiError::Invalid(
            "attachment content must be base64".into(),
        ));
    }
    Ok(format!(
        "data:{mime};base64,{}",
        data.replace(['\n', '\r'], "")
    ))
}

/// Largest user message accepted (bytes).
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

pub(crate) fn parse(body: &Bytes) -> Result<(TurnRequest, Option<String>), ApiError> {
    let b: ChatBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::Invalid(format!("invalid request body: {e}")))?;
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
    let attachments = b.attachments.unwrap_or_default();
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(ApiError::Invalid(format!(
            "at most {MAX_ATTACHMENTS} attachments per message"
        )));
    }
    let images = attachments
        .iter()
        .map(image_url)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        TurnRequest {
            message,
            model,
            system_message: b.system_message.filter(|s| !s.is_empty()),
            images,
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

fn sse_response(body: SseBody, session_id: &str) -> Response {
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

/// Starts a streamed turn once the request is valid and a stream slot is free.
fn start(
    state: AppState,
    session_id: String,
    created: bool,
    request: TurnRequest,
    q: &StreamQuery,
) -> Result<Response, ApiError> {
    let vocab = Vocab::parse(q.events.as_deref()).map_err(ApiError::Invalid)?;
    let permit = state
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::TooManyStreams)?;
    let turn = ChatTurn {
        session_id: session_id.clone(),
        created,
        request,
        vocab,
        permit,
    };
    Ok(sse_response(chat_turn::spawn(state, turn), &session_id))
}

/// `POST /api/sessions/new/chat/stream`: a new session (or `session_id` from the body).
pub async fn stream_new(
    State(state): State<AppState>,
    Query(q): Query<StreamQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (request, wanted) = parse(&body)?;
    let session_id = wanted.unwrap_or_else(new_session_id);
    start(state, session_id, true, request, &q)
}

/// `POST /api/sessions/{id}/chat/stream`: a turn in an existing (or caller-named) session.
pub async fn stream_existing(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    Query(q): Query<StreamQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    validate_session_id(&session_id)?;
    let (request, _) = parse(&body)?;
    start(state, session_id, false, request, &q)
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
    fn image_attachments_become_image_urls() {
        let body = br#"{"message":"x","attachments":[{"contentType":"image/png","content":"iVBORw0KGgo="},{"url":"https://e.x/a.png"}]}"#;
        let (r, _) = parse(&Bytes::from_static(body)).unwrap();
        assert_eq!(r.images[0], "data:image/png;base64,iVBORw0KGgo=");
        assert_eq!(r.images[1], "https://e.x/a.png");
        let bad = br#"{"message":"x","attachments":[{"contentType":"application/pdf","content":"AA=="}]}"#;
        assert!(parse(&Bytes::from_static(bad)).is_err());
        let bad =
            br#"{"message":"x","attachments":[{"contentType":"image/png","content":"<script>"}]}"#;
        assert!(parse(&Bytes::from_static(bad)).is_err());
    }

    #[test]
    fn new_ids_are_valid_session_ids() {
        let id = new_session_id();
        assert!(id.starts_with("optx_"));
        assert!(validate_session_id(&id).is_ok());
        assert_ne!(new_session_id(), new_session_id());
    }
}
