//! A fast fake Hermes gateway (0.17 API shapes) for resilience tests and benchmarks.
//!
//! `fake-hermes [--port P] [--deltas N] [--delta-delay-ms D] [--no-sessions]` prints
//! `listening on <addr>`. Session chat streams (and chat completions) answer by message text:
//! `TRUNCATE` (two deltas, then the body ends without `done`), `HANG` (headers, then silence),
//! `SLOW` (a delta every 100 ms for a minute), `ERROR500` (HTTP 500), `UPSTREAM_ERROR` (an `error`
//! event, then `done`), `EMPTY_CHOICES` (completions: a chunk with `"choices": []` mid-stream),
//! anything else: N deltas of "tok " then the normal completion events (`DELTAS=<n>` and
//! `DELAY_MS=<d>` in the message override N and the delay). When a client goes away
//! mid-stream the fake records it; `GET /_fake/closed` lists `{message, at_ms}` (unix millis).

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use optx_harness::text_of;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

#[derive(Clone)]
struct Fake {
    deltas: usize,
    delay: Duration,
    sessions: bool,
    closed: Arc<Mutex<Vec<Value>>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

type Tx = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Sends a frame unless the client left; records the departure once.
async fn send(f: &Fake, tx: &Tx, message: &str, frame: String) -> bool {
    if tx.send(Ok(Bytes::from(frame))).await.is_ok() {
        return true;
    }
    if let Ok(mut c) = f.closed.lock() {
        c.push(json!({"message": message, "at_ms": now_ms()}));
    }
    false
}

/// Waits `d` unless the client leaves first (then records it).
async fn pause(f: &Fake, tx: &Tx, message: &str, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = tx.closed() => {
            if let Ok(mut c) = f.closed.lock() {
                c.push(json!({"message": message, "at_ms": now_ms()}));
            }
            false
        }
    }
}

fn sse(rx: mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
        .unwrap_or_default()
}

fn named(seq: &mut u64, sid: &str, name: &str, mut payload: Value) -> String {
    *seq += 1;
    payload["session_id"] = json!(sid);
    payload["run_id"] = json!("run_fake");
    payload["seq"] = json!(*seq);
    payload["ts"] = json!(0.0);
    format!("event: {name}\ndata: {payload}\n\n")
}

async fn session_stream(
    State(f): State<Fake>,
    Path(sid): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let message = text_of(&body["message"]);
    if message.contains("ERROR500") {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "fake failure"}})),
        )
            .into_response();
    }
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut seq = 0;
        let m = message.as_str();
        let ev = |seq: &mut u64, name: &str, p: Value| named(seq, &sid, name, p);
        if !send(
            &f,
            &tx,
            m,
            ev(
                &mut seq,
                "run.started",
                json!({"user_message": {"role": "user", "content": m}}),
            ),
        )
        .await
        {
            return;
        }
        let _ = send(
            &f,
            &tx,
            m,
            ev(
                &mut seq,
                "message.started",
                json!({"message": {"id": "msg_fake", "role": "assistant"}}),
            ),
        )
        .await;
        if m.contains("HANG") {
            pause(&f, &tx, m, Duration::from_secs(600)).await;
            return;
        }
        if m.contains("UPSTREAM_ERROR") {
            let _ = send(
                &f,
                &tx,
                m,
                ev(&mut seq, "error", json!({"message": "agent exploded"})),
            )
            .await;
            let _ = send(&f, &tx, m, ev(&mut seq, "done", json!({}))).await;
            return;
        }
        let (n, delay) = if m.contains("SLOW") {
            (600, Duration::from_millis(100))
        } else if m.contains("TRUNCATE") {
            (2, f.delay)
        } else {
            let n = word_arg(m, "DELTAS=")
                .map(|v| v as usize)
                .unwrap_or(f.deltas);
            let d = word_arg(m, "DELAY_MS=")
                .map(Duration::from_millis)
                .unwrap_or(f.delay);
            (n, d)
        };
        let mut text = String::new();
        for _ in 0..n {
            text.push_str("tok ");
            let p = json!({"message_id": "msg_fake", "delta": "tok "});
            if !send(&f, &tx, m, ev(&mut seq, "assistant.delta", p)).await {
                return;
            }
            if !delay.is_zero() && !pause(&f, &tx, m, delay).await {
                return;
            }
        }
        if m.contains("TRUNCATE") {
            return; // body ends without assistant.completed / done
        }
        let _ = send(
            &f,
            &tx,
            m,
            ev(
                &mut seq,
                "tool.progress",
                json!({"message_id": "msg_fake", "tool_name": "_thinking", "delta": text}),
            ),
        )
        .await;
        let _ = send(
            &f,
            &tx,
            m,
            ev(
                &mut seq,
                "assistant.completed",
                json!({"message_id": "msg_fake", "content": text, "completed": true}),
            ),
        )
        .await;
        let usage = json!({"input_tokens": 5, "output_tokens": n, "total_tokens": 5 + n});
        let _ = send(
            &f,
            &tx,
            m,
            ev(
                &mut seq,
                "run.completed",
                json!({"message_id": "msg_fake", "completed": true, "usage": usage}),
            ),
        )
        .await;
        let _ = send(&f, &tx, m, ev(&mut seq, "done", json!({}))).await;
    });
    sse(rx)
}

