//! `POST /api/chat/completions/stream`: an OpenAI chat-completions stream through the relay —
//! upstream chunks re-framed one `data:` line per frame with LF, always ending in
//! `data: [DONE]`; an upstream failure becomes an error chunk before it, never a silent end.

use crate::services::sse_pump::{Pump, Pumped, SseBody};
use crate::state::AppState;
use crate::stream::sse_out;
use crate::upstream::chat::UpstreamError;
use crate::upstream::error_message;
use crate::upstream::sse::frames;
use bytes::Bytes;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::OwnedSemaphorePermit;

pub struct CompletionsStream {
    pub body: Value,
    pub session_id: Option<String>,
    pub permit: OwnedSemaphorePermit,
}

pub fn spawn(state: AppState, req: CompletionsStream) -> SseBody {
    let (pump, body) = Pump::new(state.config.keepalive());
    tokio::spawn(run(state, req, pump));
    body
}

fn error_chunk(message: &str) -> Bytes {
    let v = json!({"error": {"message": message, "type": "upstream_error"}});
    sse_out::data(&v.to_string())
}

async fn open(
    state: &AppState,
    req: &CompletionsStream,
) -> Result<reqwest::Response, UpstreamError> {
    let mut rb = state
        .upstream
        .request(Method::POST, "/v1/chat/completions")
        .header("Accept", "text/event-stream")
        .json(&req.body);
    if let Some(id) = &req.session_id {
        rb = rb.header("X-Hermes-Session-Id", id);
    }
    let resp = rb.send().await?;
    if resp.status().is_success() {
        Ok(resp)
    } else {
        let status = resp.status().as_u16();
        let message = error_message(&resp.text().await.unwrap_or_default());
        Err(UpstreamError::Status { status, message })
    }
}

async fn run(state: AppState, req: CompletionsStream, mut pump: Pump) {
    let _permit = &req.permit;
    let resp = match pump.wait(open(&state, &req)).await {
        None => return,
        Some(Err(e)) => {
            pump.send_all(vec![error_chunk(&e.to_string()), sse_out::data("[DONE]")])
                .await;
            return;
        }
        Some(Ok(r)) => r,
    };
    let mut upstream = Box::pin(frames(resp.bytes_stream()));
    loop {
        let frame = match pump.next(&mut upstream).await {
            Pumped::ClientGone => return, // dropping the stream cancels the upstream request
            Pumped::Ended => {
                let msg = UpstreamError::Truncated.to_string();
                pump.send_all(vec![error_chunk(&msg), sse_out::data("[DONE]")])
                    .await;
                return;
            }
            Pumped::Item(Err(e)) => {
                let msg = UpstreamError::from(e).to_string();
                pump.send_all(vec![error_chunk(&msg), sse_out::data("[DONE]")])
                    .await;
                return;
            }
            Pumped::Item(Ok(f)) => f,
        };
        let done = f_is_done(&frame.data) && frame.event.is_none();
        let out = match &frame.event {
            Some(name) => sse_out::named_raw(name, &frame.data),
            None => sse_out::data(&frame.data),
        };
        if !pump.send_all(vec![out]).await || done {
            return;
        }
    }
}

fn f_is_done(data: &str) -> bool {
    data.trim() == "[DONE]"
}
