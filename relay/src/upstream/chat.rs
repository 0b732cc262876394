//! One chat turn against the gateway: Hermes's session chat stream when the gateway has the
//! sessions API, else `/v1/chat/completions` (`stream: true`, `X-Hermes-Session-Id`). Both are
//! mapped onto `ChatEvent`s; every failure comes back as an `UpstreamError`, never a silent end.

use super::probe::GatewayCaps;
use super::sse::{frames, SseFrame};
use super::{error_message, Upstream};
use crate::stream::event::{ChatEvent, ToolEvent, ToolPhase, Usage};
use futures::stream::BoxStream;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct TurnRequest {
    pub message: String,
    pub model: Option<String>,
    pub system_message: Option<String>,
    /// Images as URLs (`https://…` or `data:image/…;base64,…`), sent as `image_url` parts.
    pub images: Vec<String>,
}

impl TurnRequest {
    /// The user content: the text alone, or text + `image_url` parts when images are attached.
    pub fn content(&self) -> Value {
        if self.images.is_empty() {
            return json!(self.message);
        }
        let mut parts = vec![json!({"type": "text", "text": self.message})];
        for url in &self.images {
            parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
        }
        Value::Array(parts)
    }

    /// The `/v1/chat/completions` body for this turn (only the new message: Hermes keeps the
    /// history under `X-Hermes-Session-Id`).
    pub fn completions_body(&self, stream: bool) -> Value {
        let mut messages = Vec::new();
        if let Some(s) = &self.system_message {
            messages.push(json!({"role": "system", "content": s}));
        }
        messages.push(json!({"role": "user", "content": self.content()}));
        json!({
            "model": self.model.clone().unwrap_or_else(|| "hermes-agent".to_string()),
            "stream": stream,
            "messages": messages,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    SessionStream,
    Completions,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    #[error("upstream returned {status}: {message}")]
    Status { status: u16, message: String },
    #[error("upstream timed out")]
    Timeout,
    #[error("upstream stream broke: {0}")]
    Transport(String),
    #[error("upstream stream ended before completion")]
    Truncated,
}

impl From<reqwest::Error> for UpstreamError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            UpstreamError::Timeout
        } else if e.is_connect() {
            UpstreamError::Unreachable(short(&e))
        } else {
            UpstreamError::Transport(short(&e))
        }
    }
}

fn short(e: &reqwest::Error) -> String {
    // reqwest's Display includes the URL; describe the kind only (no hosts or queries in logs).
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "response body broke off"
    } else if e.is_request() {
        "request failed"
    } else {
        "transport error"
    };
    let source = std::error::Error::source(e)
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    format!("{kind}{source}").chars().take(200).collect()
}

/// What the mapped stream yields: an event, or the upstream's explicit end of the turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Event(ChatEvent),
    End,
}

pub type Steps = BoxStream<'static, Result<Step, UpstreamError>>;

/// Starts the turn; `Ok` once the upstream accepted it (2xx), with the mapped event stream.
pub async fn start_turn(
    up: &Upstream,
    caps: &GatewayCaps,
    session_id: &str,
    req: &TurnRequest,
) -> Result<(Route, Steps), UpstreamError> {
    if caps.session_chat_streaming || caps.sessions_api {
        match session_stream(up, session_id, req).await {
            Err(UpstreamError::Status { status: 404, .. }) if !caps.session_chat_streaming => {}
            other => return other.map(|s| (Route::SessionStream, s)),
        }
    }
    completions(up, session_id, req)
        .await
        .map(|s| (Route::Completions, s))
}

async fn ensure_upstream_session(
    up: &Upstream,
    session_id: &str,
    req: &TurnRequest,
) -> Result<(), UpstreamError> {
    let mut body = json!({ "id": session_id });
    if let Some(m) = &req.model {
        body["model"] = json!(m);
    }
    let resp = up
        .request(Method::POST, "/api/sessions")
        .timeout(std::time::Duration::from_secs(15))
        .json(&body)
        .send()
        .await?;
    match resp.status().as_u16() {
        200..=299 | 409 => Ok(()),
        status => Err(UpstreamError::Status {
            status,
            message: error_message(&resp.text().await.unwrap_or_default()),
        }),
    }
}

async fn post_stream(
    up: &Upstream,
    path: &str,
    body: &Value,
    session_id: &str,
) -> Result<reqwest::Response, UpstreamError> {
    let resp = up
        .request(Method::POST, path)
        .header("Accept", "text/event-stream")
        .header("X-Hermes-Session-Id", session_id)
        .json(body)
        .send()
        .await?;
    if resp.status().is_success() {
        Ok(resp)
    } else {
        let status = resp.status().as_u16();
        let message = error_message(&resp.text().await.unwrap_or_default());
        Err(UpstreamError::Status { status, message })
    }
}

