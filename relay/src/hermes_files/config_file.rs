//! HERMES_HOME/config.yaml: a redacted read view, the `model.*` settings, and serialized atomic
//! writes (model patch, dot-path set) that keep every other key and the key order.
//!
//! Comments and YAML anchors/aliases in config.yaml are NOT preserved by a write: serde_yaml
//! parses to a plain value tree and re-emits it (aliases expanded, quoting normalized). Reads
//! never change the file; a config.yaml that does not parse is shown as an error and never
//! overwritten.

use super::atomic::write_atomic;
use super::redact::{mask_urls, redact, MASK};
use super::{dotenv, yaml_to_json, HermesFileError, HermesHome};
use serde_json::Value as Json;
use serde_yaml::{Mapping, Value as Yaml};
use std::collections::BTreeMap;

/// Longest dot path and deepest nesting accepted by `set_path`.
const MAX_KEY_LEN: usize = 256;
const MAX_SEGMENTS: usize = 16;

/// The main-model settings Hermes reads from `model:` (`default`, alias `model`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelSettings {
    pub model: String,
    pub provider: String,
    pub base_url: Option<String>,
    pub api_mode: Option<String>,
    /// Whether `model.api_key` is set (its value is never exposed).
    pub has_api_key: bool,
}

impl ModelSettings {
    pub fn from_root(root: &Yaml) -> ModelSettings {
        let s = |v: Option<&Yaml>| {
            v.and_then(Yaml::as_str)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        };
        let m = root.get("model");
        let model = match m {
            Some(Yaml::String(name)) => name.trim().to_string(),
            Some(map) => s(map.get("default"))
                .or_else(|| s(map.get("model")))
                .or_else(|| s(map.get("name")))
                .unwrap_or_default(),
            None => String::new(),
        };
        let field = |k: &str| s(m.and_then(|m| m.get(k)));
        ModelSettings {
            model,
            provider: field("provider").unwrap_or_else(|| "auto".into()),
            base_url: field("base_url"),
            api_mode: field("api_mode"),
            has_api_key: field("api_key").is_some(),
        }
    }
}

/// Everything `GET /api/config` shows, secrets already redacted.
#[derive(Debug)]
pub struct ConfigView {
    pub settings: ModelSettings,
    pub config: Json,
    pub env: Json,
    pub mcp_servers: Option<Json>,
    /// Why config.yaml could not be read (its content is then shown as `{}`).
    pub error: Option<String>,
}

/// Reads config.yaml and .env and redacts them. A missing file is empty, not an error.
pub fn read_view(home: &HermesHome) -> ConfigView {
    let (root, error) = match read_root(home) {
        Ok(root) => (root, None),
        Err(e) => (Yaml::Mapping(Mapping::new()), Some(e.to_string())),
    };
    let mut settings = ModelSettings::from_root(&root);
    settings.base_url = settings.base_url.map(|u| mask_urls(&u));
    let config = redact(&yaml_to_json(&root));
    let mcp_servers = config.get("mcp_servers").cloned();
    let env = redact(&Json::Object(
        read_env(home)
            .into_iter()
            .map(|(k, v)| (k, Json::String(v)))
            .collect(),
    ));
    ConfigView {
        settings,
        config,
        env,
        mcp_servers,
        error,
    }
}

/// The current model settings (for `/api/available-models`); unreadable config gives defaults.
pub fn read_settings(home: &HermesHome) -> ModelSettings {
    read_root(home)
        .map(|r| ModelSettings::from_root(&r))
        .unwrap_or_else(|_| ModelSettings::from_root(&Yaml::Null))
}

/// HERMES_HOME/.env, unredacted (callers redact or only look at key names). Missing = empty.
pub fn read_env(home: &HermesHome) -> BTreeMap<String, String> {
    std::fs::read_to_string(home.env_path())
        .map(|t| dotenv::parse(&t))
        .unwrap_or_default()
}

