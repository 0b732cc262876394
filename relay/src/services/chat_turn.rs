//! One streamed chat turn: opens (or resumes) the session in the module, streams the upstream
//! turn to the client in the requested vocabularies with keep-alives, stops the upstream as soon
//! as the client goes away, turns every upstream failure into `error` + `done{status:"error"}`,
//! and records the turn's counts in the module before the final `done`.

use crate::services::session_meta;
use crate::services::sse_pump::{Pump, Pumped, SseBody};
use crate::state::AppState;
use crate::stream::event::{ChatEvent, ToolPhase, Usage};
use crate::stream::turn_encoder::{TurnEncoder, Vocab};
use crate::upstream::chat::{start_turn, Route, Step, TurnRequest, UpstreamError};
use tokio::sync::OwnedSemaphorePermit;

pub struct ChatTurn {
    pub session_id: String,
    /// The relay created this session for the request (`/api/sessions/new/...`).
    pub created: bool,
    pub request: TurnRequest,
    pub vocab: Vocab,
    /// Held for the life of the stream (bounded concurrency).
    pub permit: OwnedSemaphorePermit,
}

/// Starts the turn in a task and returns the SSE body it writes to.
pub fn spawn(state: AppState, turn: ChatTurn) -> SseBody {
    let (pump, body) = Pump::new(state.config.keepalive());
    tokio::spawn(run(state, turn, pump));
    body
}

#[derive(Default)]
struct Outcome {
    usage: Option<Usage>,
    tool_calls: u32,
    error: Option<String>,
    client_gone: bool,
}

async fn run(state: AppState, turn: ChatTurn, mut pump: Pump) {
    let _permit = turn.permit;
    let mut enc = TurnEncoder::new(turn.vocab, &turn.session_id);
    let mut out = Outcome::default();
    if !pump
        .send_all(enc.opened(turn.created, &turn.request.message))
        .await
    {
        return;
    }
    // Phase 1: wait for the upstream to accept the turn (keep-alives meanwhile). Recording the
    // session in the module runs alongside, so it adds nothing to the time to first token.
    let caps = state.probe.current();
    let open = session_meta::record_open(&state, &turn.session_id, turn.created, &turn.request);
    let start = start_turn(&state.upstream, &caps, &turn.session_id, &turn.request);
    let started = pump.wait(async { tokio::join!(open, start).1 }).await;
    let steps = match started {
        None => {
            out.client_gone = true;
            None
        }
        Some(Err(e)) => {
            fail(&state, &mut enc, &pump, &mut out, e).await;
            None
        }
        Some(Ok((route, steps))) => {
            let fallback = (route == Route::Completions).then_some("v1_completions");
            if pump.send_all(enc.accepted(fallback)).await {
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
            match pump.next(&mut steps).await {
                Pumped::Item(Ok(Step::End)) => break,
                Pumped::Item(Ok(Step::Event(ev))) => {
                    note(&mut out, &ev);
                    if !pump.send_all(enc.event(&ev)).await {
                        out.client_gone = true;
                        break;
                    }
                }
                Pumped::Item(Err(e)) => {
                    fail(&state, &mut enc, &pump, &mut out, e).await;
                    break;
                }
                Pumped::Ended => {
                    fail(&state, &mut enc, &pump, &mut out, UpstreamError::Truncated).await;
                    break;
                }
                Pumped::ClientGone => {
                    out.client_gone = true;
                    break;
                }
            }
        }
        // Dropping `steps` closes the upstream connection, which makes Hermes interrupt the agent.
    }

    if out.client_gone {
        tracing::info!(session_id = %turn.session_id, "client went away; upstream turn cancelled");
        out.error
            .get_or_insert_with(|| "client disconnected".to_string());
    }
    session_meta::record_turn(
        &state,
        &turn.session_id,
        out.tool_calls,
        out.usage.as_ref(),
        out.error.as_deref(),
    )
    .await;
    if !out.client_gone {
        let frames = enc.finished(out.error.is_none(), out.usage.as_ref());
        pump.send_all(frames).await;
    }
}

fn note(out: &mut Outcome, ev: &ChatEvent) {
    match ev {
        ChatEvent::Usage(u) => out.usage = Some(u.clone()),
        ChatEvent::Error(msg) => {
            out.error.get_or_insert_with(|| msg.clone());
        }
        ChatEvent::Tool(t) if t.phase == ToolPhase::Started => out.tool_calls += 1,
        _ => {}
    }
}

async fn fail(
    state: &AppState,
    enc: &mut TurnEncoder,
    pump: &Pump,
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
    if !pump.send_all(enc.error(&msg)).await {
        out.client_gone = true;
    }
    out.error.get_or_insert(msg);
}