async fn session_stream(
    up: &Upstream,
    session_id: &str,
    req: &TurnRequest,
) -> Result<Steps, UpstreamError> {
    let path = format!("/api/sessions/{}/chat/stream", urlencode(session_id));
    let mut body = json!({ "message": req.content() });
    if let Some(s) = &req.system_message {
        body["system_message"] = json!(s);
    }
    if let Some(m) = &req.model {
        body["model"] = json!(m);
    }
    let resp = match post_stream(up, &path, &body, session_id).await {
        Err(UpstreamError::Status { status: 404, .. }) => {
            ensure_upstream_session(up, session_id, req).await?;
            post_stream(up, &path, &body, session_id).await?
        }
        other => other?,
    };
    Ok(map_frames(resp, map_session_frame))
}

async fn completions(
    up: &Upstream,
    session_id: &str,
    req: &TurnRequest,
) -> Result<Steps, UpstreamError> {
    let body = req.completions_body(true);
    let resp = post_stream(up, "/v1/chat/completions", &body, session_id).await?;
    Ok(map_frames(resp, map_completion_frame))
}

/// A non-streaming turn through `/v1/chat/completions` (gateways without the sessions API),
/// answered in the session-chat shape `{object, session_id, message, usage}`.
pub async fn complete_once(
    up: &Upstream,
    session_id: &str,
    req: &TurnRequest,
) -> Result<Value, UpstreamError> {
    let body = req.completions_body(false);
    let resp = up
        .request(Method::POST, "/v1/chat/completions")
        .header("X-Hermes-Session-Id", session_id)
        .json(&body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(UpstreamError::Status {
            status,
            message: error_message(&text),
        });
    }
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let content = v
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(json!({
        "object": "hermes.session.chat.completion",
        "session_id": session_id,
        "message": {"role": "assistant", "content": content},
        "usage": v.get("usage").and_then(usage_of),
    }))
}

/// Usage of a finished turn, in either naming (`input_tokens` or `prompt_tokens`).
pub fn usage_in(v: &Value) -> Option<Usage> {
    v.get("usage").and_then(usage_of)
}

fn map_frames(resp: reqwest::Response, map: fn(&SseFrame) -> Vec<Step>) -> Steps {
    frames(resp.bytes_stream())
        .flat_map(move |r| {
            let items: Vec<Result<Step, UpstreamError>> = match r {
                Ok(frame) => map(&frame).into_iter().map(Ok).collect(),
                Err(e) => vec![Err(UpstreamError::from(e))],
            };
            futures::stream::iter(items)
        })
        .boxed()
}

fn usage_of(v: &Value) -> Option<Usage> {
    let n = |k: &str| v.get(k).and_then(Value::as_u64);
    let input = n("input_tokens").or_else(|| n("prompt_tokens"))?;
    let output = n("output_tokens")
        .or_else(|| n("completion_tokens"))
        .unwrap_or(0);
    Some(Usage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: n("total_tokens").unwrap_or(input + output),
    })
}

fn tool(
    phase: ToolPhase,
    data: &Value,
    name_key: &str,
    preview_key: &str,
    id_key: &str,
) -> Vec<Step> {
    let s = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
    match s(name_key) {
        Some(n) if !n.starts_with('_') => vec![Step::Event(ChatEvent::Tool(ToolEvent {
            phase,
            name: n,
            preview: s(preview_key),
            args: data.get("args").filter(|a| !a.is_null()).cloned(),
            call_id: s(id_key),
        }))],
        _ => vec![],
    }
}

/// Hermes `/api/sessions/{id}/chat/stream` named events → steps.
pub fn map_session_frame(f: &SseFrame) -> Vec<Step> {
    let data: Value = serde_json::from_str(&f.data).unwrap_or(Value::Null);
    let s = |k: &str| data.get(k).and_then(Value::as_str);
    match f.event.as_deref().unwrap_or("message") {
        "assistant.delta" => match s("delta") {
            Some(d) if !d.is_empty() => vec![Step::Event(ChatEvent::Delta(d.to_string()))],
            _ => vec![],
        },
        "tool.started" => tool(
            ToolPhase::Started,
            &data,
            "tool_name",
            "preview",
            "tool_call_id",
        ),
        "tool.completed" => tool(
            ToolPhase::Completed,
            &data,
            "tool_name",
            "preview",
            "tool_call_id",
        ),
        "tool.failed" => tool(
            ToolPhase::Failed,
            &data,
            "tool_name",
            "preview",
            "tool_call_id",
        ),
        "assistant.completed" => vec![Step::Event(ChatEvent::Completed {
            content: s("content").unwrap_or_default().to_string(),
        })],
        "run.completed" => data
            .get("usage")
            .and_then(usage_of)
            .map(|u| vec![Step::Event(ChatEvent::Usage(u))])
            .unwrap_or_default(),
        "error" => vec![Step::Event(ChatEvent::Error(
            s("message")
                .or_else(|| data.pointer("/error/message").and_then(Value::as_str))
                .unwrap_or("upstream error")
                .to_string(),
        ))],
        "done" => vec![Step::End],
        // run.started, message.started, tool.progress (`_thinking` duplicates the final text)
        _ => vec![],
    }
}