/// The number after `prefix` in a message word (`DELTAS=500`).
fn word_arg(message: &str, prefix: &str) -> Option<u64> {
    message
        .split_whitespace()
        .find_map(|w| w.strip_prefix(prefix))
        .and_then(|v| v.parse().ok())
}

fn chunk(delta: Value, finish: Option<&str>, choices_empty: bool) -> String {
    let choices = if choices_empty {
        json!([])
    } else {
        json!([{"index": 0, "delta": delta, "finish_reason": finish}])
    };
    let mut c = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                       "model": "hermes-agent", "choices": choices});
    if finish.is_some() || choices_empty {
        c["usage"] = json!({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8});
    }
    format!("data: {c}\n\n")
}

async fn completions(State(f): State<Fake>, Json(body): Json<Value>) -> Response {
    let message = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .map(|m| text_of(&m["content"]))
        .unwrap_or_default();
    if message.contains("ERROR500") {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "fake failure"}})),
        )
            .into_response();
    }
    if !body["stream"].as_bool().unwrap_or(false) {
        return Json(json!({"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "hermes-agent",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "tok tok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})).into_response();
    }
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let m = message.as_str();
        if !send(&f, &tx, m, chunk(json!({"role": "assistant"}), None, false)).await {
            return;
        }
        if m.contains("HANG") {
            pause(&f, &tx, m, Duration::from_secs(600)).await;
            return;
        }
        let n = if m.contains("TRUNCATE") { 2 } else { f.deltas };
        for i in 0..n {
            if !send(&f, &tx, m, chunk(json!({"content": "tok "}), None, false)).await {
                return;
            }
            if i == 0 && m.contains("EMPTY_CHOICES") {
                let _ = send(&f, &tx, m, chunk(json!({}), None, true)).await;
            }
            if !f.delay.is_zero() && !pause(&f, &tx, m, f.delay).await {
                return;
            }
        }
        if m.contains("TRUNCATE") {
            return;
        }
        let _ = send(&f, &tx, m, chunk(json!({}), Some("stop"), false)).await;
        let _ = send(&f, &tx, m, "data: [DONE]\n\n".to_string()).await;
    });
    sse(rx)
}

async fn capabilities(State(f): State<Fake>) -> Json<Value> {
    Json(
        json!({"object": "hermes.api_server.capabilities", "platform": "hermes-agent", "model": "hermes-agent",
        "features": {"chat_completions": true, "chat_completions_streaming": true, "run_submission": false,
                     "run_events_sse": false, "session_resources": f.sessions, "session_chat": f.sessions,
                     "session_chat_streaming": f.sessions}}),
    )
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
    let f = Fake {
        deltas: arg("--deltas").unwrap_or(20) as usize,
        delay: Duration::from_millis(arg("--delta-delay-ms").unwrap_or(0)),
        sessions: !args.iter().any(|a| a == "--no-sessions"),
        closed: Arc::default(),
    };
    let sessions = f.sessions;
    let mut app = Router::new()
        .route(
            "/health",
            get(|| async {
                Json(json!({"status": "ok", "platform": "hermes-agent", "version": "0.17.0"}))
            }),
        )
        .route("/v1/capabilities", get(capabilities))
        .route(
            "/v1/models",
            get(|| async {
                Json(json!({"object": "list", "data": [{"id": "hermes-agent", "object": "model"}]}))
            }),
        )
        .route("/v1/chat/completions", post(completions))
        .route(
            "/v1/whoami",
            get(|h: axum::http::HeaderMap| async move {
                let auth = h
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let origin = h.get("origin").is_some();
                let session = h
                    .get("x-hermes-session-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                Json(json!({"authorization": auth, "origin": origin, "session_id": session}))
            }),
        )
        .route(
            "/_fake/closed",
            get(|State(f): State<Fake>| async move {
                Json(Value::Array(
                    f.closed.lock().map(|c| c.clone()).unwrap_or_default(),
                ))
            }),
        );
    if sessions {
        app = app
            .route(
                "/api/sessions",
                post(|Json(b): Json<Value>| async move {
                    (
                        StatusCode::CREATED,
                        Json(json!({"object": "hermes.session", "session": {"id": b["id"]}})),
                    )
                }),
            )
            .route("/api/sessions/{id}/chat/stream", post(session_stream));
    }
    let port = arg("--port").unwrap_or(0) as u16;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    // Like aiohttp (the real gateway), write small frames at once (no Nagle delay).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app.with_state(f)).await?;
    Ok(())
}
