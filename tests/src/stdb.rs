//! A private SpacetimeDB 1.2 server for one test: temp data dir and JWT keys, a free loopback
//! port, an owner identity, the module published over HTTP, and helpers for `/call` and `/sql`.

use crate::process::Proc;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Spacetime {
    pub url: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub owner_token: String,
    pub owner_identity: String,
    http: reqwest::Client,
    pub proc: Proc,
}

/// An identity minted by the server: hex (64 chars, no 0x) and its token.
#[derive(Clone, Debug)]
pub struct Ident {
    pub identity: String,
    pub token: String,
}

impl Spacetime {
    pub async fn start(dir: &Path) -> anyhow::Result<Spacetime> {
        let port = crate::free_port();
        let data_dir = dir.join("stdb-data");
        std::fs::create_dir_all(&data_dir)?;
        let proc = spawn_server(&data_dir, port, dir).await?;
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let owner = new_identity(&http, &url).await?;
        Ok(Spacetime {
            url,
            port,
            data_dir,
            owner_token: owner.token,
            owner_identity: owner.identity,
            http,
            proc,
        })
    }

    /// Stops the server (SIGTERM by pid) without touching its data.
    pub fn stop(&mut self) {
        self.proc.stop();
    }

    /// Starts the server again on the same port and data dir (after [`stop`](Self::stop)).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.proc.stop();
        let dir = self
            .data_dir
            .parent()
            .unwrap_or(&self.data_dir)
            .to_path_buf();
        self.proc = spawn_server(&self.data_dir, self.port, &dir).await?;
        Ok(())
    }

    /// Publishes the module wasm (`OPTX_MODULE_WASM`) as `db`, owned by the owner identity.
    pub async fn publish(&self, db: &str) -> anyhow::Result<()> {
        let wasm = std::fs::read(crate::env_path("OPTX_MODULE_WASM"))?;
        let r = self
            .http
            .put(format!("{}/v1/database/{db}", self.url))
            .bearer_auth(&self.owner_token)
            .body(wasm)
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        anyhow::ensure!(status.is_success(), "publish failed: {status} {text}");
        Ok(())
    }

    pub async fn new_identity(&self) -> anyhow::Result<Ident> {
        new_identity(&self.http, &self.url).await
    }

    /// Calls a reducer over HTTP; returns (status, body text).
    pub async fn call(
        &self,
        db: &str,
        token: &str,
        reducer: &str,
        args: Value,
    ) -> anyhow::Result<(u16, String)> {
        let r = self
            .http
            .post(format!("{}/v1/database/{db}/call/{reducer}", self.url))
            .bearer_auth(token)
            .json(&args)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.text().await?))
    }

    /// Like [`call`](Self::call) as the owner, failing unless the reducer committed.
    pub async fn call_ok(&self, db: &str, reducer: &str, args: Value) -> anyhow::Result<()> {
        let (status, body) = self.call(db, &self.owner_token, reducer, args).await?;
        anyhow::ensure!(status == 200, "{reducer} failed: {status} {body}");
        Ok(())
    }

    /// Like [`call`](Self::call) as `token`, failing unless the reducer committed.
    pub async fn call_as_ok(
        &self,
        db: &str,
        token: &str,
        reducer: &str,
        args: Value,
    ) -> anyhow::Result<()> {
        let (status, body) = self.call(db, token, reducer, args).await?;
        anyhow::ensure!(status == 200, "{reducer} failed: {status} {body}");
        Ok(())
    }

    /// Calls as `token` and fails unless the reducer returned `Err` (530) whose text starts with
    /// `prefix` (e.g. `"E_CONFLICT"`); returns the error text.
    pub async fn call_err(
        &self,
        db: &str,
        token: &str,
        reducer: &str,
        args: Value,
        prefix: &str,
    ) -> anyhow::Result<String> {
        let (status, body) = self.call(db, token, reducer, args.clone()).await?;
        anyhow::ensure!(
            status == 530 && body.starts_with(prefix),
            "{reducer}({args}) expected 530 {prefix}…, got {status} {body}"
        );
        Ok(body)
    }

    /// Grants `role` to `identity` (hex) as the owner.
    pub async fn authorize(&self, db: &str, identity: &str, role: &str) -> anyhow::Result<()> {
        let id = serde_json::json!({ "__identity__": format!("0x{identity}") });
        self.call_ok(db, "authorize", serde_json::json!([id, role]))
            .await
    }

    /// Runs one SQL statement as the owner; rows come back as objects keyed by column name.
    pub async fn sql(&self, db: &str, query: &str) -> anyhow::Result<Vec<Map<String, Value>>> {
        self.sql_as(db, &self.owner_token, query).await
    }

    pub async fn sql_as(
        &self,
        db: &str,
        token: &str,
        query: &str,
    ) -> anyhow::Result<Vec<Map<String, Value>>> {
        let r = self
            .http
            .post(format!("{}/v1/database/{db}/sql", self.url))
            .bearer_auth(token)
            .body(query.to_string())
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        anyhow::ensure!(status.is_success(), "sql failed: {status} {text}");
        rows_of(&serde_json::from_str(&text)?)
    }
}

async fn spawn_server(data_dir: &Path, port: u16, log_dir: &Path) -> anyhow::Result<Proc> {
    let bin = crate::env_path("OPTX_STDB_BIN_DIR").join("spacetimedb-standalone");
    let mut cmd = Command::new(bin);
    cmd.arg("start")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen-addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--jwt-pub-key-path")
        .arg(data_dir.join("id.pub"))
        .arg("--jwt-priv-key-path")
        .arg(data_dir.join("id"))
        .env("SPACETIMEDB_DISABLE_DISK_LOGGING", "1");
    let proc = Proc::spawn("spacetimedb", cmd, &log_dir.join("spacetimedb.log"))?;
    if let Err(e) = crate::wait_http(&format!("http://127.0.0.1:{port}/v1/ping"), 60).await {
        anyhow::bail!("{e}\n--- spacetimedb log ---\n{}", proc.tail(30));
    }
    Ok(proc)
}

async fn new_identity(http: &reqwest::Client, url: &str) -> anyhow::Result<Ident> {
    let v: Value = http
        .post(format!("{url}/v1/identity"))
        .send()
        .await?
        .json()
        .await?;
    Ok(Ident {
        identity: v["identity"].as_str().unwrap_or_default().to_string(),
        token: v["token"].as_str().unwrap_or_default().to_string(),
    })
}

/// Decodes the native `/sql` result (`[{schema:{elements:[{name:{some}}]}, rows:[[…]]}]`).
pub fn rows_of(v: &Value) -> anyhow::Result<Vec<Map<String, Value>>> {
    let stmt = v
        .get(0)
        .ok_or_else(|| anyhow::anyhow!("empty sql result"))?;
    let names: Vec<String> = stmt
        .pointer("/schema/elements")
        .and_then(Value::as_array)
        .map(|els| {
            els.iter()
                .map(|e| {
                    e.pointer("/name/some")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    let rows = stmt["rows"].as_array().cloned().unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|row| {
            names
                .iter()
                .cloned()
                .zip(row.as_array().cloned().unwrap_or_default())
                .collect()
        })
        .collect())
}
