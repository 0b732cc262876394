//! The project's fake OpenAI-compatible LLM server, used as Hermes's model in tests and demos.
//!
//! `fake-llm [--port P] [--word-delay-ms N]` (port 0 = pick one; prints `listening on <addr>`).
//! Replies, by the last message:
//! - role `tool` → "Tool finished; final answer from fake LLM."
//! - `USE_TOOL` → a `todo` tool call; `CALL_TOOL:<name> <json>` → that tool call (if offered)
//! - `RECALL` → "Earlier you said: <every earlier user text, joined by ' | '>"
//! - `SLOW` → 40 words 0.5 s apart; `FAIL_LLM` → HTTP 500
//! - anything else → "Hello from fake LLM. You said: <text>"
//!
//! Streams one chunk per word, then a usage chunk and `[DONE]`. Every request is recorded and
//! served back at `GET /_fake/requests` for assertions.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use optx_harness::text_of;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
struct Fake {
    log: Arc<Mutex<Vec<Value>>>,
    word_delay: Duration,
}

enum Reply {
    Text(String, Duration),
    ToolCall { name: String, args: String },
    Fail,
}

fn decide(body: &Value, word_delay: Duration) -> Reply {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let last = messages.last().cloned().unwrap_or(Value::Null);
    if last["role"] == "tool" {
        return Reply::Text(
            "Tool finished; final answer from fake LLM.".into(),
            word_delay,
        );
    }
    let text = text_of(&last["content"]);
    let offered = |name: &str| {
        body["tools"]
            .as_array()
            .map(|t| {
                t.iter()
                    .any(|t| t.pointer("/function/name") == Some(&json!(name)))
            })
            .unwrap_or(false)
    };
    if text.contains("FAIL_LLM") {
        return Reply::Fail;
    }
    if let Some(rest) = text.split("CALL_TOOL:").nth(1) {
        let (name, args) = rest.trim().split_once(' ').unwrap_or((rest.trim(), "{}"));
        if offered(name) {
            return Reply::ToolCall {
                name: name.to_string(),
                args: args.trim().to_string(),
            };
        }
    }
    if text.contains("USE_TOOL") && offered("todo") {
        return Reply::ToolCall {
            name: "todo".into(),
            args: json!({"todos": [{"id": "1", "content": "fake task", "status": "pending"}]})
                .to_string(),
        };
    }
    if text.contains("RECALL") {
        let earlier: Vec<String> = messages[..messages.len().saturating_sub(1)]
            .iter()
            .filter(|m| m["role"] == "user")
            .map(|m| text_of(&m["content"]))
            .collect();
        return Reply::Text(
            format!("Earlier you said: {}", earlier.join(" | ")),
            word_delay,
        );
    }
    if text.contains("SLOW") {
        let words: Vec<String> = (1..=40).map(|i| format!("w{i}")).collect();
        return Reply::Text(words.join(" "), Duration::from_millis(500));
    }
    Reply::Text(format!("Hello from fake LLM. You said: {text}"), word_delay)
}

fn chunk(delta: Value, finish: Option<&str>, usage: Option<Value>) -> Bytes {
    let mut c = json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    });
    if let Some(u) = usage {
        c["usage"] = u;
    }
    Bytes::from(format!("data: {c}\n\n"))
}

fn usage(words: usize) -> Value {
    json!({"prompt_tokens": 11, "completion_tokens": words, "total_tokens": 11 + words})
}

async fn completions(State(f): State<Fake>, Json(body): Json<Value>) -> Response {
    if let Ok(mut l) = f.log.lock() {
        l.push(json!({"path": "/v1/chat/completions", "body": body.clone()}));
    }
    let reply = decide(&body, f.word_delay);
    let stream = body["stream"].as_bool().unwrap_or(false);
    match reply {
        Reply::Fail => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "fake LLM failure", "type": "server_error"}})),
        )
            .into_response(),
        Reply::ToolCall { name, args } if !stream => Json(json!({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "fake-model",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "call_fake1", "type": "function",
                                "function": {"name": name, "arguments": args}}]}}],
            "usage": usage(1),
        }))
        .into_response(),
        Reply::Text(text, _) if !stream => {
            let words = text.split(' ').count();
            Json(json!({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "fake-model",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": usage(words),
            }))
            .into_response()
        }
        reply => {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
            tokio::spawn(async move {
                let _ = tx
                    .send(Ok(chunk(json!({"role": "assistant"}), None, None)))
                    .await;
                match reply {
                    Reply::ToolCall { name, args } => {
                        let first = json!({"tool_calls": [{"index": 0, "id": "call_fake1", "type": "function",
                                           "function": {"name": name, "arguments": ""}}]});
                        let second =
                            json!({"tool_calls": [{"index": 0, "function": {"arguments": args}}]});
                        let _ = tx.send(Ok(chunk(first, None, None))).await;
                        let _ = tx.send(Ok(chunk(second, None, None))).await;
                        let _ = tx
                            .send(Ok(chunk(json!({}), Some("tool_calls"), Some(usage(1)))))
                            .await;
                    }
                    Reply::Text(text, delay) => {
                        let words: Vec<&str> = text.split(' ').collect();
                        for (i, w) in words.iter().enumerate() {
                            let piece = if i == 0 {
                                w.to_string()
                            } else {
                                format!(" {w}")
                            };
                            if tx
                                .send(Ok(chunk(json!({"content": piece}), None, None)))
                                .await
                                .is_err()
                            {
                                return;
                            }
                            tokio::time::sleep(delay).await;
                        }
                        let _ = tx
                            .send(Ok(chunk(json!({}), Some("stop"), Some(usage(words.len())))))
                            .await;
                    }
                    Reply::Fail => {}
                }
                let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .header(header::CACHE_CONTROL, "no-cache")
                .body(Body::from_stream(
                    tokio_stream::wrappers::ReceiverStream::new(rx),
                ))
                .unwrap_or_default()
        }
    }
}

async fn models() -> Json<Value> {
    Json(
        json!({"object": "list", "data": [{"id": "fake-model", "object": "model", "created": 0,
                "owned_by": "fake", "context_length": 128000}]}),
    )
}

async fn requests(State(f): State<Fake>) -> Json<Value> {
    Json(Value::Array(
        f.log.lock().map(|l| l.clone()).unwrap_or_default(),
    ))
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": {"message": "not found"}})),
    )
        .into_response()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let port = arg("--port").unwrap_or(0) as u16;
    let fake = Fake {
        log: Arc::default(),
        word_delay: Duration::from_millis(arg("--word-delay-ms").unwrap_or(5)),
    };
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .route("/chat/completions", post(completions))
        .route("/v1/models", get(models))
        .route("/models", get(models))
        .route("/_fake/requests", get(requests))
        .fallback(not_found)
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