/// The parsed config.yaml (an empty mapping when the file is missing or empty).
fn read_root(home: &HermesHome) -> Result<Yaml, HermesFileError> {
    let text = match std::fs::read_to_string(home.config_path()) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Yaml::Mapping(Mapping::new()))
        }
        Err(e) => return Err(HermesFileError::Io(format!("cannot read config.yaml: {e}"))),
    };
    match serde_yaml::from_str::<Yaml>(&text) {
        Ok(Yaml::Null) => Ok(Yaml::Mapping(Mapping::new())),
        Ok(root @ Yaml::Mapping(_)) => Ok(root),
        Ok(_) => Err(HermesFileError::Conflict(
            "config.yaml is not a mapping at the top level; fix it by hand".into(),
        )),
        // The location only: serde_yaml messages could quote file content.
        Err(e) => Err(HermesFileError::Conflict(match e.location() {
            Some(l) => format!(
                "config.yaml is not valid YAML (line {}, column {}); fix it by hand",
                l.line(),
                l.column()
            ),
            None => "config.yaml is not valid YAML; fix it by hand".into(),
        })),
    }
}

/// Read-modify-write of config.yaml under the config lock, written atomically. Nothing is
/// written when `change` fails.
pub fn update<T>(
    home: &HermesHome,
    change: impl FnOnce(&mut Yaml) -> Result<T, HermesFileError>,
) -> Result<T, HermesFileError> {
    let _guard = home.lock_config();
    let mut root = read_root(home)?;
    let out = change(&mut root)?;
    let text = serde_yaml::to_string(&root)
        .map_err(|e| HermesFileError::Io(format!("cannot encode config.yaml: {e}")))?;
    write_atomic(&home.config_path(), text.as_bytes())
        .map_err(|e| HermesFileError::Io(format!("cannot write config.yaml: {e}")))?;
    Ok(out)
}

/// A `PATCH /api/config` change. `base_url: Some(None)` removes the key.
#[derive(Debug, Default)]
pub struct ModelPatch {
    pub model: Option<String>,
    pub provider: Option<String>,
    pub base_url: Option<Option<String>>,
}

/// Writes `model.default` (or the existing `model.model` alias), `model.provider`, `model.base_url`.
/// A legacy `model: <name>` string becomes `model: {default: <name>}` first.
pub fn apply_model_patch(root: &mut Yaml, patch: &ModelPatch) -> Result<(), HermesFileError> {
    let top = as_mapping(root)?;
    let model_key = Yaml::from("model");
    let entry = top
        .entry(model_key)
        .or_insert_with(|| Yaml::Mapping(Mapping::new()));
    match entry {
        Yaml::Mapping(_) => {}
        Yaml::Null => *entry = Yaml::Mapping(Mapping::new()),
        Yaml::String(name) => {
            let mut m = Mapping::new();
            m.insert("default".into(), Yaml::String(name.clone()));
            *entry = Yaml::Mapping(m);
        }
        _ => {
            return Err(HermesFileError::Conflict(
                "config.yaml `model` is neither a mapping nor a model name".into(),
            ))
        }
    }
    let m = entry.as_mapping_mut().expect("mapping");
    if let Some(name) = &patch.model {
        let key = if !m.contains_key("default") && m.contains_key("model") {
            "model"
        } else {
            "default"
        };
        m.insert(key.into(), Yaml::String(name.clone()));
    }
    if let Some(p) = &patch.provider {
        m.insert("provider".into(), Yaml::String(p.clone()));
    }
    match &patch.base_url {
        Some(Some(u)) => {
            m.insert("base_url".into(), Yaml::String(u.clone()));
        }
        Some(None) => {
            m.remove("base_url");
        }
        None => {}
    }
    Ok(())
}

