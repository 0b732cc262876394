//! Secret redaction for what `/api/config` shows: values under secret-looking key names become
//! `"***"` (no characters kept), and credentials inside URLs (`user:pass@`, `?token=`) are masked.

use serde_json::Value;

/// What every redacted value is replaced with; writes carrying it are refused.
pub const MASK: &str = "***";

/// Name fragments that make a key secret wherever they appear (`OPENAI_PRIVATE_KEY`, `apiKey`).
const SECRET_FRAGMENTS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "passphrase",
    "credential",
    "private",
    "apikey",
    "authorization",
    "bearer",
    "cookie",
];
/// Whole words (split on `_ - .` and camelCase) that make a key secret: `*_KEY`, `auth`, `token`.
const SECRET_WORDS: &[&str] = &["key", "keys", "token", "auth", "pwd", "pass", "pat", "jwt"];

/// Whether a key name looks like it holds a secret. `max_tokens` and `author` do not;
/// `OPENAI_API_KEY`, `SHORT_TOKEN`, `accessToken`, `client_secret`, `auth` do.
pub fn is_secret_key(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if SECRET_FRAGMENTS.iter().any(|f| lower.contains(f)) {
        return true;
    }
    words(name)
        .iter()
        .any(|w| SECRET_WORDS.contains(&w.as_str()) || w.ends_with("key") || w.ends_with("token"))
}

/// Lowercase words of a key: split on non-alphanumerics and lower→upper camelCase steps.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A redacted copy of a JSON tree: secret keys' scalar leaves masked (structure kept so the keys
/// stay visible, nulls kept as "unset"), URL credentials masked in every other string.
pub fn redact(v: &Value) -> Value {
    redact_inner(v, false)
}

/// `redact` for a value stored at a dot path: fully masked when any segment is secret.
pub fn redact_at(path: &[&str], v: &Value) -> Value {
    redact_inner(v, path.iter().any(|s| is_secret_key(s)))
}

fn redact_inner(v: &Value, secret: bool) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), redact_inner(v, secret || is_secret_key(k))))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| redact_inner(i, secret)).collect())
        }
        _ if secret => Value::String(MASK.into()),
        Value::String(s) => Value::String(mask_text(s)),
        other => other.clone(),
    }
}

/// A string value with URL credentials and well-known token shapes masked.
pub fn mask_text(s: &str) -> String {
    if looks_like_token(s) {
        return MASK.into();
    }
    mask_urls(s)
}

/// Bare values that are obviously credentials whatever their key is called.
fn looks_like_token(s: &str) -> bool {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    const PREFIXES: &[&str] = &[
        "sk-",
        "sk_live_",
        "ghp_",
        "gho_",
        "github_pat_",
        "xoxb-",
        "xoxp-",
        "hf_",
        "glpat-",
    ];
    (lower.starts_with("bearer ") && t.len() > 7)
        || (PREFIXES.iter().any(|p| lower.starts_with(p))
            && t.len() >= 12
            && !t.contains(char::is_whitespace))
}

/// Masks `scheme://user:pass@host` userinfo and secret-named query parameters of every URL in `s`.
pub fn mask_urls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
            .unwrap_or(tail.len());
        out.push_str(&mask_url_tail(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `user:pass@host/path?query#frag` with userinfo and secret query values masked.
fn mask_url_tail(url: &str) -> String {
    let auth_end = url.find(['/', '?', '#']).unwrap_or(url.len());
    let (authority, after) = url.split_at(auth_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("{MASK}@{}", &authority[at + 1..]),
        None => authority.to_string(),
    };
    let Some(q) = after.find('?') else {
        return authority + after;
    };
    let (path, query) = after.split_at(q + 1);
    let (query, frag) = match query.find('#') {
        Some(h) => query.split_at(h),
        None => (query, ""),
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_key(k) => format!("{k}={MASK}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{authority}{path}{}{frag}", masked.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_key_names() {
        for k in [
            "OPENAI_API_KEY",
            "SHORT_TOKEN",
            "api_key",
            "apiKey",
            "key",
            "MPP_FEE_PAYER_KEY",
            "WALLET_PRIVATE_KEY",
            "client_secret",
            "password",
            "DB_PASSWD",
            "auth",
            "Authorization",
            "accessToken",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "credentials",
            "hftoken",
            "openaikey",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "max_tokens",
            "author",
            "model",
            "base_url",
            "PLAIN",
            "provider",
            "keep_alive",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn redacts_without_leaking_characters() {
        let v = json!({
            "OPENAI_API_KEY": "sk-abcdefghijklmnop",
            "SHORT_TOKEN": "abc",
            "PLAIN": "value",
            "model": {"default": "m", "api_key": "k-123456789", "max_tokens": 4096},
            "mcp_servers": {"gh": {"command": "npx", "env": {"GITHUB_TOKEN": "ghp_x"},
                                    "headers": {"Authorization": "Bearer zzz"}}},
            "auth": {"user": "bob", "n": 3, "unset": null},
            "list": [{"secret": 1}, "plain"],
        });
        let r = redact(&v);
        assert_eq!(r["OPENAI_API_KEY"], "***");
        assert_eq!(r["SHORT_TOKEN"], "***");
        assert_eq!(r["PLAIN"], "value");
        assert_eq!(r["model"]["default"], "m");
        assert_eq!(r["model"]["api_key"], "***");
        assert_eq!(r["model"]["max_tokens"], 4096);
        assert_eq!(r["mcp_servers"]["gh"]["command"], "npx");
        assert_eq!(r["mcp_servers"]["gh"]["env"]["GITHUB_TOKEN"], "***");
        assert_eq!(r["mcp_servers"]["gh"]["headers"]["Authorization"], "***");
        assert_eq!(r["auth"], json!({"user": "***", "n": "***", "unset": null}));
        assert_eq!(r["list"], json!([{"secret": "***"}, "plain"]));
        let text = r.to_string();
        for leak in ["abcdefgh", "mnop", "sk-a", "k-123", "ghp_x", "zzz", "bob"] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
    }

    #[test]
    fn url_credentials_are_masked() {
        assert_eq!(
            mask_urls("https://user:pass@host:8080/v1"),
            "https://***@host:8080/v1"
        );
        assert_eq!(mask_urls("postgres://u@db/x"), "postgres://***@db/x");
        assert_eq!(
            mask_urls("http://127.0.0.1:18080/v1"),
            "http://127.0.0.1:18080/v1"
        );
        assert_eq!(
            mask_urls("https://h/p?api_key=abc&model=x#f"),
            "https://h/p?api_key=***&model=x#f"
        );
        assert_eq!(
            mask_urls("run --url https://a:b@h/x and http://c:d@e"),
            "run --url https://***@h/x and http://***@e"
        );
        assert_eq!(mask_urls("no url here"), "no url here");
        assert_eq!(
            redact(&json!({"url": "https://a:b@h"}))["url"],
            "https://***@h"
        );
        assert_eq!(redact_at(&["model", "api_key"], &json!("k")), "***");
        assert_eq!(redact_at(&["model", "provider"], &json!("xai")), "xai");
    }

    #[test]
    fn token_shaped_values_are_masked_under_any_key() {
        assert_eq!(mask_text("sk-abcdefghijklmnop"), MASK);
        assert_eq!(mask_text("Bearer abc"), MASK);
        assert_eq!(mask_text("sk-short"), "sk-short");
        assert_eq!(mask_text("a sentence"), "a sentence");
    }
}
