//! A non-streaming chat turn (`POST /api/sessions/{id}/chat`): Hermes's session chat when the
//! gateway has the sessions API (creating the upstream session if needed), else chat
//! completions with `X-Hermes-Session-Id`; the turn is recorded in the module either way.

use crate::error::ApiError;
use crate::services::session_meta;
use crate::state::AppState;
use crate::upstream::chat::{complete_once, usage_in, TurnRequest, UpstreamError};
use crate::upstream::sessions as up;
use serde_json::{json, Value};

pub async fn run(state: &AppState, session_id: &str, req: TurnRequest) -> Result<Value, ApiError> {
    session_meta::record_open(state, session_id, false, &req).await;
    let caps = state.probe.current();
    let result = if caps.sessions_api {
        let mut body = json!({"message": req.content()});
        if let Some(s) = &req.system_message {
            body["system_message"] = json!(s);
        }
        if let Some(m) = &req.model {
            body["model"] = json!(m);
        }
        match up::chat(&state.upstream, session_id, &body).await {
            Err(UpstreamError::Status { status: 404, .. }) => {
                let mut create = json!({"id": session_id});
                if let Some(m) = &req.model {
                    create["model"] = json!(m);
                }
                match up::create(&state.upstream, &create).await {
                    Ok(_) | Err(UpstreamError::Status { status: 409, .. }) => {
                        up::chat(&state.upstream, session_id, &body).await
                    }
                    Err(e) => Err(e),
                }
            }
            other => other,
        }
    } else {
        complete_once(&state.upstream, session_id, &req).await
    };
    let (usage, error) = match &result {
        Ok(v) => (usage_in(v), None),
        Err(e) => (None, Some(e.to_string())),
    };
    session_meta::record_turn(state, session_id, 0, usage.as_ref(), error.as_deref()).await;
    let mut v = result?;
    if v.get("run_id").is_none() {
        v["run_id"] = json!(format!(
            "run_{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        ));
    }
    Ok(v)
}
