//! Hermes's sessions API (`/api/sessions*`, Hermes ≥ 0.15) as typed calls: each returns the
//! upstream JSON or an `UpstreamError` carrying the upstream status and message.

use super::chat::{urlencode, UpstreamError};
use super::{error_message, Upstream};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(15);

async fn send(
    up: &Upstream,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, UpstreamError> {
    let mut rb = up.request(method, path).timeout(TIMEOUT);
    if let Some(b) = body {
        rb = rb.json(b);
    }
    json_of(rb).await
}

async fn json_of(rb: reqwest::RequestBuilder) -> Result<Value, UpstreamError> {
    let resp = rb.send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    } else {
        Err(UpstreamError::Status {
            status,
            message: error_message(&text),
        })
    }
}

/// One page: `{object, data, limit, offset, has_more}`.
pub async fn list(up: &Upstream, limit: u32, offset: u32) -> Result<Value, UpstreamError> {
    send(
        up,
        Method::GET,
        &format!("/api/sessions?limit={limit}&offset={offset}"),
        None,
    )
    .await
}

pub async fn get(up: &Upstream, id: &str) -> Result<Value, UpstreamError> {
    send(
        up,
        Method::GET,
        &format!("/api/sessions/{}", urlencode(id)),
        None,
    )
    .await
}

pub async fn create(up: &Upstream, body: &Value) -> Result<Value, UpstreamError> {
    send(up, Method::POST, "/api/sessions", Some(body)).await
}

pub async fn patch(up: &Upstream, id: &str, body: &Value) -> Result<Value, UpstreamError> {
    send(
        up,
        Method::PATCH,
        &format!("/api/sessions/{}", urlencode(id)),
        Some(body),
    )
    .await
}

pub async fn delete(up: &Upstream, id: &str) -> Result<Value, UpstreamError> {
    send(
        up,
        Method::DELETE,
        &format!("/api/sessions/{}", urlencode(id)),
        None,
    )
    .await
}

pub async fn messages(up: &Upstream, id: &str) -> Result<Value, UpstreamError> {
    send(
        up,
        Method::GET,
        &format!("/api/sessions/{}/messages", urlencode(id)),
        None,
    )
    .await
}

pub async fn fork(up: &Upstream, id: &str, body: &Value) -> Result<Value, UpstreamError> {
    send(
        up,
        Method::POST,
        &format!("/api/sessions/{}/fork", urlencode(id)),
        Some(body),
    )
    .await
}

/// A non-streaming turn: `{object, session_id, message, usage}`.
pub async fn chat(up: &Upstream, id: &str, body: &Value) -> Result<Value, UpstreamError> {
    // No client timeout: an agent turn may run long; the read timeout still bounds silence.
    let path = format!("/api/sessions/{}/chat", urlencode(id));
    json_of(up.request(Method::POST, &path).json(body)).await
}

/// Counts every session by paging (Hermes returns `has_more`, not a total); stops after
/// `max_pages` pages of 200 and returns what it counted.
pub async fn count(up: &Upstream, max_pages: u32) -> Result<u64, UpstreamError> {
    let mut total = 0u64;
    for page in 0..max_pages {
        let v = list(up, 200, page * 200).await?;
        let n = v["data"].as_array().map(Vec::len).unwrap_or(0) as u64;
        total += n;
        if !v["has_more"].as_bool().unwrap_or(false) || n == 0 {
            break;
        }
    }
    Ok(total)
}
