//! `ApiError`: every failure a route can return, mapped to an HTTP status and a JSON body here
//! and nowhere else. Module errors (`E_NOT_FOUND: …`) are classified by their stable prefix.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Invalid(String),
    #[error("invalid or missing API key")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InsufficientFunds(String),
    #[error("request body is larger than this route accepts")]
    PayloadTooLarge,
    #[error("{0}")]
    Upstream(String),
    #[error("upstream timed out")]
    UpstreamTimeout,
    #[error("too many concurrent streams; retry shortly")]
    TooManyStreams,
    #[error("SpacetimeDB is unavailable: {0}")]
    StoreUnavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// Classifies a reducer's `Err` text by its `E_*` prefix.
    pub fn from_module(message: &str) -> ApiError {
        let (code, rest) = message.split_once(": ").unwrap_or(("", message));
        let rest = rest.to_string();
        match code {
            "E_INVALID" => ApiError::Invalid(rest),
            "E_NOT_FOUND" => ApiError::NotFound(rest),
            "E_CONFLICT" => ApiError::Conflict(rest),
            "E_FORBIDDEN" => ApiError::Forbidden(rest),
            "E_INSUFFICIENT_FUNDS" => ApiError::InsufficientFunds(rest),
            _ => ApiError::Internal(message.to_string()),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::InsufficientFunds(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            ApiError::TooManyStreams => StatusCode::TOO_MANY_REQUESTS,
            ApiError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "invalid_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::InsufficientFunds(_) => "insufficient_funds",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::Upstream(_) => "upstream_error",
            ApiError::UpstreamTimeout => "upstream_timeout",
            ApiError::TooManyStreams => "too_many_streams",
            ApiError::StoreUnavailable(_) => "store_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl From<crate::upstream::chat::UpstreamError> for ApiError {
    fn from(e: crate::upstream::chat::UpstreamError) -> Self {
        use crate::upstream::chat::UpstreamError as U;
        match e {
            U::Status {
                status: 404,
                message,
            } => ApiError::NotFound(message),
            U::Status {
                status: 409,
                message,
            } => ApiError::Conflict(message),
            U::Status {
                status: 400 | 422,
                message,
            } => ApiError::Invalid(message),
            U::Status {
                status: 401 | 403, ..
            } => ApiError::Upstream(
                "the Hermes gateway refused the relay's credentials (check HERMES_API_KEY)".into(),
            ),
            U::Timeout => ApiError::UpstreamTimeout,
            other => ApiError::Upstream(other.to_string()),
        }
    }
}

impl From<crate::hermes_files::HermesFileError> for ApiError {
    fn from(e: crate::hermes_files::HermesFileError) -> Self {
        use crate::hermes_files::HermesFileError as F;
        match e {
            F::NotFound(m) => ApiError::NotFound(m),
            F::Invalid(m) => ApiError::Invalid(m),
            F::Conflict(m) => ApiError::Conflict(m),
            F::Io(m) => ApiError::Internal(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.to_string();
        let body = json!({
            "error": { "code": self.code(), "message": message },
            "detail": message,
        });
        let mut resp = (status, Json(body)).into_response();
        if matches!(
            self,
            ApiError::TooManyStreams | ApiError::StoreUnavailable(_)
        ) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if matches!(self, ApiError::Unauthorized) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"hermes-optx-api\""),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_prefixes_map_to_statuses() {
        assert_eq!(
            ApiError::from_module("E_NOT_FOUND: task t1").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ApiError::from_module("E_CONFLICT: x").status(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            ApiError::from_module("E_FORBIDDEN: x").status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            ApiError::from_module("E_INVALID: x").status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            ApiError::from_module("E_INSUFFICIENT_FUNDS: x").status(),
            StatusCode::PAYMENT_REQUIRED
        );
        assert_eq!(
            ApiError::from_module("The Wasm instance encountered a fatal error.").status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            ApiError::from_module("E_NOT_FOUND: task t1").to_string(),
            "task t1"
        );
    }

    #[test]
    fn unauthorized_carries_www_authenticate() {
        let r = ApiError::Unauthorized.into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