/// Checks a dot path (`a.b.c`) and returns its segments.
pub fn parse_key(key: &str) -> Result<Vec<&str>, HermesFileError> {
    let invalid = |why: &str| HermesFileError::Invalid(format!("invalid key: {why}"));
    if key.trim().is_empty() {
        return Err(invalid("empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(invalid("too long"));
    }
    let segments: Vec<&str> = key.split('.').collect();
    if segments.len() > MAX_SEGMENTS {
        return Err(invalid("too deep"));
    }
    if segments
        .iter()
        .any(|s| s.trim().is_empty() || s.chars().any(char::is_control))
    {
        return Err(invalid("empty segment or control character"));
    }
    Ok(segments)
}

/// Whether a value carries the redaction mask anywhere (writing it back would destroy a secret).
pub fn contains_mask(v: &Json) -> bool {
    match v {
        Json::String(s) => s == MASK,
        Json::Array(items) => items.iter().any(contains_mask),
        Json::Object(m) => m.values().any(contains_mask),
        _ => false,
    }
}

/// Sets `segments` to `value`, creating missing (or null) intermediate mappings. An existing
/// intermediate that holds data but is not a mapping is refused, never replaced.
pub fn set_path(root: &mut Yaml, segments: &[&str], value: Yaml) -> Result<(), HermesFileError> {
    let (last, parents) = segments
        .split_last()
        .ok_or_else(|| HermesFileError::Invalid("invalid key: empty".into()))?;
    let mut node = as_mapping(root)?;
    for (depth, seg) in parents.iter().enumerate() {
        let child = node
            .entry(Yaml::from(*seg))
            .or_insert_with(|| Yaml::Mapping(Mapping::new()));
        if child.is_null() {
            *child = Yaml::Mapping(Mapping::new());
        }
        node = child.as_mapping_mut().ok_or_else(|| {
            HermesFileError::Conflict(format!(
                "`{}` is not a mapping; refusing to replace it",
                segments[..=depth].join(".")
            ))
        })?;
    }
    node.insert(Yaml::from(*last), value);
    Ok(())
}

fn as_mapping(root: &mut Yaml) -> Result<&mut Mapping, HermesFileError> {
    if root.is_null() {
        *root = Yaml::Mapping(Mapping::new());
    }
    root.as_mapping_mut().ok_or_else(|| {
        HermesFileError::Conflict("config.yaml is not a mapping at the top level".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    const CONFIG: &str = "# a comment\nmodel:\n  default: fake-model\n  provider: custom\n  base_url: http://u:p@127.0.0.1:18080/v1\n  api_key: sk-secret-value-123\nagent:\n  max_turns: 30\nmcp_servers:\n  gh:\n    command: npx\n    env:\n      GITHUB_TOKEN: ghp_abcdefghijklmnop\n";

    fn home(config: Option<&str>) -> (tempfile::TempDir, HermesHome) {
        let t = tempfile::tempdir().unwrap();
        if let Some(c) = config {
            fs::write(t.path().join("config.yaml"), c).unwrap();
        }
        fs::write(
            t.path().join(".env"),
            "OPENAI_API_KEY=sk-abcdefghijklmnop\nSHORT_TOKEN=abc\nPLAIN=value\n",
        )
        .unwrap();
        let h = HermesHome::new(t.path().to_path_buf());
        (t, h)
    }

    fn reread(h: &HermesHome) -> Yaml {
        serde_yaml::from_str(&fs::read_to_string(h.config_path()).unwrap()).unwrap()
    }

    #[test]
    fn view_is_redacted() {
        let (_t, h) = home(Some(CONFIG));
        let v = read_view(&h);
        assert!(v.error.is_none());
        assert_eq!(v.settings.model, "fake-model");
        assert_eq!(v.settings.provider, "custom");
        assert_eq!(
            v.settings.base_url.as_deref(),
            Some("http://***@127.0.0.1:18080/v1")
        );
        assert!(v.settings.has_api_key);
        assert_eq!(v.config["model"]["api_key"], "***");
        assert_eq!(v.config["agent"]["max_turns"], 30);
        assert_eq!(v.mcp_servers.unwrap()["gh"]["env"]["GITHUB_TOKEN"], "***");
        assert_eq!(
            v.env,
            json!({"OPENAI_API_KEY": "***", "SHORT_TOKEN": "***", "PLAIN": "value"})
        );
        let all = format!("{} {}", v.config, v.env);
        assert!(!all.contains("secret-value") && !all.contains("abcdefgh") && !all.contains(":p@"));
    }

    #[test]
    fn missing_and_broken_files() {
        let (_t, h) = home(None);
        let v = read_view(&h);
        assert_eq!(v.config, json!({}));
        assert_eq!(v.settings.provider, "auto");
        assert_eq!(v.settings.model, "");

        let (_t, h) = home(Some("model: [unclosed\n  x: secret-stuff\n"));
        let v = read_view(&h);
        let err = v.error.unwrap();
        assert!(
            err.contains("line") && !err.contains("secret-stuff"),
            "{err}"
        );
        let before = fs::read_to_string(h.config_path()).unwrap();
        assert!(matches!(
            update(&h, |r| set_path(r, &["a"], Yaml::from(1))),
            Err(HermesFileError::Conflict(_))
        ));
        assert_eq!(fs::read_to_string(h.config_path()).unwrap(), before);
    }

    #[test]
    fn model_patch_keeps_other_keys_and_order() {
        let (_t, h) = home(Some(CONFIG));
        let patch = ModelPatch {
            model: Some("x".into()),
            provider: Some("p".into()),
            base_url: None,
        };
        update(&h, |r| apply_model_patch(r, &patch)).unwrap();
        let r = reread(&h);
        assert_eq!(r["model"]["default"], "x");
        assert_eq!(r["model"]["provider"], "p");
        assert_eq!(r["model"]["api_key"], "sk-secret-value-123");
        assert_eq!(r["agent"]["max_turns"], 30);
        assert_eq!(
            r["mcp_servers"]["gh"]["env"]["GITHUB_TOKEN"],
            "ghp_abcdefghijklmnop"
        );
        let keys: Vec<_> = r
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["model", "agent", "mcp_servers"]);
    }

    #[test]
    fn model_patch_handles_string_form_alias_and_base_url_removal() {
        let mut r: Yaml = serde_yaml::from_str("model: old-name\n").unwrap();
        apply_model_patch(
            &mut r,
            &ModelPatch {
                provider: Some("p".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r["model"]["default"], "old-name");
        assert_eq!(r["model"]["provider"], "p");

        let mut r: Yaml =
            serde_yaml::from_str("model:\n  model: a\n  base_url: http://x\n").unwrap();
        apply_model_patch(
            &mut r,
            &ModelPatch {
                model: Some("b".into()),
                base_url: Some(None),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r["model"]["model"], "b");
        assert!(r["model"].get("default").is_none() && r["model"].get("base_url").is_none());
        assert_eq!(ModelSettings::from_root(&r).model, "b");
    }

    #[test]
    fn dot_path_set() {
        let mut r: Yaml = serde_yaml::from_str("model:\n  name: grok-x\nempty:\n").unwrap();
        set_path(
            &mut r,
            &parse_key("model.provider").unwrap(),
            Yaml::from("xai"),
        )
        .unwrap();
        set_path(&mut r, &parse_key("a.b.c").unwrap(), Yaml::from(1)).unwrap();
        set_path(&mut r, &parse_key("empty.x").unwrap(), Yaml::from(true)).unwrap();
        assert_eq!(r["model"]["provider"], "xai");
        assert_eq!(r["model"]["name"], "grok-x");
        assert_eq!(r["a"]["b"]["c"], 1);
        assert_eq!(r["empty"]["x"], true);
        let err =
            set_path(&mut r, &parse_key("model.name.sub").unwrap(), Yaml::from(1)).unwrap_err();
        assert!(
            matches!(err, HermesFileError::Conflict(ref m) if m.contains("model.name")),
            "{err}"
        );
        assert_eq!(r["model"]["name"], "grok-x");
    }

    #[test]
    fn key_validation_and_mask_detection() {
        for bad in ["", " ", "a..b", ".a", "a.", "a.\u{7}"] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
        assert!(parse_key("a.".repeat(20).trim_end_matches('.')).is_err());
        assert_eq!(parse_key("a.b").unwrap(), ["a", "b"]);
        assert!(contains_mask(&json!("***")));
        assert!(contains_mask(&json!({"env": {"X": "***"}})));
        assert!(!contains_mask(&json!({"env": {"X": "real"}})));
    }

    #[test]
    fn concurrent_updates_are_serialized() {
        let (_t, h) = home(Some("n: {}\n"));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let h = h.clone();
                std::thread::spawn(move || {
                    update(&h, |r| set_path(r, &["n", &format!("k{i}")], Yaml::from(i))).unwrap()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(reread(&h)["n"].as_mapping().unwrap().len(), 8);
    }
}
