//! `/api/available-models` content: the configured provider/model from config.yaml, the models
//! the Hermes gateway serves (`/v1/models`, best effort), and which providers have credentials.

use crate::hermes_files::config_file::{self, ModelSettings};
use crate::hermes_files::{self, HermesFileError};
use crate::state::AppState;
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Providers recognised by the env var holding their key (Hermes reads these from .env).
const KNOWN_PROVIDERS: &[(&str, &str, &[&str])] = &[
    ("openrouter", "OpenRouter", &["OPENROUTER_API_KEY"]),
    ("nous", "Nous Portal", &["NOUS_API_KEY"]),
    ("anthropic", "Anthropic", &["ANTHROPIC_API_KEY"]),
    ("openai", "OpenAI", &["OPENAI_API_KEY"]),
    (
        "gemini",
        "Google Gemini",
        &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    ),
    ("xai", "xAI", &["XAI_API_KEY"]),
    ("deepseek", "DeepSeek", &["DEEPSEEK_API_KEY"]),
    ("zai", "Z.AI / GLM", &["ZAI_API_KEY", "GLM_API_KEY"]),
    ("kimi-coding", "Kimi / Moonshot", &["KIMI_API_KEY"]),
    ("minimax", "MiniMax", &["MINIMAX_API_KEY"]),
    ("huggingface", "Hugging Face", &["HF_TOKEN"]),
];
/// Providers that talk to a configured endpoint and need no key of their own.
const ENDPOINT_PROVIDERS: &[&str] = &["custom", "ollama", "vllm", "llamacpp", "lmstudio", "local"];
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Serialize, PartialEq)]
pub struct ModelEntry {
    pub id: String,
    pub description: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ProviderEntry {
    pub id: String,
    pub label: String,
    pub authenticated: bool,
}

#[derive(Debug, Serialize)]
pub struct AvailableModels {
    pub provider: String,
    pub models: Vec<ModelEntry>,
    pub providers: Vec<ProviderEntry>,
    /// Whether the gateway's `/v1/models` answered.
    pub upstream: bool,
}

pub async fn available_models(
    state: &AppState,
    requested: Option<String>,
) -> Result<AvailableModels, HermesFileError> {
    let home = state.hermes_home.clone();
    let (settings, env) = hermes_files::blocking(move || {
        let env = config_file::read_env(&home);
        Ok((config_file::read_settings(&home), env))
    })
    .await?;
    let upstream = upstream_models(state).await;
    Ok(build(&settings, &env, requested, upstream))
}

/// Model ids from the gateway's `/v1/models`, or `None` when it does not answer.
async fn upstream_models(state: &AppState) -> Option<Vec<String>> {
    let resp = state
        .upstream
        .request(Method::GET, "/v1/models")
        .timeout(UPSTREAM_TIMEOUT)
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let body: Value = resp.json().await.ok()?;
    let list = body
        .get("data")
        .or_else(|| body.get("models"))
        .unwrap_or(&body);
    Some(
        list.as_array()?
            .iter()
            .filter_map(|m| m.get("id").or(Some(m)).and_then(Value::as_str))
            .map(str::to_string)
            .collect(),
    )
}

/// Pure assembly (unit-tested): configured model first, then gateway models, deduplicated.
pub fn build(
    settings: &ModelSettings,
    env: &BTreeMap<String, String>,
    requested: Option<String>,
    upstream: Option<Vec<String>>,
) -> AvailableModels {
    let configured = settings.provider.clone();
    let provider = requested
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| configured.clone());
    let mut models: Vec<ModelEntry> = Vec::new();
    if provider.eq_ignore_ascii_case(&configured) {
        if !settings.model.is_empty() {
            models.push(ModelEntry {
                id: settings.model.clone(),
                description: "Configured default model (config.yaml)".into(),
            });
        }
        for id in upstream.iter().flatten() {
            if !models.iter().any(|m| &m.id == id) {
                models.push(ModelEntry {
                    id: id.clone(),
                    description: "Served by the Hermes gateway".into(),
                });
            }
        }
    }
    let has_env = |vars: &[&str]| {
        vars.iter()
            .any(|v| env.get(*v).is_some_and(|x| !x.trim().is_empty()))
    };
    let authenticated = |id: &str| -> bool {
        let known = KNOWN_PROVIDERS
            .iter()
            .find(|(p, _, _)| p.eq_ignore_ascii_case(id));
        let is_configured = id.eq_ignore_ascii_case(&configured);
        known.is_some_and(|(_, _, vars)| has_env(vars))
            || (is_configured && settings.has_api_key)
            || (is_configured
                && ENDPOINT_PROVIDERS.contains(&id.to_ascii_lowercase().as_str())
                && settings.base_url.is_some())
            || (id == "auto" && KNOWN_PROVIDERS.iter().any(|(_, _, vars)| has_env(vars)))
    };
    let label = |id: &str| {
        KNOWN_PROVIDERS
            .iter()
            .find(|(p, _, _)| p.eq_ignore_ascii_case(id))
            .map(|(_, l, _)| l.to_string())
            .unwrap_or_else(|| id.to_string())
    };
    let mut ids: Vec<String> = vec![configured.clone()];
    if !ids.iter().any(|i| i.eq_ignore_ascii_case(&provider)) {
        ids.push(provider.clone());
    }
    for (id, _, vars) in KNOWN_PROVIDERS {
        if has_env(vars) && !ids.iter().any(|i| i.eq_ignore_ascii_case(id)) {
            ids.push(id.to_string());
        }
    }
    let providers = ids
        .iter()
        .map(|id| ProviderEntry {
            id: id.clone(),
            label: label(id),
            authenticated: authenticated(id),
        })
        .collect();
    AvailableModels {
        provider,
        models,
        providers,
        upstream: upstream.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(provider: &str, model: &str) -> ModelSettings {
        ModelSettings {
            model: model.into(),
            provider: provider.into(),
            base_url: Some("http://127.0.0.1:1/v1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn config_model_first_then_gateway_models() {
        let env = BTreeMap::from([("OPENAI_API_KEY".to_string(), "sk-x".to_string())]);
        let r = build(
            &settings("custom", "fake-model"),
            &env,
            None,
            Some(vec!["hermes-agent".into(), "fake-model".into()]),
        );
        assert_eq!(r.provider, "custom");
        let ids: Vec<_> = r.models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["fake-model", "hermes-agent"]);
        assert_eq!(r.providers[0].id, "custom");
        assert!(r.providers[0].authenticated);
        assert!(r
            .providers
            .iter()
            .any(|p| p.id == "openai" && p.authenticated));
        assert!(r.upstream);
    }

    #[test]
    fn upstream_down_and_other_provider() {
        let r = build(
            &settings("custom", "m"),
            &BTreeMap::new(),
            Some("anthropic".into()),
            None,
        );
        assert_eq!(r.provider, "anthropic");
        assert!(r.models.is_empty());
        let a = r.providers.iter().find(|p| p.id == "anthropic").unwrap();
        assert!(!a.authenticated);
        assert_eq!(a.label, "Anthropic");
        assert!(!r.upstream);

        let r = build(&settings("custom", "m"), &BTreeMap::new(), None, None);
        assert_eq!(
            r.models,
            [ModelEntry {
                id: "m".into(),
                description: "Configured default model (config.yaml)".into()
            }]
        );
    }
}
