//! `/api/memory*`: parse and validate memory requests (the same rules as the module's
//! `memory_rules`, so bad input is a 422 that writes nothing on any backend) and hand them to
//! the configured [`MemoryBackend`](crate::memory::MemoryBackend).

use crate::error::ApiError;
use crate::memory::{importance_level, Filters, Memory, NewMemory, NON_MEMORY_KEY_PREFIXES};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const MAX_CONTENT_BYTES: usize = 256 * 1024;
const MAX_METADATA_BYTES: usize = 16 * 1024;
const MAX_KEY_CHARS: usize = 512;
const MAX_CATEGORY_CHARS: usize = 64;
const MAX_LABEL_CHARS: usize = 128;
const MAX_QUERY_BYTES: usize = 4 * 1024;
const DEFAULT_LIST_LIMIT: usize = 100;
const MAX_LIST_LIMIT: usize = 1000;
const DEFAULT_SEARCH_LIMIT: usize = 10;
const MAX_SEARCH_LIMIT: usize = 100;

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::Invalid(msg.into())
}

/// Identifier-like text: bounded, no control characters, no surrounding spaces.
fn label(field: &str, v: &str, max: usize, required: bool) -> Result<(), ApiError> {
    if required && v.is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(invalid(format!("{field} is longer than {max} characters")));
    }
    if v.chars().any(char::is_control) || v.trim() != v {
        return Err(invalid(format!(
            "{field} has control characters or surrounding spaces"
        )));
    }
    Ok(())
}

fn category(v: &str) -> Result<(), ApiError> {
    label("category", v, MAX_CATEGORY_CHARS, true)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'))
    {
        return Err(invalid(
            "category may only contain letters, digits and _ - . : /",
        ));
    }
    Ok(())
}

fn opt_string(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{field} must be a string"))),
    }
}

fn body_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid("body must be a JSON object")),
        Err(e) => Err(invalid(format!("body must be a JSON object: {e}"))),
    }
}

/// `POST /api/memory` body → a validated [`NewMemory`].
fn parse_new(body: &Bytes) -> Result<NewMemory, ApiError> {
    let b = body_object(body)?;
    const KNOWN: [&str; 7] = [
        "content",
        "category",
        "importance",
        "metadata",
        "key",
        "owner",
        "session_id",
    ];
    if let Some(k) = b.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(invalid(format!("unknown field '{k}'")));
    }
    let content = opt_string(&b, "content")?.ok_or_else(|| invalid("content is required"))?;
    if content.trim().is_empty() {
        return Err(invalid("content must not be empty"));
    }
    if content.len() > MAX_CONTENT_BYTES {
        return Err(invalid(format!(
            "content is larger than {MAX_CONTENT_BYTES} bytes"
        )));
    }
    let cat = opt_string(&b, "category")?.unwrap_or_else(|| "general".into());
    category(&cat)?;
    let importance = match b.get("importance") {
        None | Some(Value::Null) => 5,
        Some(v) => importance_level(v).map_err(invalid)?,
    };
    let metadata = match b.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(invalid("metadata must be a JSON object")),
    };
    if Value::Object(metadata.clone()).to_string().len() > MAX_METADATA_BYTES {
        return Err(invalid(format!(
            "metadata is larger than {MAX_METADATA_BYTES} bytes"
        )));
    }
    let key = opt_string(&b, "key")?;
    if let Some(k) = &key {
        label("key", k, MAX_KEY_CHARS, true)?;
        if NON_MEMORY_KEY_PREFIXES.iter().any(|p| k.starts_with(p)) || k.starts_with("fact:") {
            return Err(invalid(
                "key prefixes task:, escrow:, tempo: and fact: are reserved",
            ));
        }
        if k.parse::<u64>().is_ok() {
            return Err(invalid("key must not be a plain number (numbers are ids)"));
        }
    }
    let owner = opt_string(&b, "owner")?.unwrap_or_default();
    label("owner", &owner, MAX_LABEL_CHARS, false)?;
    let session_id = opt_string(&b, "session_id")?.unwrap_or_default();
    label("session_id", &session_id, MAX_LABEL_CHARS, false)?;
    Ok(NewMemory {
        key,
        content,
        category: cat,
        importance,
        metadata,
        owner,
        session_id,
    })
}

fn filters_from(
    get: impl Fn(&str) -> Result<Option<String>, ApiError>,
) -> Result<Filters, ApiError> {
    let f = Filters {
        category: get("category")?,
        owner: get("owner")?,
        session_id: get("session_id")?,
    };
    for (name, v) in [
        ("category", &f.category),
        ("owner", &f.owner),
        ("session_id", &f.session_id),
    ] {
        if let Some(v) = v {
            label(name, v, MAX_LABEL_CHARS, false)?;
        }
    }
    Ok(f)
}

fn number(field: &str, v: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    v.parse::<usize>()
        .map_err(|_| invalid(format!("{field} must be a non-negative integer")))
        .and_then(|n| bounded(field, n, max))
}

