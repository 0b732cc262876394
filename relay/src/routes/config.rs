//! `/api/config`: GET (config.yaml and .env with secrets redacted), PATCH `{model, provider,
//! base_url}` and POST `{key, value}`. Validates bodies here; file work is in `hermes_files`.

use crate::error::ApiError;
use crate::hermes_files::config_file::{self, ModelPatch, ModelSettings};
use crate::hermes_files::redact::{redact_at, MASK};
use crate::hermes_files::{self, HermesFileError};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};

const MAX_NAME: usize = 200;
const MAX_URL: usize = 2048;

/// `GET /api/config`.
pub async fn get(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let home = state.hermes_home.clone();
    let view = hermes_files::blocking({
        let home = home.clone();
        move || Ok(config_file::read_view(&home))
    })
    .await?;
    let s = &view.settings;
    let mut out = json!({
        "model": s.model,
        "provider": s.provider,
        "base_url": s.base_url,
        "api_mode": s.api_mode,
        "config": view.config,
        "env": view.env,
        "config_path": home.config_path(),
        "hermes_home": home.root(),
    });
    let obj = out.as_object_mut().expect("object");
    if let Some(mcp) = view.mcp_servers {
        obj.insert("mcp_servers".into(), mcp);
    }
    if let Some(e) = view.error {
        obj.insert("config_error".into(), json!(e));
    }
    Ok(Json(out))
}

/// `PATCH /api/config {model?, provider?, base_url?}` → `{ok, model, provider, base_url}`.
pub async fn patch(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let patch = parse_patch(&read_body(body)?)?;
    let home = state.hermes_home.clone();
    let after = hermes_files::blocking(move || {
        config_file::update(&home, |root| {
            config_file::apply_model_patch(root, &patch)?;
            Ok(ModelSettings::from_root(root))
        })
    })
    .await?;
    Ok(Json(json!({
        "ok": true,
        "model": after.model,
        "provider": after.provider,
        "base_url": after.base_url.map(|u| hermes_files::redact::mask_urls(&u)),
    })))
}

/// `POST /api/config {key:"a.b.c", value}` → `{updated, key, value}` (value redacted if secret).
pub async fn set_key(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let (key, value) = parse_set(&read_body(body)?)?;
    let segments: Vec<String> = config_file::parse_key(&key)?
        .into_iter()
        .map(str::to_string)
        .collect();
    let yaml = hermes_files::json_to_yaml(&value);
    let home = state.hermes_home.clone();
    hermes_files::blocking(move || {
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        config_file::update(&home, |root| config_file::set_path(root, &segs, yaml))
    })
    .await?;
    let segs: Vec<&str> = key.split('.').collect();
    Ok(Json(json!({
        "updated": true,
        "key": key,
        "value": redact_at(&segs, &value),
    })))
}

/// The request body, or a JSON 413/422 instead of axum's plain-text rejection.
fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::Invalid("could not read the request body".into())
        }
    })
}

fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ApiError::Invalid("body must be a JSON object".into())),
    }
}

fn refuse_unknown(m: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::Invalid(format!(
            "unknown field {k:?} (allowed: {})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn parse_patch(body: &[u8]) -> Result<ModelPatch, ApiError> {
    let m = object(body)?;
    refuse_unknown(&m, &["model", "provider", "base_url"])?;
    if m.is_empty() {
        return Err(ApiError::Invalid(
            "nothing to change: send model, provider and/or base_url".into(),
        ));
    }
    let name = |field: &str| -> Result<Option<String>, ApiError> {
        match m.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if plain_text(s, MAX_NAME) => Ok(Some(s.trim().to_string())),
            Some(_) => Err(ApiError::Invalid(format!(
                "{field} must be a non-empty string of at most {MAX_NAME} characters"
            ))),
        }
    };
    let base_url = match m.get("base_url") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.trim().is_empty() => Some(None),
        Some(Value::String(s)) if valid_url(s) => Some(Some(s.trim().to_string())),
        Some(_) => {
            return Err(ApiError::Invalid(
                "base_url must be an http(s) URL, \"\" or null (and not a redacted value)".into(),
            ))
        }
    };
    Ok(ModelPatch {
        model: name("model")?,
        provider: name("provider")?,
        base_url,
    })
}

fn parse_set(body: &[u8]) -> Result<(String, Value), ApiError> {
    let mut m = object(body)?;
    refuse_unknown(&m, &["key", "value"])?;
    let key = match m.remove("key") {
        Some(Value::String(k)) => k,
        _ => {
            return Err(ApiError::Invalid(
                "key must be a string like \"a.b.c\"".into(),
            ))
        }
    };
    let value = m
        .remove("value")
        .ok_or_else(|| ApiError::Invalid("value is required".into()))?;
    if config_file::contains_mask(&value) {
        return Err(HermesFileError::Invalid(format!(
            "value contains the redaction mask {MASK:?}; send the real value"
        ))
        .into());
    }
    Ok((key, value))
}

fn plain_text(s: &str, max: usize) -> bool {
    let t = s.trim();
    !t.is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control) && t != MASK
}

fn valid_url(s: &str) -> bool {
    let t = s.trim();
    (t.starts_with("http://") || t.starts_with("https://"))
        && t.len() <= MAX_URL
        && !t.contains(MASK)
        && !t.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_validation() {
        assert!(parse_patch(b"[]").is_err());
        assert!(parse_patch(b"{}").is_err());
        assert!(parse_patch(b"not json").is_err());
        assert!(parse_patch(br#"{"model":"x","api_key":"k"}"#).is_err());
        assert!(parse_patch(br#"{"model":""}"#).is_err());
        assert!(parse_patch(br#"{"model":5}"#).is_err());
        assert!(parse_patch(br#"{"model":"***"}"#).is_err());
        assert!(parse_patch(br#"{"base_url":"http://***@h/v1"}"#).is_err());
        assert!(parse_patch(br#"{"base_url":"ftp://h"}"#).is_err());
        let p = parse_patch(br#"{"model":" x ","provider":"p","base_url":null}"#).unwrap();
        assert_eq!(p.model.as_deref(), Some("x"));
        assert_eq!(p.provider.as_deref(), Some("p"));
        assert_eq!(p.base_url, Some(None));
    }

    #[test]
    fn set_validation() {
        assert!(parse_set(br#"{"key":"a"}"#).is_err());
        assert!(parse_set(br#"{"key":1,"value":1}"#).is_err());
        assert!(parse_set(br#"{"key":"a","value":1,"x":2}"#).is_err());
        assert!(parse_set(br#"{"key":"model.api_key","value":"***"}"#).is_err());
        assert!(parse_set(br#"{"key":"m","value":{"env":{"T":"***"}}}"#).is_err());
        let (k, v) = parse_set(br#"{"key":"a.b","value":null}"#).unwrap();
        assert_eq!((k.as_str(), v), ("a.b", Value::Null));
    }
}
