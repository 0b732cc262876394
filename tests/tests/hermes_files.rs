//! HERMES_HOME file routes over HTTP against the real relay binary: `/api/skills` (+ categories,
//! detail, traversal refusal), `/api/config` (redaction, PATCH, POST dot path, validation that
//! writes nothing), `/api/available-models` with the upstream down, and auth on all of them.
//! The upstream URL is a dead port: none of this needs Hermes running.

use optx_harness::relay::{Relay, RelayOptions};
use optx_harness::{free_port, LogsOnPanic};
use serde_json::{json, Value};
use std::fs;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const API_KEY: &str = "files-test-key";

const CONFIG_YAML: &str = "\
# Hermes config (this comment is not kept by relay writes)
model:
  default: fake-model
  provider: custom
  base_url: http://llmuser:llmpass@127.0.0.1:18080/v1
  api_key: sk-configsecret-0123456789
agent:
  max_turns: 30
memory:
  provider: holographic
mcp_servers:
  github:
    command: npx
    args: [-y, '@modelcontextprotocol/server-github']
    env:
      GITHUB_PERSONAL_ACCESS_TOKEN: ghp_mcpsecret0123456789
  remote:
    url: https://mcp.example.com/sse
    headers:
      Authorization: Bearer hdrsecret0123456789
    timeout: 30
";

const ENV_FILE: &str = "OPENAI_API_KEY=sk-abcdefghijklmnop\nSHORT_TOKEN=abc\nPLAIN=value\n";

/// Substrings of every secret in the fixture; none may appear in any response.
const SECRETS: &[&str] = &[
    "configsecret",
    "mcpsecret",
    "hdrsecret",
    "abcdefghijklmnop",
    "sk-a",
    "mnop",
    "llmpass",
];

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// A HERMES_HOME with skills in two categories (one broken), config.yaml, .env, and a SKILL.md
/// outside the skills folder that traversal attempts aim at.
fn hermes_home(root: &Path) {
    write(
        root,
        "skills/research/web-search/SKILL.md",
        "---\nname: web-search\ndescription: Search the web\nversion: 1.2.0\nauthor: joe\nlicense: MIT\nplatforms: [linux, macos]\nmetadata:\n  hermes:\n    tags: [web, lookup]\n---\n# Web search\n\nUse the browser tool.\n",
    );
    write(
        root,
        "skills/research/broken/SKILL.md",
        "---\nname: [unclosed\ndescription: {\n---\nBroken front matter, body still here.\n",
    );
    write(
        root,
        "skills/devops/deploy/SKILL.md",
        "---\nname: deploy\ndescription: Ship it\ntags: [ci]\n---\nDeploy steps.\n",
    );
    write(
        root,
        "outside/evil/SKILL.md",
        "---\nname: evil\n---\nEVIL-CONTENT\n",
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("outside"), root.join("skills/linked")).unwrap();
    write(root, "config.yaml", CONFIG_YAML);
    write(root, ".env", ENV_FILE);
}

struct Env {
    relay: Relay,
    home: tempfile::TempDir,
    http: reqwest::Client,
    _logs: LogsOnPanic,
    _dir: tempfile::TempDir,
}

async fn start(api_key: Option<&str>) -> anyhow::Result<Env> {
    let dir = tempfile::tempdir()?;
    let home = tempfile::tempdir()?;
    hermes_home(home.path());
    let opts = RelayOptions {
        hermes_url: format!("http://127.0.0.1:{}", free_port()),
        api_key: api_key.map(str::to_string),
        hermes_home: Some(home.path().to_path_buf()),
        ..Default::default()
    };
    let relay = Relay::start(dir.path(), &opts).await?;
    Ok(Env {
        relay,
        home,
        http: reqwest::Client::new(),
        _logs: LogsOnPanic(dir.path().to_path_buf()),
        _dir: dir,
    })
}

impl Env {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.relay.url))
            .bearer_auth(API_KEY)
    }
    async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let r = self.req(reqwest::Method::GET, path).send().await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        let json = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("GET {path}: {status} non-JSON {text:?}: {e}"))?;
        Ok((status, json))
    }
    async fn send(&self, method: &str, path: &str, body: &str) -> anyhow::Result<(u16, Value)> {
        let r = self
            .req(method.parse()?, path)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        let json = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!("{method} {path} {body}: {status} non-JSON {text:?}: {e}")
        })?;
        Ok((status, json))
    }
    fn config_text(&self) -> String {
        fs::read_to_string(self.home.path().join("config.yaml")).unwrap()
    }
    /// config.yaml as the relay left it on disk.
    fn config_yaml(&self) -> Value {
        serde_yaml::from_str(&self.config_text()).expect("config.yaml stays valid YAML")
    }

    /// A GET with the path bytes exactly as given (reqwest would normalize `..`).
    async fn raw_get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.relay.port)).await?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Ok((status, text))
    }
}