fn bounded(field: &str, n: usize, max: usize) -> Result<usize, ApiError> {
    if field == "offset" {
        return Ok(n);
    }
    if n == 0 || n > max {
        return Err(invalid(format!("{field} must be between 1 and {max}")));
    }
    Ok(n)
}

fn query_text(q: &str) -> Result<(), ApiError> {
    if q.len() > MAX_QUERY_BYTES {
        return Err(invalid(format!(
            "query is larger than {MAX_QUERY_BYTES} bytes"
        )));
    }
    Ok(())
}

pub async fn store(State(s): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let m = parse_new(&body)?;
    let memory = s.memory.store(m).await?;
    Ok(Json(json!({ "stored": true, "memory": memory })))
}

pub async fn list(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = number(
        "limit",
        q.get("limit").map(String::as_str),
        DEFAULT_LIST_LIMIT,
        MAX_LIST_LIMIT,
    )?;
    let offset = number("offset", q.get("offset").map(String::as_str), 0, usize::MAX)?;
    let filters = filters_from(|k| Ok(q.get(k).filter(|v| !v.is_empty()).cloned()))?;
    let page = s.memory.list(filters, limit, offset).await?;
    Ok(Json(json!({
        "memories": page.memories,
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "backend": s.memory.name(),
    })))
}

pub async fn get_one(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Memory>, ApiError> {
    s.memory
        .get(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("Memory not found".into()))
}

pub async fn delete_one(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    // Answer with the memory's id even when the caller named it by key.
    let memory_id = match s.memory.get(id.clone()).await? {
        Some(m) => m.id,
        None => return Err(ApiError::NotFound("Memory not found".into())),
    };
    if s.memory.delete(id).await? {
        Ok(Json(json!({ "deleted": true, "memory_id": memory_id })))
    } else {
        Err(ApiError::NotFound("Memory not found".into()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchFilters {
    category: Option<String>,
    owner: Option<String>,
    session_id: Option<String>,
}

pub async fn search(State(s): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let b = body_object(&body)?;
    let query = opt_string(&b, "query")?.ok_or_else(|| invalid("query is required"))?;
    query_text(&query)?;
    let limit = match b.get("limit") {
        None | Some(Value::Null) => DEFAULT_SEARCH_LIMIT,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| invalid("limit must be a positive integer"))
            .and_then(|n| bounded("limit", n as usize, MAX_SEARCH_LIMIT))?,
    };
    let f: SearchFilters = match b.get("filters") {
        None | Some(Value::Null) => SearchFilters {
            category: None,
            owner: None,
            session_id: None,
        },
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            invalid(format!(
                "filters accepts category, owner and session_id (strings): {e}"
            ))
        })?,
    };
    let filters = filters_from(|k| {
        Ok(match k {
            "category" => f.category.clone(),
            "owner" => f.owner.clone(),
            _ => f.session_id.clone(),
        })
    })?;
    let results = s.memory.search(query.clone(), filters, limit).await?;
    Ok(Json(
        json!({ "results": results, "total": results.len(), "query": query }),
    ))
}

pub async fn recall(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let query = q
        .get("query")
        .cloned()
        .ok_or_else(|| invalid("query is required"))?;
    query_text(&query)?;
    let limit = number(
        "limit",
        q.get("limit").map(String::as_str),
        DEFAULT_SEARCH_LIMIT,
        MAX_SEARCH_LIMIT,
    )?;
    let filters = filters_from(|k| Ok(q.get(k).filter(|v| !v.is_empty()).cloned()))?;
    let results = s.memory.search(query.clone(), filters, limit).await?;
    Ok(Json(
        json!({ "results": results, "total": results.len(), "query": query }),
    ))
}

pub async fn stats(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let st = s.memory.stats().await?;
    let categories: Vec<&String> = st.by_category.keys().collect();
    Ok(Json(json!({
        "backend": s.memory.name(),
        "count": st.count,
        "total_memories": st.count,
        "categories": categories,
        "by_category": st.by_category,
        "status": st.status,
        "health": { "status": st.status, "backend": s.memory.name(), "detail": st.detail },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<NewMemory, ApiError> {
        parse_new(&Bytes::from(v.to_string()))
    }

    #[test]
    fn new_memory_defaults_and_rejections() {
        let m = parse(json!({"content": "x"})).unwrap();
        assert_eq!((m.category.as_str(), m.importance), ("general", 5));
        let m = parse(json!({"content": "x", "importance": 0.9, "metadata": {"a": 1}})).unwrap();
        assert_eq!(m.importance, 9);
        for bad in [
            json!({}),
            json!({"content": "  "}),
            json!({"content": 5}),
            json!({"content": "x", "category": "a b"}),
            json!({"content": "x", "importance": 42}),
            json!({"content": "x", "metadata": [1]}),
            json!({"content": "x", "key": "task:1"}),
            json!({"content": "x", "key": "12"}),
            json!({"content": "x", "owner": " a"}),
            json!({"content": "x", "colour": "red"}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        assert!(parse_new(&Bytes::from_static(b"not json")).is_err());
    }
}
