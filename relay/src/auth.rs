//! Client authentication: `Authorization: Bearer <API_KEY>` (scheme case-insensitive, compared
//! in constant time). Open when no `API_KEY` is configured. Failures are 401 with
//! `WWW-Authenticate`, never 403/404.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// The bearer token of a request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn key_matches(presented: Option<&str>, expected: &str) -> bool {
    match presented {
        Some(p) => bool::from(p.as_bytes().ct_eq(expected.as_bytes())),
        None => false,
    }
}

pub async fn require_api_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(expected) = state.config.api_key.as_deref().filter(|k| !k.is_empty()) {
        if !key_matches(bearer(req.headers()), expected) {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer k1"));
        assert_eq!(bearer(&h), Some("k1"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic k1"));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn keys_compare_exactly() {
        assert!(key_matches(Some("k1"), "k1"));
        assert!(!key_matches(Some("k2"), "k1"));
        assert!(!key_matches(Some("k1x"), "k1"));
        assert!(!key_matches(None, "k1"));
    }
}
