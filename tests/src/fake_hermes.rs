//! Starts the `fake-hermes` binary (this crate's fast fake Hermes gateway).

use crate::process::Proc;
use std::path::Path;
use std::process::Command;

pub struct FakeHermes {
    pub url: String,
    pub proc: Proc,
}

impl FakeHermes {
    /// `bin` is `env!("CARGO_BIN_EXE_fake-hermes")`; `args` e.g. `["--deltas", "5"]`.
    pub async fn start(bin: &Path, dir: &Path, args: &[&str]) -> anyhow::Result<FakeHermes> {
        let port = crate::free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &port.to_string()]).args(args);
        let proc = Proc::spawn(
            "fake-hermes",
            cmd,
            &dir.join(format!("fake-hermes-{port}.log")),
        )?;
        let url = format!("http://127.0.0.1:{port}");
        crate::wait_http(&format!("{url}/health"), 20).await?;
        Ok(FakeHermes { url, proc })
    }

    /// Messages whose streams the client abandoned, with the unix millis the fake noticed.
    pub async fn closed(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let v: serde_json::Value = reqwest::get(format!("{}/_fake/closed", self.url))
            .await?
            .json()
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }
}
