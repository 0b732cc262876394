//! Relay configuration: one struct built by clap from flags and environment variables.
//!
//! Names follow the Python bridge (`HERMES_AGENT_URL`, `OPTX_API_HOST`, `OPTX_API_PORT`, `API_KEY`,
//! …). Secrets are kept out of `Debug` output. Nothing else in the relay reads the environment.

use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Clone)]
#[command(
    name = "hermes-optx-api",
    version,
    about = "Relay beside the Hermes Agent gateway"
)]
pub struct Config {
    /// Base URL of the Hermes Agent gateway.
    #[arg(
        long,
        env = "HERMES_AGENT_URL",
        default_value = "http://127.0.0.1:8642"
    )]
    pub hermes_url: String,

    /// Address to listen on.
    #[arg(long, env = "OPTX_API_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on.
    #[arg(long, env = "OPTX_API_PORT", default_value_t = 8643)]
    pub port: u16,

    /// Hermes home directory (config.yaml, .env, skills, memory_store.db); default `~/.hermes`.
    #[arg(long, env = "HERMES_HOME")]
    pub hermes_home: Option<PathBuf>,

    /// Memory backend: spacetimedb | holographic | sqlite | auto.
    #[arg(long, env = "MEMORY_BACKEND", default_value = "auto")]
    pub memory_backend: String,

    /// Database of the `sqlite` memory backend: `sqlite:///abs/path.db` (or a plain path).
    /// Unset = `<HERMES_HOME>/optx_memory.db`.
    #[arg(long, env = "MEMORY_DB_URL")]
    pub memory_db_url: Option<String>,

    /// Home directory used when HERMES_HOME is unset (`<HOME>/.hermes`, as Hermes does).
    #[arg(long, env = "HOME", hide = true)]
    pub home: Option<PathBuf>,

    /// Bearer key clients must send (all routes but /health and /api/gateway-status). Unset = open.
    #[arg(long, env = "API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Bearer key sent to the Hermes gateway (its API_SERVER_KEY; required since Hermes 0.15).
    #[arg(long, env = "HERMES_API_KEY", hide_env_values = true)]
    pub hermes_api_key: Option<String>,

    /// SpacetimeDB server URL; unset = run without the module (chat still works).
    #[arg(long, env = "SPACETIMEDB_URL")]
    pub spacetimedb_url: Option<String>,

    /// Database name of the module.
    #[arg(long, env = "SPACETIMEDB_DB", default_value = "optx-cortex")]
    pub spacetimedb_db: String,

    /// Token of the relay's SpacetimeDB identity (authorized with role `relay`).
    #[arg(long, env = "SPACETIMEDB_TOKEN", hide_env_values = true)]
    pub spacetimedb_token: Option<String>,

    /// Seconds without a byte from the upstream before a stream is failed.
    #[arg(long, env = "OPTX_UPSTREAM_TIMEOUT_SECS", default_value_t = 120)]
    pub upstream_timeout_secs: u64,

    /// Seconds between upstream health checks (re-probe on change).
    #[arg(long, env = "OPTX_PROBE_INTERVAL_SECS", default_value_t = 10)]
    pub probe_interval_secs: u64,

    /// Most chat streams open at once; more get 429.
    #[arg(long, env = "OPTX_MAX_STREAMS", default_value_t = 1024)]
    pub max_streams: usize,

    /// Seconds between SSE keep-alive comments.
    #[arg(long, env = "OPTX_KEEPALIVE_SECS", default_value_t = 15)]
    pub keepalive_secs: u64,
}

impl Config {
    pub fn hermes_url(&self) -> &str {
        self.hermes_url.trim_end_matches('/')
    }
    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_secs(self.upstream_timeout_secs.max(1))
    }
    pub fn probe_interval(&self) -> Duration {
        Duration::from_secs(self.probe_interval_secs.max(1))
    }
    pub fn keepalive(&self) -> Duration {
        Duration::from_secs(self.keepalive_secs.max(1))
    }
    /// The memory backend actually used once `auto` is resolved.
    pub fn effective_memory_backend(&self) -> &str {
        match self.memory_backend.as_str() {
            "auto" if self.spacetimedb_url.is_some() => "spacetimedb",
            "auto" => "holographic",
            other => other,
        }
    }
}

