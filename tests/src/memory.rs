//! A relay with one memory backend (`spacetimedb` with its own SpacetimeDB and module,
//! `holographic` on a temp HERMES_HOME, or `sqlite` on a temp file) and a small REST client for
//! `/api/memory*`, shared by the memory suite, the relevance scorer and the benchmark.

use crate::relay::{Relay, RelayOptions};
use crate::stdb::Spacetime;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const DB: &str = "optx-cortex";
pub const API_KEY: &str = "memory-test-key";
pub const BACKENDS: [&str; 3] = ["spacetimedb", "holographic", "sqlite"];

pub struct MemoryStack {
    pub backend: String,
    pub relay: Relay,
    pub stdb: Option<Spacetime>,
    pub hermes_home: PathBuf,
    pub http: reqwest::Client,
}

impl MemoryStack {
    /// Starts what `backend` needs and a relay using it (Hermes itself is not started; its URL
    /// points at a closed port unless `hermes` gives one).
    pub async fn start(
        dir: &Path,
        backend: &str,
        hermes: Option<(&str, &str, &Path)>,
    ) -> anyhow::Result<MemoryStack> {
        let hermes_home = match hermes {
            Some((_, _, home)) => home.to_path_buf(),
            None => dir.join(format!("hermes-home-{backend}")),
        };
        std::fs::create_dir_all(&hermes_home)?;
        let mut opts = RelayOptions {
            hermes_url: hermes
                .map(|h| h.0.to_string())
                .unwrap_or_else(|| format!("http://127.0.0.1:{}", crate::free_port())),
            hermes_api_key: hermes.map(|h| h.1.to_string()),
            api_key: Some(API_KEY.into()),
            hermes_home: Some(hermes_home.clone()),
            env: vec![("MEMORY_BACKEND".into(), backend.into())],
            ..Default::default()
        };
        let mut stdb = None;
        match backend {
            "spacetimedb" => {
                let s = Spacetime::start(dir).await?;
                s.publish(DB).await?;
                let ident = s.new_identity().await?;
                s.authorize(DB, &ident.identity, "relay").await?;
                opts.spacetimedb_url = Some(s.url.clone());
                opts.spacetimedb_token = Some(ident.token);
                stdb = Some(s);
            }
            "sqlite" => opts.env.push((
                "MEMORY_DB_URL".into(),
                format!("sqlite://{}", dir.join("memory-sqlite.db").display()),
            )),
            _ => {}
        }
        let relay = Relay::start(dir, &opts).await?;
        let stack = MemoryStack {
            backend: backend.into(),
            relay,
            stdb,
            hermes_home,
            http: reqwest::Client::new(),
        };
        if backend == "spacetimedb" {
            let ready = crate::eventually(30, || async {
                let s = stack.get("/api/memory/stats").await.ok()?;
                (s.0 == 200 && s.1["status"] == "ok").then_some(())
            })
            .await;
            anyhow::ensure!(ready.is_some(), "relay never subscribed to SpacetimeDB");
        }
        Ok(stack)
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.relay.url))
            .bearer_auth(API_KEY);
        if let Some(b) = body {
            r = r.json(b);
        }
        let resp = r.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, v))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Stores a memory, failing unless the relay answers 200; returns the memory.
    pub async fn store(&self, body: Value) -> anyhow::Result<Value> {
        let (s, v) = self.post("/api/memory", &body).await?;
        anyhow::ensure!(s == 200, "store {body} → {s} {v}");
        Ok(v["memory"].clone())
    }

    /// Search results (memories with `score`), failing unless 200.
    pub async fn search(&self, query: &str, limit: usize) -> anyhow::Result<Vec<Value>> {
        let (s, v) = self
            .post(
                "/api/memory/search",
                &json!({"query": query, "limit": limit}),
            )
            .await?;
        anyhow::ensure!(s == 200, "search {query:?} → {s} {v}");
        Ok(v["results"].as_array().cloned().unwrap_or_default())
    }
}
