//! Files under HERMES_HOME that the relay reads and writes itself (skills, config.yaml, .env).
//! Only this module touches those paths; routes get typed values and `HermesFileError`s back.

pub mod atomic;
pub mod config_file;
pub mod dotenv;
pub mod front_matter;
pub mod redact;
pub mod skills;

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What can go wrong with a HERMES_HOME file; `ApiError` maps it to a status.
#[derive(Debug, thiserror::Error)]
pub enum HermesFileError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// Message already names the file, never an absolute path or file content.
    #[error("{0}")]
    Io(String),
}

/// The HERMES_HOME folder and the lock that serializes every config.yaml write.
#[derive(Clone)]
pub struct HermesHome {
    root: PathBuf,
    config_lock: Arc<Mutex<()>>,
}

impl HermesHome {
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            config_lock: Arc::new(Mutex::new(())),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn skills_dir(&self) -> PathBuf {
        self.root.join("skills")
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.yaml")
    }

    pub fn env_path(&self) -> PathBuf {
        self.root.join(".env")
    }

    /// Held for the whole read-modify-write of config.yaml (blocking; call from blocking code).
    pub(crate) fn lock_config(&self) -> std::sync::MutexGuard<'_, ()> {
        self.config_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Runs blocking file work off the async runtime.
pub async fn blocking<T, F>(f: F) -> Result<T, HermesFileError>
where
    F: FnOnce() -> Result<T, HermesFileError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| HermesFileError::Io(format!("file task failed: {e}")))?
}

/// YAML → JSON that never fails: non-string scalar keys become strings, complex keys are
/// dropped, tags are unwrapped, non-finite floats become null.
pub fn yaml_to_json(v: &Yaml) -> Json {
    match v {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Json::Number)
                    .unwrap_or(Json::Null)
            }
        }
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Mapping(m) => Json::Object(
            m.iter()
                .filter_map(|(k, v)| Some((scalar_key(k)?, yaml_to_json(v))))
                .collect(),
        ),
        Yaml::Tagged(t) => yaml_to_json(&t.value),
    }
}

/// JSON → YAML by hand: `serde_yaml::to_value` cannot be used on JSON numbers because
/// serde_json's `arbitrary_precision` (enabled by a SpacetimeDB dependency) serializes them as a
/// private `{"$serde_json::private::Number": …}` map.
pub fn json_to_yaml(v: &Json) -> Yaml {
    match v {
        Json::Null => Yaml::Null,
        Json::Bool(b) => Yaml::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Yaml::from(i)
            } else if let Some(u) = n.as_u64() {
                Yaml::from(u)
            } else if let Some(f) = n.as_f64() {
                Yaml::from(f)
            } else {
                Yaml::String(n.to_string())
            }
        }
        Json::String(s) => Yaml::String(s.clone()),
        Json::Array(items) => Yaml::Sequence(items.iter().map(json_to_yaml).collect()),
        Json::Object(m) => Yaml::Mapping(
            m.iter()
                .map(|(k, v)| (Yaml::String(k.clone()), json_to_yaml(v)))
                .collect(),
        ),
    }
}

/// A mapping key as text, if it is a scalar.
pub fn scalar_key(k: &Yaml) -> Option<String> {
    match k {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Bool(b) => Some(b.to_string()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Null => Some("null".into()),
        Yaml::Tagged(t) => scalar_key(&t.value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_to_json_tolerates_odd_keys_and_values() {
        let y: Yaml = serde_yaml::from_str(
            "1: one\ntrue: yes\n? [a, b]\n: skipped\nf: .nan\nt: !custom 5\nn: ~\n",
        )
        .unwrap();
        let j = yaml_to_json(&y);
        assert_eq!(j["1"], "one");
        assert_eq!(j["true"], "yes");
        assert_eq!(j["f"], Json::Null);
        assert_eq!(j["t"], 5);
        assert_eq!(j["n"], Json::Null);
        assert_eq!(j.as_object().unwrap().len(), 5);
    }

    #[test]
    fn json_to_yaml_keeps_numbers_plain() {
        let j: Json = serde_json::from_str(
            r#"{"i":7,"f":1.5,"u":18446744073709551615,"n":null,"a":[true,"s"]}"#,
        )
        .unwrap();
        let text = serde_yaml::to_string(&json_to_yaml(&j)).unwrap();
        assert!(!text.contains("serde_json"), "{text}");
        let back: Yaml = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back["i"], 7);
        assert_eq!(back["f"], 1.5);
        assert_eq!(back["u"], 18446744073709551615u64);
        assert!(back["n"].is_null());
        assert_eq!(back["a"][1], "s");
        assert_eq!(yaml_to_json(&back), j);
    }
}
