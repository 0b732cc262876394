//! Starts the `fake-llm` binary (this crate's own fake OpenAI-compatible server).

use crate::process::Proc;
use std::path::Path;
use std::process::Command;

pub struct FakeLlm {
    pub url: String,
    pub proc: Proc,
}

impl FakeLlm {
    /// `bin` is the fake-llm executable (`env!("CARGO_BIN_EXE_fake-llm")` in tests).
    pub async fn start(bin: &Path, dir: &Path) -> anyhow::Result<FakeLlm> {
        let port = crate::free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &port.to_string()]);
        let proc = Proc::spawn("fake-llm", cmd, &dir.join("fake-llm.log"))?;
        let url = format!("http://127.0.0.1:{port}");
        crate::wait_http(&format!("{url}/v1/models"), 20).await?;
        Ok(FakeLlm { url, proc })
    }

    /// Every request the fake has received, oldest first.
    pub async fn requests(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let v: serde_json::Value = reqwest::get(format!("{}/_fake/requests", self.url))
            .await?
            .json()
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }
}
