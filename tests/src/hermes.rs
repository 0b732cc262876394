//! Starts the real Hermes Agent gateway (hermes-agent 0.17, from `OPTX_HERMES_BIN`) with a temp
//! HERMES_HOME whose config points the model at the fake LLM. Tests run inside a loopback-only
//! network namespace, so Hermes's start-up internet probes fail instantly and harmlessly.

use crate::process::Proc;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Hermes {
    pub url: String,
    pub key: String,
    pub home: PathBuf,
    pub port: u16,
    pub proc: Proc,
}

/// The config.yaml the tests (and `scripts/up --fake-llm`) give Hermes.
pub fn config_yaml(llm_url: &str) -> String {
    format!(
        "model:\n  provider: custom\n  base_url: {llm_url}/v1\n  default: fake-model\n  context_length: 128000\n\
         security:\n  allow_lazy_installs: false\n  tirith_enabled: false\n"
    )
}

/// [`config_yaml`] plus Hermes's holographic memory provider (`memory_store.db` in HERMES_HOME).
pub fn config_yaml_holographic(llm_url: &str) -> String {
    format!("{}memory:\n  provider: holographic\n", config_yaml(llm_url))
}

impl Hermes {
    pub async fn start(dir: &Path, llm_url: &str) -> anyhow::Result<Hermes> {
        let key = format!("test-key-{:016x}", rand::random::<u64>());
        Self::start_with_key(dir, llm_url, crate::free_port(), &key).await
    }

    /// Starts on a given port with a given API key (so a relay configured earlier fits it).
    pub async fn start_with_key(
        dir: &Path,
        llm_url: &str,
        port: u16,
        key: &str,
    ) -> anyhow::Result<Hermes> {
        Self::start_with_config(dir, &config_yaml(llm_url), port, key).await
    }

    /// Starts with a given `config.yaml` text (HERMES_HOME is `<dir>/hermes-home`).
    pub async fn start_with_config(
        dir: &Path,
        config: &str,
        port: u16,
        key: &str,
    ) -> anyhow::Result<Hermes> {
        let bin = crate::env_path("OPTX_HERMES_BIN");
        let home = dir.join("hermes-home");
        std::fs::create_dir_all(&home)?;
        std::fs::write(home.join("config.yaml"), config)?;
        let key = key.to_string();
        let mut cmd = Command::new(bin);
        cmd.args(["gateway", "run"])
            .env("HERMES_HOME", &home)
            .env("API_SERVER_ENABLED", "true")
            .env("API_SERVER_KEY", &key)
            .env("API_SERVER_HOST", "127.0.0.1")
            .env("API_SERVER_PORT", port.to_string())
            .env("NO_COLOR", "1");
        let proc = Proc::spawn("hermes", cmd, &dir.join(format!("hermes-{port}.log")))?;
        let url = format!("http://127.0.0.1:{port}");
        if let Err(e) = crate::wait_http(&format!("{url}/health"), 90).await {
            anyhow::bail!("{e}\n--- hermes log ---\n{}", proc.tail(40));
        }
        Ok(Hermes {
            url,
            key,
            home,
            port,
            proc,
        })
    }
}
