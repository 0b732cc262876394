//! The full stack for end-to-end tests: SpacetimeDB with the module published and a relay
//! identity authorized, the fake LLM, real Hermes 0.17, and the relay pointed at all of them.

use crate::fake_llm::FakeLlm;
use crate::hermes::Hermes;
use crate::relay::{Relay, RelayOptions};
use crate::sse::{read_all, Transcript};
use crate::stdb::Spacetime;
use serde_json::Value;
use std::path::Path;

pub const DB: &str = "optx-cortex";

pub struct Stack {
    pub relay: Relay,
    pub stdb: Spacetime,
    pub llm: FakeLlm,
    pub hermes: Option<Hermes>,
    pub api_key: String,
    pub http: reqwest::Client,
}

impl Stack {
    /// Starts everything; with `start_hermes = false` the relay points at `hermes_port` where
    /// nothing listens yet (start Hermes later with [`Hermes::start_with_key`] and `hermes_key`).
    pub async fn start(
        dir: &Path,
        fake_llm_bin: &Path,
        start_hermes: bool,
        hermes_port: u16,
        hermes_key: &str,
    ) -> anyhow::Result<Stack> {
        let stdb = Spacetime::start(dir).await?;
        stdb.publish(DB).await?;
        let relay_ident = stdb.new_identity().await?;
        stdb.authorize(DB, &relay_ident.identity, "relay").await?;
        let llm = FakeLlm::start(fake_llm_bin, dir).await?;
        let hermes = if start_hermes {
            Some(Hermes::start_with_key(dir, &llm.url, hermes_port, hermes_key).await?)
        } else {
            None
        };
        let api_key = format!("relay-key-{:08x}", rand::random::<u32>());
        let opts = RelayOptions {
            hermes_url: format!("http://127.0.0.1:{hermes_port}"),
            hermes_api_key: Some(hermes_key.to_string()),
            api_key: Some(api_key.clone()),
            spacetimedb_url: Some(stdb.url.clone()),
            spacetimedb_token: Some(relay_ident.token.clone()),
            env: vec![("OPTX_PROBE_INTERVAL_SECS".into(), "1".into())],
            ..Default::default()
        };
        let relay = Relay::start(dir, &opts).await?;
        Ok(Stack {
            relay,
            stdb,
            llm,
            hermes,
            api_key,
            http: reqwest::Client::new(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.relay.url)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .get(self.url(path))
            .bearer_auth(&self.api_key)
            .send()
            .await?)
    }

    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self.get(path).await?.json().await?)
    }

    /// Sends JSON with the relay key; returns (status, body as JSON or Null).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.api_key)
            .json(body)
            .send()
            .await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub async fn status(&self) -> anyhow::Result<Value> {
        self.get_json("/api/gateway-status").await
    }

    /// A chat stream; `path` is e.g. `/api/sessions/new/chat/stream?events=optx`.
    pub async fn chat(&self, path: &str, body: Value) -> anyhow::Result<Transcript> {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "chat status {}", resp.status());
        anyhow::ensure!(
            resp.headers()["content-type"] == "text/event-stream",
            "content type"
        );
        anyhow::ensure!(resp.headers()["cache-control"] == "no-cache");
        anyhow::ensure!(resp.headers()["x-accel-buffering"] == "no");
        read_all(resp, 120).await
    }
}
