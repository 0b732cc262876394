//! Best-effort session bookkeeping in the module around a chat turn: open/resume before, counts
//! after. The module being slow or down never blocks or fails the chat itself.

use crate::state::AppState;
use crate::store::sessions::{OpenSession, TurnRecord};
use crate::stream::event::Usage;
use crate::upstream::chat::TurnRequest;
use std::time::Duration;

/// How long the module may take before the turn goes on without recording.
const STORE_BUDGET: Duration = Duration::from_secs(3);

pub async fn record_open(state: &AppState, session_id: &str, created: bool, req: &TurnRequest) {
    let Some(store) = &state.store else { return };
    // A session the module has not seen yet is titled after its first message.
    let known = store.session(session_id).is_some();
    let title = if created || !known {
        let t: String = req.message.chars().take(60).collect();
        t.trim().replace(|c: char| c.is_control(), " ")
    } else {
        String::new()
    };
    let open = OpenSession {
        id: session_id.to_string(),
        title,
        model: req.model.clone().unwrap_or_default(),
        source: "optx-relay".to_string(),
        upstream_session_id: session_id.to_string(),
        ..Default::default()
    };
    match tokio::time::timeout(STORE_BUDGET, store.open_session(open)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not record session open"),
        Err(_) => tracing::warn!("recording session open timed out"),
    }
}

pub async fn record_turn(
    state: &AppState,
    session_id: &str,
    tool_calls: u32,
    usage: Option<&Usage>,
    error: Option<&str>,
) {
    let Some(store) = &state.store else { return };
    let usage = usage.cloned().unwrap_or_default();
    let rec = TurnRecord {
        messages: 2,
        tool_calls,
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        error: error.unwrap_or_default().chars().take(1000).collect(),
    };
    match tokio::time::timeout(STORE_BUDGET, store.record_turn(session_id, rec)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not record chat turn"),
        Err(_) => tracing::warn!("recording chat turn timed out"),
    }
}