fn assert_no_secrets(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s:?}: {text}");
    }
}

fn assert_json_error(status: u16, body: &Value, allowed: &[u16]) {
    assert!(allowed.contains(&status), "status {status}: {body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn skills_list_filter_and_detail_without_a_key() -> anyhow::Result<()> {
    let env = start(None).await?;
    // Workspace calls /api/skills with no Authorization header (client-contracts §3.1, case 22).
    let r = reqwest::get(format!("{}/api/skills", env.relay.url)).await?;
    assert_eq!(r.status(), 200);
    let all: Value = r.json().await?;
    assert_eq!(all["total"], 3, "{all}");
    assert_eq!(all["items"], all["skills"]);
    assert_eq!(all["categories"], json!(["devops", "research"]));
    let ids: Vec<&str> = all["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["devops/deploy", "research/broken", "research/web-search"]
    );
    for s in all["skills"].as_array().unwrap() {
        assert!(!s["name"].as_str().unwrap().is_empty());
        assert!(s["description"].is_string() && s["category"].is_string());
        let path = s["path"].as_str().unwrap();
        assert!(
            path.starts_with("skills/") && path.ends_with("/SKILL.md"),
            "{path}"
        );
    }
    assert!(!all.to_string().contains(env.home.path().to_str().unwrap()));
    assert!(!all.to_string().contains("evil"));

    // Broken front matter: still listed, name from the folder, description from the body.
    let broken = &all["skills"][1];
    assert_eq!(broken["name"], "broken");
    assert_eq!(
        broken["description"],
        "Broken front matter, body still here."
    );

    // optx-bridge-behaviour §11 case 13.
    let (st, r) = env.get("/api/skills?category=research&search=WEB").await?;
    assert_eq!(st, 200);
    assert_eq!(r["total"], 1);
    assert_eq!(r["categories"], json!(["research"]));
    let s = &r["skills"][0];
    assert_eq!(s["id"], "research/web-search");
    assert_eq!(s["name"], "web-search");
    assert_eq!(s["category"], "research");
    assert_eq!(s["version"], "1.2.0");
    assert_eq!(s["author"], "joe");
    assert_eq!(s["source"], "builtin");
    assert_eq!(s["tags"], json!(["web", "lookup"]));
    assert_eq!(s["path"], "skills/research/web-search/SKILL.md");

    // Search covers tags; unknown category is empty, not an error.
    let (_, r) = env.get("/api/skills?search=CI").await?;
    assert_eq!(r["total"], 1);
    assert_eq!(r["skills"][0]["id"], "devops/deploy");
    let (st, r) = env.get("/api/skills?category=nope").await?;
    assert_eq!((st, r["total"].clone()), (200, json!(0)));

    let (st, c) = env.get("/api/skills/categories").await?;
    assert_eq!(st, 200);
    assert_eq!(
        c["categories"],
        json!([{"name": "devops", "count": 1}, {"name": "research", "count": 2}])
    );

    let (st, d) = env.get("/api/skills/research/web-search").await?;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["id"], "research/web-search");
    assert_eq!(d["license"], "MIT");
    assert_eq!(d["platforms"], json!(["linux", "macos"]));
    assert_eq!(d["metadata"]["hermes"]["tags"], json!(["web", "lookup"]));
    assert!(d["content"]
        .as_str()
        .unwrap()
        .contains("Use the browser tool."));
    assert!(d["body_preview"]
        .as_str()
        .unwrap()
        .starts_with("# Web search"));

    let (st, d) = env.get("/api/skills/research/broken").await?;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["name"], "broken");

    let (st, body) = env.get("/api/skills/research/missing").await?;
    assert_json_error(st, &body, &[404]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn skill_ids_cannot_traverse() -> anyhow::Result<()> {
    let env = start(Some(API_KEY)).await?;
    let (st, _) = env.raw_get("/api/skills/research/web-search").await?;
    assert_eq!(st, 200, "raw requests reach the route");
    for path in [
        "/api/skills/..%2f..%2fx",
        "/api/skills/..%2foutside%2fevil",
        "/api/skills/../outside/evil",
        "/api/skills/research/../../outside/evil",
        "/api/skills/research%2f..%2f..%2foutside%2fevil",
        "/api/skills/research/web-search/../../../outside/evil",
        "/api/skills/%2e%2e/outside/evil",
        "/api/skills/%2fetc%2fpasswd",
        "/api/skills//etc/passwd",
        "/api/skills/outside/evil",
        "/api/skills/linked/evil",
        "/api/skills/research%5c..%5c..%5coutside%5cevil",
        "/api/skills/research/web-search%00",
        "/api/skills/research",
    ] {
        let (st, text) = env.raw_get(path).await?;
        assert!(st == 404 || st == 400, "{path}: {st}\n{text}");
        assert!(!text.contains("EVIL-CONTENT"), "{path}: {text}");
        assert!(
            text.contains("\"error\""),
            "{path}: not a JSON error: {text}"
        );
    }
    let (_, all) = env.get("/api/skills").await?;
    assert!(
        !all.to_string().contains("evil"),
        "symlinked category is not listed: {all}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn config_is_redacted_and_routes_need_the_key() -> anyhow::Result<()> {
    let env = start(Some(API_KEY)).await?;
    // Case 2 and 24: 401 with WWW-Authenticate without a token, never 403/404.
    for path in [
        "/api/skills",
        "/api/skills/categories",
        "/api/skills/research/web-search",
        "/api/config",
        "/api/available-models",
    ] {
        let r = reqwest::get(format!("{}{path}", env.relay.url)).await?;
        assert_eq!(r.status(), 401, "{path}");
        assert!(r.headers()["www-authenticate"]
            .to_str()?
            .starts_with("Bearer"));
    }
    let r = reqwest::Client::new()
        .patch(format!("{}/api/config", env.relay.url))
        .json(&json!({"model": "x"}))
        .send()
        .await?;
    assert_eq!(r.status(), 401);
    assert!(
        env.config_text() == CONFIG_YAML,
        "unauthenticated PATCH wrote nothing"
    );

    let r = env.req(reqwest::Method::GET, "/api/config").send().await?;
    assert_eq!(r.status(), 200);
    let text = r.text().await?;
    assert_no_secrets("GET /api/config", &text);
    let c: Value = serde_json::from_str(&text)?;
    // Case 20.
    assert_eq!(c["model"], "fake-model");
    assert_eq!(c["provider"], "custom");
    assert_eq!(c["base_url"], "http://***@127.0.0.1:18080/v1");
    assert!(c["config"].is_object());
    assert_eq!(c["config"]["model"]["api_key"], "***");
    assert_eq!(c["config"]["agent"]["max_turns"], 30);
    assert_eq!(c["config"]["memory"]["provider"], "holographic");
    let gh = &c["config"]["mcp_servers"]["github"];
    assert_eq!(gh["command"], "npx");
    assert_eq!(gh["args"][1], "@modelcontextprotocol/server-github");
    assert_eq!(gh["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"], "***");
    let remote = &c["config"]["mcp_servers"]["remote"];
    assert_eq!(remote["url"], "https://mcp.example.com/sse");
    assert_eq!(remote["headers"]["Authorization"], "***");
    assert_eq!(remote["timeout"], 30);
    assert_eq!(c["mcp_servers"], c["config"]["mcp_servers"]);
    // optx-bridge-behaviour §11 case 12, redacted more strictly (no characters kept).
    assert_eq!(
        c["env"],
        json!({"OPENAI_API_KEY": "***", "SHORT_TOKEN": "***", "PLAIN": "value"})
    );
    assert!(c["config_path"].as_str().unwrap().ends_with("config.yaml"));
    assert!(c["hermes_home"].is_string());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn config_writes_are_validated_atomic_and_keep_other_keys() -> anyhow::Result<()> {
    let env = start(Some(API_KEY)).await?;
    let original = env.config_text();

    // Bad input: 4xx JSON, nothing written.
    for (method, body, expect) in [
        ("PATCH", "{}", 422),
        ("PATCH", "[]", 422),
        ("PATCH", "not json", 422),
        ("PATCH", r#"{"model":"x","api_key":"k"}"#, 422),
        ("PATCH", r#"{"model":""}"#, 422),
        ("PATCH", r#"{"model":["x"]}"#, 422),
        (
            "PATCH",
            r#"{"base_url":"http://***@127.0.0.1:18080/v1"}"#,
            422,
        ),
        ("POST", "{}", 422),
        ("POST", r#"{"key":"","value":1}"#, 422),
        ("POST", r#"{"key":"a..b","value":1}"#, 422),
        ("POST", r#"{"key":"model.provider"}"#, 422),
        (
            "POST",
            r#"{"key":"model.provider","value":"x","extra":1}"#,
            422,
        ),
        ("POST", r#"{"key":"model.api_key","value":"***"}"#, 422),
        (
            "POST",
            r#"{"key":"mcp_servers.github","value":{"env":{"GITHUB_PERSONAL_ACCESS_TOKEN":"***"}}}"#,
            422,
        ),
        ("POST", r#"{"key":"model.default.sub","value":1}"#, 409),
        ("POST", r#"{"key":"agent.max_turns.x","value":1}"#, 409),
    ] {
        let (st, b) = env.send(method, "/api/config", body).await?;
        assert_json_error(st, &b, &[expect]);
        assert_eq!(
            env.config_text(),
            original,
            "{method} {body} wrote the file"
        );
    }

    let big = format!(
        r#"{{"key":"big","value":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let (st, b) = env.send("POST", "/api/config", &big).await?;
    assert_json_error(st, &b, &[413]);
    assert_eq!(env.config_text(), original);

    // Case 21.
    let (st, b) = env
        .send("PATCH", "/api/config", r#"{"model":"x","provider":"p"}"#)
        .await?;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["ok"], true);
    assert_eq!(b["model"], "x");
    assert_eq!(b["provider"], "p");
    assert_eq!(b["base_url"], "http://***@127.0.0.1:18080/v1");
    let (_, c) = env.get("/api/config").await?;
    assert_eq!(
        (c["model"].clone(), c["provider"].clone()),
        (json!("x"), json!("p"))
    );
    let y = env.config_yaml();
    assert_eq!(y["model"]["default"], "x");
    assert_eq!(y["model"]["provider"], "p");
    assert_eq!(y["model"]["api_key"], "sk-configsecret-0123456789");
    assert_eq!(
        y["model"]["base_url"],
        "http://llmuser:llmpass@127.0.0.1:18080/v1"
    );
    assert_eq!(y["agent"]["max_turns"], 30);
    assert_eq!(
        y["mcp_servers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "ghp_mcpsecret0123456789"
    );
    assert_eq!(y["mcp_servers"]["remote"]["timeout"], 30);

    // optx-bridge-behaviour §11 case 12 (dot path).
    let (st, b) = env
        .send(
            "POST",
            "/api/config",
            r#"{"key":"model.provider","value":"xai"}"#,
        )
        .await?;
    assert_eq!(st, 200, "{b}");
    assert_eq!(
        b,
        json!({"updated": true, "key": "model.provider", "value": "xai"})
    );
    let (st, b) = env
        .send(
            "POST",
            "/api/config",
            r#"{"key":"agent.limits.depth","value":7}"#,
        )
        .await?;
    assert_eq!(st, 200, "{b}");
    // Writing a secret is allowed; it is never echoed.
    let (st, b) = env
        .send(
            "POST",
            "/api/config",
            r#"{"key":"model.api_key","value":"sk-newsecret-abcdef"}"#,
        )
        .await?;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["value"], "***");
    let y = env.config_yaml();
    assert_eq!(y["model"]["provider"], "xai");
    assert_eq!(y["model"]["default"], "x");
    assert_eq!(y["model"]["api_key"], "sk-newsecret-abcdef");
    assert_eq!(y["agent"]["max_turns"], 30);
    assert_eq!(y["agent"]["limits"]["depth"], 7);
    assert_eq!(y["memory"]["provider"], "holographic");
    let (_, c) = env.get("/api/config").await?;
    assert!(!c.to_string().contains("newsecret"));

    // Concurrent writes are serialized: every one of them lands.
    let writes = (0..10).map(|i| {
        let body = format!(r#"{{"key":"parallel.k{i}","value":{i}}}"#);
        let env = &env;
        async move { env.send("POST", "/api/config", &body).await }
    });
    for r in futures::future::join_all(writes).await {
        assert_eq!(r?.0, 200);
    }
    let y = env.config_yaml();
    assert_eq!(y["parallel"].as_object().unwrap().len(), 10, "{y}");

    // Atomic replacement leaves no temp files behind.
    let leftovers: Vec<String> = fs::read_dir(env.home.path())?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn available_models_come_from_config_when_upstream_is_down() -> anyhow::Result<()> {
    let env = start(Some(API_KEY)).await?;
    // Case 23.
    let (st, m) = env.get("/api/available-models?provider=custom").await?;
    assert_eq!(st, 200, "{m}");
    assert_eq!(m["provider"], "custom");
    assert_eq!(m["models"][0]["id"], "fake-model");
    assert!(m["models"][0]["description"].is_string());
    let providers = m["providers"].as_array().unwrap();
    for p in providers {
        assert!(p["id"].is_string() && p["label"].is_string() && p["authenticated"].is_boolean());
    }
    assert_eq!(providers[0]["id"], "custom");
    assert_eq!(providers[0]["authenticated"], true);
    assert!(providers
        .iter()
        .any(|p| p["id"] == "openai" && p["authenticated"] == true));
    assert_no_secrets("available-models", &m.to_string());

    let (st, m) = env.get("/api/available-models").await?;
    assert_eq!((st, m["provider"].clone()), (200, json!("custom")));
    let (st, m) = env.get("/api/available-models?provider=anthropic").await?;
    assert_eq!(st, 200);
    assert_eq!(m["provider"], "anthropic");
    assert!(m["providers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "anthropic" && p["authenticated"] == false));
    Ok(())
}
