//! The sessions REST flows: Hermes's sessions API is the source of truth for sessions and
//! transcripts when the gateway has it; our metadata (`chat_session` in the module) is kept in
//! step on create/rename/fork/delete and fills in when the upstream cannot answer.

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::sessions::OpenSession;
use crate::upstream::chat::UpstreamError;
use crate::upstream::sessions as up;
use optx_client_bindings::ChatSession;
use serde_json::{json, Value};

fn secs(us: i64) -> Value {
    json!(us as f64 / 1_000_000.0)
}

fn opt_str(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        json!(s)
    }
}

/// A module row in Hermes's session shape (times in epoch seconds).
pub fn module_session(r: &ChatSession) -> Value {
    json!({
        "id": r.id,
        "source": r.source,
        "user_id": opt_str(&r.user_id),
        "model": opt_str(&r.model),
        "title": opt_str(&r.title),
        "started_at": secs(r.created_at_us),
        "last_active": secs(r.last_active_us),
        "ended_at": if r.closed_at_us > 0 { secs(r.closed_at_us) } else { Value::Null },
        "end_reason": opt_str(&r.end_reason),
        "message_count": r.message_count,
        "tool_call_count": r.tool_call_count,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "cache_read_tokens": 0,
        "parent_session_id": opt_str(&r.parent_session_id),
        "optx": optx_part(r),
    })
}

fn optx_part(r: &ChatSession) -> Value {
    json!({
        "status": r.status,
        "turn_count": r.turn_count,
        "error_count": r.error_count,
        "last_error": opt_str(&r.last_error),
    })
}

/// Adds our metadata to an upstream session object.
fn enrich(state: &AppState, mut s: Value) -> Value {
    let row = s["id"]
        .as_str()
        .and_then(|id| state.store.as_ref()?.session(id));
    if let Some(r) = row {
        if s["title"].is_null() && !r.title.is_empty() {
            s["title"] = json!(r.title);
        }
        s["optx"] = optx_part(&r);
    }
    s
}

/// Whether the sessions API should be asked at all.
fn upstream_has_sessions(state: &AppState) -> bool {
    let c = state.probe.current();
    c.reachable && c.sessions_api
}

/// Upstream unavailable (not an answer such as 404): fall back to the module.
fn unavailable(e: &UpstreamError) -> bool {
    !matches!(e, UpstreamError::Status { status, .. } if *status < 500)
}

fn module_rows(state: &AppState) -> Vec<ChatSession> {
    let mut rows = state
        .store
        .as_ref()
        .map(|s| s.sessions())
        .unwrap_or_default();
    rows.sort_by(|a, b| {
        b.last_active_us
            .cmp(&a.last_active_us)
            .then(a.id.cmp(&b.id))
    });
    rows
}

pub async fn list(state: &AppState, limit: u32, offset: u32) -> Result<Value, ApiError> {
    if upstream_has_sessions(state) {
        match up::list(&state.upstream, limit, offset).await {
            Ok(page) => {
                let items: Vec<Value> = page["data"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| enrich(state, s))
                    .collect();
                let has_more = page["has_more"].as_bool().unwrap_or(false);
                let total = if has_more {
                    up::count(&state.upstream, 25).await?
                } else {
                    offset as u64 + items.len() as u64
                };
                return Ok(page_json(items, total, limit, offset, has_more, "hermes"));
            }
            Err(e) if unavailable(&e) => {
                tracing::warn!(error = %e, "session list falls back to the module")
            }
            Err(e) => return Err(e.into()),
        }
    }
    let rows = module_rows(state);
    let total = rows.len() as u64;
    let items: Vec<Value> = rows
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(module_session)
        .collect();
    let has_more = (offset as u64 + items.len() as u64) < total;
    Ok(page_json(items, total, limit, offset, has_more, "module"))
}

fn page_json(
    items: Vec<Value>,
    total: u64,
    limit: u32,
    offset: u32,
    has_more: bool,
    backend: &str,
) -> Value {
    json!({
        "items": items,
        "sessions": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_more": has_more,
        "backend": backend,
    })
}

pub async fn get(state: &AppState, id: &str) -> Result<Value, ApiError> {
    if upstream_has_sessions(state) {
        match up::get(&state.upstream, id).await {
            Ok(v) => return Ok(json!({"session": enrich(state, v["session"].clone())})),
            Err(e) if unavailable(&e) || matches!(e, UpstreamError::Status { status: 404, .. }) => {
            }
            Err(e) => return Err(e.into()),
        }
    }
    state
        .store
        .as_ref()
        .and_then(|s| s.session(id))
        .map(|r| json!({"session": module_session(&r)}))
        .ok_or_else(|| ApiError::NotFound(format!("session '{id}' not found")))
}

pub struct NewSession {
    pub id: String,
    pub title: Option<String>,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    pub parent: Option<String>,
}

