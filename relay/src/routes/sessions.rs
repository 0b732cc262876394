//! Sessions REST (Hermes Workspace's contract, with the bridge's keys as a superset): list, get,
//! create, rename, delete, messages, search, fork, and the non-streaming chat turn.

use super::chat::{new_session_id, parse, validate_session_id};
use crate::error::ApiError;
use crate::services::{chat_once, sessions};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
pub struct Page {
    limit: Option<u32>,
    offset: Option<u32>,
}

fn page(p: &Page, default: u32) -> Result<(u32, u32), ApiError> {
    let limit = p.limit.unwrap_or(default);
    if limit == 0 || limit > 200 {
        return Err(ApiError::Invalid("limit must be between 1 and 200".into()));
    }
    Ok((limit, p.offset.unwrap_or(0)))
}

/// A JSON object body (an empty body counts as `{}`).
fn object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::Invalid("body must be a JSON object".into())),
        Err(e) => Err(ApiError::Invalid(format!("body is not valid JSON: {e}"))),
    }
}

/// An optional string field; present but not a string (or too long, or with control
/// characters) is invalid.
fn text(m: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max && !s.chars().any(char::is_control) => {
            Ok(Some(s.clone()))
        }
        Some(Value::String(_)) => Err(ApiError::Invalid(format!(
            "{key} must be at most {max} characters without control characters"
        ))),
        Some(_) => Err(ApiError::Invalid(format!("{key} must be a string"))),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Query(p): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let (limit, offset) = page(&p, 50)?;
    Ok(Json(sessions::list(&state, limit, offset).await?))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    validate_session_id(&id)?;
    Ok(Json(sessions::get(&state, &id).await?))
}

pub async fn create(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let m = object(&body)?;
    let id = match text(&m, "id", 128)?.or(text(&m, "session_id", 128)?) {
        Some(id) => {
            validate_session_id(&id)?;
            id
        }
        None => new_session_id(),
    };
    let new = sessions::NewSession {
        id,
        title: text(&m, "title", 300)?,
        model: text(&m, "model", 200)?,
        system_prompt: match m.get("system_prompt") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(ApiError::Invalid("system_prompt must be a string".into())),
        },
        parent: None,
    };
    Ok((
        StatusCode::CREATED,
        Json(sessions::create(&state, new).await?),
    ))
}

pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    validate_session_id(&id)?;
    let m = object(&body)?;
    if let Some(k) = m
        .keys()
        .find(|k| !matches!(k.as_str(), "title" | "end_reason"))
    {
        return Err(ApiError::Invalid(format!(
            "field '{k}' cannot be changed (title, end_reason)"
        )));
    }
    let title = text(&m, "title", 300)?;
    let end_reason = text(&m, "end_reason", 64)?;
    if title.is_none() && end_reason.is_none() {
        return Err(ApiError::Invalid(
            "nothing to change: send title or end_reason".into(),
        ));
    }
    Ok(Json(
        sessions::rename(&state, &id, title, end_reason).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    validate_session_id(&id)?;
    Ok(Json(sessions::delete(&state, &id).await?))
}

pub async fn messages(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    validate_session_id(&id)?;
    let limit = p.limit.unwrap_or(1000).clamp(1, 10_000) as usize;
    Ok(Json(
        sessions::messages(&state, &id, limit, p.offset.unwrap_or(0) as usize).await?,
    ))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    query: Option<String>,
    limit: Option<usize>,
}

pub async fn search(
    State(state): State<AppState>,
    Query(s): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let q = s.q.or(s.query).unwrap_or_default();
    if q.trim().is_empty() || q.len() > 500 {
        return Err(ApiError::Invalid("q must be 1-500 characters".into()));
    }
    let limit = s.limit.unwrap_or(20).clamp(1, 200);
    Ok(Json(sessions::search(&state, q.trim(), limit).await?))
}

pub async fn fork(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    validate_session_id(&id)?;
    let m = object(&body)?;
    let new_id = match text(&m, "id", 128)? {
        Some(n) => {
            validate_session_id(&n)?;
            n
        }
        None => new_session_id(),
    };
    let title = text(&m, "title", 300)?;
    Ok((
        StatusCode::CREATED,
        Json(sessions::fork(&state, &id, new_id, title).await?),
    ))
}

pub async fn chat(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    validate_session_id(&id)?;
    let (req, _) = parse(&body)?;
    Ok(Json(chat_once::run(&state, &id, req).await?))
}

/// `POST /api/sessions/new/chat`: one non-streaming turn in a fresh session (or the body's
/// `session_id`), never in a session literally called "new".
pub async fn chat_new(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let (req, wanted) = parse(&body)?;
    let id = wanted.unwrap_or_else(new_session_id);
    Ok(Json(chat_once::run(&state, &id, req).await?))
}