/// OpenAI chat-completion chunks (+ `hermes.tool.progress`) → steps.
pub fn map_completion_frame(f: &SseFrame) -> Vec<Step> {
    if f.event.as_deref() == Some("hermes.tool.progress") {
        let data: Value = serde_json::from_str(&f.data).unwrap_or(Value::Null);
        let phase = match data["status"].as_str() {
            Some("completed") => ToolPhase::Completed,
            Some("failed") | Some("error") => ToolPhase::Failed,
            _ => ToolPhase::Started,
        };
        return tool(phase, &data, "tool", "label", "toolCallId");
    }
    if f.data.trim() == "[DONE]" {
        return vec![Step::End];
    }
    let Ok(chunk) = serde_json::from_str::<Value>(&f.data) else {
        return vec![];
    };
    let mut out = Vec::new();
    if let Some(choice) = chunk.pointer("/choices/0") {
        if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str) {
            if !text.is_empty() {
                out.push(Step::Event(ChatEvent::Delta(text.to_string())));
            }
        }
        if choice["finish_reason"].as_str() == Some("error") {
            let msg = chunk
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("upstream reported an error");
            out.push(Step::Event(ChatEvent::Error(msg.to_string())));
        }
    }
    if let Some(u) = chunk.get("usage").and_then(usage_of) {
        out.push(Step::Event(ChatEvent::Usage(u)));
    }
    if let Some(msg) = chunk.pointer("/error/message").and_then(Value::as_str) {
        if out
            .iter()
            .all(|s| !matches!(s, Step::Event(ChatEvent::Error(_))))
        {
            out.push(Step::Event(ChatEvent::Error(msg.to_string())));
        }
    }
    out
}

/// Percent-encodes a path segment.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(event: Option<&str>, data: &str) -> SseFrame {
        SseFrame {
            event: event.map(str::to_string),
            data: data.to_string(),
        }
    }

    #[test]
    fn session_events_map_to_steps() {
        let d = map_session_frame(&frame(Some("assistant.delta"), r#"{"delta":"Hi"}"#));
        assert_eq!(d, vec![Step::Event(ChatEvent::Delta("Hi".into()))]);
        assert!(map_session_frame(&frame(
            Some("tool.progress"),
            r#"{"tool_name":"_thinking","delta":"x"}"#
        ))
        .is_empty());
        let u = map_session_frame(&frame(
            Some("run.completed"),
            r#"{"usage":{"input_tokens":3,"output_tokens":4,"total_tokens":7}}"#,
        ));
        assert_eq!(
            u,
            vec![Step::Event(ChatEvent::Usage(Usage {
                input_tokens: 3,
                output_tokens: 4,
                total_tokens: 7
            }))]
        );
        assert_eq!(
            map_session_frame(&frame(Some("done"), "{}")),
            vec![Step::End]
        );
        assert_eq!(
            map_session_frame(&frame(Some("error"), r#"{"message":"bad"}"#)),
            vec![Step::Event(ChatEvent::Error("bad".into()))]
        );
    }

    #[test]
    fn completion_chunks_map_to_steps() {
        let c = map_completion_frame(&frame(None, r#"{"choices":[{"delta":{"content":"Hel"}}]}"#));
        assert_eq!(c, vec![Step::Event(ChatEvent::Delta("Hel".into()))]);
        // usage-only chunk with empty choices must not break anything
        let u = map_completion_frame(&frame(
            None,
            r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
        ));
        assert_eq!(u.len(), 1);
        assert_eq!(
            map_completion_frame(&frame(None, "[DONE]")),
            vec![Step::End]
        );
        assert!(map_completion_frame(&frame(None, "not json")).is_empty());
        assert!(map_completion_frame(&frame(
            None,
            r#"{"choices":[{"delta":{"role":"assistant"}}]}"#
        ))
        .is_empty());
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(urlencode("api_1_ab"), "api_1_ab");
        assert_eq!(urlencode("a/b c"), "a%2Fb%20c");
    }
}