async fn remember(state: &AppState, s: &NewSession) {
    let Some(store) = &state.store else { return };
    let open = OpenSession {
        id: s.id.clone(),
        title: s.title.clone().unwrap_or_default(),
        model: s.model.clone().unwrap_or_default(),
        source: "api".to_string(),
        upstream_session_id: s.id.clone(),
        parent_session_id: s.parent.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Err(e) = store.open_session(open).await {
        tracing::warn!(error = %e, "could not record session in the module");
    }
}

pub async fn create(state: &AppState, s: NewSession) -> Result<Value, ApiError> {
    if upstream_has_sessions(state) {
        let mut body = json!({"id": s.id});
        for (k, v) in [
            ("title", &s.title),
            ("model", &s.model),
            ("system_prompt", &s.system_prompt),
        ] {
            if let Some(v) = v {
                body[k] = json!(v);
            }
        }
        let v = up::create(&state.upstream, &body).await?;
        remember(state, &s).await;
        return Ok(json!({"session": enrich(state, v["session"].clone())}));
    }
    // No sessions API upstream: the session lives in the module only (chat uses the header).
    let store = state.store.as_ref().ok_or_else(|| {
        ApiError::Upstream(
            "the gateway has no sessions API and no SpacetimeDB is configured".into(),
        )
    })?;
    if store.session(&s.id).is_some() {
        return Err(ApiError::Conflict(format!(
            "session '{}' already exists",
            s.id
        )));
    }
    let open = OpenSession {
        id: s.id.clone(),
        title: s.title.clone().unwrap_or_default(),
        model: s.model.clone().unwrap_or_default(),
        source: "api".to_string(),
        upstream_session_id: s.id.clone(),
        ..Default::default()
    };
    store.open_session(open).await?;
    let row = store
        .session(&s.id)
        .ok_or_else(|| ApiError::Internal("session missing after create".into()))?;
    Ok(json!({"session": module_session(&row)}))
}

pub async fn rename(
    state: &AppState,
    id: &str,
    title: Option<String>,
    end_reason: Option<String>,
) -> Result<Value, ApiError> {
    let mut patched = None;
    if upstream_has_sessions(state) {
        let mut body = json!({});
        if let Some(t) = &title {
            body["title"] = json!(t);
        }
        if let Some(r) = &end_reason {
            body["end_reason"] = json!(r);
        }
        patched = Some(up::patch(&state.upstream, id, &body).await?);
    }
    if let (Some(store), Some(t)) = (&state.store, &title) {
        if store.session(id).is_some() {
            store.update_session_title(id, t).await?;
        } else if patched.is_none() {
            return Err(ApiError::NotFound(format!("session '{id}' not found")));
        }
    }
    match patched {
        Some(v) => Ok(json!({"session": enrich(state, v["session"].clone())})),
        None => get(state, id).await,
    }
}

pub async fn delete(state: &AppState, id: &str) -> Result<Value, ApiError> {
    let mut found = false;
    if upstream_has_sessions(state) {
        match up::delete(&state.upstream, id).await {
            Ok(_) => found = true,
            Err(UpstreamError::Status { status: 404, .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(store) = &state.store {
        if store.session(id).is_some() {
            store.delete_session(id).await?;
            found = true;
        }
    }
    if !found {
        return Err(ApiError::NotFound(format!("session '{id}' not found")));
    }
    Ok(json!({"ok": true, "deleted": true, "id": id, "session_id": id}))
}

pub async fn messages(
    state: &AppState,
    id: &str,
    limit: usize,
    offset: usize,
) -> Result<Value, ApiError> {
    if !upstream_has_sessions(state) {
        return Err(ApiError::Upstream(
            "transcripts live in the Hermes gateway, which is not reachable".into(),
        ));
    }
    let v = up::messages(&state.upstream, id).await?;
    let all = v["data"].as_array().cloned().unwrap_or_default();
    let total = all.len();
    let items: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    Ok(json!({"items": items, "messages": items, "total": total, "session_id": id}))
}

pub async fn fork(
    state: &AppState,
    id: &str,
    new_id: String,
    title: Option<String>,
) -> Result<Value, ApiError> {
    if !upstream_has_sessions(state) {
        return Err(ApiError::Upstream(
            "forking needs the Hermes sessions API, which is not reachable".into(),
        ));
    }
    let mut body = json!({"id": new_id});
    if let Some(t) = &title {
        body["title"] = json!(t);
    }
    let v = up::fork(&state.upstream, id, &body).await?;
    let session = v["session"].clone();
    let child = NewSession {
        id: session["id"].as_str().unwrap_or(&new_id).to_string(),
        title: session["title"].as_str().map(str::to_string),
        model: session["model"].as_str().map(str::to_string),
        system_prompt: None,
        parent: Some(id.to_string()),
    };
    remember(state, &child).await;
    Ok(json!({"session": enrich(state, session), "forked_from": id}))
}

/// Case-insensitive search over ids, titles and previews of upstream (first 200) and module
/// sessions; most recently active first.
pub async fn search(state: &AppState, query: &str, limit: usize) -> Result<Value, ApiError> {
    let q = query.to_lowercase();
    let mut seen = std::collections::HashSet::new();
    let mut results: Vec<(f64, Value)> = Vec::new();
    let hit = |s: &Value| {
        ["id", "title", "preview"].iter().any(|k| {
            s[*k]
                .as_str()
                .is_some_and(|v| v.to_lowercase().contains(&q))
        })
    };
    if upstream_has_sessions(state) {
        if let Ok(page) = up::list(&state.upstream, 200, 0).await {
            for s in page["data"].as_array().cloned().unwrap_or_default() {
                if hit(&s) {
                    seen.insert(s["id"].as_str().unwrap_or_default().to_string());
                    let t = s["last_active"].as_f64().unwrap_or(0.0);
                    results.push((t, enrich(state, s)));
                }
            }
        }
    }
    for r in module_rows(state) {
        let s = module_session(&r);
        if !seen.contains(&r.id) && hit(&s) {
            results.push((r.last_active_us as f64 / 1e6, s));
        }
    }
    results.sort_by(|a, b| b.0.total_cmp(&a.0));
    let results: Vec<Value> = results.into_iter().take(limit).map(|(_, s)| s).collect();
    Ok(json!({"query": query, "count": results.len(), "results": results}))
}
