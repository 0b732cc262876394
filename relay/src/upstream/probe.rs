//! Capability probe of the Hermes gateway and its refresh loop.
//!
//! Each probe step is independent (one failure never skips the others) and sends the upstream
//! bearer. The loop re-probes whenever `/health` changes (down → up, new version).

use super::Upstream;
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The Hermes version this relay is built and tested against.
pub const UPSTREAM_TARGET: &str = "0.17.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Full Hermes gateway with an accepted bearer (capabilities or models answer).
    EnhancedHermes,
    /// Something answers `/health`, but the authenticated API does not.
    Portable,
    #[default]
    Disconnected,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct GatewayCaps {
    pub mode: Mode,
    pub reachable: bool,
    pub version: String,
    pub model: String,
    /// The gateway accepted our bearer on an authenticated route.
    pub auth_ok: bool,
    pub capabilities_endpoint: bool,
    pub sessions_api: bool,
    pub session_chat_streaming: bool,
    pub runs_api: bool,
    pub gateway_state: Option<String>,
    /// Unix seconds of the probe.
    pub probed_at: i64,
}

async fn get_json(up: &Upstream, path: &str, auth: bool) -> Result<(u16, Value), ()> {
    let rb = if auth {
        up.request(Method::GET, path)
    } else {
        up.raw(Method::GET, path)
    };
    let resp = rb
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .map_err(|_| ())?;
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

fn flag(v: &Value, name: &str) -> bool {
    v.pointer(&format!("/features/{name}"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Probes the gateway once.
pub async fn probe(up: &Upstream) -> GatewayCaps {
    let mut caps = GatewayCaps {
        probed_at: now_secs(),
        ..Default::default()
    };
    match get_json(up, "/health", false).await {
        Ok((200, body)) => {
            caps.reachable = true;
            caps.version = body["version"].as_str().unwrap_or_default().to_string();
        }
        _ => return caps,
    }
    if let Ok((200, body)) = get_json(up, "/v1/capabilities", true).await {
        caps.auth_ok = true;
        caps.capabilities_endpoint = true;
        caps.model = body["model"].as_str().unwrap_or_default().to_string();
        caps.session_chat_streaming = flag(&body, "session_chat_streaming");
        caps.sessions_api = flag(&body, "session_resources") || flag(&body, "session_chat");
        caps.runs_api = flag(&body, "run_submission") && flag(&body, "run_events_sse");
    }
    if let Ok((200, body)) = get_json(up, "/v1/models", true).await {
        caps.auth_ok = true;
        if caps.model.is_empty() {
            caps.model = body
                .pointer("/data/0/id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
        }
    }
    if !caps.capabilities_endpoint {
        if let Ok((200, _)) = get_json(up, "/api/sessions?limit=1", true).await {
            caps.sessions_api = true;
            caps.session_chat_streaming = true;
        }
    }
    if let Ok((200, body)) = get_json(up, "/health/detailed", true).await {
        caps.gateway_state = body["gateway_state"].as_str().map(str::to_string);
    }
    caps.mode = if caps.auth_ok {
        Mode::EnhancedHermes
    } else {
        Mode::Portable
    };
    caps
}

/// Live `/health` check: `Some(version)` when the gateway answers 200.
pub async fn health_version(up: &Upstream) -> Option<String> {
    match get_json(up, "/health", false).await {
        Ok((200, body)) => Some(body["version"].as_str().unwrap_or_default().to_string()),
        _ => None,
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The current capabilities, shared by every request and refreshed in the background.
#[derive(Clone)]
pub struct Probe {
    up: Upstream,
    caps: Arc<RwLock<GatewayCaps>>,
}

impl Probe {
    pub fn new(up: Upstream) -> Self {
        Self {
            up,
            caps: Arc::new(RwLock::new(GatewayCaps::default())),
        }
    }

    pub fn current(&self) -> GatewayCaps {
        self.caps.read().map(|c| c.clone()).unwrap_or_default()
    }

    /// Probes now and stores the result.
    pub async fn refresh(&self) -> GatewayCaps {
        let caps = probe(&self.up).await;
        let before = self.current();
        if before.mode != caps.mode || before.version != caps.version {
            tracing::info!(
                mode = ?caps.mode,
                version = %caps.version,
                "upstream capabilities changed"
            );
        }
        if let Ok(mut w) = self.caps.write() {
            *w = caps.clone();
        }
        caps
    }

    /// Re-probes when a live health answer disagrees with what we know.
    pub async fn reconcile(&self, live: Option<&str>) -> GatewayCaps {
        let known = self.current();
        let changed = match live {
            None => known.reachable,
            Some(v) => !known.reachable || known.version != v || known.mode != Mode::EnhancedHermes,
        };
        if changed {
            self.refresh().await
        } else {
            known
        }
    }

    /// Background loop: health check every `every`, full probe on change.
    pub fn spawn_refresh_loop(&self, every: Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let live = health_version(&me.up).await;
                me.reconcile(live.as_deref()).await;
            }
        });
    }
}
