//! `/health` and `/api/gateway-status`: open routes reporting the relay, the Hermes upstream
//! (live check, re-probe on change) and the SpacetimeDB connection.

use crate::state::AppState;
use crate::upstream::probe::{health_version, Mode, UPSTREAM_TARGET};
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let live = health_version(&state.upstream).await;
    let caps = state.probe.reconcile(live.as_deref()).await;
    let store = state.store.as_ref().map(|s| s.status());
    let store_ok = store.as_ref().map(|s| s.connected).unwrap_or(true);
    Json(json!({
        "status": if live.is_some() && store_ok { "ok" } else { "degraded" },
        "platform": "hermes-optx-api",
        "version": VERSION,
        "upstream": {
            "url": state.upstream.base(),
            "connected": live.is_some(),
            "version": caps.version,
            "mode": caps.mode,
        },
        "capabilities": caps,
        "spacetimedb": store.map(|s| json!(s)).unwrap_or(json!({"configured": false})),
        "memory_backend": state.memory.name(),
        "mpp_enabled": false,
    }))
}

pub async fn gateway_status(State(state): State<AppState>) -> Json<Value> {
    let live = health_version(&state.upstream).await;
    let caps = state.probe.reconcile(live.as_deref()).await;
    let connected = live.is_some();
    let mode = if connected {
        caps.mode
    } else {
        Mode::Disconnected
    };
    let store_connected = state
        .store
        .as_ref()
        .map(|s| s.status().connected)
        .unwrap_or(false);
    Json(json!({
        "status": if connected { "connected" } else { "disconnected" },
        "mode": mode,
        "model": caps.model,
        "version": VERSION,
        "upstream_version": caps.version,
        "upstream_target": UPSTREAM_TARGET,
        "upstream_url": state.upstream.base(),
        "capabilities_endpoint": caps.capabilities_endpoint,
        "runs_api_upstream": caps.runs_api,
        "features": {
            "chat_stream": true,
            "streaming": true,
            "v1_proxy": true,
            "sessions_api_upstream": caps.sessions_api,
            "session_chat_streaming_upstream": caps.session_chat_streaming,
            "runs_api_upstream": caps.runs_api,
            "spacetimedb": store_connected,
            "session_metadata": store_connected,
            "memory": true,
            "tasks": false,
            "wallet": false,
            "tempo_billing": false,
            "mpp": false,
        },
    }))
}
