//! Starts the relay binary (`OPTX_RELAY_BIN`) against a given upstream and SpacetimeDB.

use crate::process::Proc;
use std::path::Path;
use std::process::Command;

pub struct Relay {
    pub url: String,
    pub port: u16,
    pub proc: Proc,
}

#[derive(Default, Clone)]
pub struct RelayOptions {
    pub hermes_url: String,
    pub hermes_api_key: Option<String>,
    pub api_key: Option<String>,
    pub spacetimedb_url: Option<String>,
    pub spacetimedb_token: Option<String>,
    pub hermes_home: Option<std::path::PathBuf>,
    /// Extra environment (e.g. short keep-alive or timeouts).
    pub env: Vec<(String, String)>,
}

impl Relay {
    pub async fn start(dir: &Path, o: &RelayOptions) -> anyhow::Result<Relay> {
        let bin = crate::env_path("OPTX_RELAY_BIN");
        let port = crate::free_port();
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("HERMES_AGENT_URL", &o.hermes_url)
            .env("OPTX_API_HOST", "127.0.0.1")
            .env("OPTX_API_PORT", port.to_string())
            .env("SPACETIMEDB_DB", "optx-cortex");
        let opt = |cmd: &mut Command, k: &str, v: &Option<String>| {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        };
        opt(&mut cmd, "HERMES_API_KEY", &o.hermes_api_key);
        opt(&mut cmd, "API_KEY", &o.api_key);
        opt(&mut cmd, "SPACETIMEDB_URL", &o.spacetimedb_url);
        opt(&mut cmd, "SPACETIMEDB_TOKEN", &o.spacetimedb_token);
        if let Some(h) = &o.hermes_home {
            cmd.env("HERMES_HOME", h);
        }
        for (k, v) in &o.env {
            cmd.env(k, v);
        }
        let proc = Proc::spawn("relay", cmd, &dir.join(format!("relay-{port}.log")))?;
        let url = format!("http://127.0.0.1:{port}");
        if let Err(e) = crate::wait_http(&format!("{url}/health"), 30).await {
            anyhow::bail!("{e}\n--- relay log ---\n{}", proc.tail(30));
        }
        Ok(Relay { url, port, proc })
    }
}