impl Config {
    /// HERMES_HOME (a leading `~` expanded), else `~/.hermes` (Hermes's own default), else
    /// `.hermes`.
    pub fn hermes_home_dir(&self) -> PathBuf {
        let home = self.home.clone().unwrap_or_default();
        match &self.hermes_home {
            Some(h) if !h.as_os_str().is_empty() => match h.strip_prefix("~") {
                Ok(rest) => home.join(rest),
                Err(_) => h.clone(),
            },
            _ if self.home.is_some() => home.join(".hermes"),
            _ => PathBuf::from(".hermes"),
        }
    }

    /// Hermes's holographic fact store (`$HERMES_HOME/memory_store.db`).
    pub fn holographic_db_path(&self) -> PathBuf {
        self.hermes_home_dir().join("memory_store.db")
    }

    /// The `sqlite` backend's file from MEMORY_DB_URL (`sqlite:///p`, `sqlite://p` or a path).
    pub fn sqlite_memory_path(&self) -> anyhow::Result<PathBuf> {
        let Some(url) = self.memory_db_url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(self.hermes_home_dir().join("optx_memory.db"));
        };
        let path = if let Some(rest) = url.strip_prefix("sqlite://") {
            rest
        } else if url.contains("://") {
            anyhow::bail!("MEMORY_DB_URL must be sqlite:///path for the sqlite backend");
        } else {
            url
        };
        anyhow::ensure!(!path.is_empty(), "MEMORY_DB_URL has no path");
        Ok(PathBuf::from(path))
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| match o {
            Some(v) if !v.is_empty() => "<set>",
            _ => "<unset>",
        };
        f.debug_struct("Config")
            .field("hermes_url", &self.hermes_url)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("hermes_home", &self.hermes_home)
            .field("memory_backend", &self.memory_backend)
            .field("memory_db_url", &self.memory_db_url)
            .field("api_key", &set(&self.api_key))
            .field("hermes_api_key", &set(&self.hermes_api_key))
            .field("spacetimedb_url", &self.spacetimedb_url)
            .field("spacetimedb_db", &self.spacetimedb_db)
            .field("spacetimedb_token", &set(&self.spacetimedb_token))
            .field("upstream_timeout_secs", &self.upstream_timeout_secs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_secrets() {
        let c = Config::parse_from([
            "x",
            "--api-key",
            "sekret-1",
            "--hermes-api-key",
            "sekret-2",
            "--spacetimedb-token",
            "sekret-3",
        ]);
        let s = format!("{c:?}");
        assert!(!s.contains("sekret"), "{s}");
        assert!(s.contains("<set>"));
    }

    #[test]
    fn hermes_home_expands_tilde_and_defaults() {
        let c = Config::parse_from(["x", "--hermes-home", "/srv/hermes"]);
        assert_eq!(c.hermes_home_dir(), PathBuf::from("/srv/hermes"));
        let c = Config::parse_from(["x", "--hermes-home", "~/h"]);
        assert!(c.hermes_home_dir().ends_with("h"));
        assert!(!c.hermes_home_dir().starts_with("~"));
        let mut c = Config::parse_from(["x"]);
        c.hermes_home = None;
        assert!(c.hermes_home_dir().ends_with(".hermes"));
    }

    #[test]
    fn auto_backend_follows_spacetimedb() {
        let c = Config::parse_from(["x"]);
        assert_eq!(c.effective_memory_backend(), "holographic");
        let c = Config::parse_from(["x", "--spacetimedb-url", "http://127.0.0.1:3000"]);
        assert_eq!(c.effective_memory_backend(), "spacetimedb");
    }

    #[test]
    fn memory_paths() {
        let c = Config::parse_from([
            "x",
            "--hermes-home",
            "/h",
            "--memory-db-url",
            "sqlite:///d/m.db",
        ]);
        assert_eq!(c.sqlite_memory_path().unwrap(), PathBuf::from("/d/m.db"));
        assert_eq!(c.holographic_db_path(), PathBuf::from("/h/memory_store.db"));
        let c = Config::parse_from(["x", "--hermes-home", "/h"]);
        assert_eq!(
            c.sqlite_memory_path().unwrap(),
            PathBuf::from("/h/optx_memory.db")
        );
        let c = Config::parse_from(["x", "--memory-db-url", "postgres://x"]);
        assert!(c.sqlite_memory_path().is_err());
    }
}
