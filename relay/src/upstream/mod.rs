//! The only code that talks to the Hermes gateway: an HTTP client with the upstream bearer,
//! the capability probe, the chat-turn streams and the SSE parser they share.

pub mod chat;
pub mod probe;
pub mod sessions;
pub mod sse;

use reqwest::{Method, RequestBuilder};
use std::time::Duration;

/// HTTP access to the gateway. Always sends the configured bearer, never an `Origin`.
#[derive(Clone)]
pub struct Upstream {
    http: reqwest::Client,
    base: String,
    bearer: Option<String>,
}

impl Upstream {
    pub fn new(base: &str, bearer: Option<String>, read_timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(read_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            bearer: bearer.filter(|b| !b.is_empty()),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn bearer(&self) -> Option<&str> {
        self.bearer.as_deref()
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    /// A request to `path` with the upstream bearer attached.
    pub fn request(&self, method: Method, path_and_query: &str) -> RequestBuilder {
        let rb = self.http.request(method, self.url(path_and_query));
        match &self.bearer {
            Some(b) => rb.bearer_auth(b),
            None => rb,
        }
    }

    /// A request without any auth header (for the open health routes and the passthrough,
    /// which sets its own).
    pub fn raw(&self, method: Method, path_and_query: &str) -> RequestBuilder {
        self.http.request(method, self.url(path_and_query))
    }
}

/// `error.message` of an OpenAI-style error body, else the body text (shortened).
pub fn error_message(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .or_else(|| v.get("detail"))
                .and_then(|m| m.as_str().map(str::to_string))
        });
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    text.chars().take(300).collect()
}
