//! One streamed chat turn: opens (or resumes) the session in the module, streams the upstream
//! turn to the client as OPTX envelope events with keep-alives, stops the upstream as soon as the
//! client goes away, turns every upstream failure into `error` + `done{status:"error"}`, and
//! records the turn's counts in the module before the final `done`.

use crate::state::AppState;
use crate::store::sessions::{OpenSession, TurnRecord};
use crate::stream::event::{ChatEvent, ToolPhase, Usage};
use crate::stream::optx::OptxEncoder;
use crate::stream::sse_out;
use crate::upstream::chat::{start_turn, Route, Step, TurnRequest, UpstreamError};
use bytes::Bytes;
use futures::StreamExt;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// How long the module may take to record session metadata before the turn goes on without it.
const STORE_BUDGET: Duration = Duration::from_secs(3);

pub struct ChatTurn {
    pub session_id: String,
    /// The relay created this session for the request (`/api/sessions/new/...`).
    pub created: bool,
    pub request: TurnRequest,
}

pub type SseBody = ReceiverStream<Result<Bytes, Infallible>>;

/// Starts the turn in a task and returns the SSE body it writes to.
pub fn spawn(state: AppState, turn: ChatTurn) -> SseBody {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(run(state, turn, Sink { tx }));
    ReceiverStream::new(rx)
}

struct Sink {
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
}

impl Sink {
    /// `false` once the client is gone.
    async fn send(&self, b: Bytes) -> bool {
        self.tx.send(Ok(b)).await.is_ok()
    }
}

#[derive(Default)]
struct Outcome {
    usage: Option<Usage>,
    tool_calls: u32,
    error: Option<String>,
    client_gone: bool,
}

async fn run(state: AppState, turn: ChatTurn, sink: Sink) {
    let enc = OptxEncoder::new(&turn.session_id);
    if turn.created && !sink.send(enc.session("created", None)).await {
        return;
    }
    record_open(&state, &turn).await;

    let mut out = Outcome::default();
    let keepalive = state.config.keepalive();
    let caps = state.probe.current();
    let start = start_turn(&state.upstream, &caps, &turn.session_id, &turn.request);
    tokio::pin!(start);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);

    // Phase 1: wait for the upstream to accept the turn.
    let started = loop {
        tokio::select! {
            r = &mut start => break Some(r),
            _ = tick.tick() => if !sink.send(sse_out::keepalive()).await { break None },
            _ = sink.tx.closed() => break None,
        }
    };
    let steps = match started {
        None => {
            out.client_gone = true;
            None
        }
        Some(Err(e)) => {
            fail(&state, &enc, &sink, &mut out, e).await;
            None
        }
        Some(Ok((route, steps))) => {
            let fallback = (route == Route::Completions).then_some("v1_completions");
            if sink.send(enc.session("streaming", fallback)).await {
                Some(steps)
            } else {
                out.client_gone = true;
                None
            }
        }
    };

    // Phase 2: relay events until the upstream ends the turn.
    if let Some(mut steps) = steps {
        loop {
            tokio::select! {
                step = steps.next() => match step {
                    Some(Ok(Step::End)) => break,
                    Some(Ok(Step::Event(ev))) => {
                        note(&mut out, &ev);
                        if let Some(frame) = enc.event(&ev) {
                            if !sink.send(frame).await { out.client_gone = true; break; }
                        }
                    }
                    Some(Err(e)) => { fail(&state, &enc, &sink, &mut out, e).await; break; }
                    None => { fail(&state, &enc, &sink, &mut out, UpstreamError::Truncated).await; break; }
                },
                _ = tick.tick() => if !sink.send(sse_out::keepalive()).await { out.client_gone = true; break },
                _ = sink.tx.closed() => { out.client_gone = true; break; }
            }
        }
        // Dropping `steps` here closes the upstream connection (cancels the agent turn).
    }

    if out.client_gone {
        tracing::info!(session_id = %turn.session_id, "client went away; upstream turn cancelled");
        out.error
            .get_or_insert_with(|| "client disconnected".to_string());
    }
    record_turn(&state, &turn.session_id, &out).await;
    if !out.client_gone {
        let _ = sink
            .send(enc.done(out.error.is_none(), out.usage.as_ref()))
            .await;
    }
}

fn note(out: &mut Outcome, ev: &ChatEvent) {
    match ev {
        ChatEvent::Usage(u) => out.usage = Some(u.clone()),
        ChatEvent::Error(msg) => {
            out.error.get_or_insert_with(|| msg.clone());
        }
        ChatEvent::Tool {
            phase: ToolPhase::Started,
            ..
        } => out.tool_calls += 1,
        _ => {}
    }
}

async fn fail(
    state: &AppState,
    enc: &OptxEncoder,
    sink: &Sink,
    out: &mut Outcome,
    e: UpstreamError,
) {
    tracing::warn!(error = %e, "chat turn failed upstream");
    if matches!(
        e,
        UpstreamError::Unreachable(_) | UpstreamError::Status { status: 404, .. }
    ) {
        let probe = state.probe.clone();
        tokio::spawn(async move {
            probe.refresh().await;
        });
    }
    let msg = e.to_string();
    if !sink
        .send(
            enc.event(&ChatEvent::Error(msg.clone()))
                .unwrap_or_default(),
        )
        .await
    {
        out.client_gone = true;
    }
    out.error.get_or_insert(msg);
}

async fn record_open(state: &AppState, turn: &ChatTurn) {
    let Some(store) = &state.store else { return };
    // A session the module has not seen yet is titled after its first message.
    let known = store.session(&turn.session_id).is_some();
    let title = if turn.created || !known {
        turn.request
            .message
            .chars()
            .take(60)
            .collect::<String>()
            .trim()
            .to_string()
    } else {
        String::new()
    };
    let open = OpenSession {
        id: turn.session_id.clone(),
        title: title.replace(|c: char| c.is_control(), " "),
        model: turn.request.model.clone().unwrap_or_default(),
        source: "optx-relay".to_string(),
        upstream_session_id: turn.session_id.clone(),
        ..Default::default()
    };
    match tokio::time::timeout(STORE_BUDGET, store.open_session(open)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not record session open"),
        Err(_) => tracing::warn!("recording session open timed out"),
    }
}

async fn record_turn(state: &AppState, session_id: &str, out: &Outcome) {
    let Some(store) = &state.store else { return };
    let usage = out.usage.clone().unwrap_or_default();
    let rec = TurnRecord {
        messages: 2,
        tool_calls: out.tool_calls,
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        error: out
            .error
            .clone()
            .unwrap_or_default()
            .chars()
            .take(1000)
            .collect(),
    };
    match tokio::time::timeout(STORE_BUDGET, store.record_turn(session_id, rec)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not record chat turn"),
        Err(_) => tracing::warn!("recording chat turn timed out"),
    }
}
